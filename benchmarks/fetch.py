"""Fetch: a six-column table of ``size`` rows into a Polars frame.

djframe's ``to_polars()`` against DataJoint's ``to_polars()`` (PostgreSQL only), ADBC
``fetch_arrow_table`` + ``pl.from_arrow`` (PostgreSQL) and DuckDB's ``.pl()`` (DuckDB).
"""

from __future__ import annotations

from typing import Any

import djframe as dj
from benchmarks.baselines import (
    declare_datajoint,
    declare_djframe,
    drop_datajoint_schema,
    drop_djframe_schema,
    quote_table,
    raw_connection,
    raw_fetch,
)
from benchmarks.data import WIDE, wide_frame
from benchmarks.harness import Context, Result, measure, result_rows

__all__ = ["fetch_results", "run"]

SCHEMA = "bench_fetch"
DJ_SCHEMA = "bench_dj_fetch"


def run(ctx: Context) -> list[Result]:
    size = ctx.size(2_000_000, 200_000)
    results = []
    for backend, url in ctx.urls.items():
        results += fetch_results(ctx, "fetch", backend, url, size, datajoint=True)
    return results


def fetch_results(
    ctx: Context, benchmark: str, backend: str, url: str, size: int, *, datajoint: bool
) -> list[Result]:
    """Fill the wide table with ``size`` rows, then time fetching it all every way."""
    conn = dj.connect(url)
    try:
        wide = declare_djframe(conn, SCHEMA, {"wide": WIDE})["wide"]
        wide().insert(wide_frame(size))
        settle(conn, SCHEMA)
        sql = f"SELECT * FROM {quote_table(SCHEMA, 'wide')}"
        with raw_connection(conn, url) as raw:
            works: dict[str, Any] = {
                "djframe": wide.to_polars,
                raw_name(backend): raw_fetch(raw, sql),
            }
            dj_table = datajoint_copy(ctx, conn) if datajoint and backend == "postgres" else None
            if dj_table is not None:
                works["DataJoint 2.3.5 to_polars()"] = dj_table.to_polars
            times = measure(works, ctx.repeats)
    finally:
        drop_datajoint_schema(ctx.datajoint, DJ_SCHEMA)
        drop_djframe_schema(conn, SCHEMA)
        conn.close()
    ours = times.pop("djframe")
    return result_rows(benchmark, backend, size, ours, times)


def raw_name(backend: str) -> str:
    return "DuckDB .pl()" if backend == "duckdb" else "ADBC fetch_arrow_table + pl.from_arrow"


def settle(conn: dj.Connection, schema: str) -> None:
    """Let PostgreSQL finish its bookkeeping after a bulk load, so that no run pays for it."""
    if conn.backend.name == "postgres":
        conn.execute(f'VACUUM ANALYZE "{schema}"."wide"')


def datajoint_copy(ctx: Context, conn: dj.Connection) -> Any:
    """DataJoint's own declaration of the wide table, filled from djframe's by SQL."""
    if ctx.datajoint is None:
        return None
    table = declare_datajoint(ctx.datajoint, DJ_SCHEMA, {"wide": WIDE})["wide"]
    conn.execute(
        f"INSERT INTO {quote_table(DJ_SCHEMA, 'wide')} SELECT * FROM {quote_table(SCHEMA, 'wide')}"
    )
    conn.execute(f"VACUUM ANALYZE {quote_table(DJ_SCHEMA, 'wide')}")
    return table
