"""DataJoint 2.x's deprecated ``fetch()``, ``fetch1()`` and ``to_arrays()``: what they return
(numpy structured arrays, arrays per attribute, dicts, frames), ``"KEY"`` / ``dj.key``, order,
limit and offset, and the deprecation warning, on both backends."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import djframe as dj
from djframe.fetch import FETCH_DEPRECATED

UID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.fixture
def lab(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class Person(dj.Manual):
        definition = """
        person_id : int32
        ---
        name : varchar(20)
        height = null : float32
        visits = null : int16
        born = null : date
        token = null : uuid
        info = null : json
        fee = null : decimal(6,2)
        """

    @schema
    class Trace(dj.Manual):
        definition = """
        -> Person
        trace : int16
        ---
        samples : <blob>
        """

    Person.insert(
        [
            dict(person_id=1, name="Ann", height=1.5, visits=3, born=dt.date(1990, 1, 2),
                 token=UID, info={"a": [1, 2]}, fee=decimal.Decimal("12.50")),
            dict(person_id=2, name="Bo", height=None, visits=None, born=None,
                 token=None, info=None, fee=None),
            dict(person_id=3, name="Cy", height=1.75, visits=1, born=dt.date(2001, 5, 6),
                 token=None, info=[3], fee=decimal.Decimal("0.10")),
        ]
    )  # fmt: skip
    Trace.insert(
        [
            {"person_id": 1, "trace": 1, "samples": np.arange(3.0)},
            {"person_id": 1, "trace": 2, "samples": np.arange(3.0) + 10},
            {"person_id": 3, "trace": 1, "samples": np.ones((1, 3))},
        ]
    )
    return SimpleNamespace(Person=Person, Trace=Trace)


def quiet_fetch(expr: object, *args: object, **kwargs: object) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return expr.fetch(*args, **kwargs)  # type: ignore[attr-defined]


def test_fetch_warns_as_datajoint_does(lab: SimpleNamespace) -> None:
    with pytest.warns(DeprecationWarning) as record:
        lab.Person.fetch()
    assert str(record[0].message) == FETCH_DEPRECATED
    assert "fetch() is deprecated" in FETCH_DEPRECATED
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fetch1 and to_arrays are not deprecated
        (lab.Person & {"person_id": 1}).fetch1("name")
        lab.Person.to_arrays("name")


def test_fetch_gives_a_structured_array(lab: SimpleNamespace) -> None:
    records = quiet_fetch(lab.Person, order_by="KEY")
    assert isinstance(records, np.ndarray)
    assert records.dtype.names == tuple(lab.Person.heading.names)
    assert records.dtype["person_id"] == np.int64
    assert records.dtype["height"] == np.float64  # floats as float64, nulls as nan
    assert records.dtype["visits"] == np.dtype(object)  # a nullable integer keeps its None
    assert records["name"].tolist() == ["Ann", "Bo", "Cy"]
    assert records["height"][0] == 1.5 and np.isnan(records["height"][1])
    assert records["visits"].tolist() == [3, None, 1]
    assert records[0]["born"] == dt.date(1990, 1, 2)
    assert records[0]["token"] == UID
    assert records[0]["info"] == {"a": [1, 2]}
    assert records[0]["fee"] == decimal.Decimal("12.50")
    keys = lab.Person.proj().to_arrays(order_by="KEY")
    assert (lab.Person & keys[2]).fetch1("name") == "Cy"  # a record restricts like a dict


def test_to_arrays_of_an_empty_result(lab: SimpleNamespace) -> None:
    records = (lab.Person & {"person_id": 99}).to_arrays()
    assert records.shape == (0,) and records.dtype.names == tuple(lab.Person.heading.names)
    names = (lab.Person & {"person_id": 99}).to_arrays("name")
    assert len(names) == 0


def test_fetch_attributes_gives_an_array_each(lab: SimpleNamespace) -> None:
    names = quiet_fetch(lab.Person, "name", order_by="person_id")
    assert names.tolist() == ["Ann", "Bo", "Cy"] and names.dtype.kind == "U"
    names, heights = quiet_fetch(lab.Person, "name", "height", order_by="name DESC")
    assert names.tolist() == ["Cy", "Bo", "Ann"]
    assert heights.dtype == np.dtype(object) and heights.tolist() == [1.75, None, 1.5]
    visits = quiet_fetch(lab.Person & "visits IS NOT NULL", "visits", order_by="KEY")
    assert visits.dtype == np.int64 and visits.tolist() == [3, 1]
    samples = quiet_fetch(lab.Trace & {"person_id": 1}, "samples", order_by="trace")
    assert samples.shape == (2, 3)  # equal shapes stack, as np.array does
    ragged = quiet_fetch(lab.Trace, "samples", order_by="KEY")
    assert ragged.dtype == np.dtype(object) and ragged[2].shape == (1, 3)


def test_fetch_key_and_dj_key(lab: SimpleNamespace) -> None:
    keys = [{"person_id": 1}, {"person_id": 2}, {"person_id": 3}]
    assert quiet_fetch(lab.Person, "KEY", order_by="KEY") == keys
    assert quiet_fetch(lab.Person, dj.key, order_by="KEY") == keys
    got_keys, names = quiet_fetch(lab.Person, dj.key, "name", order_by="KEY")
    assert got_keys == keys and names.tolist() == ["Ann", "Bo", "Cy"]
    rows = quiet_fetch(lab.Trace, "KEY", "samples", as_dict=True, order_by="KEY", limit=1)
    assert list(rows[0]) == ["person_id", "trace", "samples"]
    assert np.array_equal(rows[0]["samples"], np.arange(3.0))


def test_fetch_as_dict_order_limit_offset(lab: SimpleNamespace) -> None:
    rows = quiet_fetch(lab.Person, as_dict=True, order_by="name DESC", limit=2, offset=1)
    assert [r["name"] for r in rows] == ["Bo", "Ann"]
    assert rows[1]["token"] == UID and rows[1]["info"] == {"a": [1, 2]}
    named = quiet_fetch(lab.Person, "name", as_dict=True, order_by="height", limit=2)
    assert named == [{"person_id": 1, "name": "Ann"}, {"person_id": 3, "name": "Cy"}]


def test_fetch_format_frame_and_bad_options(lab: SimpleNamespace) -> None:
    frame = quiet_fetch(lab.Person, format="frame", order_by="KEY")
    assert isinstance(frame, pd.DataFrame) and frame.index.names == ["person_id"]
    assert frame["name"].tolist() == ["Ann", "Bo", "Cy"]
    assert len(quiet_fetch(lab.Person, format="array")) == 3
    with pytest.raises(dj.QueryError, match="frame"):
        quiet_fetch(lab.Person, "name", format="frame")
    with pytest.raises(dj.QueryError, match="formats"):
        quiet_fetch(lab.Person, format="table")
    with pytest.raises(dj.MissingAttributeError, match="nope"):
        quiet_fetch(lab.Person, "nope")


def test_fetch1_forms(lab: SimpleNamespace) -> None:
    ann = lab.Person & {"person_id": 1}
    assert ann.fetch1("name") == "Ann"
    assert ann.fetch1("name", "visits") == ("Ann", 3)
    assert ann.fetch1("KEY") == {"person_id": 1}
    assert ann.fetch1(dj.key, "token") == ({"person_id": 1}, UID)
    assert ann.fetch1()["info"] == {"a": [1, 2]}
    trace = lab.Trace & {"person_id": 3}
    assert trace.fetch1("samples").shape == (1, 3)
    assert trace.fetch1("samples", squeeze=True).shape == (3,)
    with pytest.raises(dj.QueryError, match="exactly one row"):
        lab.Person.fetch1("name")
    with pytest.raises(dj.QueryError, match="none"):
        (lab.Person & {"person_id": 9}).fetch1("KEY")


def test_to_arrays_with_keys_order_limit_offset(lab: SimpleNamespace) -> None:
    keys, names = lab.Person.to_arrays("name", include_key=True, order_by="KEY")
    assert keys == [{"person_id": 1}, {"person_id": 2}, {"person_id": 3}]
    assert names.tolist() == ["Ann", "Bo", "Cy"]
    assert lab.Person.to_arrays("name", order_by="born DESC NULLS LAST", limit=1).tolist() == ["Cy"]
    ids, fees = lab.Person.to_arrays("person_id", "fee", order_by="KEY", offset=2)
    assert ids.tolist() == [3] and fees.tolist() == [decimal.Decimal("0.10")]
    squeezed = (lab.Trace & {"person_id": 3}).to_arrays(squeeze=True)
    assert squeezed[0]["samples"].shape == (3,)


def test_fetch_on_the_class_and_on_expressions(lab: SimpleNamespace) -> None:
    joined = lab.Person * lab.Trace
    names = quiet_fetch(joined, "name", order_by=("person_id", "trace"))
    assert names.tolist() == ["Ann", "Ann", "Cy"]
    counts = lab.Person.aggr(lab.Trace, n="count(*)").to_arrays("n", order_by="KEY")
    assert counts.tolist() == [2, 0, 1]
    assert quiet_fetch(lab.Person.proj(), order_by="KEY").dtype.names == ("person_id",)
