"""populate(processes=N): worker processes that compute on N cores.

Workers are started with ``spawn`` (a forked child of a process that used Polars can hang in
Polars' thread pool), so the populated table's class must be importable: defined at the top
level of a module, or of a script run as ``__main__``. Each worker imports it, which declares
(binds) its schema as usual, and computes its share of the keys:

- on PostgreSQL each worker opens its own connection: workers write in parallel;
- on DuckDB, where one process may write a database file, each worker's SQL is sent to the
  parent, which runs it on a connection of its own per worker (:mod:`djframe.backends.remote`):
  the workers compute in parallel, the parent process writes.

With ``reserve_jobs=True`` workers claim keys from the job queue; otherwise the parent splits
the keys between them. A worker killed mid-make leaves no partial rows: its transaction is
rolled back (by PostgreSQL when its session ends, by the parent on DuckDB), and its reserved
job is given back by the next ``jobs.refresh()`` or reserving populate.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection as Pipe
from multiprocessing.connection import wait
from typing import TYPE_CHECKING, Any

import networkx as nx
import polars as pl
import pyarrow as pa

from djframe.backends import resolved
from djframe.backends.remote import DatabaseServer
from djframe.compute.drive import (
    check_can_populate,
    drive,
    plan_keys,
    progress_bar,
    queue,
    run_reserved,
    terminating_on_sigterm,
)
from djframe.compute.jobs import missing_keys
from djframe.compute.populator import PopulateOptions, PopulateResult, Populator
from djframe.errors import JobError

if TYPE_CHECKING:
    from djframe.table import Table

__all__ = ["populate_in_processes", "populate_together"]


@dataclass(frozen=True)
class WorkerTask:
    """What one worker process is told: which table, which keys, and how."""

    module: str
    qualname: str
    keys: pa.Table
    options: PopulateOptions
    job_id: str
    upstream: tuple[tuple[str, str], ...] = ()
    """Auto-populated ancestors still running: keep taking keys as they produce rows."""


def importable_name(cls: type) -> tuple[str, str]:
    """Where a worker process finds ``cls``, or a JobError saying how to make it findable."""
    module, qualname = cls.__module__, cls.__qualname__
    found: Any = None
    try:
        found = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        found = None
    if found is not cls or "<locals>" in qualname:
        raise JobError(
            f"populate(processes=...) runs {cls.__name__} in new worker processes, which must "
            f"import it, but {module}.{qualname} cannot be imported. Define the table at the top "
            "level of a module (or of a script guarded by `if __name__ == '__main__':`), or "
            "use processes=1."
        )
    return module, qualname


def populate_in_processes(
    table: Table, restrictions: Sequence[Any], options: PopulateOptions
) -> PopulateResult:
    """Plan in this process, compute in ``options.processes`` workers, gather their results."""
    tasks, total = plan_tasks(table, restrictions, options, options.processes)
    pool = WorkerPool(tasks, table.connection, database_file(table.connection))
    with progress_bar(table, total, options.display_progress) as advance:
        outcomes = pool.run(advance)
    return summarize(outcomes, options)


def populate_together(tables: Sequence[Table], options: PopulateOptions) -> dict[str, Any]:
    """Populate ``tables`` (parents before children) at the same time, sharing
    ``options.processes`` worker processes; results by class name.

    A table's workers start at once and take keys as soon as its auto-populated ancestors
    among ``tables`` have made the rows those keys need; they stop when the ancestors are done.
    """
    for table in tables:
        check_can_populate(table, options.processes)
    workers = max(1, options.processes // len(tables))
    following = replace(options, reserve_jobs=True)
    tasks: list[WorkerTask] = []
    total = 0
    for table in tables:
        upstream = tuple(importable_name(type(t)) for t in ancestors_among(table, tables))
        planned, count = plan_tasks(table, (), following if upstream else options, workers)
        tasks += [replace(task, upstream=upstream) for task in planned]
        total += count
    conn = tables[0].connection
    pool = WorkerPool(tasks, conn, database_file(conn))
    with progress_bar(tables[0], total, options.display_progress) as advance:
        outcomes = pool.run(advance)
    return {
        type(table).__name__: summarize(
            [o for o in outcomes if o.task.qualname == type(table).__qualname__], options
        )
        for table in tables
    }


def ancestors_among(table: Table, tables: Sequence[Table]) -> list[Table]:
    above = nx.ancestors(table.connection.graph, table.full_name)
    return [t for t in tables if t.full_name in above]


def plan_tasks(
    table: Table, restrictions: Sequence[Any], options: PopulateOptions, workers: int
) -> tuple[list[WorkerTask], int]:
    """The keys of ``table`` to compute (queued when reserving), as tasks for ``workers``."""
    module, qualname = importable_name(type(table))
    planner = Populator(table, options)
    keys, stale = plan_keys(table, restrictions, planner.version, options)
    if options.reserve_jobs:
        queue(planner.jobs, keys, stale, options.priority)
    shares = [
        keys if options.reserve_jobs else keys.gather_every(workers, offset=i)
        for i in range(min(workers, max(len(keys), 1)))
    ]
    tasks = [WorkerTask(module, qualname, s.to_arrow(), options, planner.job_id) for s in shares]
    return tasks, len(keys)


def summarize(outcomes: list[Outcome], options: PopulateOptions) -> PopulateResult:
    """One result from the workers' outcomes; the first failure is raised unless suppressed."""
    success = sum(o.result["success_count"] for o in outcomes)
    errors = [e for o in outcomes for e in o.result["error_list"]]
    failure = next((o.failure for o in outcomes if o.failure is not None), None)
    if failure is not None and not options.suppress_errors:
        raise failure
    return PopulateResult(success_count=success, error_list=errors)


def database_file(conn: Any) -> str | None:
    """The DuckDB file workers must reach through this process, or None on PostgreSQL."""
    path = conn.backend.path
    if path is None:
        return None  # a server: workers connect to it themselves
    if path == ":memory:":
        raise JobError(
            "populate(processes=...) cannot share an in-memory DuckDB database with worker "
            "processes. Connect to a file (duckdb:///pipeline.duckdb) or use processes=1."
        )
    return resolved(path)


@dataclass
class Outcome:
    task: WorkerTask
    result: dict[str, Any]
    failure: BaseException | None = None


class WorkerPool:
    """Starts the worker processes (on DuckDB, with a server for the parent's database)."""

    def __init__(self, tasks: list[WorkerTask], conn: Any, duckdb_path: str | None) -> None:
        self.tasks, self.conn, self.duckdb_path = tasks, conn, duckdb_path

    def run(self, advance: Any) -> list[Outcome]:
        server = None
        if self.duckdb_path is not None:
            server = DatabaseServer(self.conn.backend, self.duckdb_path)
        try:
            with worker_environment(server.environment() if server else {}):
                running = self.start()
            try:
                return self.gather(running, advance)
            except BaseException:
                for process, _ in running.values():
                    process.terminate()  # SIGTERM: each worker rolls back and frees its jobs
                for process, _ in running.values():
                    process.join(timeout=30)
                raise
        finally:
            if server is not None:
                server.close()

    def start(self) -> dict[Pipe, tuple[Any, WorkerTask]]:
        context = multiprocessing.get_context("spawn")
        running: dict[Pipe, tuple[Any, WorkerTask]] = {}
        for task in self.tasks:
            here, there = context.Pipe(duplex=False)
            process = context.Process(target=work, args=(task, there), daemon=True)
            process.start()
            there.close()
            running[here] = (process, task)
        return running

    def gather(self, running: dict[Pipe, tuple[Any, WorkerTask]], advance: Any) -> list[Outcome]:
        outcomes: list[Outcome] = []
        while running:
            for ready in wait(list(running)):
                pipe: Pipe = ready  # type: ignore[assignment]
                try:
                    kind, payload = pipe.recv()
                except (EOFError, OSError):
                    process, task = running.pop(pipe)
                    process.join()
                    outcomes.append(died(process, task))
                    continue
                if kind == "progress":
                    advance(payload)
                else:
                    process, task = running.pop(pipe)
                    process.join()
                    result, failure = payload
                    outcomes.append(Outcome(task, result, failure))
        return outcomes


@contextmanager
def worker_environment(values: dict[str, str]) -> Iterator[None]:
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


def died(process: Any, task: WorkerTask) -> Outcome:
    return Outcome(
        task,
        {"success_count": 0, "error_list": []},
        JobError(
            f"A populate worker (pid {process.pid}) exited with code {process.exitcode} before "
            "reporting; its transaction was rolled back. Its reserved jobs go back to pending "
            "at the next jobs.refresh()."
        ),
    )


# -- inside a worker process ----------------------------------------------------------------------
def work(task: WorkerTask, report: Pipe) -> None:
    """A worker's life: reach the database, import the table, compute, report."""
    populator: Populator | None = None
    try:
        with terminating_on_sigterm():
            table = import_table(task.module, task.qualname)()
            populator = Populator(table, task.options, job_id=task.job_id)
            keys = pl.from_arrow(task.keys)
            assert isinstance(keys, pl.DataFrame)
            advance = lambda n: report.send(("progress", n))  # noqa: E731
            if task.upstream:
                follow(populator, [import_table(*u)() for u in task.upstream], advance)
            else:
                drive(populator, keys, advance)
        report.send(("done", (dict(populator.result()), None)))
    except BaseException as exc:
        result = dict(populator.result()) if populator is not None else {}
        result = {"success_count": 0, "error_list": []} | result
        report.send(("done", (result, picklable(exc))))
    finally:
        report.close()


def follow(populator: Populator, upstream: list[Table], advance: Any) -> None:
    """Compute keys as the upstream tables produce them, until they are all done.

    Keys go through the job queue, so several workers of one table share them.
    """
    while True:
        finished = all(upstream_done(table) for table in upstream)
        keys = missing_keys(populator.table, ())
        if not keys.is_empty():
            queue(populator.jobs, keys, None, populator.options.priority)
            run_reserved(populator, keys, advance)
        elif finished:
            return
        else:
            time.sleep(FOLLOW_PAUSE)


FOLLOW_PAUSE = 0.2
"""Seconds a following worker waits for upstream rows before it looks again."""


def upstream_done(table: Table) -> bool:
    """No key of ``table`` is left to compute and none is being computed."""
    return missing_keys(table, ()).is_empty() and len(table.jobs.reserved) == 0  # type: ignore[attr-defined]


def import_table(module: str, qualname: str) -> type[Table]:
    found: Any = importlib.import_module(module if module != "__main__" else "__mp_main__")
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return JobError(f"{type(exc).__name__}: {exc}")
    return exc
