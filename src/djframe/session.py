"""The context of a running make: context variables declared here, set by :mod:`djframe.compute`.

populate runs ``make`` inside a context that changes how the floors below it behave, without
them importing what sets it (httpx's way: the lower layer owns the slot, the upper fills it):

- :data:`make_scope`: the keys a make may insert (``Table.insert`` checks them);
- :data:`held_rows`: a make's inserts held back and written in bulk (``insert_rows`` holds,
  a query that reads a held table writes them first);
- :data:`read_ahead`: point queries of a group of makes answered from one query
  (``ResultsMixin`` asks it first; a statement that changes data makes it forget);
- :data:`commit_context`: metadata for every Delta commit (job id, code version).

Each variable holds an object of the small protocol beside it, or None outside populate.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from djframe.errors import AccessError

if TYPE_CHECKING:
    import pyarrow as pa

    from djframe._typing import OnConflict
    from djframe.catalog import TableInfo

__all__ = [
    "MakeScope",
    "ReadAhead",
    "RowHolder",
    "commit_context",
    "data_changing",
    "held_rows",
    "make_scope",
    "read_ahead",
    "refuse_in_make",
]


class MakeScope(Protocol):
    """The keys a running make (or make_batch) may insert into its table and parts."""

    def check(self, table: Any, data: pa.Table) -> None:
        """Refuse checked rows of ``table`` whose key the make was not given."""
        ...

    def admits(self, table: Any, rows: Any) -> bool:
        """Whether ``rows`` are a few dicts for ``table`` plainly within the scope (so they
        may be held as they are); False means: check them the usual way."""
        ...


class RowHolder(Protocol):
    """Rows a group of makes inserted, held back and written together."""

    def takes(self, conn: Any, info: TableInfo) -> bool:
        """Whether inserts into ``info`` on ``conn`` are held now (an insert on ``conn`` it
        does not take is counted as written at once)."""
        ...

    def hold(
        self, info: TableInfo, data: pa.Table, on_conflict: OnConflict, objects: Any = None
    ) -> None:
        """Hold checked rows (and the stored objects they refer to, written with them)."""
        ...

    def hold_dicts(self, conn: Any, info: TableInfo, rows: Any) -> bool:
        """Hold rows given as dicts unconverted (checked when written); True if held."""
        ...

    def flush_for(self, conn: Any, sql: str) -> None:
        """Before ``sql`` runs on ``conn``: write the held rows if it reads their tables."""
        ...


class ReadAhead(Protocol):
    """Rows read ahead for a group of makes (see :mod:`djframe.compute.readahead`)."""

    def serve(self, expr: Any, options: Mapping[str, Any]) -> pa.Table | None:
        """The result of ``expr`` from rows read ahead, or None if it must be queried."""
        ...

    def forget(self, conn: Any) -> None:
        """Data on ``conn`` is about to change: drop what was read ahead on it."""
        ...


make_scope: ContextVar[MakeScope | None] = ContextVar("djframe_make_scope", default=None)
held_rows: ContextVar[RowHolder | None] = ContextVar("djframe_held_rows", default=None)
read_ahead: ContextVar[ReadAhead | None] = ContextVar("djframe_read_ahead", default=None)
commit_context: ContextVar[Mapping[str, str] | None] = ContextVar(
    "djframe_commit_context", default=None
)
"""Metadata for every Delta commit made in this context, e.g. ``{"job_id": ..., "code_version":
...}``; each key is recorded as ``djframe.<key>`` in the commit's metadata. Populate sets it
around each make; ``commit_context.set({...})`` / ``.reset(token)`` elsewhere."""


def refuse_in_make(action: str) -> None:
    """Refuse ``action`` (dropping or declaring a table, dropping a schema) while a make
    runs: populate's tables, queue and held rows would change under it (DataJoint refuses to
    declare inside make too)."""
    if make_scope.get() is not None:
        raise AccessError(
            f"Cannot {action} inside make(): populate is writing to these tables. Nothing was "
            "changed; do it outside populate, before or after it runs."
        )


def data_changing(conn: Any) -> None:
    """A statement that changes data is about to run on ``conn``: rows read ahead may not hold."""
    ahead = read_ahead.get()
    if ahead is not None:
        ahead.forget(conn)


def flush_held(conn: Any, sql: str) -> None:
    """Before a query runs: a make's held rows go to the database if ``sql`` reads them."""
    held = held_rows.get()
    if held is not None:
        held.flush_for(conn, sql)
