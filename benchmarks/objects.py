"""Objects: 500 numpy arrays of 1 MB written and read back, through djframe's ``<npy@>``.

djframe runs on a DuckDB file with a local store: one ``insert`` of the rows (a payload
file per array, then one Delta commit of their index), then one ``to_polars()`` that reads
every array back decoded (one scan of the index, then the files). Baselines in the same run:
plain ``np.save``/``np.load`` into loose files, and DataJoint 2.3.5's ``<npy@main>`` on a
local file store (PostgreSQL for its rows) when installed. Every read keeps all the arrays
it loaded, as a fetch does. Sizes are reported in arrays; ``write`` and ``read`` are
separate benchmarks.

Run alone: ``python -m benchmarks.run --only objects``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import djframe as dj
from benchmarks.harness import Context, Result, measure, result_rows

__all__ = ["run"]

ARRAY_FLOATS = 262_144  # float32: 1 MiB


def arrays(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.random(ARRAY_FLOATS, dtype=np.float32) for _ in range(count)]


class Folder:
    """A scratch folder emptied before every timed run."""

    def __init__(self, root: Path, name: str) -> None:
        self.path = root / name

    def reset(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)


def djframe_paths(folder: Folder, data: list[np.ndarray]) -> tuple[Callable[[], Any], ...]:
    """(setup, write, read) for djframe: a fresh DuckDB file and store for each write."""
    state: dict[str, Any] = {}
    rows = pl.DataFrame(
        {"array_id": range(len(data)), "value": data},
        schema={"array_id": pl.Int32, "value": pl.Object},
    )

    def setup() -> None:
        if "conn" in state:
            state["conn"].close()
        folder.reset()
        state["conn"] = conn = dj.connect(f"duckdb:///{folder.path / 'bench.duckdb'}")
        schema = dj.Schema("bench_objects", connection=conn, store=folder.path / "store")
        state["table"] = schema(
            type("Array", (dj.Manual,), {"definition": "array_id : int32\n---\nvalue : <npy@>"})
        )

    def write() -> None:
        state["table"].insert(rows)

    def read() -> None:
        back = state["table"].to_polars()["value"]
        assert len(back) == len(data)

    return setup, write, read


def numpy_paths(folder: Folder, data: list[np.ndarray]) -> tuple[Callable[[], Any], ...]:
    def write() -> None:
        for i, array in enumerate(data):
            np.save(folder.path / f"{i}.npy", array)

    def read() -> None:
        loaded = [np.load(folder.path / f"{i}.npy") for i in range(len(data))]
        assert len(loaded) == len(data)

    return folder.reset, write, read


def datajoint_paths(
    datajoint: Any, folder: Folder, data: list[np.ndarray]
) -> tuple[Callable[[], Any], ...]:
    """DataJoint's ``<npy@main>``: loose .npy files in a file store, a row each."""
    state: dict[str, Any] = {}
    rows = [{"array_id": i, "value": a} for i, a in enumerate(data)]

    def setup() -> None:
        if "schema" in state:
            state["schema"].drop(prompt=False)
        folder.reset()
        datajoint.config["stores"] = {
            "default": "main",
            "main": {"protocol": "file", "location": str(folder.path)},
        }
        schema = datajoint.Schema("bench_dj_objects")
        state["schema"] = schema
        state["table"] = schema(
            type(
                "Array",
                (datajoint.Manual,),
                {"definition": "array_id : int32\n---\nvalue : <npy@main>"},
            )
        )

    def write() -> None:
        state["table"].insert(rows)

    def read() -> None:
        values = state["table"].to_arrays("value")
        values = values[0] if isinstance(values, tuple) else values
        loaded = [np.asarray(v) for v in values]  # an NpyRef loads on access
        assert len(loaded) == len(data)

    def drop() -> None:
        if "schema" in state:
            state["schema"].drop(prompt=False)

    return setup, write, read, drop


def run(ctx: Context) -> list[Result]:
    count = ctx.size(500, 100)
    data = arrays(count)
    root = Path(tempfile.mkdtemp(prefix="djframe-objects-", dir=ctx.workdir))
    paths = {
        "djframe": djframe_paths(Folder(root, "djframe"), data),
        "np.save / np.load": numpy_paths(Folder(root, "numpy"), data),
    }
    if ctx.datajoint is not None:
        try:
            paths["DataJoint 2.3.5 <npy@main>"] = datajoint_paths(
                ctx.datajoint, Folder(root, "datajoint"), data
            )
        except Exception as exc:  # an optional baseline: say why it is missing
            ctx.notes.append(f"objects: DataJoint baseline unavailable: {exc}")
    try:
        writes = measure_writes(paths, ctx.repeats)
        reads = measure({name: p[2] for name, p in paths.items()}, ctx.repeats)
    finally:
        for path in paths.values():
            if len(path) > 3:
                path[3]()
        shutil.rmtree(root, ignore_errors=True)
    results = []
    for kind, times in (("objects-write", writes), ("objects-read", reads)):
        ours = times.pop("djframe")
        results += result_rows(kind, "duckdb", count, ours, times)
    megabytes = count * ARRAY_FLOATS * 4 / 2**20
    ctx.notes.append(
        f"objects: djframe writes {megabytes / writes_ours(results):.0f} MB/s and reads "
        f"{megabytes / reads_ours(results):.0f} MB/s ({count} arrays of 1 MiB)"
    )
    return results


def measure_writes(
    paths: dict[str, tuple[Callable[[], Any], ...]], repeats: int
) -> dict[str, float]:
    """Each write starts from an empty store: the setup runs untimed before each."""
    times: dict[str, float] = {}
    for name, path in paths.items():
        setup, write = path[0], path[1]
        times[name] = measure({name: write}, repeats, setup=setup)[name]
        setup()  # leave the data of a last write in place for the reads
        write()
    return times


def writes_ours(results: list[Result]) -> float:
    return next(r.djframe_s for r in results if r.benchmark == "objects-write")


def reads_ours(results: list[Result]) -> float:
    return next(r.djframe_s for r in results if r.benchmark == "objects-read")
