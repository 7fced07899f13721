"""Fixtures shared by the whole suite: every test that takes ``conn`` or ``schema`` runs once
on DuckDB (in memory) and once on PostgreSQL (a throwaway server, see ``_postgres.py``)."""

from __future__ import annotations

import importlib
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import djframe as dj
from _postgres import postgres_url, unavailable_reason

BACKENDS = ["duckdb", "postgres"]
_schema_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = postgres_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {unavailable_reason()}")
        pytest.skip(f"no PostgreSQL server: {unavailable_reason()}")
    return url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "duckdb":
        return "duckdb://"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def conn(database_url: str) -> Iterator[dj.Connection]:
    connection = dj.connect(database_url)
    yield connection
    connection.close()


@pytest.fixture
def schema(conn: dj.Connection) -> Iterator[dj.Schema]:
    """A fresh, empty schema, dropped after the test."""
    name = f"test_{os.getpid()}_{next(_schema_numbers)}"
    created = dj.Schema(name, connection=conn)
    yield created
    created.drop(prompt=False)


@pytest.fixture(scope="session", autouse=True)
def scratch_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The suite runs in a scratch folder, so that what a test leaves in the working directory
    (a schema's default ``./djframe-store``, say) stays out of the checkout."""
    previous = Path.cwd()
    folder = tmp_path_factory.mktemp("cwd")
    os.chdir(folder)
    yield folder
    os.chdir(previous)


@pytest.fixture(autouse=True)
def no_safemode_prompts() -> Iterator[None]:
    with dj.config.override(safemode=False):
        yield


# -- the counting pipeline (tests/pipelines/counting.py), importable by worker processes -------
TESTS = Path(__file__).parent
_pipeline_numbers = itertools.count()


@pytest.fixture
def worker_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "duckdb":
        return f"duckdb:///{tmp_path / 'pipeline.duckdb'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def counting(
    worker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """The counting pipeline in a fresh schema; worker processes see the same environment."""
    log = tmp_path / "calls"
    log.mkdir()
    monkeypatch.setenv("DJFRAME_TEST_WORKER_URL", worker_url)
    monkeypatch.setenv(
        "DJFRAME_TEST_WORKER_SCHEMA", f"workers_{os.getpid()}_{next(_pipeline_numbers)}"
    )
    monkeypatch.setenv("DJFRAME_TEST_MAKE_LOG", str(log))
    monkeypatch.syspath_prepend(str(TESTS))
    fresh = "pipelines.counting" not in sys.modules
    module = importlib.import_module("pipelines.counting")
    if not fresh:  # a reload of a fresh import would leave its first connection open
        module = importlib.reload(module)
    module.log = log  # type: ignore[attr-defined]
    yield module
    dj.shutdown_workers()  # resident workers of populate(processes=N) hold a connection each
    module.schema.drop(prompt=False)
    module.schema.connection.close()
