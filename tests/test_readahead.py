"""Populate's read-ahead (a group's point queries answered by one query per table) and its
held dict rows (checked when the group is written), on both backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import djframe as dj
from djframe.compute import groups

KEYS = 40


@pytest.fixture
def inputs(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject : int32
        ---
        weight : float64
        """

    @schema
    class Reading(dj.Manual):
        definition = """
        -> Subject
        reading : int16
        ---
        x : float64
        """

    @schema
    class Log(dj.Manual):
        definition = """
        subject : int32
        ---
        note : varchar(30)
        """

    Subject.insert(pl.DataFrame({"subject": range(KEYS), "weight": [2.0 * i for i in range(KEYS)]}))
    # Subject i has i % 4 readings: some none, some several.
    rows = [(s, r, s + r / 10) for s in range(KEYS) for r in range(s % 4)]
    Reading.insert(pl.DataFrame(rows, schema=["subject", "reading", "x"], orient="row"))
    return SimpleNamespace(schema=schema, Subject=Subject, Reading=Reading, Log=Log)


@contextmanager
def counted_reads(conn: dj.Connection) -> Iterator[list[str]]:
    """The SQL of every query the backend runs meanwhile."""
    backend, seen = conn.backend, []
    names = [n for n in ("fetch_arrow", "fetch_arrow_views") if hasattr(backend, n)]
    originals = {name: getattr(backend, name) for name in names}

    def counting(original: Callable[[str], Any]) -> Callable[[str], Any]:
        def run(sql: str) -> Any:
            seen.append(sql)
            return original(sql)

        return run

    for name, original in originals.items():
        setattr(backend, name, counting(original))
    try:
        yield seen
    finally:
        for name in originals:
            delattr(backend, name)  # the class's methods again


def test_point_queries_of_a_group_are_answered_from_one_query(
    inputs: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One group of makes, however slow a loaded machine is (groups end after GROUP_SECONDS).
    monkeypatch.setattr(groups, "GROUP_SECONDS", 60.0)
    Subject, Reading = inputs.Subject, inputs.Reading

    @inputs.schema
    class Summary(dj.Computed):
        definition = """
        -> Subject
        ---
        weight : float64
        n : int32
        total : float64
        """

        def make(self, key: dict[str, Any]) -> None:
            weight = (Subject & key).fetch1("weight")
            frame = (Reading & key).to_polars()
            first = (Reading & key & {"reading": 0}).to_dicts()
            assert len(first) == min(len(frame), 1)
            self.insert1({**key, "weight": weight, "n": len(frame), "total": frame["x"].sum()})

    with counted_reads(Subject.connection) as reads:
        assert Summary.populate()["success_count"] == KEYS
    assert len(set(reads)) < 10, reads  # 3 point queries per key without read-ahead
    made = Summary.to_polars().sort("subject")
    expected = (
        Reading.to_polars()
        .group_by("subject")
        .agg(n=pl.len().cast(pl.Int32), total=pl.col("x").sum())
        .join(Subject.to_polars(), on="subject", how="right")
        .select("subject", "weight", pl.col("n").fill_null(0), pl.col("total").fill_null(0.0))
        .sort("subject")
    )
    assert_frame_equal(made.select(expected.columns), expected, check_dtypes=False)


def test_a_make_reads_rows_it_wrote_to_another_table(inputs: SimpleNamespace) -> None:
    Subject, Log = inputs.Subject, inputs.Log

    @inputs.schema
    class Noted(dj.Computed):
        definition = """
        -> Subject
        ---
        note : varchar(30)
        """

        def make(self, key: dict[str, Any]) -> None:
            weight = (Subject & key).fetch1("weight")
            Log.insert1({**key, "note": f"weighs {weight}"})
            self.insert1({**key, "note": (Log & key).fetch1("note")})

    assert Noted.populate()["success_count"] == KEYS
    assert (Noted & {"subject": 3}).fetch1("note") == "weighs 6.0"
    assert len(Log) == KEYS


def test_values_outside_the_group_are_queried_as_usual(inputs: SimpleNamespace) -> None:
    Subject = inputs.Subject

    @inputs.schema
    class NextWeight(dj.Computed):
        definition = """
        -> Subject
        ---
        next_weight : float64
        """

        def make(self, key: dict[str, Any]) -> None:
            following = {"subject": key["subject"] + 1}
            self.insert1({**key, "next_weight": (Subject & following).fetch1("weight")})

    result = NextWeight.populate(suppress_errors=True)
    assert result["success_count"] == KEYS - 1
    [(key, message)] = result["error_list"]
    assert key == {"subject": KEYS - 1} and "exactly one row" in message
    assert (NextWeight & {"subject": 5}).fetch1("next_weight") == 12.0


def test_held_dict_rows_are_checked_when_written(inputs: SimpleNamespace) -> None:
    Subject = inputs.Subject  # noqa: F841  (the definition below names it)

    @inputs.schema
    class Label(dj.Computed):
        definition = """
        -> Subject
        ---
        score : float64
        label = null : varchar(10)
        """

        def make(self, key: dict[str, Any]) -> None:
            subject = key["subject"]
            score: Any = "not a number" if subject == 7 else float(subject)
            row = {**key, "score": score}
            self.insert1(row if subject % 2 else {**row, "label": f"even {subject}"})

    result = Label.populate(suppress_errors=True)
    assert result["success_count"] == KEYS - 1
    [(key, message)] = result["error_list"]
    assert key == {"subject": 7} and "score" in message
    assert (Label & {"subject": 4}).fetch1("label") == "even 4"
    assert (Label & {"subject": 5}).fetch1("label") is None
    assert len(Label.provenance()) == KEYS - 1
    assert len(Label.jobs.errors) == 1
