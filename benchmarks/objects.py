"""Objects benchmark: 500 numpy arrays of 1 MB through djframe vs plain ``np.save``/``np.load``.

djframe runs on the embedded default (a DuckDB file) with a local store: one ``insert`` of
500 rows with an ``<npy@>`` attribute (one Delta commit), then one ``to_polars()`` that reads
all of them back decoded (one Delta scan). The same arrays go through ``np.save``/``np.load``
into loose ``.npy`` files in the same run, for comparison. Prints seconds and MB/s.

Run: ``python benchmarks/objects.py [--count 500] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

import djframe as dj


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def arrays(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.random(262_144, dtype=np.float32) for _ in range(count)]  # 1 MiB each


def djframe_run(folder: Path, data: list[np.ndarray]) -> tuple[float, float]:
    conn = dj.connect(f"duckdb:///{folder / 'bench.duckdb'}")
    try:
        schema = dj.Schema("bench", connection=conn, store=folder / "store")

        @schema
        class Array(dj.Manual):
            definition = """
            array_id : int32
            ---
            value : <npy@>
            """

        rows = pl.DataFrame(
            {"array_id": range(len(data)), "value": data},
            schema={"array_id": pl.Int32, "value": pl.Object},
        )
        write = timed(lambda: Array.insert(rows))
        fetched: list[pl.DataFrame] = []
        read = timed(lambda: fetched.append(Array.to_polars()))
        back = fetched[0]["value"].to_list()
        assert all(np.array_equal(a, b) for a, b in zip(data, back, strict=True))
        return write, read
    finally:
        conn.close()


def numpy_run(folder: Path, data: list[np.ndarray]) -> tuple[float, float]:
    folder.mkdir()
    write = timed(lambda: [np.save(folder / f"{i}.npy", a) for i, a in enumerate(data)])
    read = timed(lambda: [np.load(folder / f"{i}.npy") for i in range(len(data))])
    return write, read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    data = arrays(options.count)
    megabytes = sum(a.nbytes for a in data) / 2**20
    results: dict[str, list[tuple[float, float]]] = {"djframe <npy@>": [], "np.save/np.load": []}
    for _ in range(options.repeat):
        for name, run in (("djframe <npy@>", djframe_run), ("np.save/np.load", numpy_run)):
            folder = Path(tempfile.mkdtemp(prefix="djframe-objects-"))
            try:
                results[name].append(
                    run(folder / "run", data) if name != "djframe <npy@>" else run(folder, data)
                )
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    print(f"{options.count} arrays, {megabytes:.0f} MB; median of {options.repeat} runs")
    print(f"{'path':<18} {'write s':>8} {'MB/s':>7} {'read s':>8} {'MB/s':>7}")
    for name, runs in results.items():
        write = statistics.median(w for w, _ in runs)
        read = statistics.median(r for _, r in runs)
        print(
            f"{name:<18} {write:>8.3f} {megabytes / write:>7.0f} {read:>8.3f} {megabytes / read:>7.0f}"
        )


if __name__ == "__main__":
    main()
