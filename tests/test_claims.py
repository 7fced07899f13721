"""Claiming jobs: one statement on PostgreSQL that also counts what is left, fair shares near
the end of the queue, and each key made once by workers of several processes at a time.

Real processes (tests/pipelines/counting.py, whose makes leave a file per call): on
PostgreSQL two Python processes each run populate(reserve_jobs=True, processes=2) on one queue
(a DuckDB file has one writing process: its workers' concurrency is tests/test_workers.py's).
"""

from __future__ import annotations

import os
from types import ModuleType

import pytest

from djframe.compute.drive import fair_share
from djframe.compute.liveness import Worker
from test_workers import calls, computed_once, items, run_in_subprocess


def test_fair_shares_shrink_near_the_end() -> None:
    assert fair_share(2000, 4) == 500
    assert fair_share(10, 4) == 3  # rounded up: nobody is left out
    assert fair_share(3, 4) == 1 and fair_share(0, 4) == 1  # always one at least
    assert fair_share(5, 1) == 5


def test_a_claim_counts_the_jobs_left(counting: ModuleType, backend: str) -> None:
    items(counting, 10)
    jobs = counting.Square.jobs
    jobs.refresh()
    worker = Worker(counting.schema.connection, "v1")
    first = jobs.claim(worker, 3)
    assert first.keys.num_rows == 3 and first.keys.column_names == ["item"]
    second = jobs.claim(worker, 20)
    assert second.keys.num_rows == 7
    assert not set(first.keys["item"].to_pylist()) & set(second.keys["item"].to_pylist())
    if backend == "postgres":  # counted by the claim itself, the keys claimed included
        assert (first.left, second.left) == (10, 7)
    else:
        assert first.left is None and second.left is None
    empty = jobs.claim(worker, 5)
    assert empty.keys.num_rows == 0 and empty.left in {0, None}
    reserved = jobs.reserved.to_polars()
    assert len(reserved) == 10 and set(reserved["_session"]) == {worker.session}


@pytest.mark.parametrize("backend", ["postgres"])  # a DuckDB file has one writing process
def test_two_processes_of_two_workers_make_each_key_once(
    counting: ModuleType, backend: str
) -> None:
    items(counting, 400)
    counting.Square.jobs.refresh()  # queued before either process starts
    code = (
        "from pipelines import counting; "
        "r = counting.Square.populate(reserve_jobs=True, processes=2); "
        "assert not r['error_list'], r"
    )
    # 20 ms makes: the keys outlast the start of most workers, so that several claim
    others = [run_in_subprocess({"DJFRAME_TEST_MAKE_PAUSE": "0.02"}, code) for _ in range(2)]
    for other in others:
        assert other.wait(timeout=300) == 0
    square = counting.Square.to_polars()
    # made in worker processes; how the keys split depends on the machine's load (the first
    # worker up may take most of them while the others start)
    parents = {os.getpid(), *(other.pid for other in others)}
    assert len(square) == 400 and not parents & set(square["pid"].to_list())
    assert len(calls(counting.log)) == 400 and computed_once(counting.log, backend)
    assert counting.Square.jobs.progress()["success"] == 400
