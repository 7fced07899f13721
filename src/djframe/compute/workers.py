"""populate(processes=N): worker processes that compute on N cores.

Workers are started with ``spawn`` (a forked child of a process that used Polars can hang in
Polars' thread pool) and stay, idle, for the next call (:mod:`djframe.compute.residents`);
each acknowledges the task it takes, and one that dies before is replaced once. Each task
holds the table's class (:mod:`djframe.compute.shipping`): by reference where a fresh process
can import it (a module, a pipeline file), by value where it cannot (a notebook cell, a REPL,
``__main__``, a function), with the parent's run-time settings, environment and code version;
the worker computes its share of the keys:

- on PostgreSQL each worker opens its own connection: workers write in parallel;
- on DuckDB, where one process may write a database file, each worker's SQL is sent to the
  parent, which runs it on a connection of its own per worker (:mod:`djframe.backends.remote`):
  the workers compute in parallel, the parent process writes.

With ``reserve_jobs=True`` workers claim keys from the job queue; otherwise the parent splits
the keys between them. No worker is started when there is nothing to compute. A worker killed
mid-make leaves no partial rows: its transaction is rolled back (by PostgreSQL when its session
ends, by the parent on DuckDB), and its reserved job is given back by the next
``jobs.refresh()`` or reserving populate. A worker that fails other than in make (it cannot
rebuild the table, it dies, its connection breaks) is raised once all workers are done,
``suppress_errors`` or not: that option is about make's errors, and a failed worker must not
pass for a populate with nothing to do.
"""

from __future__ import annotations

import os
import pickle
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection as Pipe
from multiprocessing.connection import wait
from typing import TYPE_CHECKING, Any

import networkx as nx
import polars as pl
import pyarrow as pa

from djframe.backends import resolved
from djframe.compute.drive import (
    check_can_populate,
    drive,
    plan_keys,
    progress_bar,
    queue,
    run_reserved,
    terminating_on_sigterm,
)
from djframe.compute.jobs import jobs_of, missing_keys
from djframe.compute.populator import PopulateOptions, PopulateResult, Populator
from djframe.compute.residents import (
    Resident,
    changed_files,
    idle_timeout,
    module_files,
    residents_for,
    stop_all,
)
from djframe.compute.shipping import Shipped, receive_codecs, ship, ship_codecs, unpack
from djframe.errors import JobError
from djframe.settings import config

if TYPE_CHECKING:
    from djframe.table import Table

__all__ = ["populate_in_processes", "populate_together"]


@dataclass(frozen=True)
class WorkerTask:
    """What one worker process is told: which table, which keys, and how."""

    table: Shipped
    full_name: str
    keys: pa.Table
    options: PopulateOptions
    job_id: str
    version: str
    """The code version the parent computed (a class sent by value has no source to hash)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """The parent's run-time settings (``dj.config[...] = ...``), set in the worker too."""
    upstream: tuple[Shipped, ...] = ()
    """Auto-populated ancestors still running: keep taking keys as they produce rows."""
    codecs: bytes | None = None
    """Codecs of ``__main__`` or of functions, sent by value (:func:`ship_codecs`)."""
    environment: dict[str, str] | None = None
    """The parent's environment variables, ``sys.path`` and working directory, set when the
    task is handed over: a resident worker may have been started in other ones."""
    path: list[str] | None = None
    cwd: str | None = None
    idle_timeout: float = 0
    """Seconds the worker then waits for its next task (``populate.worker_idle_timeout``)."""


def populate_in_processes(
    table: Table, restrictions: Sequence[Any], options: PopulateOptions
) -> PopulateResult:
    """Plan in this process, compute in ``options.processes`` workers, gather their results."""
    tasks, total = plan_tasks(table, restrictions, options, options.processes)
    if not tasks:
        return PopulateResult(success_count=0, error_list=[])
    pool = WorkerPool(tasks, table.connection, database_file(table.connection), [type(table)])
    with progress_bar(table, total, options.display_progress) as advance:
        outcomes = pool.run(advance)
    return settled(table, summarize(outcomes, options), options)


def populate_together(tables: Sequence[Table], options: PopulateOptions) -> dict[str, Any]:
    """Populate ``tables`` (parents before children) at the same time, sharing
    ``options.processes`` worker processes; results by class name.

    A table's workers start at once and take keys as soon as its auto-populated ancestors
    among ``tables`` have made the rows those keys need; they stop when the ancestors are done.
    A table with nothing to compute and no ancestor among ``tables`` at work gets no worker.
    """
    for table in tables:
        check_can_populate(table, options.processes)
    workers = max(1, options.processes // len(tables))
    following = replace(options, reserve_jobs=True)
    tasks: list[WorkerTask] = []
    total = 0
    busy: set[str] = set()
    for table in tables:
        above = [t for t in ancestors_among(table, tables) if t.full_name in busy]
        upstream = tuple(ship(type(t)) for t in above)
        planned, count = plan_tasks(table, (), following if upstream else options, workers)
        if upstream and not planned:
            planned = [idle_task(table, following)]
        tasks += [replace(task, upstream=upstream) for task in planned]
        busy |= {table.full_name} if planned else set()
        total += count
    if tasks:
        conn = tables[0].connection
        pool = WorkerPool(tasks, conn, database_file(conn), [type(t) for t in tables])
        with progress_bar(tables[0], total, options.display_progress) as advance:
            outcomes = pool.run(advance)
    else:
        outcomes = []
    return {
        type(table).__name__: settled(
            table,
            summarize([o for o in outcomes if o.task.full_name == table.full_name], options),
            options,
        )
        for table in tables
    }


def ancestors_among(table: Table, tables: Sequence[Table]) -> list[Table]:
    above = nx.ancestors(table.connection.graph, table.full_name)
    return [t for t in tables if t.full_name in above]


def plan_tasks(
    table: Table, restrictions: Sequence[Any], options: PopulateOptions, workers: int
) -> tuple[list[WorkerTask], int]:
    """The keys of ``table`` to compute (queued when reserving), as tasks for ``workers``:
    none when no key is left."""
    planner = Populator(table, options)
    keys, stale = plan_keys(table, restrictions, planner.version, options)
    if keys.is_empty():
        return [], 0
    shipped, codecs = ship(type(table)), ship_codecs()  # before anything is queued: they may refuse
    if options.reserve_jobs and options.queues_new_keys:
        queue(planner.jobs, keys, stale, options.priority)
    shares = [
        keys if options.reserve_jobs else keys.gather_every(workers, offset=i)
        for i in range(min(workers, len(keys)))
    ]
    tasks = [task_for(table, shipped, codecs, s, options, planner) for s in shares]
    return tasks, len(keys)


def idle_task(table: Table, options: PopulateOptions) -> WorkerTask:
    """A worker for a table with no key yet, that takes keys as its ancestors make rows."""
    planner = Populator(table, options)
    keys = missing_keys(table, ())
    return task_for(table, ship(type(table)), ship_codecs(), keys, options, planner)


def task_for(
    table: Table,
    shipped: Shipped,
    codecs: bytes | None,
    keys: pl.DataFrame,
    options: PopulateOptions,
    planner: Populator,
) -> WorkerTask:
    return WorkerTask(
        table=shipped,
        full_name=table.full_name,
        keys=keys.to_arrow(),
        options=options,
        job_id=planner.job_id,
        version=planner.version,
        settings=config.runtime(),
        codecs=codecs,
    )


def summarize(outcomes: list[Outcome], options: PopulateOptions) -> PopulateResult:
    """One result from the workers' outcomes.

    The first failure is raised: with ``suppress_errors`` make's errors are recorded, not
    raised, so a failure that still comes back is a worker's own (it could not rebuild the
    table, it died): raised too, since its keys were not computed.
    """
    success = sum(o.result["success_count"] for o in outcomes)
    errors = [e for o in outcomes for e in o.result["error_list"]]
    failure = next((o.failure for o in outcomes if o.failure is not None), None)
    if failure is not None:
        raise failure
    return PopulateResult(success_count=success, error_list=errors)


def settled(table: Table, result: PopulateResult, options: PopulateOptions) -> PopulateResult:
    """``result``, once the jobs queued for keys the workers made without reserving are done."""
    if result["success_count"] and not options.reserve_jobs:
        jobs_of(type(table)).complete_made()
    return result


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


@dataclass(eq=False)
class Handover:
    """A task handed to a worker: acknowledged yet? already handed to a replacement?"""

    task: WorkerTask
    resident: Resident
    taken: bool = False
    replaced: bool = False


class WorkerPool:
    """Hands the tasks to worker processes (resident ones first, :mod:`.residents`) and
    gathers their outcomes; a worker that dies before taking its task is replaced once."""

    def __init__(
        self, tasks: list[WorkerTask], conn: Any, duckdb_path: str | None, classes: list[type]
    ) -> None:
        self.tasks, self.conn, self.duckdb_path, self.classes = tasks, conn, duckdb_path, classes

    def run(self, advance: Any) -> list[Outcome]:
        residents = residents_for(self.conn, self.duckdb_path, self.classes, serve)
        busy: dict[Pipe, Handover] = {}
        try:
            for task in self.tasks:
                self.hand(busy, Handover(task, residents.take()))
            return self.gather(busy, advance)
        except BaseException:
            stop_all([h.resident for h in busy.values()], terminate=True)
            raise

    def hand(self, busy: dict[Pipe, Handover], handover: Handover) -> None:
        """Send the task, with this process's surroundings, to its worker."""
        task = replace(
            handover.task,
            environment=handover.resident.owner.environment(),
            path=list(sys.path),
            cwd=os.getcwd(),
            idle_timeout=idle_timeout(),
        )
        busy[handover.resident.pipe] = handover
        with suppress(OSError):  # a worker already gone: its pipe says so (EOF) in gather
            handover.resident.pipe.send(task)

    def gather(self, busy: dict[Pipe, Handover], advance: Any) -> list[Outcome]:
        outcomes: list[Outcome] = []
        while busy:
            for ready in wait(list(busy)):
                pipe: Pipe = ready  # type: ignore[assignment]
                handover = busy[pipe]
                try:
                    kind, payload = pipe.recv()
                except (EOFError, OSError):
                    del busy[pipe]
                    outcomes += self.lost(busy, handover)
                    continue
                if kind == "taken":
                    handover.taken = True
                elif kind == "progress":
                    advance(payload)
                elif kind == "done":
                    del busy[pipe]
                    handover.resident.owner.give_back(handover.resident)
                    result, failure = payload
                    outcomes.append(Outcome(handover.task, result, failure))
                # "stale": the worker refuses the task and exits; its pipe closes next
        return outcomes

    def lost(self, busy: dict[Pipe, Handover], handover: Handover) -> list[Outcome]:
        """A worker's pipe closed before its outcome: hand a task it had not taken to a fresh
        worker (once), or report the worker dead."""
        resident = handover.resident
        resident.stop()
        if handover.taken or handover.replaced:
            return [died(resident.process, handover.task)]
        self.hand(busy, Handover(handover.task, resident.owner.spawn(), replaced=True))
        return []


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
def serve(pipe: Pipe) -> None:
    """A worker's life: take tasks one after another, each acknowledged, until none comes
    for the task's ``idle_timeout`` seconds or the parent hangs up; refuse a task (and exit)
    once a module file imported here has changed, so that a fresh worker takes it."""
    seen: dict[str, int] | None = None
    wait_for: float | None = None  # the first task comes at once
    while pipe.poll(wait_for):
        try:
            task: WorkerTask = pipe.recv()
        except (EOFError, OSError):
            return  # the parent hung up (shutdown_workers, or it exited)
        if seen is not None and changed_files(seen):
            pipe.send(("stale", None))
            return
        pipe.send(("taken", os.getpid()))
        outcome, stop = work(task, pipe)
        seen, wait_for = module_files(), task.idle_timeout  # before the parent goes on
        pipe.send(("done", outcome))
        if stop:
            return


def work(task: WorkerTask, report: Pipe) -> tuple[tuple[dict[str, Any], Any], bool]:
    """One task: take the parent's surroundings and settings, rebuild the table, compute;
    returns the result and failure to report, and whether the worker must exit (it was told
    to stop: SIGTERM, Ctrl-C)."""
    populator: Populator | None = None
    settle(task)
    try:
        with terminating_on_sigterm(), config.override(**dotless(task.settings)):
            receive_codecs(task.codecs)
            table = unpack(task.table)()
            populator = Populator(table, task.options, job_id=task.job_id, version=task.version)
            keys = pl.from_arrow(task.keys)
            assert isinstance(keys, pl.DataFrame)
            advance = lambda n: report.send(("progress", n))  # noqa: E731
            if task.upstream:
                follow(populator, [unpack(u)() for u in task.upstream], advance)
            else:
                drive(populator, keys, advance)
        return (dict(populator.result()), None), False
    except BaseException as exc:
        result = dict(populator.result()) if populator is not None else {}
        result = {"success_count": 0, "error_list": []} | result
        return (result, picklable(exc)), not isinstance(exc, Exception)


def settle(task: WorkerTask) -> None:
    """The parent's environment, import path and working directory, as when it sent ``task``
    (a resident worker was started by an earlier call, maybe in other surroundings)."""
    if task.environment is not None:
        os.environ.clear()
        os.environ.update(task.environment)
    if task.path is not None:
        sys.path[:] = task.path
    if task.cwd is not None and task.cwd != os.getcwd():
        os.chdir(task.cwd)


def dotless(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as ``config.override`` takes them (``populate.batch_size`` ->
    ``populate__batch_size``)."""
    return {name.replace(".", "__"): value for name, value in settings.items()}


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


def picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return JobError(f"{type(exc).__name__}: {exc}")
    return exc
