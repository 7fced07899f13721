"""A backend in another process: a worker's SQL runs on its parent's DuckDB connection.

DuckDB lets one process open a database file for writing, so populate's worker processes on
DuckDB cannot open it themselves. The parent runs a :class:`DatabaseServer` on a local socket
and starts its workers with its address in the environment (:data:`ENVIRONMENT`); in a worker,
connecting to that file gives a :class:`RemoteBackend` that sends its statements to the server,
where a thread per connection runs them on a sibling connection of its own, with its own
transactions, and sends Arrow results back. Workers compute in parallel on their own cores;
the parent process is the one writer.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import suppress
from multiprocessing.connection import Client, Listener
from multiprocessing.connection import Connection as Pipe
from typing import Any

import pyarrow as pa

from djframe import errors
from djframe._typing import BackendName
from djframe.backends import Embedded, file_location

__all__ = ["DatabaseServer", "RemoteBackend", "parent_database", "serve"]


ENVIRONMENT = ("DJFRAME_WORKER_DATABASE", "DJFRAME_WORKER_ADDRESS", "DJFRAME_WORKER_AUTHKEY")
"""Set for worker processes: the database file, the server's address and its key."""


def parent_database(path: str) -> RemoteBackend | None:
    """In a worker process, the parent's database ``path`` through its server, else None."""
    database, address, key = (os.environ.get(name) for name in ENVIRONMENT)
    if database is None or database != path or address is None or key is None:
        return None
    return RemoteBackend(Client(address, authkey=bytes.fromhex(key)), f"duckdb:///{path}", path)


class RemoteBackend(Embedded):
    """The worker's side: every call is a request to the parent and waits for its answer."""

    name: BackendName = "duckdb"
    dialect = "duckdb"

    def __init__(self, pipe: Pipe, url: str, path: str) -> None:
        self.pipe = pipe
        self.url = url
        self.path: str | None = path
        self._location = file_location(path, "")

    def call(self, method: str, *args: Any) -> Any:
        self.pipe.send((method, args))
        ok, value = self.pipe.recv()
        if not ok:
            raise value
        return value

    def execute(self, sql: str) -> None:
        self.call("execute", sql)

    def fetch_arrow(self, sql: str) -> pa.Table:
        return self.call("fetch_arrow", sql)

    def fetch_arrow_views(self, sql: str) -> pa.Table:
        return self.fetch_arrow(sql)

    def fetch_batches(self, sql: str, batch_size: int) -> Iterator[pa.RecordBatch]:
        yield from self.fetch_arrow(sql).to_batches(batch_size)

    def advance_sequence_sql(self, schema: str, sequence: str, value: int) -> str:
        from djframe.backends.duckdb import advance_sequence_sql

        return advance_sequence_sql(schema, sequence, value)

    def location(self) -> str:
        return self._location

    def fetch_scalar(self, sql: str) -> object:
        return self.call("fetch_scalar", sql)

    def begin(self) -> None:
        self.call("begin")

    def commit(self) -> None:
        self.call("commit")

    def rollback(self) -> None:
        self.call("rollback")

    def register_arrow(self, name: str, data: pa.Table) -> None:
        self.call("register_arrow", name, data)

    def unregister(self, name: str) -> None:
        self.call("unregister", name)

    def close(self) -> None:
        self.pipe.close()

    def translate_error(self, exc: Exception) -> Exception | None:
        return exc if isinstance(exc, errors.DjframeError) else None


REQUESTS = {
    "execute",
    "fetch_arrow",
    "fetch_scalar",
    "begin",
    "commit",
    "rollback",
    "register_arrow",
    "unregister",
}


def serve(backend: Any, pipe: Pipe) -> None:
    """Answer one worker's requests on ``backend`` until the worker hangs up."""
    try:
        while True:
            try:
                method, args = pipe.recv()
            except (EOFError, OSError):
                break
            try:
                if method not in REQUESTS:
                    raise errors.DjframeError(f"Unknown request {method!r} from a worker.")
                answer: tuple[bool, Any] = (True, getattr(backend, method)(*args))
            except Exception as exc:
                answer = (False, portable(backend, exc))
            pipe.send(answer)
    finally:
        with suppress(Exception):  # nothing to roll back unless the worker died mid-transaction
            backend.rollback()
        backend.close()


class DatabaseServer:
    """Serves this process's DuckDB database to worker processes over a local socket."""

    def __init__(self, backend: Any, path: str) -> None:
        self.backend, self.path = backend, path
        self.key = secrets.token_bytes(16)
        self.listener = Listener(family="AF_UNIX", authkey=self.key)
        threading.Thread(target=self.accept, daemon=True).start()

    def environment(self) -> dict[str, str]:
        values = (self.path, str(self.listener.address), self.key.hex())
        return dict(zip(ENVIRONMENT, values, strict=True))

    def accept(self) -> None:
        while True:
            try:
                pipe = self.listener.accept()
            except (OSError, EOFError):
                return  # closed
            sibling = self.backend.sibling()
            threading.Thread(target=serve, args=(sibling, pipe), daemon=True).start()

    def close(self) -> None:
        self.listener.close()


def portable(backend: Any, exc: Exception) -> Exception:
    """An exception that survives pickling: the djframe error it stands for."""
    if isinstance(exc, errors.DjframeError):
        return exc
    translated = backend.translate_error(exc)
    if translated is not None:
        return translated
    return errors.QueryError(f"{type(exc).__name__}: {exc}")
