"""The SQL engines behind a connection, each behind the one :class:`Backend` protocol.

A backend moves SQL text in and Arrow data out; it knows nothing of tables, headings or
lineage. Features ask a backend for a capability (``enforces_foreign_keys``,
``decimals_as_text``, ``locks_claimed_rows``, ``appends_arrow``, ``uploads_relations``,
``session_id()``,
``location()``), never for
its name or dialect: every optional feature is declared here. :func:`open_backend` picks the
implementation from a URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from djframe._typing import BackendName
from djframe.errors import ConfigError, DjframeError, redact, url_secrets

__all__ = ["Backend", "Embedded", "open_backend"]


class Backend(Protocol):
    """What djframe needs from a SQL engine."""

    name: BackendName
    dialect: str
    """The sqlglot / Ibis dialect its SQL is written in."""
    enforces_foreign_keys: bool
    """True when the engine checks references itself, inside transactions, as PostgreSQL does.
    DuckDB checks them eagerly per statement (a child and its parent cannot both be deleted in
    one transaction), so djframe declares no foreign keys there and checks them itself."""
    url: str
    """The URL it was opened with, password redacted."""
    path: str | None
    """The database file of an embedded engine (``":memory:"`` in memory), else None."""
    decimals_as_text: bool
    """True when ``decimal`` columns must leave the engine as text to reach Arrow exactly
    (ADBC gives PostgreSQL's ``numeric`` as an opaque type)."""
    locks_claimed_rows: bool
    """True when job claims lock their rows (``FOR UPDATE SKIP LOCKED``), so concurrent
    workers skip each other's claims instead of conflicting at commit."""
    appends_arrow: bool
    """True when :meth:`append_arrow` loads rows straight into a table."""
    uploads_relations: bool
    """True when :meth:`register_arrow` uploads the rows (PostgreSQL: a temporary table, a
    few statements), so that a statement naming thousands of keys is cheaper with them
    written in as arrays (:mod:`djframe.keyset`); False when it is a zero-copy view (DuckDB)."""

    def execute(self, sql: str) -> None: ...

    def fetch_arrow(self, sql: str) -> pa.Table: ...

    def fetch_arrow_views(self, sql: str) -> pa.Table:
        """Like :meth:`fetch_arrow`, but strings may come as views (cheaper for Polars)."""
        ...

    def append_arrow(self, schema: str, table: str, data: pa.Table) -> None:
        """Append rows whose columns have the table's Arrow types (see :attr:`appends_arrow`)."""
        ...

    def advance_sequence_sql(self, schema: str, sequence: str, value: int) -> str:
        """A query that makes the next value of ``schema.sequence`` greater than ``value``
        (an auto_increment attribute was given explicit values, as MySQL allows)."""
        ...

    def serial(self) -> AbstractContextManager[None]:
        """A block whose statements run on the calling thread only: for populate's own
        statements over a batch of keys, where an engine's thread pool adds only waits for
        its threads (DuckDB, see :mod:`djframe.backends.serial`). A no-op for a server."""
        ...

    def session_id(self) -> str | None:
        """This database session's id, unique on its server for all time (not only while
        it lasts: a process id with its start time), or None where there are no sessions."""
        ...

    def session_ended_sql(self, column: str) -> str | None:
        """An SQL condition: the session whose :meth:`session_id` ``column`` holds has ended
        (None where there are no sessions). Where the server does not say when a session
        started (another role's, without the privilege), it is taken as alive."""
        ...

    def location(self) -> str:
        """Where this database is, as a schema's identity records it: a copy of the database
        made elsewhere has another location (a DuckDB file's path; a PostgreSQL database's
        oid; a database in memory, its own)."""
        ...

    def moved_from(self, location: str) -> bool:
        """Whether the database once at ``location`` is gone from there, so that this one is
        it, moved rather than copied (False where that cannot be told)."""
        ...

    def fetch_batches(self, sql: str, batch_size: int) -> Iterator[pa.RecordBatch]: ...

    def fetch_scalar(self, sql: str) -> object: ...

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def register_arrow(self, name: str, data: pa.Table) -> None:
        """Make ``data`` queryable as the relation ``name`` until :meth:`unregister`."""
        ...

    def unregister(self, name: str) -> None: ...

    def close(self) -> None: ...

    def translate_error(self, exc: Exception) -> Exception | None:
        """Turn an engine's exception into a djframe error, or None if it is not one we know."""
        ...


class Embedded:
    """The capabilities of an engine with no server: no sessions, no row locks, its foreign
    keys checked by djframe, rows inserted from a registered relation."""

    enforces_foreign_keys = False
    decimals_as_text = False
    locks_claimed_rows = False
    appends_arrow = False
    uploads_relations = False

    def append_arrow(self, schema: str, table: str, data: pa.Table) -> None:
        raise NotImplementedError("an embedded engine inserts from a registered relation")

    def serial(self) -> AbstractContextManager[None]:
        return nullcontext()

    def session_id(self) -> str | None:
        return None

    def session_ended_sql(self, column: str) -> str | None:
        return None

    def moved_from(self, location: str) -> bool:
        return file_moved_from(location)


def resolved(path: str) -> str:
    return path if path == ":memory:" else str(Path(path).resolve())


def file_location(path: str, memory: str) -> str:
    """The location of an embedded database: its file, or ``memory`` for one in memory.

    Examples
    --------
    >>> file_location(":memory:", "duckdb:memory:1f2e")
    'duckdb:memory:1f2e'
    """
    return memory if path == ":memory:" else f"duckdb:{resolved(path)}"


def file_moved_from(location: str) -> bool:
    """Whether the database file at ``location`` is gone (a database in memory never moves).

    Examples
    --------
    >>> file_moved_from("duckdb:/no/such/folder/x.duckdb"), file_moved_from("duckdb:memory:1")
    (True, False)
    """
    path = location.removeprefix("duckdb:")
    return location.startswith("duckdb:/") and not Path(path).exists()


def open_backend(url: str) -> Backend:
    """Open the backend a URL names: ``duckdb://[/path]`` or ``postgresql://...``. A failure
    says so with the URL's passwords hidden, even where the driver echoed them out of it."""
    try:
        return opened_backend(url)
    except DjframeError as exc:
        failure = type(exc)(redact(str(exc), url_secrets(url)))
    raise failure  # outside the handler: no context that holds the driver's words


def opened_backend(url: str) -> Backend:
    """The backend of :func:`open_backend`, opened."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "duckdb":
        from djframe.backends.duckdb import DuckDBBackend, database_path
        from djframe.backends.remote import parent_database

        if (remote := parent_database(resolved(database_path(url)))) is not None:
            return remote  # in a populate worker: the parent holds the file
        return DuckDBBackend(url)
    if scheme in {"postgresql", "postgres"}:
        from djframe.backends.postgres import PostgresBackend

        return PostgresBackend(url)
    raise ConfigError(
        f"Cannot connect to {url!r}: the URL must start with duckdb:// (embedded) or "
        "postgresql:// (server), e.g. 'duckdb:///pipeline.duckdb'."
    )
