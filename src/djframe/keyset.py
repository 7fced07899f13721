"""A set of keys as a relation SQL can join: literal VALUES when small, a temporary table when big.

Populate names the keys of each make call in several statements (provenance, job status);
uploading a one-row temporary table for each would cost more than the make itself.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from djframe.catalog import literal, quote

if TYPE_CHECKING:
    from djframe.connection import Connection
    from djframe.heading import Heading

__all__ = ["inlinable", "key_relation", "value_sql", "values_relation"]

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
    yield values_relation(list(keys.iter_rows()), keys.columns, types, alias="k")


def values_relation(
    rows: Sequence[Sequence[Any]], names: Sequence[str], types: Sequence[str], *, alias: str
) -> str:
    """``(VALUES (...), ...) AS alias(names)``, each value a literal cast to its SQL type.

    Examples
    --------
    >>> values_relation([(1, 2)], ["a", "b"], ["BIGINT", "INTEGER"], alias="k")
    '(VALUES (CAST(1 AS BIGINT), CAST(2 AS INTEGER))) AS k("a", "b")'
    """
    body = ", ".join(
        "(" + ", ".join(value_sql(v, t) for v, t in zip(row, types, strict=True)) + ")"
        for row in rows
    )
    return f"(VALUES {body}) AS {alias}({', '.join(quote(n) for n in names)})"


def inlinable(data: pa.Table) -> bool:
    """Whether every column of ``data`` holds values :func:`value_sql` writes exactly."""
    return all(_inlinable(field.type) for field in data.schema)


def _inlinable(kind: pa.DataType) -> bool:
    if pa.types.is_timestamp(kind):
        return kind.tz is None
    return any(
        check(kind)
        for check in (
            pa.types.is_integer,
            pa.types.is_floating,
            pa.types.is_boolean,
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_date,
            pa.types.is_time,
            pa.types.is_decimal,
            pa.types.is_null,
        )
    )


def value_sql(value: Any, sql_type: str) -> str:
    """A literal of ``value`` typed as ``sql_type``."""
    if value is None:
        return f"CAST(NULL AS {sql_type})"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return f"CAST({value!r} AS {sql_type})"
    if isinstance(value, dt.datetime):
        return f"CAST({literal(value.isoformat(sep=' '))} AS {sql_type})"
    if isinstance(value, dt.date | dt.time):
        return f"CAST({literal(value.isoformat())} AS {sql_type})"
    return f"CAST({literal(str(value))} AS {sql_type})"  # strings, decimals, nan and inf
