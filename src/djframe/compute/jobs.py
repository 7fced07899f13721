"""The job queue of an auto-populated table: which keys wait, run, failed, or are done.

Every Imported or Computed table ``T`` has a hidden table ``~~T`` (declared on first use) with
one row per key populate has dealt with, as in DataJoint 2.x: ``_status`` is ``pending``,
``reserved`` (a worker is computing it), ``success``, ``error`` (with message and stack) or
``ignore``. The queue's own columns start with ``_`` (``_status``, ``_error_message``,
``_host``, ...), a prefix no attribute of a user's table may have: a key attribute may be named
``status``, ``host`` or ``version`` without colliding with them. Workers claim pending keys
with one atomic statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so any number of
processes on any number of machines compute each key once.

A reservation whose worker died is given back by :meth:`JobTable.refresh` (and by reserving
workers that find no pending job left): on PostgreSQL when the worker's database session is
gone, which is the only test there (hosts and pids are shared between containers); where there
are no sessions (DuckDB), when its process is gone from the host that reserved it (see
:mod:`djframe.compute.liveness`); anywhere when it is older than ``orphan_timeout`` seconds.

Keys in ``error`` or ``ignore`` are skipped by populate until their job rows are deleted:
``Table.jobs.errors.delete()`` makes them eligible again.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar

import polars as pl
import pyarrow as pa

from djframe._sql import literal, plain_literal, quote
from djframe._typing import JobStatus, Tier
from djframe.algebra.condition import AndList
from djframe.algebra.expression import Restriction
from djframe.catalog import JOBS_PREFIX
from djframe.compute.companions import Companion, companion_table
from djframe.compute.keys import make_key, source_of
from djframe.compute.liveness import Worker, dead_processes
from djframe.errors import ConflictError, QueryError
from djframe.keyset import key_relation
from djframe.registry import table_class
from djframe.settings import config
from djframe.table import Table

if TYPE_CHECKING:
    from djframe.algebra.expression import QueryExpression
    from djframe.connection import Connection

__all__ = ["Claim", "ErrorJobs", "JobTable", "jobs_of", "missing_keys", "queued_keys", "retried"]

T = TypeVar("T")

STATUSES: tuple[JobStatus, ...] = ("pending", "reserved", "success", "error", "ignore")
MESSAGE_LIMIT = 2047
STACK_LIMIT = 16000
DEFAULT_PRIORITY = 5
CLAIM_TRIES = 20
NOW = "CAST(now() AS TIMESTAMP)"
"""The database's clock, as the naive timestamps the job columns hold."""

JOB_ATTRIBUTES = f"""
_status : enum({", ".join(repr(s) for s in STATUSES)})
_priority = {DEFAULT_PRIORITY} : int16        # lower runs first
_created_time = CURRENT_TIMESTAMP : datetime
_scheduled_time = CURRENT_TIMESTAMP : datetime  # not run before this time
_reserved_time = null : datetime
_completed_time = null : datetime
_duration = null : float64                      # seconds spent in make
_error_message = '' : varchar({MESSAGE_LIMIT})
_error_stack = '' : varchar({STACK_LIMIT})
_user = '' : varchar(255)
_host = '' : varchar(255)
_pid = 0 : int32
_process = '' : varchar(255)                    # boot id:pid:start time, unique on its host
_session = '' : varchar(64)                     # the worker's database session, if any
_version = '' : varchar(255)                    # code version of the worker
index(_status, _priority, _scheduled_time)
"""
"""The queue's own columns: each starts with ``_``, which no user's attribute may."""


class JobTable(Companion):
    """The job queue of one auto-populated table; see the module documentation.

    Examples
    --------
    >>> Features.jobs.progress()  # doctest: +SKIP
    {'pending': 0, 'reserved': 0, 'success': 12, 'error': 1, 'ignore': 0, 'total': 13}
    >>> Features.jobs.errors.to_polars()  # doctest: +SKIP
    >>> Features.jobs.errors.delete()  # doctest: +SKIP
    """

    tier: ClassVar[Tier] = "jobs"
    prefix = JOBS_PREFIX

    # -- views ---------------------------------------------------------------------------
    @property
    def target(self) -> type[Table]:
        """The table whose keys this queue holds."""
        return table_class(
            self.connection, f"{self.info.schema}.{self.info.name.removeprefix(self.prefix)}"
        )

    def with_status(self, status: JobStatus) -> QueryExpression:
        """The jobs in ``status`` (one of pending, reserved, success, error, ignore)."""
        return self & {"_status": status}

    @property
    def pending(self) -> QueryExpression:
        """Jobs waiting for a worker."""
        return self.with_status("pending")

    @property
    def reserved(self) -> QueryExpression:
        """Jobs a worker is computing now (or was, if it died: see :meth:`refresh`)."""
        return self.with_status("reserved")

    @property
    def errors(self) -> ErrorJobs:
        """Failed jobs: a query over every column of the queue (``to_polars()``,
        ``to_dicts()``; ``.delete()`` them to have them retried) that shows itself as the key,
        the whole message and when it failed. :meth:`error_report` gives that view as a frame,
        with the stack if asked."""
        return ErrorJobs(self, {"_status": "error"}, True)

    def error_report(self, *, stack: bool = False, limit: int | None = None) -> pl.DataFrame:
        """The error jobs as a frame, ordered by key: the key attributes, ``error_message``
        (whole), ``when`` (the time it failed), and with ``stack=True`` ``error_stack``.

        Examples
        --------
        >>> Fit.jobs.error_report()  # doctest: +SKIP
        >>> print(Fit.jobs.error_report(stack=True)["error_stack"][0])  # doctest: +SKIP
        """
        return self.errors.report(stack=stack, limit=limit)

    @property
    def ignored(self) -> QueryExpression:
        """Jobs populate skips (see :meth:`ignore`)."""
        return self.with_status("ignore")

    @property
    def completed(self) -> QueryExpression:
        """Jobs computed successfully (recorded when reserving)."""
        return self.with_status("success")

    def progress(self) -> dict[str, int]:
        """The number of jobs in each status, and the total."""
        rows = self.connection.fetch_arrow(
            f"SELECT _status, count(*) AS _n FROM {self.info.sql_name} GROUP BY _status"
        ).to_pylist()
        counts = dict.fromkeys(STATUSES, 0) | {str(r["_status"]): int(r["_n"]) for r in rows}
        return counts | {"total": sum(counts.values())}

    # -- changes -------------------------------------------------------------------------
    def refresh(
        self,
        *restrictions: Any,
        priority: int = DEFAULT_PRIORITY,
        delay: float = 0,
        orphan_timeout: float | None = None,
    ) -> dict[str, int]:
        """Bring the queue up to date with the target table; returns what changed.

        Adds the missing keys of ``key_source & restrictions`` as ``pending`` (runnable after
        ``delay`` seconds), gives back reservations of dead workers (and those older than
        ``orphan_timeout`` seconds), and puts ``success`` jobs whose rows were deleted back to
        ``pending``.
        """
        todo = missing_keys(self.target(), restrictions, skip=STATUSES)
        added = self.add_pending(todo, priority=priority, delay=delay)
        re_pended = self.repend_deleted_successes()
        self.complete_made()
        orphaned = self.reclaim_orphans(orphan_timeout)
        return {"added": added, "re_pended": re_pended, "orphaned": orphaned}

    def add_pending(self, keys: Any, *, priority: int, delay: float = 0) -> int:
        """Insert ``keys`` (a Polars frame) as pending jobs; keys already queued are left alone."""
        if keys.is_empty():
            return 0
        conn = self.connection
        names = ", ".join(quote(n) for n in keys.columns)
        scheduled = scheduled_sql(conn, delay)
        with conn.transaction, conn.temporary(keys.to_arrow()) as source:
            conn.execute(
                f"INSERT INTO {self.info.sql_name} ({names}, _status, _priority, _scheduled_time) "
                f"SELECT {names}, 'pending', {int(priority)}, {scheduled} FROM {quote(source)} "
                f"ON CONFLICT DO NOTHING",
                action="queueing jobs",
            )
        return len(keys)

    def repend_deleted_successes(self) -> int:
        """Success jobs whose rows were deleted -> pending."""
        return self._set_status("pending", f"_status = 'success' AND NOT {self.made_sql()}")

    def complete_made(self) -> int:
        """Pending jobs whose rows exist -> success: made by a populate that did not reserve
        them (direct, or after the reserving run's workers failed), so no reserving worker
        would ever claim them and they would stay pending with nothing left to do."""
        return self._set_status("success", f"_status = 'pending' AND {self.made_sql()}")

    def made_sql(self) -> str:
        """A condition on job ``j``: the target table has its row."""
        key = self.info.heading.primary_key
        match = " AND ".join(f"t.{quote(k)} = j.{quote(k)}" for k in key)
        return f"EXISTS (SELECT 1 FROM {self.target().info.sql_name} t WHERE {match})"

    def reclaim_orphans(self, timeout: float | None) -> int:
        """Reserved jobs whose worker is gone (or that are older than ``timeout``) -> pending.

        Where the database has sessions, a job's worker is alive while its session is;
        elsewhere, while its process lives on the host that reserved the job."""
        conn = self.connection
        clauses = [conn.backend.session_ended_sql(f"j.{quote('_session')}") or self.dead_sql()]
        if timeout is not None:
            clauses.append(f"j._reserved_time < {scheduled_sql(conn, -timeout)}")
        clauses = [c for c in clauses if c]
        if not clauses:
            return 0
        return self._set_status("pending", f"j._status = 'reserved' AND ({' OR '.join(clauses)})")

    def dead_sql(self) -> str:
        """A condition on the reservations of this host whose process is gone ('' if none)."""
        rows = self.connection.fetch_arrow(
            f"SELECT DISTINCT _host, _process FROM {self.info.sql_name} WHERE _status = 'reserved'",
            action="reading the reserved jobs",
        ).to_pylist()
        host = socket.gethostname()
        dead = dead_processes(((r["_host"], r["_process"]) for r in rows), host)
        if not dead:
            return ""
        listed = ", ".join(literal(p) for p in dead)
        return f"(j._host = {literal(host)} AND j._process IN ({listed}))"

    def _set_status(self, status: JobStatus, condition: str, alias: str = "j") -> int:
        conn = self.connection
        where = f"FROM {self.info.sql_name} {alias} WHERE {condition}"
        with conn.transaction:
            count = conn.fetch_count(f"SELECT count(*) {where}")
            if count:
                key = self.info.heading.primary_key
                names = ", ".join(quote(k) for k in key)
                done = f", _completed_time = {NOW}" if status == "success" else ""
                conn.execute(
                    f"UPDATE {self.info.sql_name} SET _status = {literal(status)}, "
                    f"_reserved_time = NULL{done} WHERE ({names}) IN (SELECT {', '.join(f'{alias}.{quote(k)}' for k in key)} {where})",
                    action="updating jobs",
                )
        return count

    def ignore(self, keys: Any) -> None:
        """Mark keys (a frame, a list of dicts or a dict) as ``ignore``: populate skips them."""
        frame = pl.DataFrame(keys if not isinstance(keys, dict) else [keys])
        frame = frame.select(self.info.heading.primary_key)
        self.record(frame, "ignore")

    def record(self, keys: Any, status: JobStatus, **values: Any) -> None:
        """Set ``status`` (and the columns ``values`` name without their ``_``) for ``keys``,
        adding jobs that are not queued."""
        conn = self.connection
        key = self.info.heading.primary_key
        columns = {"_status": literal(status)} | {
            f"_{name}": plain_literal(value) for name, value in values.items()
        }
        if status in {"success", "error", "ignore"}:
            columns.setdefault("_completed_time", NOW)
        names = ", ".join(quote(k) for k in key)
        with conn.transaction, key_relation(conn, keys, self.heading) as source:
            assigned = ", ".join(f"{quote(n)} = {v}" for n, v in columns.items())
            conn.execute(
                f"INSERT INTO {self.info.sql_name} ({names}, {', '.join(quote(n) for n in columns)}) "
                f"SELECT {names}, {', '.join(columns.values())} FROM {source} "
                f"ON CONFLICT ({names}) DO UPDATE SET {assigned}",
                action="recording jobs",
            )

    # -- DataJoint's manual protocol: reserve, then complete or error ----------------------------
    def reserve(self, key: Mapping[str, Any]) -> bool:
        """Reserve the pending job of ``key`` for this process, as a worker of one's own would;
        False if it is not pending now (reserved by another, failed, ignored, scheduled later
        or not queued). Follow with :meth:`complete` or :meth:`error`."""
        row = self._one(key).row(0, named=True)
        where = " AND ".join(f"{quote(n)} = {plain_literal(v)}" for n, v in row.items())
        return self.claim(Worker(self.connection, ""), 1, where=where).keys.num_rows == 1

    def complete(self, key: Mapping[str, Any]) -> None:
        """Mark the job of ``key`` done (``success``; the record is kept, see the module)."""
        self.record(self._one(key), "success", reserved_time=None)

    def error(
        self, key: Mapping[str, Any], error_message: str, error_stack: str | None = None
    ) -> None:
        """Mark the job of ``key`` failed with ``error_message`` (and its stack): populate
        skips it until the error is deleted."""
        stack = error_stack or ""
        self.record(self._one(key), "error", error_message=error_message[:2047], error_stack=stack)

    def _one(self, key: Mapping[str, Any]) -> pl.DataFrame:
        names = self.info.heading.primary_key
        missing = [n for n in names if n not in key]
        if missing:
            raise QueryError(f"A job is named by its whole key; {missing} missing from {key}.")
        return pl.DataFrame([{n: key[n] for n in names}])

    def claim(
        self, worker: Worker, count: int, among: str | None = None, *, where: str = ""
    ) -> Claim:
        """Claim up to ``count`` pending jobs for ``worker``, atomically: their keys, and on
        PostgreSQL how many runnable jobs were still pending, those claimed included.

        ``among`` names a table of keys to choose from (the caller's restrictions); ``where``
        is an SQL condition on the queue's key columns.
        """
        conn = self.connection
        key = self.info.heading.primary_key
        names = ", ".join(quote(k) for k in key)
        lock = " FOR UPDATE SKIP LOCKED" if conn.backend.locks_claimed_rows else ""
        within = f"AND ({names}) IN (SELECT {names} FROM {quote(among)}) " if among else ""
        within += f"AND {where} " if where else ""
        runnable = f"_status = 'pending' {within}AND _scheduled_time <= {NOW}"
        claim = (
            f"SELECT {names} FROM {self.info.sql_name} WHERE {runnable} "
            f"ORDER BY _priority, _scheduled_time LIMIT {int(count)}{lock}"
        )
        statement = (
            f"UPDATE {self.info.sql_name} SET _status = 'reserved', "
            f"_reserved_time = {NOW}, {worker.assignments()} "
            f"WHERE ({names}) IN ({claim}) RETURNING {names}"
        )
        if conn.backend.locks_claimed_rows:
            # One statement, one round trip, atomic on its own: rows another worker's claim
            # has locked are skipped, so two workers never take one job. Its snapshot is
            # that of the update: the count includes the jobs it claims.
            counted = (
                f"WITH claimed AS ({statement}) SELECT claimed.*, (SELECT count(*) FROM "
                f"{self.info.sql_name} WHERE {runnable}) AS _left FROM claimed"
            )
            data = conn.fetch_arrow(counted, action="reserving jobs")
            left = int(data.column("_left")[0].as_py()) if data.num_rows else 0
            return Claim(data.drop_columns(["_left"]), left)
        take = transaction_of(conn, lambda: conn.fetch_arrow(statement, action="reserving jobs"))
        return Claim(retried(take, tries=CLAIM_TRIES, pause=True), None)


class Claim(NamedTuple):
    """What :meth:`JobTable.claim` claimed."""

    keys: pa.Table
    left: int | None
    """The runnable jobs pending as it claimed them, those claimed included (None: not
    counted, on DuckDB)."""


class ErrorJobs(Restriction):
    """A queue's jobs in ``error``: every column for results, the key, message and time for
    display (see :meth:`JobTable.errors`)."""

    def report(self, *, stack: bool = False, limit: int | None = None) -> pl.DataFrame:
        """Key, ``error_message``, ``when`` (and ``error_stack``); a name that a key attribute
        already has keeps the queue's leading ``_``."""
        key = self.heading.primary_key
        shown = {"error_message": "_error_message", "when": "_completed_time"}
        if stack:
            shown["error_stack"] = "_error_stack"
        frame = self.proj(*shown.values()).to_polars(order_by="KEY", limit=limit)
        return frame.select(
            *key,
            *(
                pl.col(column).alias(name if name not in key else column)
                for name, column in shown.items()
            ),
        )

    def _preview(self) -> tuple[pl.DataFrame, int]:
        return self.report(limit=int(config["display.limit"])), len(self)

    def _cell_width(self) -> int:
        return MESSAGE_LIMIT  # the whole message: it is what the view is for


def retried(
    attempt: Callable[[], T],
    *,
    tries: int,
    pause: bool = False,
    conflict: Callable[[Exception], bool] = lambda exc: isinstance(exc, ConflictError),
) -> T:
    """Run ``attempt`` again after it lost a write conflict with a concurrent transaction.

    DuckDB detects conflicting updates (two workers claiming the same job, two makes writing
    one table) at commit and aborts one; the loser simply tries again, up to ``tries`` times
    in all, after a short random ``pause`` when asked. ``conflict`` says which errors are
    conflicts; any other error, and the last conflict, are raised.
    """
    for number in range(tries):
        try:
            return attempt()
        except Exception as exc:
            if not conflict(exc) or number == tries - 1:
                raise
            if pause:
                time.sleep(random.uniform(0, 0.01 * (number + 1)))
    raise AssertionError("unreachable")


def transaction_of(conn: Connection, attempt: Callable[[], T]) -> Callable[[], T]:
    """``attempt`` run in a transaction of its own on ``conn``."""

    def run() -> T:
        with conn.transaction:
            return attempt()

    return run


def scheduled_sql(conn: Connection, delay: float) -> str:
    if not delay:
        return NOW
    return f"{NOW} + INTERVAL '{float(delay)} seconds'"


def jobs_definition(target: type[Table]) -> str:
    info = target._info
    assert info is not None
    keys = "\n".join(f"{name} : {info.heading[name].type}" for name in make_key(info))
    return f"# job queue of {target.__name__}\n{keys}\n---\n{JOB_ATTRIBUTES}"


def jobs_of(target: type[Table] | Table) -> JobTable:
    """The job queue of ``target``, declared on first use."""
    cls = target if isinstance(target, type) else type(target)
    return companion_table(cls, JobTable, jobs_definition(cls), {})  # type: ignore[return-value]


# -- what is left to compute -------------------------------------------------------------
def missing_keys(
    table: Table, restrictions: Sequence[Any], *, skip: Sequence[str] = ("error", "ignore")
) -> pl.DataFrame:
    """Keys of ``key_source & restrictions`` not in ``table`` nor queued with a status in ``skip``."""
    source = source_of(table)
    if restrictions:
        source = source & AndList(restrictions)
    todo = source.proj() - table
    key = make_key(table.info)
    missing = [k for k in key if k not in todo.heading]
    if missing:
        raise QueryError(
            f"The key_source of {type(table).__name__} lacks the key attribute(s) {missing}."
        )
    keys = todo.proj().to_polars(order_by="KEY").select(key)
    skipped = queued_keys(table, skip) if skip and not keys.is_empty() else None
    if skipped is None or skipped.is_empty():
        return keys
    skipped = skipped.cast(dict(keys.schema))  # type: ignore[arg-type]
    return keys.join(skipped, on=key, how="anti", nulls_equal=True, maintain_order="left")


def queued_keys(table: Table, statuses: Sequence[str]) -> pl.DataFrame:
    """The keys of ``table``'s jobs with one of ``statuses`` (one plain query: usually none)."""
    jobs = jobs_of(type(table))
    names = ", ".join(quote(k) for k in jobs.info.heading.primary_key)
    wanted = ", ".join(literal(s) for s in statuses)
    sql = f"SELECT {names} FROM {jobs.info.sql_name} WHERE _status IN ({wanted})"
    frame = pl.from_arrow(table.connection.fetch_arrow(sql, action="reading the job queue"))
    assert isinstance(frame, pl.DataFrame)
    return frame
