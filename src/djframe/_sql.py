"""SQL text djframe writes itself: quoted identifiers and literals, the same on every backend.

Every literal djframe puts into a statement is written here: plain literals (job columns,
cached query shapes), literals cast to a SQL type (keys, small inserts) and ``VALUES``
relations of them. Queries over user data are compiled by Ibis instead; this module is for
the statements around them (catalog, job queue, provenance, inserts).

Examples
--------
>>> quote("lab", "subject")
'"lab"."subject"'
>>> literal("it's")
"'it''s'"
>>> typed_literal(3, "INTEGER")
'CAST(3 AS INTEGER)'
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "NEW_ROWS",
    "OLD_ROWS",
    "array_literal",
    "arrays_select",
    "inlinable",
    "literal",
    "plain_literal",
    "quote",
    "typed_literal",
    "values_relation",
]


def quote(*names: str) -> str:
    """Quote and join SQL identifiers: ``quote("s", "t")`` is ``"s"."t"``."""
    return ".".join('"' + n.replace('"', '""') + '"' for n in names)


OLD_ROWS = '"~old"'
NEW_ROWS = '"~new"'
"""Aliases of a table and of the rows that change it in djframe's own statements: no table or
attribute of a user's can be named with a ``~`` (a table named ``s`` broke ``update1``)."""


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def plain_literal(value: Any) -> str:
    """An untyped literal: NULL, TRUE/FALSE, a number as Python writes it, else a string.

    Ints and printable strings are written exactly as Ibis writes them, in both dialects
    (the query cache relies on it).

    Examples
    --------
    >>> plain_literal(None), plain_literal(True), plain_literal(7), plain_literal("a")
    ('NULL', 'TRUE', '7', "'a'")
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return literal(str(value))


def typed_literal(value: Any, sql_type: str) -> str:
    """A literal of ``value`` cast to ``sql_type``."""
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
        "(" + ", ".join(typed_literal(v, t) for v, t in zip(row, types, strict=True)) + ")"
        for row in rows
    )
    return f"(VALUES {body}) AS {alias}({', '.join(quote(n) for n in names)})"


def inlinable(data: pa.Table) -> bool:
    """Whether every column of ``data`` holds values :func:`typed_literal` writes exactly."""
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


ARRAY_TYPES = {pa.int16(): "SMALLINT", pa.int32(): "INTEGER", pa.int64(): "BIGINT"}
"""Arrow integer types with their PostgreSQL types (those Arrow's upload creates too)."""


def array_literal(column: pa.ChunkedArray | pa.Array) -> str | None:
    r"""PostgreSQL's text form of an array of ``column``'s values (``{1,2}``,
    ``{"a","b"}``), or None for types other than integers and text, and for nulls.

    Examples
    --------
    >>> print(array_literal(pa.array([1, 2])))
    {1,2}
    >>> print(array_literal(pa.array(['say "hi"', "it's", "a\\b"])))
    {"say \"hi\"","it's","a\\b"}
    """
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if values.null_count:
        return None
    kind = values.type
    if pa.types.is_integer(kind):
        items = pc.cast(values, pa.string())
    elif (
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    ):
        text = pc.cast(values, pa.string())
        escaped = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
        items = pc.binary_join_element_wise('"', escaped, '"', "")
    else:
        return None
    whole = pa.ListArray.from_arrays(pa.array([0, len(items)], pa.int32()), items)
    return "{" + (pc.binary_join(whole, ",")[0].as_py() or "") + "}"


def arrays_select(data: pa.Table) -> str | None:
    """``SELECT unnest(CAST('{...}' AS type[])) AS a, ...``: the rows of ``data`` as one
    PostgreSQL array literal per column, unnested side by side (so row by row); None unless
    every column holds integers of 16 to 64 bits or text, and no nulls.

    Examples
    --------
    >>> print(arrays_select(pa.table({"a": pa.array([1, 2], pa.int32())})))
    SELECT unnest(CAST('{1,2}' AS INTEGER[])) AS "a"
    """
    columns = []
    for field, column in zip(data.schema, data.columns, strict=True):
        is_text = pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
        sql_type = (
            "TEXT"
            if is_text or pa.types.is_string_view(field.type)
            else ARRAY_TYPES.get(field.type)
        )
        text = array_literal(column) if sql_type is not None else None
        if text is None:
            return None
        columns.append(f"unnest(CAST({literal(text)} AS {sql_type}[])) AS {quote(field.name)}")
    return f"SELECT {', '.join(columns)}" if columns else None
