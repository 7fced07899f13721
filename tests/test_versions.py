"""Versions of whole rows: ``Table.as_of`` gives every attribute of the rows as committed, on
both backends: after update1, delete and replace, never the rows (or objects) of a transaction
or a populate that rolled back, at a version or a time, restricted, and previewed like an
expression."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import djframe as dj


@pytest.fixture
def lab(conn: dj.Connection, tmp_path: Path) -> Any:
    name = f"versions_{abs(hash(tmp_path)) % 10**8}"
    schema = dj.Schema(name, connection=conn, store=dj.Store(tmp_path / "store"))

    @schema
    class Param(dj.Lookup):
        definition = """
        c : float64
        """
        contents = [{"c": 1.0}, {"c": 2.0}]

    @schema
    class Model(dj.Manual):
        definition = """
        model_id : int32
        ---
        -> Param
        accuracy : float64
        note = "none" : varchar(20)
        trained : datetime
        day = null : date
        price = null : decimal(6, 2)
        tag = null : uuid
        settings = null : json
        flags = null : <blob>
        weights : <npy@>
        """

    yield schema, Param, Model
    schema.drop(prompt=False)


WHEN = dt.datetime(2024, 5, 1, 12, 30)


def model(model_id: int, accuracy: float, **more: Any) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "c": 1.0,
        "accuracy": accuracy,
        "trained": WHEN,
        "weights": np.full(3, accuracy),
        **more,
    }


def test_every_attribute_as_committed_before_an_update(lab: Any) -> None:
    _, _, Model = lab
    tag = uuid.uuid4()
    Model.insert1(
        model(
            1,
            0.5,
            day=dt.date(2024, 5, 2),
            price=decimal.Decimal("12.50"),
            tag=tag,
            settings={"lr": 0.1},
            flags=[1, 2],
        )
    )
    Model.insert1(model(2, 0.7))
    Model.update1({"model_id": 1, "accuracy": 0.9, "note": "retrained"})
    history = Model.history()
    assert history["action"].to_list() == ["update", "insert", "insert"]
    before = (Model.as_of(1) & {"model_id": 1}).fetch1()
    assert before["accuracy"] == 0.5 and before["note"] == "none"  # the default, filled in
    assert before["trained"] == WHEN and before["day"] == dt.date(2024, 5, 2)
    assert before["price"] == decimal.Decimal("12.50") and before["c"] == 1.0
    assert before["tag"] == str(tag) and before["settings"] == '{"lr": 0.1}'
    assert before["flags"] == [1, 2] and np.array_equal(before["weights"], np.full(3, 0.5))
    after = Model.as_of(2).to_polars()
    assert after["accuracy"].to_list() == [0.9, 0.7]
    assert after["note"].to_list() == ["retrained", "none"]
    assert after.schema["accuracy"] == pl.Float64 and after.schema["trained"] == pl.Datetime("us")
    assert after.columns == Model.heading.names
    assert np.array_equal(after["weights"][0], np.full(3, 0.5))  # update1 left the array
    assert len(Model.as_of(0)) == 1


def test_a_deleted_row_is_there_before_its_delete(lab: Any) -> None:
    _, Param, Model = lab
    Model.insert([model(1, 0.5), model(2, 0.6, c=2.0)])
    (Param & {"c": 2.0}).delete()  # cascades to model 2
    assert len(Model) == 1
    versions = Model.history()["version"].to_list()
    assert versions == [1, 0]
    assert [r["model_id"] for r in Model.as_of(0).to_dicts()] == [1, 2]
    gone = (Model.as_of(0) & {"model_id": 2}).fetch1()
    assert gone["c"] == 2.0 and gone["accuracy"] == 0.6
    assert [r["model_id"] for r in Model.as_of(1).to_dicts()] == [1]
    # made again after its delete: the new row from then on, the old one before
    Model.insert1(model(2, 0.8))
    assert (Model.as_of(2) & {"model_id": 2}).fetch1("accuracy") == 0.8
    assert (Model.as_of(0) & {"model_id": 2}).fetch1("accuracy") == 0.6
    # replace is a new version of the row too
    Model.insert1(model(2, 0.95), replace=True)
    latest = Model.history()["timestamp"][0]
    assert (Model.as_of(latest) & {"model_id": 2}).fetch1("accuracy") == 0.95


def test_a_transaction_that_rolls_back_is_in_no_version(lab: Any) -> None:
    schema, _, Model = lab
    Model.insert1(model(1, 0.5))
    with pytest.raises(RuntimeError), schema.connection.transaction:
        Model.insert1(model(2, 0.6))
        Model.update1({"model_id": 1, "accuracy": 0.0})
        raise RuntimeError("rolled back")
    assert len(Model) == 1
    uri = schema.store.table_uri(schema.name, "model")
    from deltalake import DeltaTable

    written = DeltaTable(uri).version()
    assert written == 2  # the two rolled-back commits are in the Delta log ...
    for version in range(written + 1):  # ... but in no version of the rows
        rows = Model.as_of(version).to_dicts()
        assert [(r["model_id"], r["accuracy"]) for r in rows] == [(1, 0.5)]
    assert Model.history()["version"].to_list() == [0]


def test_a_populate_that_rolled_back_leaves_no_rows_in_any_version(
    conn: dj.Connection, tmp_path: Path
) -> None:
    schema = dj.Schema(
        f"rollback_{abs(hash(tmp_path)) % 10**8}", connection=conn, store=dj.Store(tmp_path / "s")
    )
    try:

        @schema
        class Source(dj.Manual):
            definition = """
            source_id : int32
            """

        @schema
        class Output(dj.Computed):
            definition = """
            -> Source
            ---
            score : float64
            values : <npy@>
            """

            def make(self, key: dict[str, Any]) -> None:
                self.insert1({**key, "score": 1.0, "values": np.ones(2)})
                if key["source_id"] == 3:
                    len(Output & key)  # a query of the table writes the held rows (and objects)
                    raise ValueError("fails after its objects went to the store")

        Source.insert([{"source_id": i} for i in range(6)])
        Output.populate(suppress_errors=True)
        assert sorted(Output.to_polars()["source_id"]) == [0, 1, 2, 4, 5]
        from deltalake import DeltaTable

        uri = schema.store.table_uri(schema.name, Output().full_name.split(".", 1)[1])
        raw = pl.read_delta(uri)
        assert 3 in raw.filter(pl.col("_op").is_not_null())["source_id"].to_list()  # written...
        for version in range(DeltaTable(uri).version() + 1):  # ... and in no version
            ids = Output.as_of(version).to_polars()["source_id"].to_list()
            assert 3 not in ids
        latest = Output.as_of(int(Output.history()["version"][0])).to_polars()
        assert sorted(latest["source_id"]) == [0, 1, 2, 4, 5]
        assert latest["score"].to_list() == [1.0] * 5
    finally:
        schema.drop(prompt=False)


def test_as_of_previews_like_an_expression(lab: Any) -> None:
    _, _, Model = lab
    Model.insert([model(i, i / 10) for i in range(1, 4)])
    past = Model.as_of(0)
    text = repr(past)
    assert "as of 0" in text and "3 rows; primary key: (model_id)" in text and "accuracy" in text
    page = past._repr_html_()
    assert "<u>model_id</u>" in page and "3 rows" in page and "0.3" in page
    assert len(past & [{"model_id": 1}, {"model_id": 3}]) == 2


def test_as_of_refuses_what_it_cannot_give(lab: Any) -> None:
    _, Param, Model = lab
    with pytest.raises(dj.DataError, match="keeps no versions"):
        Param.as_of(0)
    with pytest.raises(dj.DataError, match="version number or a datetime"):
        Model.as_of("yesterday")  # type: ignore[arg-type]
    Model.insert1(model(1, 0.5))
    with pytest.raises(dj.StoreError, match="no version 5"):
        Model.as_of(5).to_polars()
