"""Resident worker processes: populate(processes=N) keeps its workers for the next call.

Real spawned workers on both backends (tests/pipelines/counting.py, whose rows record the pid
of the process that made them): reused across calls, stopped when idle too long or by
dj.shutdown_workers(), replaced when killed between calls or as a task is handed over, and
when a module file they imported changed.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

import djframe as dj
from djframe.compute.residents import idle_pids
from test_workers import calls, computed_once, items


def gone(pid: int) -> bool:
    """The process has exited (and been reaped: no zombie holds the pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def made_by(module: ModuleType, restriction: str) -> set[int]:
    """The pids of the workers that made the rows of ``restriction``."""
    return set((module.Square & restriction).to_polars()["pid"].to_list())


def populate(module: ModuleType, restriction: str, processes: int = 2) -> int:
    result = module.Square.populate(restriction, reserve_jobs=True, processes=processes)
    assert result["error_list"] == []
    return int(result["success_count"])


def test_workers_stay_for_the_next_call(counting: ModuleType, backend: str) -> None:
    items(counting, 60)
    assert populate(counting, "item < 20") == 20
    residents = idle_pids()
    assert len(residents) == 2 and made_by(counting, "item < 20") <= set(residents)
    assert populate(counting, "item >= 20 AND item < 40") == 20
    assert idle_pids() == residents  # the same processes, not new ones
    assert made_by(counting, "item >= 20 AND item < 40") <= set(residents)
    assert populate(counting, "item >= 40", processes=3) == 20  # two kept, one more
    assert set(residents) < set(idle_pids()) and len(idle_pids()) == 3
    assert computed_once(counting.log, backend) and len(calls(counting.log)) == 60


def test_idle_workers_exit_after_the_timeout(counting: ModuleType, backend: str) -> None:
    items(counting, 20)
    assert populate(counting, "item < 5") == 5
    residents = idle_pids()
    assert len(residents) == 2
    with dj.config.override(populate__worker_idle_timeout=1.0):
        assert populate(counting, "item >= 5 AND item < 10") == 5  # its tasks say: 1 s idle
        wait_for(lambda: idle_pids() == [], timeout=30)
        assert all(gone(pid) for pid in residents)
        assert populate(counting, "item >= 10 AND item < 15") == 5
        assert not made_by(counting, "item >= 10 AND item < 15") & set(residents)
    with dj.config.override(populate__worker_idle_timeout=0):
        assert populate(counting, "item >= 15") == 5
        assert idle_pids() == []  # stopped as soon as the call returned


def test_shutdown_workers_stops_them(counting: ModuleType) -> None:
    items(counting, 10)
    assert populate(counting, "item < 5") == 5
    residents = idle_pids()
    assert dj.shutdown_workers() == 2
    assert all(gone(pid) for pid in residents) and idle_pids() == []
    assert dj.shutdown_workers() == 0
    assert populate(counting, "item >= 5") == 5  # fresh workers
    assert not made_by(counting, "item >= 5") & set(residents)


def test_a_resident_killed_between_calls_is_replaced(counting: ModuleType, backend: str) -> None:
    items(counting, 40)
    assert populate(counting, "item < 20") == 20
    killed, kept = idle_pids()
    os.kill(killed, signal.SIGKILL)
    wait_for(lambda: gone(killed) or not Path(f"/proc/{killed}").exists())
    assert populate(counting, "item >= 20") == 20
    assert kept in idle_pids() and killed not in idle_pids() and len(idle_pids()) == 2
    assert computed_once(counting.log, backend) and len(calls(counting.log)) == 40
    assert counting.Square.jobs.progress()["success"] == 40


def test_a_worker_killed_as_its_task_is_handed_over_is_replaced(
    counting: ModuleType, backend: str
) -> None:
    items(counting, 40)
    assert populate(counting, "item < 20") == 20
    residents = idle_pids()
    for pid in residents:
        os.kill(pid, signal.SIGSTOP)  # alive, but cannot take the task it is sent

    def kill() -> None:
        for pid in residents:
            os.kill(pid, signal.SIGKILL)

    timer = threading.Timer(1.0, kill)  # once the tasks are sent, before they are taken
    timer.start()
    try:
        assert populate(counting, "item >= 20") == 20
    finally:
        timer.join()
    assert not set(idle_pids()) & set(residents) and len(idle_pids()) == 2
    assert not made_by(counting, "item >= 20") & set(residents)
    assert computed_once(counting.log, backend) and len(calls(counting.log)) == 40


def test_a_changed_module_file_gets_fresh_workers(counting: ModuleType, tmp_path: Path) -> None:
    items(counting, 20)
    assert populate(counting, "item < 10") == 10
    residents = idle_pids()
    source = Path(counting.__file__)
    before = source.stat()
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    try:
        assert populate(counting, "item >= 10") == 10
    finally:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not made_by(counting, "item >= 10") & set(residents)
    assert not set(idle_pids()) & set(residents)


def test_workers_take_the_environment_of_each_call(
    counting: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    items(counting, 10)
    assert populate(counting, "item < 5") == 5
    other = tmp_path / "other-calls"
    other.mkdir()
    monkeypatch.setenv("DJFRAME_TEST_MAKE_LOG", str(other))  # read by make, in the worker
    assert populate(counting, "item >= 5") == 5
    assert sorted(int(name.split("-")[0]) for name in os.listdir(other)) == [5, 6, 7, 8, 9]


def test_residents_are_not_shared_between_databases(
    counting: ModuleType, backend: str, tmp_path: Path
) -> None:
    items(counting, 4)
    assert populate(counting, "item < 2") == 2
    residents = idle_pids()
    schema = dj.Schema("elsewhere", connection=dj.connect(f"duckdb:///{tmp_path / 'b.duckdb'}"))

    @schema
    class Number(dj.Manual):
        definition = """
        n : int32
        """

    @schema
    class Twice(dj.Computed):
        definition = """
        -> Number
        ---
        twice : int32
        """

        def make(self, key: dict) -> None:
            self.insert1({**key, "twice": 2 * key["n"]})

    Number.insert(pl.DataFrame({"n": [1, 2, 3]}))
    assert Twice.populate(reserve_jobs=True, processes=2)["success_count"] == 3
    assert all(gone(pid) for pid in residents)  # stopped: they served another database
    assert not set(idle_pids()) & set(residents)
    assert populate(counting, "item >= 2") == 2
    schema.connection.close()


def test_a_forked_copy_leaves_the_workers_alone(counting: ModuleType) -> None:
    items(counting, 4)
    assert populate(counting, "item < 2") == 2
    residents = idle_pids()
    child = os.fork()
    if child == 0:  # the copy: the workers are not its own
        os._exit(0 if dj.shutdown_workers() == 0 and idle_pids() == [] else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert idle_pids() == residents and not any(gone(pid) for pid in residents)
    assert populate(counting, "item >= 2") == 2
    assert made_by(counting, "item >= 2") <= set(residents)
