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
Delta history of the one before (:mod:`benchmarks.history_growth` measures that growth);
the warm-up is a populate of a few keys, and every figure of one size (both backends,
both tables, DataJoint) is timed in alternation.

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
from functools import partial
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


CHILDREN = {"PerKey": "make", "Batched": "make_batch"}
"""The populated tables, by the name of the benchmark's figure."""


Works = dict[str, Callable[[], object]]


def djframe_works(conns: dict[str, dj.Connection], root: Path, size: int) -> tuple[Works, Works]:
    """(works, their setups) by "backend table": each run starts from a fresh schema and
    store; each table is warmed up first by a small populate."""
    works: Works = {}
    setups: Works = {}
    for backend, conn in conns.items():
        for name in CHILDREN:
            populate_all(Fresh(conn, root / backend / "warm", WARMUP_KEYS)()[name], WARMUP_KEYS)
            fresh = Fresh(conn, root / backend / name, size)
            works[f"{backend} {name}"] = partial(populate_fresh, fresh, name)
            setups[f"{backend} {name}"] = fresh
    return works, setups


def populate_fresh(fresh: Fresh, name: str) -> None:
    populate_all(fresh.tables[name], fresh.size)


def populate_all(table: Any, size: int) -> None:
    result = table.populate()
    assert result["success_count"] == size, result


class DataJointPaths(NamedTuple):
    empty: Callable[[], None]
    populate: Callable[[], None]
    drop: Callable[[], None]


def datajoint_ready(datajoint: Any, root: Path, size: int) -> DataJointPaths:
    """DataJoint's copy of the per-key table with ``size`` keys, after a small warm-up."""
    warm = datajoint_paths(datajoint, root, WARMUP_KEYS)
    try:
        warm.populate()
    finally:
        warm.drop()
    return datajoint_paths(datajoint, root, size)


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
    conns = {backend: dj.connect(url) for backend, url in ctx.urls.items()}
    results: list[Result] = []
    try:
        for size in ctx.sizes(full=(1_000, 10_000), quick=(100, 300)):
            results += size_results(ctx, conns, root, size)
    finally:
        for conn in conns.values():
            drop_djframe_schema(conn, SCHEMA)
            conn.close()
        shutil.rmtree(root, ignore_errors=True)
    return results


def size_results(
    ctx: Context, conns: dict[str, dj.Connection], root: Path, size: int
) -> list[Result]:
    """Every figure at ``size`` keys: djframe's and DataJoint's populates in alternation."""
    works, setups = djframe_works(conns, root, size)
    theirs = datajoint_ready(ctx.datajoint, root, size) if ctx.datajoint is not None else None
    if theirs is not None:
        works["DataJoint"], setups["DataJoint"] = theirs.populate, theirs.empty
    try:
        times = measure(works, ctx.repeats, setups, warmup=False)
    finally:
        if theirs is not None:
            theirs.drop()
    baseline = "DataJoint 2.3.5 populate() <npy@main>"
    if "DataJoint" not in times:
        baseline, times["DataJoint"] = f"{baseline} (baseline.md)", size / DATAJOINT_KEYS_PER_S
    results = []
    for backend in conns:
        for name, label in CHILDREN.items():
            ours = times[f"{backend} {name}"]
            results += result_rows(
                f"populate-objects {label}", backend, size, ours, {baseline: times["DataJoint"]}
            )
        ctx.notes.append(
            f"populate-objects [{backend}, {size} keys]: "
            + ", ".join(
                f"{label} {size / times[f'{backend} {n}']:.0f}" for n, label in CHILDREN.items()
            )
            + f", DataJoint {size / times['DataJoint']:.0f} keys/s"
        )
    return results
