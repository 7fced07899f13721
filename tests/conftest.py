"""Fixtures shared by the whole suite: every test that takes ``conn`` or ``schema`` runs once
on DuckDB (in memory) and once on PostgreSQL (a throwaway server, see ``_postgres.py``)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

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


@pytest.fixture(autouse=True)
def no_safemode_prompts() -> Iterator[None]:
    with dj.config.override(safemode=False):
        yield
