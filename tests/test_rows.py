"""Rows as DataJoint takes them: tuples and lists in the order of the attributes (positional,
deprecated there and warned about here), generators, ``zip``, any iterable of dicts or
sequences, numpy record arrays, ``insert1(tuple)`` and ``Lookup.contents`` as any iterable or a
property, on both backends. They become Arrow columns in bulk (djframe.frames)."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

import djframe as dj
from djframe.frames import row_columns, to_arrow

POSITIONAL = "Positional inserts"


@pytest.fixture
def lab(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class Person(dj.Manual):
        definition = """
        person_id : int32
        ---
        name : varchar(20)
        height = null : float64
        """

    @schema
    class Sample(dj.Manual):
        definition = """
        -> Person
        sample : int16
        ---
        signal = null : <blob>
        """

    return SimpleNamespace(Person=Person, Sample=Sample)


def people(table: type[dj.Table]) -> list[tuple[object, ...]]:
    return [tuple(row.values()) for row in table.to_dicts(order_by="KEY")]


ANN_BO = [(1, "Ann", 1.6), (2, "Bo", None)]
DICTS = [{"person_id": i, "name": n, "height": h} for i, n, h in ANN_BO]


@pytest.mark.parametrize(
    ("make_rows", "positional"),
    [
        (lambda: list(ANN_BO), True),
        (lambda: [list(row) for row in ANN_BO], True),
        (lambda: (row for row in ANN_BO), True),
        (lambda: zip([1, 2], ["Ann", "Bo"], [1.6, None], strict=True), True),
        (lambda: (dict(row) for row in DICTS), False),
        (lambda: iter(DICTS), False),
        (lambda: tuple(DICTS), False),
    ],
    ids=["tuples", "lists", "generator", "zip", "dict-generator", "dict-iterator", "dict-tuple"],
)
def test_insert_takes_any_iterable_of_rows(
    lab: SimpleNamespace, make_rows: Callable[[], object], positional: bool
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lab.Person.insert(make_rows())
    assert any(issubclass(w.category, DeprecationWarning) for w in caught) == positional
    assert people(lab.Person) == ANN_BO


def test_insert_takes_numpy_record_arrays_and_records(lab: SimpleNamespace) -> None:
    kinds = [("person_id", "i4"), ("name", "U8"), ("height", "f8")]
    lab.Person.insert(np.array([(1, "Ann", 1.6), (2, "Bo", 1.8)], dtype=kinds))
    assert people(lab.Person) == [(1, "Ann", 1.6), (2, "Bo", 1.8)]
    shuffled = np.array([("Cy", 3)], dtype=[("name", "U8"), ("person_id", "i4")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # records name their fields: no positional warning
        lab.Person.insert1(shuffled[0])
        lab.Person.insert([np.array([("Di", 4)], dtype=shuffled.dtype)[0]])
    assert people(lab.Person)[2:] == [(3, "Cy", None), (4, "Di", None)]


def test_positional_rows_warn_as_datajoint_does(lab: SimpleNamespace) -> None:
    with pytest.warns(DeprecationWarning, match=POSITIONAL) as record:
        lab.Person.insert([(1, "Ann", 1.6)])
    assert record[0].filename == __file__  # points at the caller's line, not djframe's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lab.Person.insert([{"person_id": 2, "name": "Bo"}])  # dicts do not warn
    assert len(lab.Person) == 2


def test_insert1_takes_a_tuple(lab: SimpleNamespace) -> None:
    with pytest.warns(DeprecationWarning, match=POSITIONAL):
        lab.Person.insert1((1, "Ann", None))
    with pytest.warns(DeprecationWarning):
        lab.Person.insert1([2, "Bo", 1.8])
    assert people(lab.Person) == [(1, "Ann", None), (2, "Bo", 1.8)]
    with pytest.raises(dj.DataError, match="insert1 takes one row"):
        lab.Person.insert1("Cy")


def test_positional_rows_with_codec_values(lab: SimpleNamespace) -> None:
    lab.Person.insert1({"person_id": 1, "name": "Ann"})
    with pytest.warns(DeprecationWarning):
        lab.Sample.insert1((1, 1, np.arange(4.0)))
        lab.Sample.insert((1, s, {"s": s}) for s in (2, 3))
    assert np.array_equal((lab.Sample & {"sample": 1}).fetch1("signal"), np.arange(4.0))
    assert (lab.Sample & {"sample": 3}).fetch1("signal") == {"s": 3}


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ([(1, "Ann")], ["2 values", "3 attributes", "person_id, name, height"]),
        ([(1, "Ann", 1.0), (2, "Bo")], ["2 or 3 values"]),
        ([(1, "Ann", 1.0), {"person_id": 2, "name": "Bo"}], ["all be dicts", "dict", "tuple"]),
        ([{"person_id": 1, "name": "A"}, {"person_id": 2}], ["same attributes"]),
    ],
)
def test_bad_rows_are_refused_and_nothing_written(
    lab: SimpleNamespace, rows: list[object], words: list[str]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(dj.DataError) as info:
            lab.Person.insert(rows)
    for word in words:
        assert word in str(info.value)
    assert len(lab.Person) == 0


def test_positional_rows_become_columns_in_bulk(lab: SimpleNamespace) -> None:
    rows = [(i, f"p{i}", i / 10) for i in range(10_000)]
    with pytest.warns(DeprecationWarning):
        columns = row_columns(rows, lab.Person.heading)
        data = to_arrow(iter(rows), lab.Person.heading)
    assert list(columns) == ["person_id", "name", "height"]
    assert columns["name"][9_999] == "p9999"
    # typed as given: insert casts to int32 with the checked cast that frames get
    assert data.schema.field("person_id").type == pa.int64()
    assert data.num_rows == 10_000
    with pytest.warns(DeprecationWarning):
        lab.Person.insert(rows)
    assert len(lab.Person) == 10_000


@pytest.mark.filterwarnings("ignore:Positional inserts:DeprecationWarning")
def test_lookup_contents_as_any_iterable_or_property(schema: dj.Schema) -> None:
    @schema
    class Letter(dj.Lookup):
        definition = """
        letter : char(1)
        """
        contents = zip("ABCD")  # read once

    @schema
    class Pair(dj.Lookup):
        definition = """
        -> Letter
        number : int16
        """
        contents = itertools.product("AB", range(3))

    @schema
    class Word(dj.Lookup):
        definition = """
        word : varchar(10)
        """

        @property
        def contents(self) -> list[list[str]]:
            return [[w] for w in ("one", "two")]

    @schema
    class Record(dj.Lookup):
        definition = """
        code : int16
        ---
        label : varchar(8)
        """
        contents = np.array([(1, "a"), (2, "b")], dtype=[("code", "i2"), ("label", "U8")])

    assert sorted(Letter.to_polars()["letter"]) == ["A", "B", "C", "D"]
    assert len(Pair) == 6
    assert sorted(Word.to_polars()["word"]) == ["one", "two"]
    assert Record.to_dicts(order_by="code") == [
        {"code": 1, "label": "a"},
        {"code": 2, "label": "b"},
    ]
    schema(Word)  # declared again: nothing to add, nothing duplicated
    assert len(Word) == 2


def test_lookup_with_auto_increment_does_not_insert_contents_again(schema: dj.Schema) -> None:
    class Color(dj.Lookup):
        definition = """
        color_id : int auto_increment
        ---
        color : varchar(8)
        """
        contents = [{"color": "red"}, {"color": "blue"}]

    with pytest.warns(UserWarning, match="auto_increment"):
        schema(Color)
    assert len(Color) == 0
