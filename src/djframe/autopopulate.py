"""populate: compute the missing rows of an Imported or Computed table from its parents.

The keys to compute are ``(key_source & restrictions) - table``, less the keys whose job is in
``error`` or ``ignore``. Each batch of keys (``make_batch``) runs in one transaction together
with its parts and its provenance rows: all of it lands or none. A failing batch is split in
halves until the failing keys are found; only they are recorded as errors. ``make`` runs key
by key, several quick keys to a transaction, their rows held and written in bulk (see
:meth:`Populator.run_grouped` and :mod:`djframe.pending`); a failing make drops only its own
rows.

With ``reserve_jobs=True`` keys are claimed from the job queue first (see :mod:`djframe.jobs`),
so any number of processes, here or on other machines, can share the work. ``processes=N``
starts N worker processes (see :mod:`djframe.workers`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from djframe.errors import ConflictError, DefinitionError, JobError, QueryError
from djframe.jobs import JobTable, Worker, jobs_of
from djframe.keyset import key_relation
from djframe.pending import Held, holding
from djframe.provenance import ProvenanceTable, code_version, provenance_of
from djframe.readahead import reading_ahead
from djframe.session import commit_context, make_scope
from djframe.settings import config

if TYPE_CHECKING:
    from djframe.algebra.expression import QueryExpression
    from djframe.connection import Connection
    from djframe.table import Table

CONFLICT_RETRIES = 5
GROUP_KEYS = 256
"""At most this many makes share a transaction (see :meth:`Populator.run_grouped`)."""
GROUP_SECONDS = 0.2
"""A group takes no more keys once its makes have run this long."""
BATCH_GROWTH = 4
BATCH_GROWTH_LIMIT = 16
"""Quick make_batch calls get up to this many times ``populate.batch_size`` keys."""

__all__ = [
    "PopulateResult",
    "key_source",
    "missing_keys",
    "populate",
    "populate_pipeline",
]


# -- what to compute ---------------------------------------------------------------------------
def key_source(table: Table) -> QueryExpression:
    """The default key source: the join of the primary parents, each projected to its key."""
    from djframe.registry import table_class

    info = table.info
    key = set(info.heading.primary_key)
    parents = [fk for fk in info.foreign_keys if set(fk.attr_map) <= key]
    if not parents:
        raise DefinitionError(
            f"{type(table).__name__} has no foreign key in its primary key, so there is no "
            "default key_source. Define key_source (a query of the keys to compute)."
        )
    source: QueryExpression | None = None
    for fk in parents:
        parent = table_class(table.connection, fk.parent)()
        renames = {child: p for child, p in fk.attr_map.items() if child != p}
        projected = parent.proj(**renames) if renames else parent.proj()
        source = projected if source is None else source * projected
    assert source is not None
    return source


def source_of(table: Table) -> QueryExpression:
    from djframe.algebra.expression import QueryExpression, as_expression

    source = as_expression(table.key_source)  # type: ignore[attr-defined]
    if not isinstance(source, QueryExpression):
        raise DefinitionError(
            f"{type(table).__name__}.key_source must be a table or query expression, not a "
            f"{type(source).__name__}."
        )
    return source


def missing_keys(
    table: Table, restrictions: Sequence[Any], *, skip: Sequence[str] = ("error", "ignore")
) -> pl.DataFrame:
    """Keys of ``key_source & restrictions`` not in ``table`` nor queued with a status in ``skip``."""
    from djframe.algebra.condition import AndList

    source = source_of(table)
    if restrictions:
        source = source & AndList(restrictions)
    todo = source.proj() - table
    key = table.heading.primary_key
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
    from djframe._sql import literal, quote

    jobs = jobs_of(type(table))
    names = ", ".join(quote(k) for k in table.heading.primary_key)
    wanted = ", ".join(literal(s) for s in statuses)
    sql = f"SELECT {names} FROM {jobs.info.sql_name} WHERE status IN ({wanted})"
    frame = pl.from_arrow(table.connection.fetch_arrow(sql, action="reading the job queue"))
    assert isinstance(frame, pl.DataFrame)
    return frame


# -- scope checks ----------------------------------------------------------------------------
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
        if not self.covers(table) or self.within_quickly(data):
            return
        names = self.keys.columns
        given = pl.from_arrow(data.select(names))
        assert isinstance(given, pl.DataFrame)
        given = given.cast(dict(self.keys.schema))  # type: ignore[arg-type]
        outside = given.join(self.keys, on=names, how="anti", nulls_equal=True).unique()
        if not outside.is_empty():
            raise JobError(
                f"make inserted rows into {type(table).__name__} with keys it was not given: "
                f"{outside.head(3).to_dicts()}. make must insert only the key(s) it was called "
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


# -- the result ------------------------------------------------------------------------------
class PopulateResult(dict[str, Any]):
    """``{"success_count": n, "error_list": [(key, message), ...]}`` with a notebook view."""

    def _repr_html_(self) -> str:
        import html

        errors = "".join(
            f"<li><code>{html.escape(str(k))}</code>: {html.escape(str(m))}</li>"
            for k, m in self["error_list"][:10]
        )
        more = len(self["error_list"]) - 10
        tail = f"<li>... {more} more</li>" if more > 0 else ""
        return (
            f"<div><b>populate</b>: {self['success_count']} computed, "
            f"{len(self['error_list'])} errors<ul>{errors}{tail}</ul></div>"
        )


# -- running make ----------------------------------------------------------------------------
def fingerprint(value: Any) -> str:
    """A stable digest of a Python value (arrays, frames, containers, scalars)."""
    digest = hashlib.sha1()
    _feed(digest, value)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    import numpy as np

    if isinstance(value, pa.Table):
        value = pl.from_arrow(value)
    if isinstance(value, pl.DataFrame):
        digest.update(repr(value.schema).encode())
        digest.update(value.hash_rows(seed=0).to_numpy().tobytes())
    elif isinstance(value, np.ndarray) and value.dtype != object:
        digest.update(f"{value.dtype}{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        for k in sorted(value, key=repr):
            _feed(digest, k)
            _feed(digest, value[k])
    elif isinstance(value, list | tuple):
        digest.update(f"{type(value).__name__}{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:
        digest.update(repr(value).encode())


class MakeFailed(Exception):
    """make raised for the ``index``-th key of a group; ``error`` is what it raised."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index, error)
        self.index, self.error = index, error


def held_tables(table: Table) -> list[str]:
    """The table and its parts, parents first: the tables a make's rows are held for."""
    from djframe.graph import topological

    conn = table.connection
    names = {table.full_name} | {
        t.full_name for t in conn.tables.values() if t.master == table.full_name
    }
    return list(topological(conn.graph, names))


def usable(conn: Connection) -> bool:
    """Whether the open transaction still runs statements (an error may have aborted it)."""
    try:
        conn.fetch_scalar("SELECT 1")
    except Exception:
        return False
    return True


def has_method(table: Table, name: str) -> bool:
    return callable(getattr(type(table), name, None))


@dataclass(frozen=True)
class PopulateOptions:
    """How a populate call runs (see :meth:`djframe.table.AutoPopulate.populate`)."""

    reserve_jobs: bool = False
    processes: int = 1
    display_progress: bool | None = None
    suppress_errors: bool = False
    max_calls: int | None = None
    batch_size: int | None = None
    recompute_stale: bool = False
    make_kwargs: dict[str, Any] | None = None
    priority: int | None = None


class Populator:
    """Runs make or make_batch over keys, one transaction each, and keeps the score."""

    def __init__(self, table: Table, options: PopulateOptions, job_id: str | None = None) -> None:
        from djframe.jobs import Worker

        self.table = table
        self.conn = table.connection
        self.options = options
        self.reserve_jobs = options.reserve_jobs
        self.suppress_errors = options.suppress_errors
        self.make_kwargs = options.make_kwargs or {}
        self.recompute = options.recompute_stale
        batch_size = options.batch_size
        self.batched = has_method(table, "make_batch")
        self.tripartite = has_method(table, "make_fetch")
        if not (self.batched or self.tripartite or has_method(table, "make")):
            raise DefinitionError(
                f"{type(table).__name__} has no make: define make(self, key), make_batch(self, "
                "keys) or make_fetch/make_compute/make_insert."
            )
        self.base_batch = int(config["populate.batch_size"])
        self.batch_size = batch_size or (self.base_batch if self.batched else 1)
        self.batch_grows = self.batched and batch_size is None
        self.version = code_version(type(table), config["populate.code_version"])
        self.jobs = jobs_of(type(table))
        self.provenance: ProvenanceTable = provenance_of(type(table))  # type: ignore[assignment]
        self.worker: Worker = Worker(self.conn, self.version)
        self.job_id = job_id or str(uuid.uuid4())
        self.scope_tables = held_tables(table)
        self.success_count = 0
        self.error_list: list[tuple[dict[str, Any], str]] = []
        self.first_error: BaseException | None = None

    # -- driving -----------------------------------------------------------------------------
    def chunks(self, keys: pl.DataFrame) -> Iterator[pl.DataFrame]:
        start = 0
        while start < len(keys):
            size = self.batch_size if self.batched else GROUP_KEYS
            yield keys.slice(start, size)
            start += size

    def adapt_batch(self, keys: int, seconds: float) -> None:
        """With no batch_size given, quick batches of ``populate.batch_size`` keys grow (up to
        :data:`BATCH_GROWTH_LIMIT` times), so trivial make_batch calls share a transaction;
        a slow batch brings the size back."""
        if not self.batch_grows or keys < self.batch_size:
            return
        if seconds < GROUP_SECONDS / 2:
            limit = self.base_batch * BATCH_GROWTH_LIMIT
            self.batch_size = min(self.batch_size * BATCH_GROWTH, limit)
        elif seconds > GROUP_SECONDS * 5:
            self.batch_size = self.base_batch

    @property
    def stopping(self) -> bool:
        """An error was met and is to be raised: compute nothing more."""
        return self.first_error is not None and not self.suppress_errors

    def run(self, keys: pl.DataFrame) -> None:
        """Compute ``keys`` (already claimed, when reserving), one call or batch at a time.

        Stored objects written meanwhile are Delta commits that name this job and code version.
        """
        token = commit_context.set({"job_id": self.job_id, "code_version": self.version})
        clock = time.perf_counter()
        try:
            self.dispatch(keys)
        finally:
            commit_context.reset(token)
        self.adapt_batch(len(keys), time.perf_counter() - clock)
        if self.first_error is not None and not self.suppress_errors:
            error, self.first_error = self.first_error, None
            raise error

    def dispatch(self, keys: pl.DataFrame) -> None:
        if self.batched:
            self.run_batch(keys)
        elif self.tripartite or self.recompute:
            for index in range(len(keys)):
                if self.stopping:
                    break
                one = keys.slice(index, 1)
                self.run_key(one, one.row(0, named=True))
        else:
            self.run_grouped(keys)

    def run_batch(self, keys: pl.DataFrame) -> None:
        try:
            self.attempt(keys, lambda: self.call_make_batch(keys))
        except Exception as exc:
            if len(keys) == 1:
                self.failed(keys, exc)
                return
            half = len(keys) // 2
            self.run_batch(keys.slice(0, half))
            self.run_batch(keys.slice(half))

    def run_key(self, keys: pl.DataFrame, key: dict[str, Any]) -> None:
        try:
            if self.tripartite:
                fetched = self.table.make_fetch(key, **self.make_kwargs)  # type: ignore[attr-defined]
                computed = self.table.make_compute(key, *as_tuple(fetched))  # type: ignore[attr-defined]
                self.attempt(keys, lambda: self.finish_tripartite(key, fetched, computed))
            else:
                self.attempt(keys, lambda: self.table.make(key, **self.make_kwargs))  # type: ignore[attr-defined]
        except Exception as exc:
            self.failed(keys, exc)

    def run_grouped(self, keys: pl.DataFrame) -> None:
        """Run make key by key, several keys to a transaction (see :class:`Group`).

        A make that raises rolls back its group: the keys before it run again (their makes
        are called a second time) and it is recorded as an error. A group whose writes fail
        runs again one key per transaction, which finds the failing keys.
        """
        start = 0
        while start < len(keys) and not self.stopping:
            try:
                start += self.attempt_group(keys.slice(start, GROUP_KEYS))
            except MakeFailed as failure:
                if failure.index:
                    self.run_grouped(keys.slice(start, failure.index))
                index = start + failure.index
                self.failed(keys.slice(index, 1), failure.error)
                start = index + 1
            except Exception:
                for index in range(start, min(start + GROUP_KEYS, len(keys))):
                    if self.stopping:
                        break
                    self.run_single(keys.slice(index, 1))
                start += GROUP_KEYS

    def run_single(self, key: pl.DataFrame) -> None:
        try:
            self.attempt_group(key)
        except MakeFailed as failure:
            self.failed(key, failure.error)
        except Exception as exc:
            self.failed(key, exc)

    def attempt_group(self, keys: pl.DataFrame) -> int:
        """Make the first keys of ``keys`` in one transaction; returns how many were made.

        A group ends after :data:`GROUP_KEYS` keys or :data:`GROUP_SECONDS` seconds, so slow
        makes still commit one key at a time. Lost write conflicts run it again.
        """
        for tries_left in reversed(range(CONFLICT_RETRIES)):
            try:
                return self.group_once(keys)
            except ConflictError:
                if not tries_left:
                    raise
            except MakeFailed as failure:
                if not isinstance(failure.error, ConflictError) or not tries_left:
                    raise
        raise AssertionError("unreachable")

    def group_once(self, keys: pl.DataFrame) -> int:
        started = dt.datetime.now()
        clock = time.perf_counter()
        conn = self.conn
        count, made, errors = 0, [], []
        with (
            conn.transaction,
            holding(conn, self.scope_tables) as held,
            reading_ahead(conn, keys, self.table.heading, set(self.scope_tables)),
        ):
            while count < len(keys) and (count == 0 or time.perf_counter() - clock < GROUP_SECONDS):
                one = keys.slice(count, 1)
                error = self.make_held(one, held, count)
                if error is not None:
                    errors.append((one, error))
                else:
                    made.append(count)
                count += 1
                if errors and not self.suppress_errors:
                    break
            held.write()
            done = keys[made]
            with key_relation(conn, done, self.table.heading) as given:
                self.finish(given, done, started, time.perf_counter() - clock)
        self.success_count += len(done)
        for one, error in errors:
            self.failed(one, error)
        return count

    def make_held(self, one: pl.DataFrame, held: Held, index: int) -> Exception | None:
        """Run make for one key of a group; returns its error if only its own held rows
        need dropping, and raises :class:`MakeFailed` if the group must roll back."""
        mark = held.mark()
        key = one.row(0, named=True)
        try:
            with scoped(self.table, one, key):
                self.table.make(dict(key), **self.make_kwargs)  # type: ignore[attr-defined]
        except Exception as exc:
            if held.written != mark[0]:
                raise  # rows of earlier keys were written meanwhile: any key may be to blame
            if isinstance(exc, ConflictError) or not held.drop_since(mark) or not usable(self.conn):
                raise MakeFailed(index, exc) from exc
            return exc
        return None

    def attempt(self, keys: pl.DataFrame, make: Callable[[], Any]) -> None:
        """One transaction: (replace stale rows,) make, provenance, job status; run again if
        it lost a write conflict with a concurrent worker (DuckDB detects those at commit)."""
        for tries_left in reversed(range(CONFLICT_RETRIES)):
            try:
                self.attempt_once(keys, make)
                return
            except ConflictError:
                if not tries_left:
                    raise

    def attempt_once(self, keys: pl.DataFrame, make: Callable[[], Any]) -> None:
        started = dt.datetime.now()
        clock = time.perf_counter()
        conn = self.conn
        with conn.transaction:
            if self.recompute:
                self.delete_old(keys)
            with scoped(self.table, keys):
                make()
            with key_relation(conn, keys, self.table.heading) as given:
                self.finish(given, keys, started, time.perf_counter() - clock)
        self.success_count += len(keys)

    def finish(self, given: str, keys: pl.DataFrame, started: dt.datetime, seconds: float) -> None:
        """Record the provenance of the rows make wrote for ``keys`` (the relation ``given``)
        and, when reserving, their jobs' success."""
        from djframe._sql import quote
        from djframe.provenance import record_provenance

        names = ", ".join(quote(k) for k in keys.columns)
        made = f"(SELECT {names} FROM {self.table.info.sql_name} WHERE ({names}) IN (SELECT {names} FROM {given}))"
        record_provenance(
            self.conn,
            self.provenance,
            made,
            job_id=self.job_id,
            version=self.version,
            started=started.isoformat(sep=" "),
            duration=seconds / max(len(keys), 1),
            user=self.worker.user,
            host=self.worker.host,
        )
        if self.reserve_jobs:
            self.jobs.record(
                keys,
                "success",
                duration=seconds / max(len(keys), 1),
                error_message="",
                error_stack="",
            )

    def delete_old(self, keys: pl.DataFrame) -> None:
        """Delete the rows being recomputed (and their dependents), in the make's transaction."""
        old = self.table & keys
        if len(old):
            old.delete(prompt=False, part_integrity="cascade")

    def finish_tripartite(self, key: dict[str, Any], fetched: Any, computed: Any) -> None:
        again = self.table.make_fetch(key, **self.make_kwargs)  # type: ignore[attr-defined]
        if fingerprint(again) != fingerprint(fetched):
            raise JobError(
                f"The inputs of {type(self.table).__name__} for {key} changed between make_fetch "
                "and make_insert; nothing was written. Populate again to use the new inputs."
            )
        self.table.make_insert(key, *as_tuple(computed))  # type: ignore[attr-defined]

    def call_make_batch(self, keys: pl.DataFrame) -> None:
        result = self.table.make_batch(keys)  # type: ignore[attr-defined]
        for table, frame in self.outputs(result):
            table.insert(frame)

    def outputs(self, result: Any) -> list[tuple[Table, Any]]:
        from djframe.algebra.expression import as_expression

        if result is None:
            return []
        if not isinstance(result, dict):
            return [(self.table, result)]
        pairs = [(as_expression(t), frame) for t, frame in result.items()]
        # The master first, so its parts find their parent rows.
        return sorted(pairs, key=lambda p: p[0].full_name != self.table.full_name)

    def failed(self, keys: pl.DataFrame, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        stack = "".join(traceback.format_exception(exc))
        self.jobs.record(
            keys,
            "error",
            error_message=message[:2047],
            error_stack=stack[-16000:],
            user=self.worker.user,
            host=self.worker.host,
            pid=self.worker.pid,
            version=self.version[:255],
        )
        self.error_list += [(row, message) for row in keys.iter_rows(named=True)]
        if self.first_error is None:
            self.first_error = exc

    def result(self) -> PopulateResult:
        return PopulateResult(success_count=self.success_count, error_list=self.error_list)


def as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


# -- the public entry point ----------------------------------------------------------------------
def populate(table: Table, *restrictions: Any, **options: Any) -> PopulateResult:
    """See :meth:`djframe.table.AutoPopulate.populate` for the options."""
    settings = populate_options(options)
    check_can_populate(table, settings.processes)
    if settings.processes > 1:
        from djframe.workers import populate_in_processes

        return populate_in_processes(table, restrictions, settings)
    populator = Populator(table, settings)
    keys, stale = plan_keys(table, restrictions, populator.version, settings)
    with (
        progress_bar(table, len(keys), settings.display_progress) as advance,
        terminating_on_sigterm(),
    ):
        if settings.reserve_jobs:
            queue(populator.jobs, keys, stale, settings.priority)
            run_reserved(populator, keys, advance)
        else:
            for chunk in populator.chunks(keys):
                populator.run(chunk)
                advance(len(chunk))
    return populator.result()


def populate_options(options: dict[str, Any]) -> PopulateOptions:
    """The options of a populate call, or a JobError naming an unknown one."""
    known = PopulateOptions.__dataclass_fields__
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise JobError(f"populate has no option(s) {unknown}; the options are {', '.join(known)}.")
    return PopulateOptions(**options)


def check_can_populate(table: Table, processes: int) -> None:
    if table.connection.in_transaction:
        raise JobError("populate cannot run inside a transaction: each make runs in its own.")
    if table.tier not in {"imported", "computed"}:
        raise JobError(
            f"{type(table).__name__} is a {table.tier} table; only Imported and Computed tables "
            "are populated."
        )
    if not isinstance(processes, int) or processes < 1:
        raise JobError(f"processes must be a positive int, not {processes!r}.")


def plan_keys(
    table: Table, restrictions: Sequence[Any], version: str, options: PopulateOptions
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The keys to compute (stale ones first), and the stale ones when recomputing."""
    missing = missing_keys(table, restrictions)
    stale = stale_among(table, restrictions, version) if options.recompute_stale else None
    keys = missing
    if stale is not None and not stale.is_empty():
        keys = pl.concat([stale.cast(dict(missing.schema)), missing])  # type: ignore[arg-type]
    limit = options.max_calls
    return (keys if limit is None else keys.head(limit)), stale


def stale_among(table: Table, restrictions: Sequence[Any], version: str) -> pl.DataFrame:
    """The stale keys of ``table`` within ``key_source & restrictions``."""
    from djframe.provenance import stale_keys

    stale = stale_keys(table, version).drop("cause")
    if restrictions and not stale.is_empty():
        from djframe.algebra.condition import AndList

        allowed = (source_of(table) & AndList(restrictions)).proj().to_polars()
        stale = stale.join(allowed.select(stale.columns), on=stale.columns, how="semi")
    return stale


def queue(
    jobs: JobTable, keys: pl.DataFrame, stale: pl.DataFrame | None, priority: int | None
) -> None:
    """Make ``keys`` claimable: new keys pending, stale ones back to pending."""
    from djframe.jobs import DEFAULT_PRIORITY

    jobs.reclaim_orphans(None)
    jobs.repend_deleted_successes()
    if stale is not None and not stale.is_empty():
        jobs.record(stale, "pending", reserved_time=None)
    jobs.add_pending(keys, priority=DEFAULT_PRIORITY if priority is None else priority)


def run_reserved(populator: Populator, keys: pl.DataFrame, advance: Callable[[int], None]) -> None:
    """Claim and compute ``keys`` until none is left for this worker.

    make claims as many keys as it computes in about :data:`GROUP_SECONDS` (one at first,
    doubling while that is quick), so fast makes share transactions and slow ones do not hold
    keys that other workers could be computing.
    """
    claim = 1
    with populator.conn.temporary(keys.to_arrow()) as wanted:
        while True:
            if populator.batched:
                claim = populator.batch_size
            claimed = claim_keys(populator.jobs, populator.worker, claim, wanted, keys.schema)
            if claimed.is_empty():
                break
            clock = time.perf_counter()
            try:
                populator.run(claimed)
            except BaseException:
                release_unfinished(populator.jobs, claimed)
                raise
            advance(len(claimed))
            if not populator.batched:
                claim = next_claim(claim, time.perf_counter() - clock)


def next_claim(claim: int, seconds: float) -> int:
    """How many keys make claims next, after ``claim`` keys took ``seconds``."""
    if seconds < GROUP_SECONDS / 2:
        return min(claim * 2, GROUP_KEYS)
    if seconds > GROUP_SECONDS * 2:
        return max(claim // 2, 1)
    return claim


def claim_keys(
    jobs: JobTable, worker: Worker, count: int, wanted: str, schema: pl.Schema
) -> pl.DataFrame:
    data = jobs.reserve(worker, count, among=wanted)
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame.cast(dict(schema)).select(schema.names())  # type: ignore[arg-type]


def release_unfinished(jobs: JobTable, claimed: pl.DataFrame) -> None:
    """Claimed jobs still reserved by this worker (e.g. after Ctrl-C) go back to pending."""
    still = (jobs & claimed & {"status": "reserved"}).proj().to_polars()
    if not still.is_empty():
        jobs.record(still, "pending", reserved_time=None)


# -- progress and signals ----------------------------------------------------------------------
@contextmanager
def progress_bar(table: Table, total: int, display: bool | None) -> Iterator[Callable[[int], None]]:
    """A tqdm bar when asked (or, with ``display=None``, when stderr is a terminal)."""
    show = sys.stderr.isatty() if display is None else display
    if not show or total == 0:
        yield lambda n: None
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=type(table).__name__, unit="key") as bar:
        yield bar.update


@contextmanager
def terminating_on_sigterm() -> Iterator[None]:
    """SIGTERM raises SystemExit in the main thread, so transactions roll back cleanly."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- whole pipelines ---------------------------------------------------------------------------
def populate_pipeline(*targets: Any, **options: Any) -> dict[str, PopulateResult]:
    """Populate every Imported and Computed table of ``targets`` (schemas or tables), parents
    first, so that each table sees the rows its parents just got.

    Errors are recorded in each table's job queue and reported, not raised, unless
    ``suppress_errors=False`` is passed. Other options go to each table's ``populate``.
    With ``processes=N``, tables that do not depend on each other are populated at the same
    time, sharing N worker processes; a table starts once every table it depends on is done.

    Examples
    --------
    >>> dj.populate(schema)  # doctest: +SKIP
    {'Features': {'success_count': 12, 'error_list': []}, 'Summary': {...}}
    """
    from djframe.workers import populate_together

    tables = auto_tables(targets)
    options.setdefault("suppress_errors", True)
    settings = populate_options(options)
    results: dict[str, PopulateResult] = {}
    if settings.processes > 1 and 1 < len(tables) <= settings.processes:
        ordered = [table for wave in generations(tables) for table in wave]
        return populate_together(ordered, settings)
    for generation in generations(tables):
        if settings.processes > 1 and len(generation) > 1:
            results |= populate_together(generation, settings)
        else:
            for table in generation:
                results[type(table).__name__] = populate(table, **options)
    return results


def generations(tables: list[Table]) -> list[list[Table]]:
    """``tables`` in waves: each wave depends only on tables of earlier waves."""
    import networkx as nx

    if not tables:
        return []
    conn = tables[0].connection
    conn.load_all_schemas()
    by_name = {t.full_name: t for t in tables}
    order = nx.DiGraph()
    order.add_nodes_from(by_name)
    for name in by_name:
        order.add_edges_from((a, name) for a in nx.ancestors(conn.graph, name) if a in by_name)
    return [[by_name[n] for n in sorted(wave)] for wave in nx.topological_generations(order)]


def auto_tables(targets: Sequence[Any]) -> list[Table]:
    """The Imported and Computed tables named by ``targets``: schemas, classes or instances."""
    from djframe.algebra.expression import as_expression
    from djframe.registry import table_class
    from djframe.schema import Schema

    found: list[Table] = []
    for target in targets:
        if isinstance(target, Schema):
            infos = [i for i in target.user_tables() if i.tier in {"imported", "computed"}]
            found += [table_class(target.connection, i.full_name)() for i in infos]
        else:
            table = as_expression(target)
            if getattr(table, "tier", None) not in {"imported", "computed"}:
                raise JobError(f"{target!r} is not an Imported or Computed table or a schema.")
            found.append(table)
    return list({t.full_name: t for t in found}.values())
