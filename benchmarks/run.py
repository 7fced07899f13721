"""Benchmark harness: djframe against the raw engines, side by side in one run.

Prints a table and writes ``benchmarks/results/latest.json`` (a list of objects with keys
benchmark, backend, size, djframe_s, baseline, baseline_s, speedup = baseline_s / djframe_s).
Times are medians of ``--repeats`` runs after a warm-up. PostgreSQL comes from
``DJFRAME_TEST_PG_URL`` or a throwaway server (tests/_postgres.py).

    python benchmarks/run.py            # full sizes
    python benchmarks/run.py --quick    # small sizes
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

import djframe as dj

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def frame(rows: int) -> pl.DataFrame:
    """Six columns: int64 key, int32, float64, varchar, date, bool."""
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "k": np.arange(rows, dtype=np.int64),
            "a": rng.integers(0, 1_000_000, rows, dtype=np.int32),
            "x": rng.random(rows),
            "s": pl.Series(np.arange(rows)).cast(pl.String).str.pad_start(12, "0"),
            "d": pl.Series(rng.integers(0, 20_000, rows)).cast(pl.Date),
            "b": rng.random(rows) > 0.5,
        }
    ).with_columns(pl.col("d").cast(pl.Date))


DEFINITION = """
k : int64
---
a : int32
x : float64
s : varchar(20)
d : date
b : bool
"""


def median_time(work: Callable[[], object], setup: Callable[[], object], repeats: int) -> float:
    setup()
    work()  # warm-up
    times = []
    for _ in range(repeats):
        setup()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def declare(conn: dj.Connection) -> type[dj.Table]:
    schema = dj.Schema("bench", connection=conn)

    @schema
    class Wide(dj.Manual):
        definition = DEFINITION

    return Wide


def bench_insert(conn: dj.Connection, data: pl.DataFrame, repeats: int) -> tuple[float, str, float]:
    Wide = declare(conn)
    clear = lambda: Wide.delete_quick()  # noqa: E731
    ours = median_time(lambda: Wide.insert(data), clear, repeats)
    raw_name, raw = raw_insert(conn, data)
    theirs = median_time(raw, clear, repeats)
    return ours, raw_name, theirs


def raw_insert(conn: dj.Connection, data: pl.DataFrame) -> tuple[str, Callable[[], object]]:
    backend = conn.backend
    arrow = data.to_arrow()
    if backend.name == "duckdb":

        def duck() -> None:
            backend.con.register("_raw", arrow)  # type: ignore[attr-defined]
            backend.execute('INSERT INTO "bench"."wide" SELECT * FROM _raw')
            backend.con.unregister("_raw")  # type: ignore[attr-defined]

        return "duckdb insert from arrow", duck

    def adbc() -> None:
        cursor = backend.cursor  # type: ignore[attr-defined]
        cursor.adbc_ingest("wide", arrow.cast(arrow.schema), mode="append", db_schema_name="bench")

    return "adbc_ingest", adbc


def bench_fetch(conn: dj.Connection, data: pl.DataFrame, repeats: int) -> tuple[float, str, float]:
    Wide = declare(conn)
    Wide.delete_quick()
    Wide.insert(data)
    ours = median_time(Wide.to_polars, lambda: None, repeats)
    backend = conn.backend
    if backend.name == "duckdb":
        name, raw = "duckdb .pl()", lambda: backend.con.sql('SELECT * FROM "bench"."wide"').pl()  # type: ignore[attr-defined]
    else:
        name, raw = "adbc fetch_arrow_table", lambda: pl.from_arrow(backend.fetch_arrow('SELECT * FROM "bench"."wide"'))
    return ours, name, median_time(raw, lambda: None, repeats)


def connections(tmp: Path) -> dict[str, str]:
    from _postgres import postgres_url

    urls = {"duckdb": f"duckdb:///{tmp / 'bench.duckdb'}"}
    pg = postgres_url()
    if pg:
        urls["postgres"] = pg
    return urls


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--quick", action="store_true", help="small sizes")
    options.add_argument("--repeats", type=int, default=3)
    args = options.parse_args()
    sizes = {"insert": 100_000, "fetch": 200_000} if args.quick else {"insert": 1_000_000, "fetch": 2_000_000}
    tmp = Path(f"/tmp/djframe-bench-{dt.datetime.now():%H%M%S}")
    tmp.mkdir(parents=True)
    results = []
    for backend, url in connections(tmp).items():
        conn = dj.connect(url)
        if "bench" in conn.list_schemas():
            dj.Schema("bench", connection=conn).drop(prompt=False)
        for benchmark, run in (("insert", bench_insert), ("fetch", bench_fetch)):
            size = sizes[benchmark]
            ours, baseline, theirs = run(conn, frame(size), args.repeats)
            results.append(
                {"benchmark": benchmark, "backend": backend, "size": size, "djframe_s": round(ours, 4),
                 "baseline": baseline, "baseline_s": round(theirs, 4), "speedup": round(theirs / ours, 3)}
            )
            print(f"{benchmark:<8} {backend:<9} {size:>9,} rows  djframe {ours:7.3f} s   {baseline:<24} {theirs:7.3f} s   speedup {theirs / ours:5.2f}")
        dj.Schema("bench", connection=conn).drop(prompt=False)
        conn.close()
    out = HERE / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
