"""The scope of a running make: which keys it may insert into its table and parts.

populate sets :data:`djframe.session.make_scope` to a :class:`KeyScope` while make (or
make_batch) runs; ``Table.insert`` then refuses rows of the populated table or its parts whose
key make was not given (a JobError naming them), and lets a few dict rows of given keys be held
as they are (see :mod:`djframe.compute.pending`). Direct inserts into Imported and Computed
tables are allowed exactly while a scope is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from djframe.errors import JobError
from djframe.session import make_scope

if TYPE_CHECKING:
    from djframe.table import Table

__all__ = ["KeyScope", "scoped"]

QUICK_SCOPE = 64
"""Up to this many rows and keys, the scope is checked on Python values (a few microseconds)."""


@dataclass(frozen=True)
class KeyScope:
    """The keys a running make (or make_batch) may insert into its table and parts
    (a :class:`djframe.session.MakeScope`)."""

    target: str
    keys: pl.DataFrame
    key: dict[str, Any] | None = None
    """The one key of a make, as make got it (saves converting ``keys`` again)."""

    @cached_property
    def values(self) -> frozenset[tuple[Any, ...]]:
        """The keys as tuples of Python values (for a few keys)."""
        if self.key is not None:
            return frozenset({tuple(self.key[n] for n in self.keys.columns)})
        return frozenset(self.keys.iter_rows())

    def covers(self, table: Table) -> bool:
        return self.target in {table.full_name, table.info.master}

    def check(self, table: Table, data: pa.Table) -> None:
        """Refuse rows of the populated table (or its parts) whose key was not given to make."""
        if not data.num_rows or not self.covers(table) or self.within_quickly(data):
            return  # no rows (a make may insert none)
        names = self.keys.columns
        given = pl.from_arrow(data.select(names))
        assert isinstance(given, pl.DataFrame)
        given = given.cast(dict(self.keys.schema))  # type: ignore[arg-type]
        outside = given.join(self.keys, on=names, how="anti", nulls_equal=True)
        if not outside.is_empty():
            shown = outside.unique(maintain_order=True).head(3).to_dicts()
            raise JobError(
                f"make inserted rows into {type(table).__name__} with keys it was not given: "
                f"{shown}. make must insert only the key(s) it was called "
                "with (and their parts)."
            )

    def within_quickly(self, data: pa.Table) -> bool:
        """True when a few rows plainly carry given keys; False means: check with Polars."""
        if data.num_rows > QUICK_SCOPE or len(self.keys) > QUICK_SCOPE:
            return False
        names = self.keys.columns
        given = set(zip(*(data.column(n).to_pylist() for n in names), strict=True))
        return given <= self.values

    def admits(self, table: Table, rows: Any) -> bool:
        """Whether ``rows`` are a few dicts for the target (or a part) with keys it was
        given; False means: check them the usual way."""
        if not self.covers(table) or not isinstance(rows, list):
            return False
        if len(rows) > QUICK_SCOPE or len(self.keys) > QUICK_SCOPE:
            return False
        names = self.keys.columns
        try:
            return all(tuple(row[n] for n in names) in self.values for row in rows)
        except (KeyError, TypeError):
            return False  # not dicts with the key: the usual path explains


@contextmanager
def scoped(target: Table, keys: pl.DataFrame, key: dict[str, Any] | None = None) -> Iterator[None]:
    token = make_scope.set(KeyScope(target.full_name, keys, key))
    try:
        yield
    finally:
        make_scope.reset(token)
