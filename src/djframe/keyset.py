"""A set of keys as a relation SQL can join: literal VALUES when small, else arrays or a
temporary table.

Populate names the keys of each make call in several statements (provenance, job status);
uploading a one-row temporary table for each would cost more than the make itself. Where an
upload is a temporary table (PostgreSQL: created, filled by COPY, dropped; about 2.5 ms for
5,000 keys), thousands of integer or text keys go into the statement as one array literal
per column instead (``unnest``, about 0.5 ms); other key types are uploaded. A zero-copy
view (DuckDB) costs nothing to make, so there the keys are always registered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import polars as pl

from djframe._sql import array_literal, literal, quote, values_relation

if TYPE_CHECKING:
    from djframe.connection import Connection
    from djframe.heading import Heading

__all__ = ["array_relation", "key_relation"]

INLINE_LIMIT = 256
"""Up to this many keys are written into the statement as VALUES; more as arrays (where
uploads are costly and the types allow) or in a temporary table."""


@contextmanager
def key_relation(conn: Connection, keys: pl.DataFrame, heading: Heading) -> Iterator[str]:
    """A relation (``(VALUES ...) AS k(a, b)``, arrays, or a table name) holding ``keys``."""
    dialect = conn.backend.dialect
    types = [heading[name].type.sql(dialect) for name in keys.columns]  # type: ignore[union-attr]
    if 0 < len(keys) <= INLINE_LIMIT:
        yield values_relation(list(keys.iter_rows()), keys.columns, types, alias="k")
        return
    arrays = array_relation(keys, types, alias="k") if conn.backend.uploads_relations else None
    if arrays is not None:
        yield arrays
        return
    with conn.temporary(keys.to_arrow()) as name:
        yield quote(name)


def array_relation(keys: pl.DataFrame, types: list[str], *, alias: str) -> str | None:
    """``(SELECT unnest(CAST('{...}' AS type[])) AS a, ...) AS alias``: the keys as one
    PostgreSQL array literal per column (unnested side by side, so row by row), or None if a
    column is neither integers nor text.

    Examples
    --------
    >>> print(array_relation(pl.DataFrame({"a": [1, 2]}), ["BIGINT"], alias="k"))
    (SELECT unnest(CAST('{1,2}' AS BIGINT[])) AS "a") AS k
    """
    data = keys.to_arrow()
    columns = []
    for name, column, sql_type in zip(data.column_names, data.columns, types, strict=True):
        text = array_literal(column)
        if text is None:
            return None
        columns.append(f"unnest(CAST({literal(text)} AS {sql_type}[])) AS {quote(name)}")
    return f"(SELECT {', '.join(columns)}) AS {alias}"
