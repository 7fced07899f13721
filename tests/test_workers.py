"""populate across processes: worker processes, shared job queues, killed workers.

The pipeline lives in tests/pipelines/counting.py because worker processes import it; every
make call leaves a file in a log folder, so the tests count calls, not only rows.
"""

from __future__ import annotations

import importlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

import djframe as dj

TESTS = Path(__file__).parent
_numbers = itertools.count()


def calls(log: Path) -> Counter[int]:
    """How many times make ran for each item."""
    return Counter(int(name.split("-")[0]) for name in os.listdir(log))


def computed_once(log: Path, backend: str) -> bool:
    """Every key's make ran once. On DuckDB a transaction that loses a write conflict with a
    concurrent worker is rolled back and run again by the same worker (dj.ConflictError), so
    a key may be attempted twice there, by one process; PostgreSQL workers never collide."""
    counts = calls(log)
    if backend == "postgres":
        return set(counts.values()) == {1}
    workers_per_key: dict[int, set[str]] = {}
    for name in os.listdir(log):
        item, pid = name.split("-")[:2]
        workers_per_key.setdefault(int(item), set()).add(pid)
    return all(len(pids) == 1 for pids in workers_per_key.values()) and max(counts.values()) <= 3


def items(module: ModuleType, count: int, negative: tuple[int, ...] = ()) -> None:
    values = [(-1.0 if i in negative else float(i)) for i in range(count)]
    module.Item.insert(pl.DataFrame({"item": range(count), "value": values}))


def test_four_workers_compute_each_key_exactly_once(counting: ModuleType, backend: str) -> None:
    size = 1000 if backend == "postgres" else 300
    items(counting, size)
    result = counting.Square.populate(reserve_jobs=True, processes=4)
    assert result == {"success_count": size, "error_list": []}
    made = calls(counting.log)
    assert len(made) == size and computed_once(counting.log, backend)  # every key, once
    squares = counting.Square.to_polars()
    # made in worker processes (how the keys split between them depends on the machine's load:
    # one worker may take every key while the others start; the split is tested without
    # reservations below)
    assert len(squares) == size and os.getpid() not in squares["pid"].to_list()
    assert len(counting.Square.Digit) == sum(len(set(str(i))) for i in range(size))
    assert counting.Square.jobs.progress()["success"] == size


def test_workers_without_reservations_split_the_keys(counting: ModuleType, backend: str) -> None:
    items(counting, 40, negative=(7,))
    result = counting.Square.populate(processes=2, suppress_errors=True)
    assert result["success_count"] == 39
    assert [key for key, _ in result["error_list"]] == [{"item": 7}]
    assert computed_once(counting.log, backend)
    assert counting.Square.to_polars()["pid"].n_unique() == 2
    assert len(counting.Square.jobs.errors) == 1


def test_workers_raise_the_first_error_without_suppress(counting: ModuleType) -> None:
    items(counting, 10, negative=(3,))
    with pytest.raises(ValueError, match="negative value for item 3"):
        counting.Square.populate(processes=2)


def test_make_batch_in_workers(counting: ModuleType) -> None:
    items(counting, 100, negative=(42,))
    result = counting.Doubled.populate(
        processes=2, reserve_jobs=True, batch_size=25, suppress_errors=True
    )
    assert result["success_count"] == 99
    assert [key for key, _ in result["error_list"]] == [{"item": 42}]
    assert len(counting.Doubled) == 99
    assert (counting.Doubled & {"item": 10}).fetch1("doubled") == 20.0


def test_a_second_populate_reads_the_queue_left_by_the_first(
    counting: ModuleType, backend: str
) -> None:
    items(counting, 20)
    counting.Square.populate(reserve_jobs=True, processes=2, max_calls=8)
    assert len(counting.Square) == 8
    counting.Square.populate(reserve_jobs=True, processes=2)
    assert len(counting.Square) == 20
    assert computed_once(counting.log, backend)


def run_in_subprocess(env: dict[str, str], code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env={
            **os.environ,
            **env,
            "PYTHONPATH": f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        },
    )


def wait_for(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_a_killed_worker_leaves_no_partial_rows_and_its_job_is_reclaimed(
    counting: ModuleType, backend: str
) -> None:
    items(counting, 3)
    counting.Square.jobs  # declared before the worker starts  # noqa: B018
    if backend == "duckdb":
        counting.schema.connection.close()  # the worker process must own the file
    worker = run_in_subprocess(
        {"DJFRAME_TEST_MAKE_PAUSE": "60"},
        "from pipelines import counting; counting.Square.populate({'item': 1}, reserve_jobs=True)",
    )
    try:
        wait_for(lambda: calls(counting.log)[1] == 1)
        time.sleep(0.5)  # inside the pause: the master row is inserted, its parts are not
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait()
    assert worker.returncode == -signal.SIGKILL
    module = importlib.reload(counting) if backend == "duckdb" else counting
    module.log = counting.log  # type: ignore[attr-defined]
    assert len(module.Square) == 0 and len(module.Square.Digit) == 0  # nothing half-written
    jobs = module.Square.jobs
    wait_for(lambda: jobs.refresh()["orphaned"] == 1 or len(jobs.pending) == 1, timeout=10)
    assert len(jobs.reserved) == 0
    result = module.Square.populate(reserve_jobs=True)
    assert result["success_count"] == 3
    assert calls(counting.log)[1] == 2  # the killed attempt and the one that finished
    assert len(module.Square.Digit & {"item": 1}) == 1


def test_sigterm_rolls_back_and_frees_the_job(counting: ModuleType, backend: str) -> None:
    items(counting, 2)
    counting.Square.jobs  # noqa: B018
    if backend == "duckdb":
        counting.schema.connection.close()
    worker = run_in_subprocess(
        {"DJFRAME_TEST_MAKE_PAUSE": "60"},
        "from pipelines import counting; counting.Square.populate(reserve_jobs=True)",
    )
    try:
        wait_for(lambda: sum(calls(counting.log).values()) == 1)
        time.sleep(0.5)
        worker.terminate()
    finally:
        worker.wait()
    assert worker.returncode != 0
    module = importlib.reload(counting) if backend == "duckdb" else counting
    assert len(module.Square) == 0
    progress = module.Square.jobs.progress()
    assert progress["reserved"] == 0 and progress["pending"] == 2  # given back on the way out


def test_processes_need_a_database_file_on_duckdb() -> None:
    schema = dj.Schema("kept_in_memory", connection=dj.connect("duckdb://"))

    @schema
    class Local(dj.Manual):
        definition = """
        n : int32
        """

    @schema
    class Made(dj.Computed):
        definition = """
        -> Local
        """

        def make(self, key: dict) -> None:
            self.insert1(key)

    Local.insert1({"n": 1})
    with pytest.raises(dj.JobError, match="in-memory"):
        Made.populate(processes=2)
    assert Made.populate()["success_count"] == 1


def test_bad_process_count(counting: ModuleType) -> None:
    with pytest.raises(dj.JobError, match="positive"):
        counting.Square.populate(processes=0)


def test_pipeline_populates_independent_tables_together(counting: ModuleType) -> None:
    items(counting, 30, negative=(4,))
    results = dj.populate(counting.schema, processes=2)
    assert results["Square"]["success_count"] == 29 and results["Doubled"]["success_count"] == 29
    assert [k for k, _ in results["Square"]["error_list"]] == [{"item": 4}]
    assert len(counting.Square) == 29 and len(counting.Doubled) == 29
    again = dj.populate(counting.schema, processes=2)
    assert all(r["success_count"] == 0 for r in again.values())


def test_keys_flow_downstream_while_upstream_runs(
    counting: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    items(counting, 24, negative=(5,))
    monkeypatch.setenv("DJFRAME_TEST_MAKE_PAUSE", "0.05")  # slow enough to overlap
    # Square's later makes wait for Total's first (pipelines/counting.py): however slowly
    # Total's worker starts, Square cannot be done first unless Total waits for it.
    monkeypatch.setenv("DJFRAME_TEST_TOTAL_MARKER", str(tmp_path / "total-started"))
    results = dj.populate(counting.Square, counting.Total, processes=2)
    assert results["Square"]["success_count"] == 23
    assert results["Total"]["success_count"] == 23  # every square got its total
    assert [k for k, _ in results["Total"]["error_list"]] == []
    square_done = max(counting.Square.provenance()["_start_time"])
    total_first = min(counting.Total.provenance()["_start_time"])
    assert total_first < square_done  # Total started before Square had finished
