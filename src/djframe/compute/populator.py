"""The populator: runs make (or make_batch, or the tripartite make) over keys and keeps the score.

A :class:`Populator` is made once per populate call (or worker) for one table. It computes
keys a chunk at a time (:meth:`Populator.run`): ``make_batch`` in batches, one transaction
each, a failing batch split in halves until the failing keys are found; the tripartite make
and recomputation key by key; a plain ``make`` in groups of keys sharing a transaction
(:mod:`djframe.compute.groups`). Each transaction also records the provenance of the rows
made and, when reserving, their jobs' status; a failure is recorded in the job queue.
Choosing the keys and feeding them in is :mod:`djframe.compute.drive`'s work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from djframe._sql import quote
from djframe.algebra.expression import as_expression
from djframe.compute.groups import CONFLICT_RETRIES, GROUP_KEYS, GROUP_SECONDS, Groups
from djframe.compute.jobs import jobs_of, retried
from djframe.compute.liveness import Worker
from djframe.compute.provenance import (
    ProvenanceTable,
    code_version,
    provenance_of,
    record_provenance,
)
from djframe.compute.scope import scoped
from djframe.errors import DefinitionError, JobError, redact
from djframe.graph import topological
from djframe.keyset import key_relation
from djframe.session import commit_context
from djframe.settings import config

if TYPE_CHECKING:
    from djframe.table import Table

__all__ = ["PopulateOptions", "PopulateResult", "Populator", "fingerprint"]

BATCH_GROWTH = 4
BATCH_GROWTH_LIMIT = 16
"""Quick make_batch calls get up to this many times ``populate.batch_size`` keys."""


@dataclass(frozen=True)
class PopulateOptions:
    """How a populate call runs (see :meth:`djframe.compute.autopopulate.AutoPopulate.populate`)."""

    reserve_jobs: bool = False
    processes: int = 1
    display_progress: bool | None = None
    suppress_errors: bool = False
    max_calls: int | None = None
    batch_size: int | None = None
    recompute_stale: bool = False
    make_kwargs: dict[str, Any] | None = None
    priority: int | None = None
    refresh: bool | None = None

    @property
    def queues_new_keys(self) -> bool:
        """Whether a reserving populate first queues the missing keys (DataJoint's
        ``refresh``, by default ``jobs.auto_refresh``), or only takes jobs already pending."""
        return bool(config["jobs.auto_refresh"] if self.refresh is None else self.refresh)


class PopulateResult(dict[str, Any]):
    """``{"success_count": n, "error_list": [(key, message), ...]}`` with a notebook view."""

    def _repr_html_(self) -> str:
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


def fingerprint(value: Any) -> str:
    """A stable digest of a Python value (arrays, frames, containers, scalars)."""
    digest = hashlib.sha1()
    _feed(digest, value)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
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


def held_tables(table: Table) -> list[str]:
    """The table and its parts, parents first: the tables a make's rows are held for."""
    conn = table.connection
    names = {table.full_name} | {
        t.full_name for t in conn.tables.values() if t.master == table.full_name
    }
    return list(topological(conn.graph, names))


def has_method(table: Table, name: str) -> bool:
    return callable(getattr(type(table), name, None))


class Populator:
    """Runs make or make_batch over keys, one transaction each, and keeps the score."""

    def __init__(
        self,
        table: Table,
        options: PopulateOptions,
        job_id: str | None = None,
        version: str | None = None,
    ) -> None:
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
        self.version = version or code_version(type(table), config["populate.code_version"])
        self.jobs = jobs_of(type(table))
        self.provenance: ProvenanceTable = provenance_of(type(table))  # type: ignore[assignment]
        self.worker: Worker = Worker(self.conn, self.version)
        self.job_id = job_id or str(uuid.uuid4())
        self.scope_tables = held_tables(table)
        self.success_count = 0
        self.error_list: list[tuple[dict[str, Any], str]] = []
        self.first_error: BaseException | None = None

    # -- driving -----------------------------------------------------------------------------
    @property
    def chunk_size(self) -> int:
        """How many keys :meth:`run` takes at a time: a batch, or a group's worth of makes."""
        return self.batch_size if self.batched else GROUP_KEYS

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
            Groups(self).run(keys)

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

    def attempt(self, keys: pl.DataFrame, make: Callable[[], Any]) -> None:
        """One transaction: (replace stale rows,) make, provenance, job status; run again if
        it lost a write conflict with a concurrent worker (DuckDB detects those at commit)."""
        retried(lambda: self.attempt_once(keys, make), tries=CONFLICT_RETRIES)

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
        names = ", ".join(quote(k) for k in keys.columns)
        key = ", ".join(quote(k) for k in self.table.heading.primary_key)
        made = f"(SELECT {key} FROM {self.table.info.sql_name} WHERE ({names}) IN (SELECT {names} FROM {given}))"
        record_provenance(
            self.conn,
            self.provenance,
            made,
            (given, keys.columns),
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
        if result is None:
            return []
        if not isinstance(result, dict):
            return [(self.table, result)]
        pairs = [(as_expression(t), frame) for t, frame in result.items()]
        # The master first, so its parts find their parent rows.
        return sorted(pairs, key=lambda p: p[0].full_name != self.table.full_name)

    def failed(self, keys: pl.DataFrame, exc: BaseException) -> None:
        # recorded and shown (djframe jobs --errors): a password in a URL never is
        message = redact(f"{type(exc).__name__}: {exc}")
        stack = redact("".join(traceback.format_exception(exc)))
        self.jobs.record(
            keys,
            "error",
            error_message=message[:2047],
            error_stack=stack[-16000:],
            user=self.worker.user,
            host=self.worker.host,
            pid=self.worker.pid,
            process=self.worker.process,
            version=self.version[:255],
        )
        self.error_list += [(row, message) for row in keys.iter_rows(named=True)]
        if self.first_error is None:
            self.first_error = exc

    def result(self) -> PopulateResult:
        return PopulateResult(success_count=self.success_count, error_list=self.error_list)


def as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)
