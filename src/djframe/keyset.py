"""A set of keys as a relation SQL can join: literal VALUES when small, a temporary table when big.

Populate names the keys of each make call in several statements (provenance, job status);
uploading a one-row temporary table for each would cost more than the make itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import polars as pl

from djframe.catalog import literal, quote

if TYPE_CHECKING:
    from djframe.connection import Connection
    from djframe.heading import Heading

__all__ = ["key_relation"]

INLINE_LIMIT = 256
"""Up to this many keys are written into the statement; more go to a temporary table."""


@contextmanager
def key_relation(conn: Connection, keys: pl.DataFrame, heading: Heading) -> Iterator[str]:
    """A relation (``(VALUES ...) AS k(a, b)`` or a table name) holding ``keys``."""
    if len(keys) > INLINE_LIMIT or len(keys) == 0:
        with conn.temporary(keys.to_arrow()) as name:
            yield quote(name)
        return
    dialect = conn.backend.dialect
    types = [heading[name].type.sql(dialect) for name in keys.columns]  # type: ignore[union-attr]
    rows = ", ".join(
        "(" + ", ".join(value_sql(v, t) for v, t in zip(row, types, strict=True)) + ")"
        for row in keys.iter_rows()
    )
    yield f"(VALUES {rows}) AS k({', '.join(quote(n) for n in keys.columns)})"


def value_sql(value: Any, sql_type: str) -> str:
    """A literal of ``value`` typed as ``sql_type``."""
    if value is None:
        return f"CAST(NULL AS {sql_type})"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return f"CAST({value!r} AS {sql_type})"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return f"CAST({literal(value.isoformat(sep=' ') if isinstance(value, dt.datetime) else value.isoformat())} AS {sql_type})"
    return f"CAST({literal(str(value))} AS {sql_type})"
