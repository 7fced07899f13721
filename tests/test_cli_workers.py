"""``djframe populate FILE --workers N``: a pipeline named by its path, computed by workers.

Each command runs in a process of its own, as from a shell or cron, in a working directory from
which the pipeline file cannot be imported by name: the workers must load it from its path.
On DuckDB the test process lets go of the database file while a command runs.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from djframe.pipelines import load_pipeline

PIPELINE = '''
"""A pipeline file for tests/test_cli_workers.py."""
import multiprocessing
import os

import djframe as dj

if os.environ.get("PIPE_FAIL_IN_WORKER") and multiprocessing.parent_process() is not None:
    raise RuntimeError("this pipeline refuses to load in a worker")

schema = dj.Schema(os.environ["PIPE_SCHEMA"], connection=dj.connect(os.environ["PIPE_URL"]))


@schema
class Item(dj.Manual):
    definition = """
    item : int32
    ---
    value : float64
    """


@schema
class Square(dj.Computed):
    definition = """
    -> Item
    ---
    square : float64
    pid : int32
    """

    def make(self, key):
        value = (Item & key).fetch1("value")
        if value < 0:
            raise ValueError(f"negative value for item {key['item']}")
        self.insert1({**key, "square": value * value, "pid": os.getpid()})
'''

_numbers = itertools.count()


class Pipeline:
    """The pipeline file, opened in this process only between commands."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.module: ModuleType | None = None

    def open(self) -> ModuleType:
        self.module = load_pipeline(str(self.path))
        return self.module

    def close(self) -> None:
        if self.module is not None:
            self.module.schema.connection.close()
            self.module = None
        sys.modules.pop(self.path.stem, None)

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        self.close()  # on DuckDB the command must own the file
        return subprocess.run(
            [sys.executable, "-m", "djframe.cli", *args[:1], str(self.path), *args[1:]],
            cwd=self.path.parent.parent,  # not the file's folder: it is not importable by name
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture
def pipeline(
    worker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    monkeypatch.setenv("PIPE_URL", worker_url)
    monkeypatch.setenv("PIPE_SCHEMA", f"cli_workers_{os.getpid()}_{next(_numbers)}")
    folder = tmp_path / "pipelines_here"
    folder.mkdir()
    path = folder / f"square_pipeline_{next(_numbers)}.py"
    path.write_text(PIPELINE)
    opened = Pipeline(path)
    module = opened.open()
    module.Item.insert([{"item": i, "value": -1.0 if i == 3 else float(i)} for i in range(6)])
    yield opened
    opened.open().schema.drop(prompt=False)
    opened.close()


def test_a_pipeline_file_populates_in_workers(pipeline: Pipeline) -> None:
    done = pipeline.cli("populate", "--workers", "2", "--json")
    assert done.returncode == 1, done.stderr  # item 3 failed in make
    report = json.loads(done.stdout)
    assert report["Square"]["success_count"] == 5
    assert [key for key, _ in report["Square"]["error_list"]] == [{"item": 3}]
    module = pipeline.open()
    assert len(module.Square) == 5 and module.Square.to_polars()["pid"].n_unique() == 2


def test_a_worker_that_cannot_load_the_pipeline_fails_the_command(pipeline: Pipeline) -> None:
    done = pipeline.cli("populate", "--workers", "2", env={"PIPE_FAIL_IN_WORKER": "1"})
    assert done.returncode == 1
    assert "stopped: JobError" in done.stderr and "refuses to load in a worker" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(pipeline.open().Square) == 0


def test_cleared_errors_are_computed_again_with_reserve_jobs(pipeline: Pipeline) -> None:
    first = pipeline.cli("populate", "--workers", "2", "--reserve-jobs", "--json")
    assert json.loads(first.stdout)["Square"]["success_count"] == 5, first.stderr
    module = pipeline.open()
    module.Item.update1({"item": 3, "value": 3.0})
    cleared = pipeline.cli("jobs", "--clear-errors", "--json")
    assert cleared.returncode == 0, cleared.stderr
    again = pipeline.cli("populate", "--workers", "2", "--reserve-jobs", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["Square"]["success_count"] == 1
    module = pipeline.open()
    assert (module.Square & {"item": 3}).fetch1("square") == 9.0
    assert module.Square.jobs.progress() | {"total": 0} == {
        "pending": 0,
        "reserved": 0,
        "success": 6,
        "error": 0,
        "ignore": 0,
        "total": 0,
    }


def test_keys_made_without_reserving_leave_no_pending_job(pipeline: Pipeline) -> None:
    module = pipeline.open()
    jobs = module.Square.jobs
    assert jobs.refresh()["added"] == 6  # queued, as by a reserving run whose workers failed
    result = module.Square.populate(suppress_errors=True)  # made here, without reserving
    assert result["success_count"] == 5
    assert jobs.progress()["pending"] == 0 and jobs.progress()["success"] == 5
    (module.Square & {"item": 1}).delete(prompt=False)
    jobs.refresh()
    assert jobs.progress()["pending"] == 1  # a deleted row is to do again
    module.Square.populate(processes=2, suppress_errors=True)
    assert jobs.progress()["pending"] == 0
