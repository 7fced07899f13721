"""What djframe is compared with: DataJoint 2.3.5 on PostgreSQL and the raw engines.

DataJoint is optional (``nox -s bench`` installs it); without it its rows are left out.
Tables are declared from the same definition text in djframe and in DataJoint, and the raw
engines get a connection of their own (DuckDB: a cursor of the same in-process database).

Examples
--------
>>> quote_table("bench", "wide")
'"bench"."wide"'
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import polars as pl

import djframe as dj
from benchmarks.data import class_name
from benchmarks.datajoint_setup import load_datajoint

__all__ = [
    "declare_datajoint",
    "declare_djframe",
    "drop_datajoint_schema",
    "drop_djframe_schema",
    "load_datajoint",
    "quote_table",
    "raw_connection",
    "raw_fetch",
]


def quote_table(schema: str, table: str) -> str:
    return f'"{schema}"."{table}"'


def declare_djframe(
    conn: dj.Connection, schema_name: str, definitions: Mapping[str, str]
) -> dict[str, type[dj.Table]]:
    """Declare Manual tables (in order, parents first) in a fresh djframe schema."""
    drop_djframe_schema(conn, schema_name)
    schema = dj.Schema(schema_name, connection=conn)
    tables = {}
    for sql_name, definition in definitions.items():
        cls = type(class_name(sql_name), (dj.Manual,), {"definition": definition})
        tables[sql_name] = schema.context[cls.__name__] = schema(cls)
    return tables


def drop_djframe_schema(conn: dj.Connection, schema_name: str) -> None:
    if schema_name in conn.list_schemas():
        dj.Schema(schema_name, connection=conn).drop(prompt=False)


def declare_datajoint(
    datajoint: Any, schema_name: str, definitions: Mapping[str, str]
) -> dict[str, Any]:
    """The same tables in a fresh DataJoint schema (dropped first if it exists)."""
    drop_datajoint_schema(datajoint, schema_name)
    context: dict[str, Any] = {}
    schema = datajoint.Schema(schema_name, context=context)
    tables = {}
    for sql_name, definition in definitions.items():
        cls = type(class_name(sql_name), (datajoint.Manual,), {"definition": definition})
        tables[sql_name] = context[cls.__name__] = schema(cls)
    return tables


def drop_datajoint_schema(datajoint: Any, schema_name: str) -> None:
    if datajoint is not None and schema_name in datajoint.list_schemas():
        datajoint.Schema(schema_name).drop(prompt=False)


@contextlib.contextmanager
def raw_connection(conn: dj.Connection, url: str) -> Iterator[Any]:
    """A raw engine connection to the same database: ADBC for PostgreSQL, DuckDB's own."""
    if conn.backend.name == "duckdb":
        from djframe.backends.duckdb import CATALOG

        cursor = conn.backend.con.cursor()  # type: ignore[attr-defined]
        cursor.execute(f"USE {CATALOG}")
        yield cursor
        cursor.close()
        return
    from adbc_driver_postgresql import dbapi

    raw = dbapi.connect(url, autocommit=True)
    try:
        yield raw
    finally:
        raw.close()


def raw_fetch(raw: Any, sql: str) -> Callable[[], pl.DataFrame]:
    """A function that runs ``sql`` into Polars through the raw engine (DuckDB or ADBC)."""
    if hasattr(raw, "sql"):  # DuckDB
        return lambda: raw.sql(sql).pl()

    def adbc() -> pl.DataFrame:
        with raw.cursor() as cursor:
            cursor.execute(sql)
            return pl.DataFrame(pl.from_arrow(cursor.fetch_arrow_table()))

    return adbc
