"""Inserts that must be refused with one djframe error, with nothing written: values no
attribute holds (integers beyond 64 bits, lone surrogates, NUL in text), frames that name a
column twice, paths that are not CSV files (issue 14 item 10)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import djframe as dj
from djframe.cli import main


@pytest.fixture
def tables(schema: dj.Schema) -> tuple[dj.Table, dj.Table]:
    @schema
    class Parent(dj.Manual):
        definition = """
        k : int64
        ---
        name = null : varchar(20)
        code = null : varchar(8)
        unique index (code)
        """

    @schema
    class Child(dj.Manual):
        definition = """
        -> Parent
        c : int32
        """

    Parent.insert1({"k": 1, "name": "one", "code": "A"})
    return Parent(), Child()


def assert_unchanged(parent: dj.Table, child: dj.Table) -> None:
    assert parent.to_dicts() == [{"k": 1, "name": "one", "code": "A"}]
    assert len(child) == 0


@pytest.mark.parametrize(
    ("rows", "named"),
    [
        ([{"k": 2**63}], "beyond 64 bits"),
        ([{"k": -(2**63) - 1}], "beyond 64 bits"),
        ([{"k": 2**64}], "beyond 64 bits"),
        ([{"k": 2, "name": "\ud800"}], "lone surrogate"),
        (pa.table([pa.array([5]), pa.array([6])], names=["k", "k"]), "more than once"),
        (pd.DataFrame({"k": [2, 3], "name": ["a", 3.5]}), "Cannot read the pandas frame"),
        ("/nonexistent/rows.csv", "as a CSV file"),
        ([{"k": 2, "name": "a\x00b"}], "NUL"),
        ([{"k": 100 + i, "name": "a\x00b"} for i in range(100)], "NUL"),
        (pl.DataFrame({"k": [2], "name": ["a\x00b"]}), "NUL"),
        (pl.DataFrame({"k": range(2, 102), "name": ["a\x00b"] * 100}), "NUL"),
    ],
)
def test_values_no_attribute_holds_are_data_errors(
    tables: tuple[dj.Table, dj.Table], rows: object, named: str
) -> None:
    parent, child = tables
    with pytest.raises(dj.DataError, match=named):
        parent.insert(rows)
    assert_unchanged(parent, child)


def test_a_directory_is_not_a_csv_file(tables: tuple[dj.Table, dj.Table], tmp_path: Path) -> None:
    with pytest.raises(dj.DataError, match="as a CSV file"):
        tables[0].insert(tmp_path)


def test_nul_in_an_update_is_refused(tables: tuple[dj.Table, dj.Table]) -> None:
    parent, child = tables
    with pytest.raises(dj.DataError, match="NUL"):
        parent.update1({"k": 1, "name": "x\x00"})
    assert_unchanged(parent, child)


def test_the_cli_reports_a_connection_failure_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = tmp_path / "unreachable.py"
    pipeline.write_text(
        "import djframe as dj\n"
        "schema = dj.Schema('p', connection=dj.connect('postgresql://u:pw@127.0.0.1:1/db'))\n"
    )
    with pytest.raises(SystemExit) as info:
        main(["status", str(pipeline)])
    message = str(info.value.code)
    assert message.startswith("djframe: Cannot connect to PostgreSQL")
    assert "\n" not in message and "Traceback" not in capsys.readouterr().err
