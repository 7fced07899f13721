"""The fetch path on every backend: Arrow types of results, and streamed record batches that
arrive in several batches, completely, even while other statements run on the connection."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import djframe as dj

ROWS = 5_000


@pytest.fixture
def wide(schema: dj.Schema) -> type[dj.Table]:
    @schema
    class Wide(dj.Manual):
        definition = """
        k : int64
        ---
        a : int32
        x : float64
        s : varchar(20)
        d : date
        b : bool
        """

    Wide.insert(
        pl.DataFrame(
            {
                "k": np.arange(ROWS, dtype=np.int64),
                "a": np.arange(ROWS, dtype=np.int32) % 7,
                "x": np.linspace(0, 1, ROWS),
                "s": [f"row {i}" for i in range(ROWS)],
                "d": [dt.date(2020, 1, 1) + dt.timedelta(days=i % 400) for i in range(ROWS)],
                "b": np.arange(ROWS) % 2 == 0,
            }
        )
    )
    return Wide


@pytest.fixture
def log(schema: dj.Schema) -> type[dj.Table]:
    @schema
    class Log(dj.Manual):
        definition = """
        k : int64
        ---
        s : varchar(20)
        """

    return Log


EXPECTED = pa.schema(
    [("k", pa.int64()), ("a", pa.int32()), ("x", pa.float64()), ("s", pa.string()),
     ("d", pa.date32()), ("b", pa.bool_())]
)  # fmt: skip


def test_to_arrow_and_to_polars_have_the_core_types(wide: type[dj.Table]) -> None:
    assert wide.to_arrow().schema.remove_metadata() == EXPECTED
    frame = wide.to_polars()
    assert frame.schema == pl.Schema(
        {"k": pl.Int64, "a": pl.Int32, "x": pl.Float64, "s": pl.String, "d": pl.Date,
         "b": pl.Boolean}
    )  # fmt: skip
    assert frame.sort("k")["s"][4321] == "row 4321"


def test_a_result_larger_than_a_batch_arrives_in_several_batches(wide: type[dj.Table]) -> None:
    batches = list(wide.to_arrow_batches(batch_size=1_000))
    assert len(batches) >= 5
    assert all(b.num_rows <= 1_000 for b in batches)
    assert all(b.schema.remove_metadata() == EXPECTED for b in batches)
    keys = pa.chunked_array([b["k"] for b in batches]).to_numpy()
    assert sorted(keys) == list(range(ROWS))


def test_statements_between_batches_do_not_cut_the_stream(
    wide: type[dj.Table], log: type[dj.Table]
) -> None:
    """Reading batches and writing each one elsewhere keeps every row."""
    seen = 0
    for batch in wide.to_arrow_batches(batch_size=700):
        seen += batch.num_rows
        log.insert(pa.table({"k": batch["k"], "s": batch["s"]}))
        assert len(wide & "a = 3") > 0  # another query on the same connection
    assert seen == ROWS
    assert len(log) == ROWS


def test_an_abandoned_stream_leaves_the_connection_usable(wide: type[dj.Table]) -> None:
    stream = wide.to_arrow_batches(batch_size=100)
    assert next(stream).num_rows == 100
    stream.close()
    assert len(wide) == ROWS
    assert sum(b.num_rows for b in wide.to_arrow_batches(batch_size=2_000)) == ROWS


def test_batches_see_the_open_transaction(wide: type[dj.Table], conn: dj.Connection) -> None:
    extra = pl.DataFrame(
        {"k": [ROWS], "a": [1], "x": [0.5], "s": ["new"], "d": [dt.date(2021, 1, 1)], "b": [True]},
        schema_overrides={"a": pl.Int32},
    )
    with conn.transaction:
        wide.insert(extra)
        rows = sum(b.num_rows for b in wide.to_arrow_batches(batch_size=1_000))
    assert rows == ROWS + 1


def test_restricting_by_a_frame_streams_too(wide: type[dj.Table]) -> None:
    keys = pl.DataFrame({"k": np.arange(0, ROWS, 2, dtype=np.int64)})
    batches = list((wide & keys).to_arrow_batches(batch_size=500))
    assert len(batches) >= 5
    assert sum(b.num_rows for b in batches) == ROWS // 2


def test_display_width_shortens_long_cells(schema: dj.Schema) -> None:
    @schema
    class Note(dj.Manual):
        definition = """
        note_id : int32
        ---
        text : varchar(200)
        """

    Note.insert1({"note_id": 1, "text": "x" * 100})
    with dj.config.override(**{"display.width": 10}):
        assert "x" * 11 not in repr(Note()) and "x" * 11 not in Note()._repr_html_()
        assert "xxxxxxxxx…" in Note()._repr_html_()
    with dj.config.override(**{"display.width": 120}):
        assert "x" * 100 in Note()._repr_html_()


@pytest.fixture
def scored(schema: dj.Schema) -> type[dj.Manual]:
    @schema
    class Score(dj.Manual):
        definition = """
        k : int32
        ---
        f = null : float64
        """

    Score.insert([{"k": 1, "f": 2.0}, {"k": 2, "f": None}, {"k": 3, "f": 5.0}])
    return Score


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("f desc nulls last", [3, 1, 2]),
        ("f DESC NULLS FIRST", [2, 3, 1]),
        ("f asc nulls first", [2, 1, 3]),
        ("f", [1, 3, 2]),
        (["f DESC", "KEY"], [3, 1, 2]),
        ("f DESC NULLS FIRST, KEY", [2, 3, 1]),
        ("f desc,k", [3, 1, 2]),
        (["k DESC, f", "KEY"], [3, 2, 1]),
    ],
)
def test_one_order_parser_for_results_and_top(
    scored: type[dj.Manual], order_by: Any, expected: list[int]
) -> None:
    assert scored.to_polars(order_by=order_by)["k"].to_list() == expected
    top = scored & dj.Top(limit=None, order_by=order_by)
    assert top.to_polars()["k"].to_list() == expected


@pytest.mark.parametrize(
    "order_by", ["f DOWN", "f desc nulls", "f; drop", "", "KEY KEY", "f,", "f,,k", "f DESC k"]
)
def test_an_order_it_cannot_read_is_refused_everywhere(
    scored: type[dj.Manual], order_by: str
) -> None:
    with pytest.raises(dj.QueryError, match="Cannot order by"):
        scored.to_polars(order_by=order_by)
    with pytest.raises(dj.QueryError, match="Cannot order by"):
        scored & dj.Top(2, order_by=order_by)
