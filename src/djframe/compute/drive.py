"""Driving a populator: which keys to compute, and how they are fed to it.

:func:`plan_keys` finds the keys (missing ones, and stale ones when recomputing, up to
``max_calls``); :func:`queue` makes them claimable in the job queue; :func:`drive` is the one
loop that feeds them to a :class:`~djframe.compute.populator.Populator`, in-process and in
worker processes alike: chunk after chunk, or, when reserving, claim after claim
(:func:`run_reserved`), each claim as large as make computes in about
:data:`~djframe.compute.groups.GROUP_SECONDS`.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import polars as pl

from djframe.algebra.condition import AndList
from djframe.compute.groups import GROUP_KEYS, GROUP_SECONDS
from djframe.compute.jobs import DEFAULT_PRIORITY, JobTable, missing_keys
from djframe.compute.keys import make_key, source_of
from djframe.compute.liveness import Worker
from djframe.compute.progress import bar
from djframe.compute.provenance import stale_keys
from djframe.errors import JobError

if TYPE_CHECKING:
    from djframe.compute.populator import PopulateOptions, Populator
    from djframe.table import Table

__all__ = ["check_can_populate", "drive", "plan_keys", "progress_bar", "queue", "run_reserved"]


def drive(populator: Populator, keys: pl.DataFrame, advance: Callable[[int], None]) -> None:
    """Compute ``keys``: claimed from the job queue when reserving, else chunk by chunk."""
    if populator.reserve_jobs:
        run_reserved(populator, keys, advance)
        return
    start = 0
    while start < len(keys):
        chunk = keys.slice(start, populator.chunk_size)
        populator.run(chunk)
        advance(len(chunk))
        start += len(chunk)


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
    stale = stale_keys(table, version).select(make_key(table.info)).unique(maintain_order=True)
    if restrictions and not stale.is_empty():
        allowed = (source_of(table) & AndList(restrictions)).proj().to_polars()
        stale = stale.join(allowed.select(stale.columns), on=stale.columns, how="semi")
    return stale


def queue(
    jobs: JobTable, keys: pl.DataFrame, stale: pl.DataFrame | None, priority: int | None
) -> None:
    """Make ``keys`` claimable: new keys pending, stale ones back to pending."""
    jobs.reclaim_orphans(None)
    jobs.repend_deleted_successes()
    jobs.complete_made()
    if stale is not None and not stale.is_empty():
        jobs.record(stale, "pending", reserved_time=None)
    jobs.add_pending(keys, priority=DEFAULT_PRIORITY if priority is None else priority)


def run_reserved(populator: Populator, keys: pl.DataFrame, advance: Callable[[int], None]) -> None:
    """Claim and compute ``keys`` until none is left for this worker.

    make claims as many keys as it computes in about :data:`GROUP_SECONDS` (one at first,
    doubling while that is quick), so fast makes share transactions and slow ones do not hold
    keys that other workers could be computing; where the claims count the pending keys
    (PostgreSQL), no more than a fair share of those left (:func:`fair_share`). When none is
    left to claim, the reservations of workers that died are given back, and claimed in turn.
    """
    claim = 1
    with populator.conn.temporary(keys.to_arrow()) as wanted:
        while True:
            if populator.batched:
                claim = populator.batch_size
            claimed, left = claim_keys(populator.jobs, populator.worker, claim, wanted, keys.schema)
            if claimed.is_empty():
                if populator.jobs.reclaim_orphans(None):
                    continue  # a dead worker's keys: pending again
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
                if left is not None:
                    claim = min(claim, fair_share(left - len(claimed), populator.options.processes))


def next_claim(claim: int, seconds: float) -> int:
    """How many keys make claims next, after ``claim`` keys took ``seconds``."""
    if seconds < GROUP_SECONDS / 2:
        return min(claim * 2, GROUP_KEYS)
    if seconds > GROUP_SECONDS * 2:
        return max(claim // 2, 1)
    return claim


def fair_share(left: int, workers: int) -> int:
    """The most keys one of ``workers`` claims when ``left`` are still pending: near the end
    of the queue claims shrink, so that the workers finish together rather than one of them
    computing a large last claim while the others wait."""
    return max(1, -(-left // max(workers, 1)))


def claim_keys(
    jobs: JobTable, worker: Worker, count: int, wanted: str, schema: pl.Schema
) -> tuple[pl.DataFrame, int | None]:
    """The keys claimed, as ``schema`` has them, and how many were pending (if counted)."""
    claim = jobs.claim(worker, count, among=wanted)
    frame = pl.from_arrow(claim.keys)
    assert isinstance(frame, pl.DataFrame)
    return frame.cast(dict(schema)).select(schema.names()), claim.left  # type: ignore[arg-type]


def release_unfinished(jobs: JobTable, claimed: pl.DataFrame) -> None:
    """Claimed jobs still reserved by this worker (e.g. after Ctrl-C) go back to pending."""
    still = (jobs.reserved & claimed).proj().to_polars()
    if not still.is_empty():
        jobs.record(still, "pending", reserved_time=None)


# -- progress and signals ----------------------------------------------------------------------
@contextmanager
def progress_bar(table: Table, total: int, display: bool | None) -> Iterator[Callable[[int], None]]:
    """A bar when asked (or, with ``display=None``, when stderr is a terminal): tqdm's, or in
    a notebook one the notebook keeps (:mod:`djframe.compute.progress`)."""
    show = sys.stderr.isatty() if display is None else display
    if not show or total == 0:
        yield lambda n: None
        return
    with bar(total, type(table).__name__) as advance:
        yield advance


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
