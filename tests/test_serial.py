"""populate.one_thread (opt-in): DuckDB runs on one thread while populate runs, and gets its own count
back after, even when a make fails (djframe.backends.serial); a server is left as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

import djframe as dj


def threads(conn: dj.Connection) -> int | None:
    """DuckDB's thread count, or None on a server."""
    if conn.backend.name != "duckdb":
        return None
    value = conn.fetch_scalar("SELECT current_setting('threads')")
    assert isinstance(value, int)
    return value


def declare(schema: dj.Schema, seen: list[Any], fail: bool = False) -> type[dj.Computed]:
    @schema
    class Source(dj.Manual):
        definition = """
        k : int32
        """

    @schema
    class Made(dj.Computed):
        definition = """
        -> Source
        ---
        n : int32
        """

        def make_batch(self, keys: pl.DataFrame) -> pl.DataFrame:
            seen.append(threads(self.connection))
            if fail:
                raise RuntimeError("make failed")
            return keys.with_columns(n=pl.col("k"))

    Source.insert(pl.DataFrame({"k": range(10)}, schema={"k": pl.Int32}))
    return Made


@pytest.fixture
def three_threads(conn: dj.Connection) -> dj.Connection:
    """DuckDB set to 3 threads, a count no default gives, so that restoring it shows."""
    if conn.backend.name == "duckdb":
        conn.execute("SET threads = 3")
    return conn


def test_populate_runs_on_one_thread_and_restores_the_count(
    three_threads: dj.Connection, schema: dj.Schema
) -> None:
    seen: list[Any] = []
    made = declare(schema, seen)
    with dj.config.override(populate__one_thread=True):
        assert made.populate()["success_count"] == 10
    on_duckdb = three_threads.backend.name == "duckdb"
    assert seen == [1 if on_duckdb else None]
    assert threads(three_threads) == (3 if on_duckdb else None)
    assert len(made()) == 10


def test_the_count_comes_back_after_a_failed_make(
    three_threads: dj.Connection, schema: dj.Schema
) -> None:
    seen: list[Any] = []
    made = declare(schema, seen, fail=True)
    with (
        dj.config.override(populate__one_thread=True),
        pytest.raises(RuntimeError, match="make failed"),
    ):
        made.populate()
    assert threads(three_threads) == (3 if three_threads.backend.name == "duckdb" else None)
    assert len(made()) == 0


def test_populate_keeps_the_thread_count_by_default(
    three_threads: dj.Connection, schema: dj.Schema
) -> None:
    """Off by default: a make's own large queries keep DuckDB's parallelism."""
    seen: list[Any] = []
    made = declare(schema, seen)
    made.populate()
    assert seen == [3 if three_threads.backend.name == "duckdb" else None]


def test_sections_of_one_file_are_counted_across_connections(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'shared.duckdb'}"
    first, second = dj.connect(url), dj.connect(url)
    try:
        first.execute("SET threads = 3")
        with first.backend.serial():
            with second.backend.serial():
                assert threads(first) == threads(second) == 1
            assert threads(second) == 1  # the first section is still open
        assert threads(first) == threads(second) == 3
    finally:
        first.close()
        second.close()
