"""Populate with stored outputs: DataJoint's most common make, per key and in batches.

A Computed table whose make reads its parent's value (``fetch1``) and ``insert1``s a
1,024-float ``<npy@>`` array with a float computed from it, filled at 1,000 and 10,000 keys
(quick: 100 and 300) from an empty table and an empty store, on each backend: ``make`` per
key through ``populate()``, and ``make_batch`` (the same arrays, made for a frame of keys at
once). DataJoint 2.3.5's ``populate()`` of the same table (``<npy@main>`` on a local file
store, its rows on PostgreSQL; its default-store ``<npy@>`` fails on insert) is timed in the
same run when DataJoint is installed; it is the baseline of both djframe figures on both
backends, as DataJoint has no embedded backend. Without DataJoint the figure measured on
this machine kind is used (/work/shared/reference/baseline.md: 302 keys/s).

Each timed run gets a new schema and a new store folder, so that no run inherits the
Delta history of the one before (:mod:`benchmarks.history_growth` measures that growth).

Run alone: ``python -m benchmarks.run --only populate-objects`` (``--max-size 1000`` to
leave out the 10,000 keys).

Examples
--------
>>> float(spectrum(2.0)[-1]), len(spectrum(2.0))
(2.0, 1024)
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import polars as pl

import djframe as dj
from benchmarks.baselines import drop_djframe_schema
from benchmarks.harness import Context, Result, measure, result_rows

__all__ = ["DATAJOINT_KEYS_PER_S", "Fresh", "declare", "run", "spectrum"]

SCHEMA = "bench_populate_objects"
DJ_SCHEMA = "bench_dj_populate_objects"
FLOATS = 1024
RAMP = np.linspace(0.0, 1.0, FLOATS)
DATAJOINT_KEYS_PER_S = 302
"""DataJoint 2.3.5 ``populate()`` of this table (baseline.md, issue 15), keys per second."""
WARMUP_KEYS = 20
"""Keys of the untimed warm-up populate (a full-size warm-up would double a long run)."""

SOURCE = """
k : int64
---
v : float64
"""
OUTPUT = """
-> Source
---
spectrum : <npy@{store}>
total : float64
"""


def spectrum(value: float) -> np.ndarray:
    """The array a make computes from its parent's value: 1,024 floats from 0 to ``value``."""
    return value * RAMP


def declare(conn: dj.Connection, store: Path, size: int) -> dict[str, Any]:
    """A parent with ``size`` keys and two children storing arrays: one ``make``, one
    ``make_batch``; tables by name ("Source", "PerKey", "Batched")."""
    drop_djframe_schema(conn, SCHEMA)
    schema = dj.Schema(SCHEMA, connection=conn, store=store)

    @schema
    class Source(dj.Manual):
        definition = SOURCE

    @schema
    class PerKey(dj.Computed):
        definition = OUTPUT.format(store="")

        def make(self, key: dict[str, Any]) -> None:
            data = spectrum((Source & key).fetch1("v"))
            self.insert1({**key, "spectrum": data, "total": float(data.sum())})

    @schema
    class Batched(dj.Computed):
        definition = OUTPUT.format(store="")

        def make_batch(self, keys: pl.DataFrame) -> pl.DataFrame:
            values = (Source & keys).to_polars()
            data = np.outer(values["v"].to_numpy(), RAMP)
            return values.select("k").with_columns(
                spectrum=pl.Series(data), total=pl.Series(data.sum(axis=1))
            )

    add_keys(Source, 0, size)
    return {"Source": Source, "PerKey": PerKey, "Batched": Batched}


def add_keys(source: Any, start: int, count: int) -> None:
    """Insert parent keys ``start .. start + count - 1``, each with its value."""
    keys = np.arange(start, start + count, dtype=np.int64)
    source.insert(pl.DataFrame({"k": keys, "v": keys.astype(np.float64)}))


class Fresh:
    """A new schema and store folder for each run (the previous ones are dropped)."""

    def __init__(self, conn: dj.Connection, root: Path, size: int) -> None:
        self.conn, self.root, self.size = conn, root, size
        self.numbers = itertools.count()
        self.tables: dict[str, Any] = {}

    def __call__(self) -> dict[str, Any]:
        store = self.root / f"store-{next(self.numbers)}"
        shutil.rmtree(self.root, ignore_errors=True)
        store.mkdir(parents=True)
        self.tables = declare(self.conn, store, self.size)
        return self.tables


def djframe_seconds(conn: dj.Connection, root: Path, size: int, repeats: int) -> dict[str, float]:
    """Median seconds of ``populate()`` of each child, each run from a fresh schema."""
    times = {}
    for name in ("PerKey", "Batched"):
        fresh = Fresh(conn, root, size)
        warm = Fresh(conn, root, WARMUP_KEYS)
        populate_all(warm()[name], WARMUP_KEYS)

        def work(f: Fresh = fresh, n: str = name) -> None:
            populate_all(f.tables[n], size)

        times[name] = measure({name: work}, repeats, setup=fresh, warmup=False)[name]
    drop_djframe_schema(conn, SCHEMA)
    return times


def populate_all(table: Any, size: int) -> None:
    result = table.populate()
    assert result["success_count"] == size, result


class DataJointPaths(NamedTuple):
    empty: Callable[[], None]
    populate: Callable[[], None]
    drop: Callable[[], None]


def datajoint_seconds(ctx: Context, root: Path, size: int) -> tuple[str, float]:
    """(baseline name, median seconds) of DataJoint's populate of ``size`` keys."""
    if ctx.datajoint is None:
        return "DataJoint 2.3.5 populate() (baseline.md)", size / DATAJOINT_KEYS_PER_S
    warm = datajoint_paths(ctx.datajoint, root, WARMUP_KEYS)
    try:
        warm.populate()
    finally:
        warm.drop()
    paths = datajoint_paths(ctx.datajoint, root, size)
    try:
        seconds = measure({"dj": paths.populate}, ctx.repeats, setup=paths.empty, warmup=False)
    finally:
        paths.drop()
    return "DataJoint 2.3.5 populate() <npy@main>", seconds["dj"]


def datajoint_paths(datajoint: Any, root: Path, size: int) -> DataJointPaths:
    """DataJoint's copy of the per-key table, ``size`` parent keys, on a local file store."""
    folder = root / "datajoint-store"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    datajoint.config["stores"] = {
        "default": "main",
        "main": {"protocol": "file", "location": str(folder)},
    }
    if DJ_SCHEMA in datajoint.list_schemas():
        datajoint.Schema(DJ_SCHEMA).drop(prompt=False)
    schema = datajoint.Schema(DJ_SCHEMA)

    @schema
    class Source(datajoint.Manual):
        definition = SOURCE

    @schema
    class PerKey(datajoint.Computed):
        definition = OUTPUT.format(store="main")

        def make(self, key: dict[str, Any]) -> None:
            data = spectrum((Source() & key).fetch1("v"))
            self.insert1({**key, "spectrum": data, "total": float(data.sum())})

    Source.insert([{"k": k, "v": float(k)} for k in range(size)])

    def empty() -> None:
        PerKey.delete_quick()
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    def populate() -> None:
        result = PerKey.populate()
        assert result["success_count"] == size, result

    return DataJointPaths(empty, populate, lambda: schema.drop(prompt=False))


def run(ctx: Context) -> list[Result]:
    root = ctx.workdir / "populate-objects"
    results: list[Result] = []
    for size in ctx.sizes(full=(1_000, 10_000), quick=(100, 300)):
        baseline, theirs = datajoint_seconds(ctx, root, size)
        for backend, url in ctx.urls.items():
            conn = dj.connect(url)
            try:
                ours = djframe_seconds(conn, root / backend, size, ctx.repeats)
            finally:
                conn.close()
            for name, label in (("PerKey", "make"), ("Batched", "make_batch")):
                results += result_rows(
                    f"populate-objects {label}", backend, size, ours[name], {baseline: theirs}
                )
            ctx.notes.append(
                f"populate-objects [{backend}, {size} keys]: make {size / ours['PerKey']:.0f} "
                f"keys/s, make_batch {size / ours['Batched']:.0f} keys/s, DataJoint "
                f"{size / theirs:.0f} keys/s"
            )
    shutil.rmtree(root, ignore_errors=True)
    return results
