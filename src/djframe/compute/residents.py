"""Resident worker processes: spawned once, reused by the next populate calls.

Starting a worker process costs a spawn and an import of djframe and the pipeline (seconds),
so ``populate(processes=N)`` keeps its workers once it returns: they wait, idle, for up to
``populate.worker_idle_timeout`` seconds (default 300; 0 stops them after each call), and the
next ``populate(processes=...)`` of this process on the same database hands them its tasks.
Residents are kept for one database at a time; they exit:

- when idle that long, or when this process exits (their pipe to it closes);
- when a populate call targets another database (on DuckDB: another connection), or a table
  class they may have imported was redefined or reloaded here: fresh workers replace them;
- when a module file they imported changed on disk: such a worker refuses its next task and
  a fresh one takes it (:func:`changed_files`);
- at once with :func:`shutdown_workers` (``dj.shutdown_workers()``).

Each worker acknowledges the task it takes. One that dies before (killed while idle, or timing
out just as a task was sent) is replaced once by a fresh worker that gets the same task, so no
task is lost to a dead resident (:mod:`djframe.compute.workers` does the handing over).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from typing import TYPE_CHECKING, Any

from djframe.backends.remote import DatabaseServer
from djframe.compute.shipping import by_value_only
from djframe.settings import config

if TYPE_CHECKING:
    from djframe.connection import Connection

__all__ = [
    "Resident",
    "Residents",
    "changed_files",
    "idle_pids",
    "module_files",
    "residents_for",
    "shutdown_workers",
    "stop_all",
]

JOIN_SECONDS = 10
"""How long a stopped worker gets to exit before it is killed."""

Target = Callable[[Pipe], None]
"""What a worker process runs: the serving loop, given its end of the pipe."""


@dataclass(eq=False)
class Resident:
    """One worker process and this process's end of its (two-way) pipe."""

    process: Any
    pipe: Pipe
    owner: Residents

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def stop(self) -> None:
        """Hang up (an idle worker exits then) and reap the process."""
        with suppress(OSError):
            self.pipe.close()
        self.process.join(timeout=JOIN_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


@dataclass(eq=False)
class Residents:
    """The workers of this process for one database: idle ones, and how to start more."""

    key: tuple[Any, ...]
    target: Target
    server: DatabaseServer | None = None
    """On DuckDB, the server the workers reach the database through; lives as long as they."""
    classes: dict[tuple[str, str], type] = field(default_factory=dict)
    """The importable table classes handed to these workers, by module and name."""
    idle: list[Resident] = field(default_factory=list)
    closed: bool = False
    parent: int = field(default_factory=os.getpid)
    """The process that started them: a forked copy of it must leave them alone."""

    def take(self) -> Resident:
        """An idle worker that is still alive, else a new one."""
        with _lock:
            while self.idle:
                resident = self.idle.pop()
                if resident.process.is_alive():
                    return resident
                resident.stop()
        return self.spawn()

    def spawn(self) -> Resident:
        context = multiprocessing.get_context("spawn")
        here, there = context.Pipe(duplex=True)
        process = context.Process(target=self.target, args=(there,), daemon=True)
        with environment(self.server.environment() if self.server else {}), main_hidden():
            process.start()
        there.close()
        return Resident(process, here, self)

    def environment(self) -> dict[str, str]:
        """The environment a worker computes in: this process's, and the server's address."""
        return dict(os.environ) | (self.server.environment() if self.server else {})

    def give_back(self, resident: Resident) -> None:
        """``resident`` is done with its task: idle until the next, unless it may not stay."""
        with _lock:
            if not self.closed and idle_timeout() > 0 and resident.process.is_alive():
                self.idle.append(resident)
                return
        resident.stop()

    def close(self) -> int:
        """Stop the idle workers (busy ones stop once done); how many were stopped."""
        with _lock:
            self.closed, idle, self.idle = True, self.idle, []
        stop_all(idle)
        if self.server is not None:
            self.server.close()
        return len(idle)

    def knows(self, classes: Sequence[type]) -> bool:
        """Whether every importable class of ``classes`` is the one these workers were given
        under its name (not redefined or reloaded since); remembers them."""
        named = {(c.__module__, c.__qualname__): c for c in classes if not by_value_only(c)}
        if any(self.classes.get(name, cls) is not cls for name, cls in named.items()):
            return False
        self.classes |= named
        return True


def stop_all(residents: Sequence[Resident], *, terminate: bool = False) -> None:
    """Stop ``residents`` (see :meth:`Resident.stop`), busy ones too with ``terminate``
    (SIGTERM: each rolls back its transaction and frees its jobs): all are told first, then
    reaped."""
    for resident in residents:
        if terminate and resident.process.is_alive():
            resident.process.terminate()
        with suppress(OSError):
            resident.pipe.close()
    for resident in residents:
        resident.stop()


_lock = threading.RLock()
_current: Residents | None = None


def idle_timeout() -> float:
    """Seconds a worker waits for the next task (``populate.worker_idle_timeout``)."""
    return float(config["populate.worker_idle_timeout"])


def residents_for(
    conn: Connection, duckdb_path: str | None, classes: Sequence[type], target: Target
) -> Residents:
    """The workers for a populate on ``conn``: those kept from an earlier call where they
    serve the same database and classes, else new ones (the old ones are stopped)."""
    global _current
    key = database_key(conn, duckdb_path)
    with _lock:
        current = ours()
        if current is not None and current.key == key and current.knows(classes):
            return current
        if current is not None:
            current.close()
        server = DatabaseServer(conn.backend, duckdb_path) if duckdb_path is not None else None
        _current = Residents(key, target, server)
        _current.knows(classes)
        return _current


def database_key(conn: Connection, duckdb_path: str | None) -> tuple[Any, ...]:
    """What workers are bound to: a server's URL; a DuckDB file through this connection."""
    if duckdb_path is None:
        return (conn._url,)
    return (conn._url, id(conn.backend))  # the server runs on this backend's connection


def shutdown_workers() -> int:
    """Stop the idle worker processes that ``populate(processes=N)`` kept for the next call;
    returns how many were stopped.

    Workers otherwise stay up to ``populate.worker_idle_timeout`` seconds (see
    :mod:`djframe.compute.residents`), holding a database connection each. Workers computing
    for a populate still running stop when they are done.

    Examples
    --------
    >>> dj.shutdown_workers()  # doctest: +SKIP
    4
    """
    global _current
    with _lock:
        current, _current = ours(), None
    return current.close() if current is not None else 0


def ours() -> Residents | None:
    """This process's workers; None in a forked copy of their parent (they are not its)."""
    return _current if _current is not None and _current.parent == os.getpid() else None


def idle_pids() -> list[int]:
    """The process ids of the idle workers still alive (those that exited are let go)."""
    with _lock:
        current = ours()
        if current is None:
            return []
        alive = [r for r in current.idle if r.process.is_alive()]
        gone = [r for r in current.idle if r not in alive]
        current.idle = alive
    for resident in gone:
        resident.stop()
    return sorted(r.pid for r in alive)


atexit.register(shutdown_workers)


# -- in a worker: has the code it imported changed? ------------------------------------------
def module_files() -> dict[str, int]:
    """The source files of the modules loaded here, with their modification times."""
    files: dict[str, int] = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path not in files:
            with suppress(OSError):
                files[path] = os.stat(path).st_mtime_ns
    return files


def changed_files(seen: dict[str, int]) -> bool:
    """Whether a file of ``seen`` (:func:`module_files`) was changed or removed since."""
    for path, mtime in seen.items():
        try:
            if os.stat(path).st_mtime_ns != mtime:
                return True
        except OSError:
            return True
    return False


# -- starting a worker ---------------------------------------------------------------------
@contextmanager
def main_hidden() -> Iterator[None]:
    """While a worker starts, ``__main__`` is an empty module.

    ``spawn`` would otherwise have each worker run the parent's ``__main__`` again: a script's
    top level (failing unless guarded by ``if __name__ == "__main__":``, and repeating whatever
    it does before populate), or a file that is not there (``python -`` reads ``<stdin>``).
    Classes of ``__main__`` travel by value (:mod:`djframe.compute.shipping`), so the workers
    need none of it.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables while worker processes start (they inherit them)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
