"""Insert: the fetch benchmark's six-column rows, from a Polars frame into an empty table.

djframe's ``insert`` (all checks included) against DataJoint's ``insert`` (PostgreSQL only),
ADBC ``adbc_ingest`` in append mode (PostgreSQL) and DuckDB ``INSERT ... SELECT`` from a
registered Arrow table (DuckDB). Every run starts from an empty table with its primary key.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

import djframe as dj
from benchmarks.baselines import (
    declare_datajoint,
    declare_djframe,
    drop_datajoint_schema,
    drop_djframe_schema,
    quote_table,
    raw_connection,
)
from benchmarks.data import WIDE, wide_frame
from benchmarks.harness import Context, Result, measure, result_rows

__all__ = ["run"]

SCHEMA = "bench_insert"
DJ_SCHEMA = "bench_dj_insert"


def run(ctx: Context) -> list[Result]:
    size = ctx.size(1_000_000, 100_000)
    rows = wide_frame(size)
    results = []
    for backend, url in ctx.urls.items():
        results += insert_results(ctx, backend, url, rows)
    return results


def insert_results(ctx: Context, backend: str, url: str, rows: Any) -> list[Result]:
    conn = dj.connect(url)
    targets = [quote_table(SCHEMA, "wide")]
    try:
        wide = declare_djframe(conn, SCHEMA, {"wide": WIDE})["wide"]
        with raw_connection(conn, url) as raw:
            works: dict[str, Any] = {"djframe": lambda: wide().insert(rows)}
            name, work = raw_insert(backend, raw, rows.to_arrow())
            works[name] = work
            if ctx.datajoint is not None and backend == "postgres":
                dj_wide = declare_datajoint(ctx.datajoint, DJ_SCHEMA, {"wide": WIDE})["wide"]
                works["DataJoint 2.3.5 insert"] = lambda: dj_wide.insert(rows)
                targets.append(quote_table(DJ_SCHEMA, "wide"))

            def empty() -> None:
                for target in targets:
                    conn.execute(f"TRUNCATE {target}")

            times = measure(works, ctx.repeats, setup=empty)
    finally:
        drop_datajoint_schema(ctx.datajoint, DJ_SCHEMA)
        drop_djframe_schema(conn, SCHEMA)
        conn.close()
    ours = times.pop("djframe")
    return result_rows("insert", backend, len(rows), ours, times)


def raw_insert(backend: str, raw: Any, data: pa.Table) -> tuple[str, Any]:
    """The raw engine's bulk insert of ``data`` into the benchmark table."""
    if backend == "duckdb":

        def duck() -> None:
            raw.register("_bench_rows", data)
            raw.execute(f"INSERT INTO {quote_table(SCHEMA, 'wide')} SELECT * FROM _bench_rows")
            raw.unregister("_bench_rows")

        return "DuckDB INSERT from Arrow", duck

    def adbc() -> None:
        with raw.cursor() as cursor:
            cursor.adbc_ingest("wide", data, mode="append", db_schema_name=SCHEMA)

    return "ADBC adbc_ingest", adbc
