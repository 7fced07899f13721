"""Inserts that must be refused with one djframe error, worded the same on every backend, with
nothing written: values no attribute holds (integers beyond 64 bits, lone surrogates, NUL in
text), frames that name a column twice, paths that are not CSV files, and the engine's own
refusals (a duplicate key, a missing parent), whose traceback is one error with the engine's
words as a one-line cause (issue 14 item 10, issue 16 item 7)."""

from __future__ import annotations

import datetime as dt
import re
import traceback
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import djframe as dj
from djframe.cli import main
from djframe.connection import EngineError


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
        ([{"k": 2**63}], "cannot hold"),
        ([{"k": -(2**63) - 1}], "cannot hold"),
        ([{"k": 2**64}], "cannot hold"),
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


@pytest.mark.parametrize("count", [1, 100])
def test_json_holding_nul_is_refused_alike(schema: dj.Schema, count: int) -> None:
    @schema
    class Note(dj.Manual):
        definition = """
        k : int32
        ---
        doc = null : json
        text = null : varchar(20)
        """

    for bad in ('{"a": "\\u0000"}', {"a": "x\x00"}):
        with pytest.raises(dj.DataError, match="NUL"):
            Note.insert([{"k": i, "doc": bad} for i in range(count)])
    assert len(Note) == 0
    Note.insert([{"k": i, "doc": '{"a": "\\\\u0000"}', "text": "\\u0000"} for i in range(count)])
    assert Note.to_polars(limit=1)["text"][0] == "\\u0000"  # the six characters, not NUL


def test_a_directory_is_not_a_csv_file(tables: tuple[dj.Table, dj.Table], tmp_path: Path) -> None:
    with pytest.raises(dj.DataError, match="as a CSV file"):
        tables[0].insert(tmp_path)


def test_nul_in_an_update_is_refused(tables: tuple[dj.Table, dj.Table]) -> None:
    parent, child = tables
    with pytest.raises(dj.DataError, match="NUL"):
        parent.update1({"k": 1, "name": "x\x00"})
    assert_unchanged(parent, child)


def chain(exc: BaseException) -> list[BaseException]:
    found = [exc]
    while found[-1].__cause__ is not None or (
        found[-1].__context__ is not None and not found[-1].__suppress_context__
    ):
        found.append(found[-1].__cause__ or found[-1].__context__)  # type: ignore[arg-type]
    return found


def assert_one_short_error(exc: BaseException) -> None:
    """One djframe error; at most the engine's words on one line as its cause."""
    errors = chain(exc)
    assert len(errors) <= 2, [type(e).__name__ for e in errors]
    if len(errors) == 2:
        assert isinstance(errors[1], EngineError) and errors[1].__traceback__ is None
        assert "\n" not in str(errors[1])
    assert len("".join(traceback.format_exception(exc)).splitlines()) < 20


def test_a_duplicate_key_is_one_error_in_one_wording(tables: tuple[dj.Table, dj.Table]) -> None:
    parent, child = tables
    with pytest.raises(dj.DuplicateError) as info:
        parent.insert([{"k": 1, "name": "again"}])
    assert str(info.value) == (
        "Cannot insert into Parent: a row with {'k': 1} already exists. Nothing was inserted. "
        "Pass skip_duplicates=True to keep the existing rows, or replace=True to overwrite them."
    )
    assert_one_short_error(info.value)
    assert_unchanged(parent, child)


def test_a_duplicate_unique_value_names_the_index(tables: tuple[dj.Table, dj.Table]) -> None:
    parent, child = tables
    with pytest.raises(dj.DuplicateError) as info:
        parent.insert([{"k": 2, "code": "A"}])
    assert str(info.value) == (
        "Cannot insert into Parent: a row with {'code': 'A'} already exists (a unique index). "
        "Nothing was inserted. Give another value, or change the existing row."
    )
    assert_one_short_error(info.value)
    assert_unchanged(parent, child)


def test_a_missing_parent_is_one_error_in_one_wording(tables: tuple[dj.Table, dj.Table]) -> None:
    parent, child = tables
    with pytest.raises(dj.MissingParentError) as info:
        child.insert([{"k": 9, "c": 1}])
    assert str(info.value) == (
        "Cannot insert into Child: no row of Parent has {'k': 9}. Nothing was inserted. "
        "Insert the parent first."
    )
    assert_one_short_error(info.value)
    assert_unchanged(parent, child)


def test_delete_quick_of_a_referenced_row_is_one_wording(
    tables: tuple[dj.Table, dj.Table],
) -> None:
    parent, child = tables
    child.insert1({"k": 1, "c": 1})
    with pytest.raises(dj.IntegrityError) as info:
        (parent & {"k": 1}).delete_quick()
    assert str(info.value) == (
        "Cannot delete from Parent without cascading: Child still references the rows. "
        "Use delete()."
    )
    assert_one_short_error(info.value)
    assert len(parent) == len(child) == 1


def test_keys_of_any_type_are_named_alike(schema: dj.Schema) -> None:
    @schema
    class Day(dj.Manual):
        definition = """
        day : date
        """

    @schema
    class Visit(dj.Manual):
        definition = """
        -> Day
        n : int16
        """

    Day.insert1({"day": dt.date(2024, 5, 1)})
    with pytest.raises(dj.DuplicateError, match=re.escape("{'day': datetime.date(2024, 5, 1)}")):
        Day.insert1({"day": dt.date(2024, 5, 1)})
    with pytest.raises(dj.MissingParentError) as info:
        Visit.insert1({"day": dt.date(2024, 5, 2), "n": 1})
    assert "no row of Day has {'day': datetime.date(2024, 5, 2)}" in str(info.value)


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


MANY = 100
"""More rows than are inserted as literal VALUES: the parents are checked in the INSERT."""


def test_a_missing_parent_among_many_rows_is_named_and_nothing_is_written(
    tables: tuple[dj.Table, dj.Table],
) -> None:
    parent, child = tables
    rows = pl.DataFrame({"k": [1] * (MANY - 1) + [9], "c": range(MANY)})
    with pytest.raises(dj.MissingParentError) as info:
        child.insert(rows)
    assert "no row of Parent has {'k': 9}" in str(info.value)
    assert_unchanged(parent, child)
    if not parent.connection.backend.enforces_foreign_keys:
        # djframe's own check refuses the rows before the engine fails a statement, so an
        # open transaction goes on (PostgreSQL's refusal aborts it)
        with parent.connection.transaction:
            with pytest.raises(dj.MissingParentError):
                child.insert(rows)
            child.insert(rows.head(MANY - 1))
        assert len(child) == MANY - 1


def test_many_rows_that_are_all_skipped_duplicates_are_no_error(
    tables: tuple[dj.Table, dj.Table],
) -> None:
    _, child = tables
    rows = pl.DataFrame({"k": [1] * MANY, "c": range(MANY)})
    child.insert(rows)
    child.insert(rows, skip_duplicates=True)
    child.insert(rows, replace=True)
    more = pl.DataFrame({"k": [1] * (2 * MANY), "c": range(2 * MANY)})
    child.insert(more, skip_duplicates=True)
    assert len(child) == 2 * MANY
    with pytest.raises(dj.MissingParentError):
        child.insert(more.with_columns(k=pl.lit(9, pl.Int64)), skip_duplicates=True)
    assert len(child) == 2 * MANY
