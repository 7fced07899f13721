"""Whether a reserved job's worker is alive (issue 14, item 2). On PostgreSQL the database
session is the only test: a reservation whose session lives is never given back, whatever its
host and pid say (containers share hostnames and have PID namespaces of their own), and one
whose session ended is, even where its pid is reused by another session. On DuckDB (no
sessions), the process is asked on the host that reserved the job, by an identity that a
reused pid does not match."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

import djframe as dj
from djframe.compute.liveness import boot_id, process_identity, start_time

KEY = pl.DataFrame({"n": [1]}, schema={"n": pl.Int32})
LONG_AGO = "2000-01-01 00:00:00"
_numbers = itertools.count()


def declare(schema: dj.Schema) -> Any:
    """A computed table of two keys on ``schema``; returns its job queue."""

    @schema
    class Number(dj.Manual):
        definition = """
        n : int32
        """

    @schema
    class Double(dj.Computed):
        definition = """
        -> Number
        ---
        d : int32
        """

        def make(self, key: dict) -> None:
            self.insert1({**key, "d": 2 * key["n"]})

    Number.insert([{"n": 1}, {"n": 2}])
    return Double.jobs


@pytest.fixture
def jobs(schema: dj.Schema) -> Any:
    return declare(schema)


def schema_on(url: str) -> Iterator[dj.Schema]:
    conn = dj.connect(url)
    schema = dj.Schema(f"live_{os.getpid()}_{next(_numbers)}", connection=conn)
    yield schema
    schema.drop(prompt=False)
    conn.close()


@pytest.fixture
def pg_jobs(pg_url: str) -> Iterator[Any]:
    """The queue on PostgreSQL, where there are sessions."""
    for schema in schema_on(pg_url):
        yield declare(schema)


@pytest.fixture
def duckdb_jobs() -> Iterator[Any]:
    """The queue on DuckDB, where there are none."""
    for schema in schema_on("duckdb://"):
        yield declare(schema)


def reserve(jobs: Any, **worker: Any) -> None:
    """Record a reservation of key 1 by ``worker`` (the job columns without their ``_``)."""
    jobs.record(KEY, "reserved", **({"host": socket.gethostname(), "pid": 1} | worker))


def orphaned(jobs: Any, **options: Any) -> int:
    return int(jobs.refresh(**options)["orphaned"])


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield child
    child.kill()
    child.wait()


def test_postgres_asks_the_session_only(pg_jobs: Any, pg_url: str) -> None:
    jobs = pg_jobs
    other = dj.connect(pg_url)  # a worker elsewhere: same host name, a pid dead here
    session = other.backend.session_id()
    assert session is not None and session.split(":")[0].isdigit()
    reserve(jobs, pid=2**22 + 1, process="gone:4194305:0", session=session)
    assert orphaned(jobs) == 0 and len(jobs.reserved) == 1
    other.close()
    deadline = time.monotonic() + 10
    while (count := orphaned(jobs)) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices the closed session
    assert count == 1 and len(jobs.reserved) == 0


def test_postgres_a_reused_session_pid_is_not_the_worker(pg_jobs: Any) -> None:
    jobs = pg_jobs
    live = jobs.connection.backend.session_id()
    pid, started = live.split(":")
    reserve(jobs, process=process_identity(), session=f"{pid}:{int(started) - 1}")
    assert orphaned(jobs) == 1  # the pid lives, in a session that started later
    reserve(jobs, process="", session=live, reserved_time=LONG_AGO)
    assert orphaned(jobs) == 0
    assert orphaned(jobs, orphan_timeout=0) == 1  # the timeout still holds everywhere


def test_duckdb_asks_the_process_on_its_host(
    duckdb_jobs: Any, sleeper: subprocess.Popen[bytes]
) -> None:
    jobs = duckdb_jobs
    alive = process_identity(sleeper.pid)
    reserve(jobs, pid=sleeper.pid, process=alive)
    assert orphaned(jobs) == 0
    if boot_id() and start_time(sleeper.pid):  # Linux: the pid, reused, is another process
        boot, pid, started = alive.split(":")
        reserve(jobs, pid=int(pid), process=f"{boot}:{pid}:{int(started) + 1}")
        assert orphaned(jobs) == 1
        reserve(jobs, pid=int(pid), process=f"another-boot:{pid}:{started}")
        assert orphaned(jobs) == 1
    reserve(jobs, pid=sleeper.pid, process=alive, host="another-host", reserved_time=LONG_AGO)
    assert orphaned(jobs) == 0  # another host's process cannot be asked
    assert orphaned(jobs, orphan_timeout=60) == 1  # but the timeout holds everywhere
    reserve(jobs, pid=sleeper.pid, process=alive)
    sleeper.kill()
    sleeper.wait()
    assert orphaned(jobs) == 1


def test_a_worker_records_who_it_is(jobs: Any, backend: str) -> None:
    target = jobs.target
    assert target.populate(reserve_jobs=True)["success_count"] == 2
    done = jobs.completed.to_polars()
    assert set(done["_process"]) == {process_identity()}
    session = done["_session"][0]
    assert (session == "") == (backend == "duckdb")
    assert done["_host"][0] == socket.gethostname()
