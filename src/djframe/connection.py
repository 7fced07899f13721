"""Connections: one database, its transactions, and what is known of its declared tables.

:func:`connect` opens DuckDB (embedded, the default) or PostgreSQL (a shared server) from a
URL. A :class:`Connection` runs SQL through its backend, turns engine errors into djframe
errors, groups statements into transactions, and keeps the catalog entries of the schemas it
has loaded together with their dependency graph (networkx).

DataJoint's spellings work too: ``dj.Connection(host, user, password)`` and
``dj.conn(host=, user=, password=, reset=)`` with the rest from ``dj.config``
(``database.backend``, ``database.port``, ``database.name``), turned into a URL by
:func:`connection_url`; ``conn.query(sql, args)``, ``start_transaction`` and the like.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as url_quote

import pyarrow as pa

from djframe.adapters import SqlAdapter
from djframe.backends import Backend, open_backend
from djframe.catalog import TableInfo, list_schemas_sql, read_catalog
from djframe.cursor import Cursor, bind_arguments, returns_rows
from djframe.dependencies import Dependencies
from djframe.errors import DjframeError, MissingTableError
from djframe.graph import build_graph
from djframe.session import data_changing
from djframe.settings import DatabaseSettings, config, redact

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "Connection",
    "EngineError",
    "conn",
    "connect",
    "connection_url",
    "default_connection",
]

_temp_names = itertools.count()


class EngineError(Exception):
    """The engine's own words, on one line: the short cause of a djframe error translated from
    an engine's exception (the driver's frames and echoed query are left out)."""


class Transaction:
    """``with conn.transaction:`` commits everything inside together, or nothing.

    A transaction entered while another is open joins it: the outermost one commits.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def __enter__(self) -> Connection:
        conn = self.connection
        if conn._depth == 0:
            conn.backend.begin()
        conn._depth += 1
        return conn

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn = self.connection
        conn._depth -= 1
        if conn._depth:
            return
        if kind is None:
            conn.backend.commit()
            conn._pending_tables.clear()  # committed: a later rollback must not forget them
        else:
            conn.backend.rollback()
            conn.forget_uncommitted()


class Connection:
    """A connection to one database.

    Examples
    --------
    >>> import djframe as dj
    >>> conn = dj.connect("duckdb://")
    >>> conn.backend.name
    'duckdb'
    """

    def __init__(
        self,
        host: str | None = None,
        user: str | None = None,
        password: str | None = None,
        port: int | None = None,
        use_tls: Any = None,
        *,
        backend: str | None = None,
        database_name: str | None = None,
    ) -> None:
        """``host`` is a URL (``duckdb:///lab.duckdb``), or, with ``user`` and ``password``,
        DataJoint's host (``"db:5432"``; on DuckDB the database file): see
        :func:`connection_url`."""
        url = connection_url(
            host, user, password, port, backend=backend, database_name=database_name
        )
        self._url = url  # with its password: kept to reconnect worker processes, never shown
        self.backend: Backend = open_backend(url)
        self._depth = 0
        self._closed = False
        self.tables: dict[str, TableInfo] = {}
        self._pending_tables: set[str] = set()
        self._graph: nx.MultiDiGraph | None = None

    def __repr__(self) -> str:
        state = "connected" if self.is_connected else "disconnected"
        return f"<djframe.Connection {self.backend.name} {redact(self.backend.url)} ({state})>"

    # -- SQL -----------------------------------------------------------------------------
    def execute(self, sql: str, *, action: str = "") -> None:
        data_changing(self)  # rows a make's group read ahead may not hold any more
        with self.translated(action):
            self.backend.execute(sql)

    def fetch_arrow(self, sql: str, *, action: str = "") -> pa.Table:
        with self.translated(action):
            return self.backend.fetch_arrow(sql)

    def fetch_scalar(self, sql: str, *, action: str = "") -> object:
        with self.translated(action):
            return self.backend.fetch_scalar(sql)

    def fetch_count(self, sql: str, *, action: str = "") -> int:
        """The integer a ``SELECT count(*) ...`` (or any one-integer query) gives."""
        value = self.fetch_scalar(sql, action=action)
        if not isinstance(value, int):
            raise TypeError(f"expected an integer from {sql!r}, got {value!r}")
        return value

    def fetch_batches(
        self, sql: str, batch_size: int, *, action: str = ""
    ) -> Iterator[pa.RecordBatch]:
        with self.translated(action):
            yield from self.backend.fetch_batches(sql, batch_size)

    @contextmanager
    def translated(self, action: str) -> Iterator[None]:
        """Re-raise engine errors as djframe errors that say what was being done."""
        try:
            yield
        except DjframeError:
            raise
        except Exception as exc:
            translated = self.backend.translate_error(exc)
            if translated is None:
                raise
            prefix = f"While {action}: " if action else ""
            error = type(translated)(prefix + str(translated))
            error.__dict__.update(translated.__dict__)  # what the backend read (IntegrityError.key)
            raise error from EngineError(" ".join(str(translated).split()))

    @contextmanager
    def temporary(self, data: pa.Table) -> Iterator[str]:
        """Make Arrow data queryable under a fresh name for the duration of a block."""
        name = f"_djframe_tmp_{next(_temp_names)}"
        with self.registered({name: data}):
            yield name

    @contextmanager
    def registered(self, frames: Mapping[str, pa.Table]) -> Iterator[None]:
        """Make Arrow data queryable under the given names for the duration of a block."""
        done: list[str] = []
        try:
            with self.translated("uploading data"):
                for name, data in frames.items():
                    self.backend.register_arrow(name, data)
                    done.append(name)
            yield
        except BaseException:
            # In a failed PostgreSQL transaction nothing runs until rollback, which removes
            # the temporary tables anyway.
            for name in done:
                with suppress(Exception):
                    self.backend.unregister(name)
            raise
        for name in done:
            self.backend.unregister(name)

    # -- transactions --------------------------------------------------------------------
    @property
    def transaction(self) -> Transaction:
        """A context manager: statements inside commit together or not at all."""
        return Transaction(self)

    @property
    def in_transaction(self) -> bool:
        """True inside ``with conn.transaction:`` (or after :meth:`start_transaction`)."""
        return self._depth > 0

    def start_transaction(self) -> None:
        """Open a transaction (DataJoint's spelling); one open already is joined."""
        self.transaction.__enter__()

    def commit_transaction(self) -> None:
        """Commit the transaction :meth:`start_transaction` opened."""
        if self._depth:
            self.transaction.__exit__(None, None, None)

    def cancel_transaction(self) -> None:
        """Roll back the open transaction, joined ones included."""
        if self._depth:
            self._depth = 1
            self.transaction.__exit__(DjframeError, None, None)

    # -- DataJoint's query escape hatch ----------------------------------------------------
    def query(
        self, sql: str, args: Sequence[Any] | dict[str, Any] | None = (), *, as_dict: bool = False
    ) -> Cursor:
        """Run one SQL statement as it is (``%s`` placeholders filled from ``args``) and return
        its rows as a DB-API style cursor, as DataJoint's ``conn.query``.

        Examples
        --------
        >>> dj.connect("duckdb://").query("SELECT %s + 1 AS n", (41,)).fetchone()  # doctest: +SKIP
        (42,)
        """
        statement = bind_arguments(sql, args)
        if returns_rows(statement):
            return Cursor(self.fetch_arrow(statement, action="running conn.query"), as_dict=as_dict)
        self.execute(statement, action="running conn.query")
        return Cursor(None)

    @property
    def adapter(self) -> SqlAdapter:
        """How to write SQL for :meth:`query` on this backend (quoting, placeholders, the SQL
        of each core type): DataJoint's ``conn.adapter``."""
        return SqlAdapter(self.backend.name)

    @property
    def is_connected(self) -> bool:
        """True until :meth:`close`."""
        return not self._closed

    # -- catalog -------------------------------------------------------------------------
    def add_table(self, info: TableInfo) -> None:
        self.tables[info.full_name] = info
        if self.in_transaction:
            self._pending_tables.add(info.full_name)
        self._graph = None

    def forget_uncommitted(self) -> None:
        for name in self._pending_tables:
            self.tables.pop(name, None)
        self._pending_tables.clear()
        self._graph = None

    def load_schema(self, schema: str) -> dict[str, TableInfo]:
        """Read a schema's catalog into this connection; returns its tables by SQL name."""
        for name in [n for n, t in self.tables.items() if t.schema == schema]:
            del self.tables[name]
        infos = read_catalog(self.backend.fetch_arrow, schema)
        self.tables.update({info.full_name: info for info in infos.values()})
        self._graph = None
        return infos

    def forget_schema(self, schema: str) -> None:
        for name in [n for n, t in self.tables.items() if t.schema == schema]:
            del self.tables[name]
        self._graph = None

    def list_schemas(self) -> list[str]:
        """The schemas of this database that hold djframe tables."""
        rows = self.fetch_arrow(list_schemas_sql())
        return [str(v) for v in rows.column(0).to_pylist()]

    def load_all_schemas(self) -> None:
        """Load every djframe schema of the database, so cascades see every dependent."""
        for schema in self.list_schemas():
            self.load_schema(schema)

    def table_info(self, full_name: str) -> TableInfo:
        try:
            return self.tables[full_name]
        except KeyError:
            raise MissingTableError(
                f"Table {full_name} is not declared in a loaded schema of {self!r}."
            ) from None

    @property
    def graph(self) -> nx.MultiDiGraph:
        """The dependency graph of every loaded table: one edge per foreign key."""
        if self._graph is None:
            self._graph = build_graph(self.tables.values())
        return self._graph

    @property
    def dependencies(self) -> Dependencies:
        """The dependency graph by quoted full table name, as DataJoint's
        ``conn.dependencies`` (see :class:`~djframe.dependencies.Dependencies`)."""
        return Dependencies(self)

    # -- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection; ``with dj.connect(url) as conn:`` closes it at the end."""
        self._closed = True
        self.backend.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(url: str | None = None) -> Connection:
    """Connect to a database; with no URL, the configured one (``./djframe.duckdb`` by default).

    Parameters
    ----------
    url
        ``duckdb:///path/file.duckdb``, ``duckdb://`` (in memory) or
        ``postgresql://user:password@host:port/database``.

    Examples
    --------
    >>> import djframe as dj
    >>> dj.connect("duckdb://")
    <djframe.Connection duckdb duckdb://>
    """
    url = url or config["database.url"]
    if "://" not in url:
        open_backend(url)  # raises: connect() takes a URL (dj.conn takes DataJoint's host)
    return Connection(url)


def connection_url(
    host: str | None = None,
    user: str | None = None,
    password: str | None = None,
    port: int | None = None,
    *,
    backend: str | None = None,
    database_name: str | None = None,
) -> str:
    """The URL of a database named as DataJoint names it: a host (``"db:5432"``, or on
    DuckDB the database file), a user and a password, the rest from ``dj.config``
    (``database.backend``, ``database.port``, ``database.name``). A URL is returned as it is;
    nothing at all gives the configured database (``database.url``, else DataJoint's
    ``database.host`` ... when set).

    Examples
    --------
    >>> connection_url("db.lab:5433", "ann", "pw", backend="postgresql", database_name="lab")
    'postgresql://ann:pw@db.lab:5433/lab'
    >>> connection_url("/data/lab.duckdb", backend="duckdb")
    'duckdb:////data/lab.duckdb'
    """
    if host is not None and "://" in host:
        return host
    nothing_given = host is None and user is None and password is None
    if nothing_given and (config.is_set("database.url") or not config.is_set("database.host")):
        return str(config["database.url"])
    given = {"host": host, "user": user, "password": password, "port": port}
    given |= {"backend": backend, "name": database_name}
    database = DatabaseSettings(**{
        field: given[field] if given.get(field) is not None else config[f"database.{field}"]
        for field in DatabaseSettings.FIELDS
    })  # fmt: skip
    kind = database.backend or _guess_backend(database.host)
    if kind == "duckdb":
        file = database.host
        return "duckdb://" if file in ("", ":memory:") else f"duckdb:///{file}"
    return _postgres_url(database)


def _guess_backend(host: str) -> str:
    """DuckDB for a file path (or nothing), PostgreSQL for a host name."""
    if host in ("", ":memory:") or host.endswith((".duckdb", ".db")) or os.sep in host:
        return "duckdb"
    return "postgresql"


def _postgres_url(database: DatabaseSettings) -> str:
    name_part, _, port_part = str(database.host).partition(":")
    port = int(port_part) if port_part else database.port or 5432
    login = url_quote(str(database.user or ""), safe="")
    if database.password:
        login += ":" + url_quote(str(database.password), safe="")
    name = database.name or "postgres"
    return f"postgresql://{login}{'@' if login else ''}{name_part}:{port}/{name}"


_default: dict[str, Connection] = {}
_current: list[Connection] = []


def default_connection() -> Connection:
    """The shared connection: the last one :func:`conn` opened, else one to the configured
    database, opened on first use."""
    if _current and _current[0].is_connected and not config.is_set("database.url"):
        return _current[0]
    url = connection_url()
    if url not in _default or not _default[url].is_connected:
        _default[url] = connect(url)
    return _default[url]


def conn(
    host: str | None = None,
    user: str | None = None,
    password: str | None = None,
    *,
    reset: bool = False,
    use_tls: Any = None,
) -> Connection:
    """DataJoint's shared connection: opened on first call (or with ``reset=True``) from the
    arguments and ``dj.config``, the same object afterwards. ``dj.connect(url)`` is djframe's
    own spelling.

    Examples
    --------
    >>> dj.conn("lab.duckdb", reset=True)  # doctest: +SKIP
    """
    given = host is not None or user is not None or password is not None
    if _current and not reset and not given and _current[0].is_connected:
        return _current[0]
    url = connection_url(host, user, password)
    if reset or url not in _default or not _default[url].is_connected:
        _default[url] = connect(url)
    _current[:] = [_default[url]]
    return _default[url]
