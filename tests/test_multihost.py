"""Workers on one PostgreSQL that share a hostname and have PID namespaces of their own, as
containers with host networking do (issue 14, item 2): every key is made exactly once, and a
worker SIGKILLed mid-make has its reservation taken over by the others.

Each worker runs ``python -m pipelines.multihost`` under ``unshare --pid --fork --mount-proc``
(which needs root), with a pid that no process of the other namespaces has: a liveness test by
host and pid gives a live worker's key to another (this test fails so). Makes are counted by the files they
leave (as in tests/test_workers.py), not only by rows.
"""

from __future__ import annotations

import importlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import pytest

from djframe.compute.provenance import provenance_of

TESTS = Path(__file__).parent
SOURCE = TESTS.parent / "src"
WORKERS = 3
KEYS = 18
PAUSE = 0.3
_numbers = itertools.count()


def namespaces_unavailable() -> str | None:
    """Why workers cannot get PID namespaces of their own here, or None."""
    if os.geteuid() != 0:
        return "unshare --pid needs root"
    if shutil.which("unshare") is None:
        return "the unshare command (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return f"unshare --pid --fork --mount-proc fails here: {probe.stderr.strip()}"
    return None


@pytest.fixture
def multihost(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    if (reason := namespaces_unavailable()) is not None:
        pytest.skip(reason)
    (tmp_path / "calls").mkdir()
    monkeypatch.setenv("DJFRAME_TEST_WORKER_URL", pg_url)
    monkeypatch.setenv("DJFRAME_TEST_WORKER_SCHEMA", f"multi_{os.getpid()}_{next(_numbers)}")
    monkeypatch.setenv("DJFRAME_TEST_MAKE_LOG", str(tmp_path / "calls"))
    monkeypatch.setenv("DJFRAME_TEST_MAKE_PAUSE", str(PAUSE))
    monkeypatch.syspath_prepend(str(TESTS))
    module = importlib.reload(importlib.import_module("pipelines.multihost"))
    module.Item.insert([{"item": i} for i in range(KEYS)])
    module.Slow.jobs  # the hidden tables, declared before the workers race for them  # noqa: B018
    provenance_of(module.Slow)
    yield module
    module.schema.drop(prompt=False)
    module.schema.connection.close()


def start_worker(number: int) -> subprocess.Popen[str]:
    """A worker in a PID namespace of its own, where its pid is ``1000 * (number + 1) + 1``
    (no process of the other namespaces has it: their pids, and their threads', are near
    their own thousand)."""
    first = 1000 * (number + 1)
    command = (
        f"echo {first} > /proc/sys/kernel/ns_last_pid; "
        f"{sys.executable} -m pipelines.multihost; exit $?"
    )
    env = {
        **os.environ,
        "DJFRAME_TEST_WORKER_TAG": f"w{number}",
        "PYTHONPATH": os.pathsep.join([str(SOURCE), str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child=SIGKILL", "sh", "-c", command],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def makes(log: Path) -> dict[int, list[str]]:
    """Which workers' makes started for each key (one file each)."""
    found: dict[int, list[str]] = defaultdict(list)
    for path in log.iterdir():
        item, worker, _ = path.name.split("-")
        found[int(item)].append(worker)
    return {item: sorted(workers) for item, workers in found.items()}


def wait_for(condition: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_workers_in_pid_namespaces_make_each_key_once(multihost: ModuleType) -> None:
    log = Path(os.environ["DJFRAME_TEST_MAKE_LOG"])
    workers = [start_worker(n) for n in range(WORKERS)]
    try:
        wait_for(lambda: any("w0" in w for w in makes(log).values()))
        workers[0].send_signal(signal.SIGKILL)  # unshare, and with it worker 0, mid-make
        for worker in workers[1:]:
            worker.wait(300)
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    assert workers[0].returncode == -signal.SIGKILL
    assert [w.returncode for w in workers[1:]] == [0] * (WORKERS - 1)
    pids = {w.stdout.readline().split()[3] for w in workers[1:] if w.stdout is not None}
    assert pids == {str(1000 * (n + 1) + 1) for n in range(1, WORKERS)}  # namespaces' own
    rows = {r["item"]: r["worker"] for r in multihost.Slow.to_dicts()}
    assert sorted(rows) == list(range(KEYS))
    made = makes(log)
    taken_over = [item for item, who in made.items() if who != [rows[item]]]
    for item in taken_over:  # started by worker 0, killed, and made by another worker
        assert made[item] == ["w0", rows[item]] and rows[item] != "w0", (item, made[item])
    assert taken_over, "the killed worker's reservation was not taken over"
    jobs = multihost.Slow.jobs
    assert jobs.progress() | {"total": 0} == {
        "pending": 0,
        "reserved": 0,
        "success": KEYS,
        "error": 0,
        "ignore": 0,
        "total": 0,
    }
    recorded = jobs.completed.to_polars()
    assert recorded["_host"].n_unique() == 1  # one hostname for all the workers
