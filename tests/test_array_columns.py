"""Decoded arrays as typed Polars columns (djframe.codecs.arrays): pl.Array for one shape,
pl.List where shapes differ, Object only where nothing else holds; and back on insert."""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import djframe as dj
from djframe.codecs.arrays import column_values, values_column

_numbers = itertools.count()


def same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([np.arange(6.0).reshape(2, 3), None], pl.Array(pl.Float64, (2, 3))),
        ([np.arange(3), np.arange(5, dtype=np.int16), None], pl.List(pl.Int64)),
        ([np.zeros((2, 4)), np.ones((3, 4))], pl.List(pl.Array(pl.Float64, 4))),
        ([np.zeros((2, 4)), np.ones((2, 5))], pl.List(pl.List(pl.Float64))),
        ([np.zeros(0), np.zeros(0)], pl.List(pl.Float64)),
        ([np.array(["a", "bcd"]), None], pl.Array(pl.String, 2)),
        ([np.zeros(3, ">f8"), np.ones(3, "<f8")], pl.Array(pl.Float64, 3)),
        ([np.zeros(2, np.float16)], pl.Array(pl.Float32, 2)),
        ([np.float32(1.5), None], pl.Float32),
        ([b"abc", None], pl.Binary),
        ([None, None], pl.Null),
    ],
)
def test_values_become_one_typed_column_and_come_back(values: list, dtype: pl.DataType) -> None:
    array = values_column(values)
    assert array is not None
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series) and series.dtype == dtype
    back = column_values(series.to_arrow())
    assert all(same(a, b) for a, b in zip(values, back, strict=True))


@pytest.mark.parametrize(
    "values",
    [
        [np.zeros(2), np.zeros((2, 2))],  # dimensionality differs
        [np.zeros(2, complex)],
        [np.array(["a"]), np.zeros(1)],  # text with numbers
        [{"a": 1}],
        [pl.DataFrame({"a": [1]})],
    ],
)
def test_values_no_column_holds_stay_objects(values: list) -> None:
    assert values_column(values) is None


def test_column_values_of_a_sliced_chunked_column() -> None:
    arrays = [np.arange(i * 6, (i + 1) * 6).reshape(2, 3) for i in range(5)]
    column = values_column(arrays)
    assert column is not None
    chunked = pa.chunked_array([column.slice(1, 2), column.slice(3, 2)])
    back = column_values(chunked)
    assert all(same(a, b) for a, b in zip(arrays[1:], back, strict=True))
    ragged = values_column([np.arange(n) for n in range(6)])
    assert ragged is not None
    assert [len(v) for v in column_values(ragged.slice(2, 3))] == [2, 3, 4]


# -- through the database --------------------------------------------------------------------
@pytest.fixture
def aschema(conn: dj.Connection, tmp_path: Path) -> Iterator[dj.Schema]:
    created = dj.Schema(f"arr_{os.getpid()}_{next(_numbers)}", connection=conn, store=str(tmp_path))
    yield created
    created.drop(prompt=False)


@pytest.fixture
def digits(aschema: dj.Schema) -> type[dj.Manual]:
    @aschema
    class Digit(dj.Manual):
        definition = """
        digit_id : int32
        ---
        image = null : <npy@>
        trace = null : <npy@>
        summary = null : <frame@>
        label = null : <blob>
        """

    rows = [
        {
            "digit_id": i,
            "image": np.arange(64, dtype=np.float64).reshape(8, 8) + i,
            "trace": np.arange(10 + i, dtype=np.int32),
            "summary": pl.DataFrame({"n": [i]}),
            "label": i % 3,
        }
        for i in range(3)
    ]
    Digit.insert([*rows, {"digit_id": 3}])
    return Digit


def test_to_polars_gives_arrays_lists_and_objects(digits: type[dj.Manual]) -> None:
    frame = digits.to_polars(order_by="KEY")
    assert frame.schema["image"] == pl.Array(pl.Float64, (8, 8))
    assert frame.schema["trace"] == pl.List(pl.Int32)
    assert frame.schema["summary"] == pl.Object and frame.schema["label"] == pl.Int64
    assert frame["image"][3] is None and frame["trace"].list.len().to_list() == [10, 11, 12, None]
    assert np.array_equal(frame["image"].to_numpy()[1], np.arange(64).reshape(8, 8) + 1)
    sums = frame.select(pl.col("trace").list.sum())["trace"].to_list()
    assert sums == [45, 55, 66, None]
    # the override: Python objects per row, as before
    objects = digits.to_polars(order_by="KEY", arrays="object")
    assert objects.schema["image"] == pl.Object and objects.schema["trace"] == pl.Object
    with dj.config.override(results__arrays="object"):
        assert digits.to_polars().schema["image"] == pl.Object
    with pytest.raises(dj.QueryError, match="'typed' or 'object', not 'objects'"):
        digits.to_polars(arrays="objects")  # type: ignore[arg-type]


def test_array_columns_write_parquet(digits: type[dj.Manual], tmp_path: Path) -> None:
    frame = digits.proj("image", "trace", "label").to_polars(order_by="KEY")
    frame.write_parquet(tmp_path / "digits.parquet")
    back = pl.read_parquet(tmp_path / "digits.parquet")
    assert back.schema == frame.schema and back.equals(frame)


def test_repr_does_not_print_whole_arrays(digits: type[dj.Manual]) -> None:
    text = repr(digits())
    assert len(text.splitlines()) < 20 and "63.0" not in text
    assert "array[f64" in text and "list[i32]" in text
    html = digits()._repr_html_()
    assert html.count("<tr>") == 5 and "63.0" not in html
    assert "<td>8x8 Float64</td>" in html and "<td>12 Int32</td>" in html


def test_dicts_fetch1_and_fetch_stay_numpy(digits: type[dj.Manual]) -> None:
    rows = digits.to_dicts(order_by="KEY")
    assert isinstance(rows[0]["image"], np.ndarray) and rows[0]["image"].shape == (8, 8)
    assert rows[3]["image"] is None and rows[2]["trace"].dtype == np.int32
    image = (digits & {"digit_id": 2}).fetch1("image")
    assert isinstance(image, np.ndarray) and image[0, 0] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        images = (digits & "digit_id < 3").fetch("image", order_by="KEY")
        traces = digits.fetch("trace", order_by="KEY")
    assert images.shape == (3, 8, 8)  # DataJoint stacks arrays of one shape
    assert traces.dtype == object and traces[3] is None and len(traces[2]) == 12
    assert isinstance(digits.to_pandas()["image"].iloc[0], np.ndarray)


def test_to_polars_inserts_back(aschema: dj.Schema, digits: type[dj.Manual]) -> None:
    @aschema
    class Copy(dj.Manual):
        definition = """
        digit_id : int32
        ---
        image = null : <npy@>
        trace = null : <npy@>
        """

    frame = digits.proj("image", "trace").to_polars()
    Copy.insert(frame)
    Copy.insert(frame.with_columns(pl.col("digit_id") + 10).to_arrow())
    for k in (1, 11):
        row = (Copy & {"digit_id": k}).fetch1()
        assert row["image"].shape == (8, 8) and row["image"][0, 0] == 1
        assert row["trace"].dtype == np.int32 and len(row["trace"]) == 11
    assert (Copy & {"digit_id": 13}).fetch1("image") is None
