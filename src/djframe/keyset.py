"""A set of keys as a relation SQL can join: literal VALUES when small, a temporary table when big.

Populate names the keys of each make call in several statements (provenance, job status);
uploading a one-row temporary table for each would cost more than the make itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import polars as pl

from djframe._sql import quote, values_relation

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
    yield values_relation(list(keys.iter_rows()), keys.columns, types, alias="k")
