"""Dict rows are checked exactly as frames are (issue 14, item 4): a value that the
attribute's type cannot hold unchanged is refused, never truncated, rounded or coerced, and
nothing is written. On every backend."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import djframe as dj

DEFINITION = """
k : int32
---
i = null : int16
d = null : date
b = null : bool
x = null : decimal(5,2)
f = null : float32
t = null : datetime
"""


@pytest.fixture
def typed(schema: dj.Schema) -> type[dj.Table]:
    @schema
    class Typed(dj.Manual):
        definition = DEFINITION

    return Typed


def refusal(table: type[dj.Table], rows: Any) -> str:
    with pytest.raises(dj.DataError) as info:
        table.insert(rows)
    assert len(table()) == 0
    return str(info.value)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("k", 1.5, ["'k'", "int32", "truncated"]),
        ("d", 5, ["'d'", "date", "int64"]),
        ("d", dt.datetime(2024, 1, 1, 5, 30), ["'d'", "date", "2024-01-01 05:30"]),
        ("b", 5, ["'b'", "bool", "5 would be stored as True"]),
        ("x", 1.555, ["'x'", "decimal(5,2)", "1.555 would be stored as 1.55"]),
        ("f", 1e300, ["'f'", "float32", "1e+300"]),
        ("k", dt.date(2024, 1, 1), ["'k'", "int32", "point in time"]),
        ("t", 5, ["'t'", "datetime", "point in time"]),
    ],
)
def test_dict_rows_refused_as_frames_are(
    typed: type[dj.Table], name: str, value: Any, words: list[str]
) -> None:
    row = {"k": 1, name: value}
    from_dicts = refusal(typed, [row])
    from_frame = refusal(typed, pl.DataFrame([row]))
    assert from_dicts == from_frame
    for word in words:
        assert word in from_dicts
    with pytest.raises(dj.DataError):
        typed.insert1(row)
    assert len(typed()) == 0


def test_mixed_dates_and_datetimes_keep_their_times(typed: type[dj.Table]) -> None:
    """Arrow infers [date, datetime] as dates, dropping the time: that is refused too."""
    rows = [{"k": 1, "d": dt.date(2024, 1, 1)}, {"k": 2, "d": dt.datetime(2024, 1, 1, 5)}]
    assert "'d'" in refusal(typed, rows)


def test_mixed_types_are_not_read_as_the_first_ones(typed: type[dj.Table]) -> None:
    """Arrow reads [date, 5] as two dates (5 days after 1970): mixed types are checked one by
    one against the attribute's type."""
    rows = [{"k": 1, "d": dt.date(2024, 1, 1)}, {"k": 2, "d": 5}]
    assert "5 (int) would be stored as datetime.date(1970, 1, 6)" in refusal(typed, rows)


def test_values_that_convert_unchanged_are_taken(typed: type[dj.Table]) -> None:
    rows = [
        {"k": 1.0, "i": 1.0, "d": dt.datetime(2024, 1, 1), "b": 1, "x": 1.5, "f": 0.5},
        {"k": 2, "i": 7, "d": dt.date(2024, 1, 2), "b": 0, "x": 12, "f": None},
    ]
    typed.insert(rows)
    assert typed.to_dicts(order_by="k") == [
        {"k": 1, "i": 1, "d": dt.date(2024, 1, 1), "b": True, "x": decimal.Decimal("1.50")}
        | {"f": 0.5, "t": None},
        {"k": 2, "i": 7, "d": dt.date(2024, 1, 2), "b": False, "x": decimal.Decimal("12.00")}
        | {"f": None, "t": None},
    ]


def test_integer_frame_into_narrow_decimal(typed: type[dj.Table]) -> None:
    """An int64 column fits a decimal(5,2) when its values do (Arrow alone refuses it)."""
    typed.insert(pl.DataFrame({"k": [1], "x": [123]}))
    assert typed.fetch1("x") == decimal.Decimal("123.00")
    with pytest.raises(dj.DataError, match="'x'"):
        typed.insert([{"k": 2, "x": 1234}])
    assert len(typed()) == 1


GOOD = {
    "i": st.integers(-(2**15), 2**15 - 1),
    "d": st.dates(),
    "b": st.booleans(),
    "x": st.decimals(-999, 999, places=2, allow_nan=False),
    "f": st.floats(-1e6, 1e6, width=32),
}
FRACTIONAL = st.floats(-1e6, 1e6).filter(lambda v: v != int(v))
WORDS = st.text("qxyz", min_size=1)
WRONG = {
    "k": st.one_of(FRACTIONAL, WORDS, st.dates(), st.datetimes()),
    "i": st.one_of(st.integers(2**15, 2**40), st.integers(-(2**40), -(2**15) - 1), FRACTIONAL),
    "d": st.one_of(
        st.integers(-1000, 1000),
        st.datetimes().filter(lambda v: v.time() != dt.time()),
        FRACTIONAL,
        WORDS,
    ),
    "b": st.one_of(st.integers(2, 1000), st.integers(-1000, -1), FRACTIONAL, WORDS, st.dates()),
    "x": st.one_of(
        st.floats(-999, 999).filter(lambda v: round(v, 2) != v),
        st.floats(1e4, 1e30),
        WORDS,
        st.dates(),
    ),
    "f": st.one_of(st.floats(1e39, 1e300), WORDS, st.dates()),
}


@st.composite
def rows_with_one_wrong(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Good rows of every attribute, and one row in which one attribute has a wrong value."""
    count = draw(st.integers(1, 5))
    rows = [{"k": n} | {name: draw(good) for name, good in GOOD.items()} for n in range(count)]
    bad_row = draw(st.integers(0, count - 1))
    name = draw(st.sampled_from(sorted(WRONG)))
    rows[bad_row][name] = draw(WRONG[name])
    return rows


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=rows_with_one_wrong())
def test_random_wrong_dict_rows_write_nothing(
    typed: type[dj.Table], rows: list[dict[str, Any]]
) -> None:
    with pytest.raises(dj.DjframeError):
        typed.insert(rows)
    assert len(typed()) == 0


def test_update1_checks_values_as_insert_does(typed: type[dj.Table]) -> None:
    typed.insert1({"k": 1, "i": 2, "b": True})
    for change in ({"i": 2.5}, {"b": 5}, {"d": dt.datetime(2024, 1, 1, 5)}, {"t": 5}):
        with pytest.raises(dj.DataError):
            typed.update1({"k": 1, **change})
    assert typed.fetch1("i", "b", "d", "t") == (2, True, None, None)
