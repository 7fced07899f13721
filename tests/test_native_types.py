"""Native SQL types (``int unsigned``, ``double``, ``longblob``, ``auto_increment`` ...): read as
the core types that hold their values, with DataJoint's portability warning, on every backend."""

from __future__ import annotations

import datetime as dt
import decimal
import logging

import numpy as np
import polars as pl
import pytest

import djframe as dj
from djframe.types import native_type


@pytest.mark.parametrize(
    ("text", "core", "low", "high", "auto"),
    [
        ("int", "int32", None, None, False),
        ("integer", "int32", None, None, False),
        ("INT(11)", "int32", None, None, False),
        ("tinyint", "int8", None, None, False),
        ("smallint", "int16", None, None, False),
        ("mediumint", "int32", -(2**23), 2**23 - 1, False),
        ("bigint", "int64", None, None, False),
        ("tinyint unsigned", "int16", 0, 255, False),
        ("smallint  unsigned", "int32", 0, 65535, False),
        ("int unsigned", "int64", 0, 2**32 - 1, False),
        ("bigint unsigned", "int64", 0, 2**63 - 1, False),
        ("int auto_increment", "int32", None, None, True),
        ("int unsigned auto_increment", "int64", 0, 2**32 - 1, True),
        ("serial", "int64", 0, 2**63 - 1, True),
        ("float", "float32", None, None, False),
        ("float(30)", "float64", None, None, False),
        ("double", "float64", None, None, False),
        ("real", "float64", None, None, False),
        ("float unsigned", "float32", 0, None, False),
        ("decimal", "decimal(10,0)", None, None, False),
        ("decimal(5)", "decimal(5,0)", None, None, False),
        ("decimal(2, 2) unsigned", "decimal(2,2)", 0, None, False),
        ("numeric(6,3)", "decimal(6,3)", None, None, False),
        ("timestamp", "datetime", None, None, False),
        ("timestamp(3)", "datetime(3)", None, None, False),
        ("time", "time", None, None, False),
        ("year", "int16", 1901, 2155, False),
        ("blob", "bytes", None, None, False),
        ("mediumblob", "bytes", None, None, False),
        ("longblob", "bytes", None, None, False),
        ("tinytext", "varchar(255)", None, None, False),
        ("text", "varchar(65535)", None, None, False),
        ("longtext", "varchar(4294967295)", None, None, False),
    ],
)
def test_native_types_map_to_core_types(
    text: str, core: str, low: int | None, high: int | None, auto: bool
) -> None:
    native = native_type(text)
    assert native is not None
    assert (str(native.core), native.low, native.high, native.auto_increment) == (
        core,
        low,
        high,
        auto,
    )


@pytest.mark.parametrize(
    "text", ["int32", "float64", "decimal(5,2)", "datetime(3)", "varchar(8)", "uint8", "intx"]
)
def test_core_types_and_unknown_names_are_not_native(text: str) -> None:
    assert native_type(text) is None


NATIVE_DEFINITION = """
id : int
---
small : tinyint unsigned
medium : mediumint
count : int unsigned
ratio : double
weight : float
score : real
amount : decimal(5)
share : decimal(3,2) unsigned
stamp : timestamp(3)
clock : time
born : year
raw : longblob
note : longtext
"""


def declare_natives(schema: dj.Schema) -> type[dj.Table]:
    @schema
    class Native(dj.Manual):
        definition = NATIVE_DEFINITION

    return Native


def test_native_types_declare_with_portability_warning(
    schema: dj.Schema, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="djframe"):
        Native = declare_natives(schema)
    warned = {r.getMessage().split("attribute ")[1].split(";")[0] for r in caplog.records}
    assert warned == {f"'{a.name}'" for a in Native.heading}
    text = caplog.text
    assert "'tinyint unsigned'" in text and "int16 (0 to 255)" in text and "portability" in text
    assert "raw bytes only" in text and "<blob>" in text  # longblob serializes nothing
    types = {a.name: str(a.type) for a in Native.heading}
    assert types == {
        "id": "int32",
        "small": "int16",
        "medium": "int32",
        "count": "int64",
        "ratio": "float64",
        "weight": "float32",
        "score": "float64",
        "amount": "decimal(5,0)",
        "share": "decimal(3,2)",
        "stamp": "datetime(3)",
        "clock": "time",
        "born": "int16",
        "raw": "bytes",
        "note": "varchar(4294967295)",
    }
    assert Native.heading["small"].native == "tinyint unsigned"


def native_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": 1,
        "small": 255,
        "medium": -(2**23),
        "count": 2**32 - 1,
        "ratio": 0.5,
        "weight": 1.5,
        "score": 2.25,
        "amount": 12345,
        "share": decimal.Decimal("0.25"),
        "stamp": dt.datetime(2024, 5, 1, 12, 30, 1, 250000),
        "clock": dt.time(8, 15, 30),
        "born": 1990,
        "raw": b"\x00\x01\xff",
        "note": "n" * 70_000,
    }
    return row | changes


def test_native_values_round_trip(schema: dj.Schema) -> None:
    Native = declare_natives(schema)
    Native.insert1(native_row())
    row = Native.fetch1()
    assert row == native_row(amount=decimal.Decimal(12345))
    frame = Native.to_polars()
    assert frame.schema["small"] == pl.Int16
    assert frame.schema["count"] == pl.Int64
    assert frame.schema["clock"] == pl.Time
    assert frame.schema["stamp"] == pl.Datetime("us")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"small": 256}, ["small", "tinyint unsigned", "0 to 255", "256"]),
        ({"small": -1}, ["small", "-1"]),
        ({"medium": 2**23}, ["medium", "mediumint"]),
        ({"count": -5}, ["count", "int unsigned"]),
        ({"share": decimal.Decimal("-0.5")}, ["share", "at least 0"]),
        ({"note": "n" * 65_536, "id": 2}, []),  # longtext takes more than text
    ],
)
def test_native_ranges_are_enforced(
    schema: dj.Schema, changes: dict[str, object], words: list[str]
) -> None:
    Native = declare_natives(schema)
    if not words:
        Native.insert1(native_row(**changes))
        assert len(Native) == 1
        return
    with pytest.raises(dj.DataError) as info:
        Native.insert1(native_row(**changes))
    for word in words:
        assert word in str(info.value)
    assert len(Native) == 0


def test_native_ranges_are_checked_by_the_database_too(schema: dj.Schema) -> None:
    Native = declare_natives(schema)
    sql = f"INSERT INTO {Native.full_table_name} (id, small) VALUES (1, 300)"
    with pytest.raises(dj.DjframeError):
        schema.connection.execute(sql)
    assert len(Native) == 0


def test_native_blob_holds_bytes_only(schema: dj.Schema) -> None:
    @schema
    class Raw(dj.Manual):
        definition = """
        id : int32
        ---
        data : mediumblob
        """

    Raw.insert1({"id": 1, "data": b"\x00\x02"})
    with pytest.raises(dj.DataError):
        Raw.insert1({"id": 2, "data": np.arange(4)})
    assert (Raw & {"id": 1}).fetch1("data") == b"\x00\x02"
    assert len(Raw) == 1


def test_native_blob_default_can_only_be_null(schema: dj.Schema) -> None:
    Bad = type("Bad", (dj.Manual,), {"definition": "id : int32\n---\ndata = 'x' : blob\n"})
    with pytest.raises(dj.DefinitionError, match="null"):
        schema(Bad)


def test_jsonb_is_json(schema: dj.Schema) -> None:
    @schema
    class Doc(dj.Manual):
        definition = """
        id : int32
        ---
        doc : jsonb
        """

    Doc.insert1({"id": 1, "doc": {"a": [1, 2]}})
    assert Doc.heading["doc"].type.name == "json"
    assert Doc.fetch1("doc") == {"a": [1, 2]}


# -- auto_increment ---------------------------------------------------------------------------


def declare_counter(schema: dj.Schema, key: str = "id : int auto_increment") -> type[dj.Table]:
    @schema
    class Counter(dj.Manual):
        definition = f"""
        {key}
        ---
        value : varchar(100)
        """

    return Counter


def ids(table: type[dj.Table]) -> list[int]:
    return table.to_polars(order_by="id")["id"].to_list()


def test_auto_increment_numbers_rows_left_without_key(schema: dj.Schema) -> None:
    Counter = declare_counter(schema)
    Counter.insert([{"value": "one"}, {"value": "two"}])
    Counter.insert1({"value": "three"})
    assert ids(Counter) == [1, 2, 3]
    assert (Counter & {"id": 2}).fetch1("value") == "two"


def test_auto_increment_follows_explicit_values(schema: dj.Schema) -> None:
    Counter = declare_counter(schema, "id : int unsigned auto_increment")
    Counter.insert1({"value": "a"})
    Counter.insert1({"id": 10, "value": "b"})
    Counter.insert1({"value": "c"})
    Counter.insert1({"id": 5, "value": "d"})  # below the counter: it stays where it was
    Counter.insert1({"value": "e"})
    assert ids(Counter) == [1, 5, 10, 11, 12]


def test_auto_increment_in_bulk(schema: dj.Schema) -> None:
    Counter = declare_counter(schema, "id : serial")
    Counter.insert(pl.DataFrame({"value": [f"v{i}" for i in range(500)]}))
    assert ids(Counter) == list(range(1, 501))
    Counter.insert(pl.DataFrame({"id": range(1000, 1200), "value": ["w"] * 200}))
    Counter.insert(pl.DataFrame({"value": ["x"] * 100}))
    assert ids(Counter)[-100:] == list(range(1200, 1300))
    assert len(Counter) == 800


def test_auto_increment_with_skip_duplicates_and_rollback(schema: dj.Schema) -> None:
    Counter = declare_counter(schema)
    Counter.insert1({"value": "a"})
    Counter.insert([{"id": 1, "value": "again"}, {"id": 2, "value": "b"}], skip_duplicates=True)
    assert Counter.to_dicts(order_by="id") == [
        {"id": 1, "value": "a"},
        {"id": 2, "value": "b"},
    ]
    with pytest.raises(dj.DataError):
        Counter.insert1({"value": "x" * 101})
    assert len(Counter) == 2


def test_auto_increment_table_drops_and_redeclares(schema: dj.Schema) -> None:
    Counter = declare_counter(schema)
    Counter.insert1({"value": "a"})
    Counter.drop(prompt=False)
    Counter = declare_counter(schema)
    Counter.insert1({"value": "b"})
    assert Counter.to_dicts() == [{"id": 1, "value": "b"}]


def test_auto_increment_survives_the_catalog(schema: dj.Schema) -> None:
    declare_counter(schema)
    opened = dj.virtual_schema(schema.name, connection=schema.connection)
    opened.Counter.insert1({"value": "from elsewhere"})
    assert opened.Counter.heading["id"].auto_increment
    assert opened.Counter.to_dicts() == [{"id": 1, "value": "from elsewhere"}]


def test_children_of_auto_increment_tables_reference_plain_keys(schema: dj.Schema) -> None:
    Counter = declare_counter(schema)

    @schema
    class Tally(dj.Manual):
        definition = """
        -> Counter
        n : int16
        """

    Counter.insert1({"value": "a"})
    assert not Tally.heading["id"].auto_increment
    with pytest.raises(dj.MissingKeyError):
        Tally.insert1({"n": 1})
    Tally.insert1({"id": 1, "n": 1})
    assert len(Tally * Counter) == 1
