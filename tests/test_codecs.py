"""Codec types: the blob format, registration of user codecs, declaration, and ``<blob>``
values kept in the row, on every backend."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import numpy as np
import polars as pl
import pytest

import djframe as dj
from djframe.codecs import list_codecs, parse_codec
from djframe.codecs.blob import pack, unpack

VALUES = [
    None,
    True,
    False,
    0,
    -(2**63),
    2**80,
    -(2**70) + 3,
    1.5,
    float("inf"),
    1 + 2j,
    "",
    "héllo",
    b"\x00raw",
    [1, "a", None],
    (1, (2.0, [3])),
    {"a": 1, 2: "b", (1, 2): [None]},
    {1, 2, 3},
    dt.date(2024, 2, 29),
    dt.datetime(2024, 1, 2, 3, 4, 5, 6),
    dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    dt.time(12, 30, 1),
    dt.timedelta(days=-1, seconds=5, microseconds=7),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    decimal.Decimal("3.14159"),
    np.float32(2.5),
    np.int64(-7),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_blob_round_trip(value: object) -> None:
    back = unpack(pack(value))
    assert back == value
    assert type(back) is type(value)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype="<i4").reshape(3, 4),
        np.asfortranarray(np.random.default_rng(0).random((3, 5))),
        np.array([], dtype="float32"),
        np.array(3.0),
        np.array([True, False]),
        np.array(["ab", "c"]),
        np.arange(6, dtype=">u2"),
        np.array([1, "x", None], dtype=object),
        np.zeros((2, 0, 3)),
    ],
)
def test_blob_arrays(array: np.ndarray) -> None:
    back = unpack(pack(array))
    assert back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array)
    assert back.flags.writeable


def test_blob_refuses_unknown_types_and_bad_bytes() -> None:
    with pytest.raises(dj.DataError, match="cannot store a"):
        pack(object())
    with pytest.raises(dj.DataError, match="not a djframe <blob>"):
        unpack(b"pickle")
    with pytest.raises(dj.DataError, match="truncated"):
        unpack(pack([1, 2, 3])[:-3])


def test_codec_type_text() -> None:
    assert parse_codec("<blob>").dtype == "bytes"
    assert parse_codec("<npy@>").store == ""
    assert parse_codec("<npy@cold>").store == "cold"
    assert parse_codec("<blob@>").dtype == "uuid"
    assert {"attach", "blob", "frame", "npy", "object"} <= set(list_codecs())
    with pytest.raises(dj.DefinitionError, match="object store"):
        parse_codec("<npy>")
    with pytest.raises(dj.UnknownTypeError, match="Unknown codec <nope>"):
        parse_codec("<nope>")


class Graph(dj.Codec):
    """A user codec chained onto <blob>: an adjacency dict kept as a list of edges."""

    name = "test_graph"

    def get_dtype(self, is_store: bool) -> str:
        return "<blob>"

    def validate(self, value: object) -> None:
        if not isinstance(value, dict):
            raise dj.DataError(f"a graph is a dict of edges, not {type(value).__name__}")

    def encode(self, value: dict[str, list[str]], **_: object) -> list[tuple[str, str]]:
        return [(a, b) for a, targets in value.items() for b in targets]

    def decode(self, stored: list[tuple[str, str]], **_: object) -> dict[str, list[str]]:
        graph: dict[str, list[str]] = {}
        for a, b in stored:
            graph.setdefault(a, []).append(b)
        return graph


def test_registering_twice_is_refused() -> None:
    with pytest.raises(dj.DefinitionError, match="already registered"):

        class Again(dj.Codec):
            name = "test_graph"


def test_abstract_codec_is_not_registered() -> None:
    class Base(dj.Codec, register=False):
        pass

    assert "" not in list_codecs()


def test_blob_in_row_and_user_codec(schema: dj.Schema) -> None:
    @schema
    class Thing(dj.Manual):
        definition = """
        thing_id : int32
        ---
        payload = null : <blob>
        graph = null : <test_graph>
        """

    value = {"trace": np.linspace(0, 1, 5), "when": dt.datetime(2024, 5, 1), "tags": ["a", "b"]}
    Thing.insert(
        [
            {"thing_id": 1, "payload": value, "graph": {"a": ["b", "c"]}},
            {"thing_id": 2, "payload": None, "graph": None},
        ]
    )
    row = (Thing & {"thing_id": 1}).fetch1()
    assert np.array_equal(row["payload"]["trace"], value["trace"])
    assert row["payload"]["when"] == value["when"] and row["graph"] == {"a": ["b", "c"]}
    frame = Thing.to_polars(order_by="KEY")
    assert frame.schema["payload"] == pl.Object and frame["payload"][1] is None
    assert Thing.heading["graph"].type_name == "<test_graph>"
    assert "<blob>" in repr(Thing.heading)
    # the catalog keeps the codec, so a virtual schema decodes too
    lab = dj.virtual_schema(schema.name, connection=schema.connection)
    assert (lab.Thing & {"thing_id": 1}).fetch1("graph") == {"a": ["b", "c"]}


def test_insert_frames_and_from_query(schema: dj.Schema) -> None:
    @schema
    class Source(dj.Manual):
        definition = """
        k : int32
        ---
        v : <blob>
        """

    @schema
    class Copy(dj.Manual):
        definition = """
        k : int32
        ---
        v : <blob>
        """

    Source.insert(
        pl.DataFrame({"k": [1, 2], "v": [[1, 2], {"x": 1}]}, schema={"k": pl.Int32, "v": pl.Object})
    )
    Copy.insert(Source)
    assert [r["v"] for r in Copy.to_dicts(order_by="KEY")] == [[1, 2], {"x": 1}]


def test_wrong_values_are_refused_and_nothing_written(schema: dj.Schema) -> None:
    @schema
    class Edges(dj.Manual):
        definition = """
        k : int32
        ---
        g : <test_graph>
        b : <blob>
        """

    with pytest.raises(dj.DataError, match=r"Edges\.g .*a graph is a dict"):
        Edges.insert([{"k": 1, "g": [1, 2], "b": 1}])
    with pytest.raises(dj.DataError, match=r"Edges\.b .*cannot store"):
        Edges.insert([{"k": 1, "g": {}, "b": object()}])
    assert len(Edges) == 0


@pytest.mark.parametrize(
    ("line", "error", "match"),
    [
        ("x : <unknown_codec>", dj.UnknownTypeError, "Unknown codec"),
        ("x : <npy>", dj.DefinitionError, "object store"),
        ("x : <npy@nowhere>", dj.DefinitionError, "not configured"),
        ("x = 'a' : <blob>", dj.DefinitionError, "default to null"),
        ("x : <blob", dj.UnknownTypeError, "Cannot read the codec type"),
    ],
)
def test_bad_codec_declarations(schema: dj.Schema, line: str, error: type, match: str) -> None:
    class Bad(dj.Manual):
        definition = f"""
        k : int32
        ---
        {line}
        """

    with pytest.raises(error, match=match):
        schema(Bad)


def test_codec_in_primary_key_is_refused(schema: dj.Schema) -> None:
    class Keyed(dj.Manual):
        definition = """
        k : <blob>
        """

    with pytest.raises(dj.DefinitionError, match="primary key"):
        schema(Keyed)
