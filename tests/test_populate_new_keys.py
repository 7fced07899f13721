"""Computed and Imported tables with primary-key attributes of their own, behind DataJoint's
opt-in ``jobs.allow_new_pk_fields_in_computed_tables``: make is called once per key of the key
source and inserts several rows, on both backends."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

import djframe as dj

ALLOW = "jobs.allow_new_pk_fields_in_computed_tables"


def test_own_key_attributes_warn_by_default(schema: dj.Schema) -> None:
    @schema
    class Source(dj.Manual):
        definition = """
        src : int32
        """

    Result = type("Result", (dj.Computed,), {"definition": "-> Source\nk : int32\n"})
    with pytest.warns(UserWarning) as info:
        schema.declare(Result, {"Source": Source})
    message = str(info[0].message)
    assert ALLOW in message and "'k'" in message
    assert schema.list_tables() == ["source", "__result"]


@pytest.fixture
def spikes(schema: dj.Schema) -> SimpleNamespace:
    calls: list[dict[str, Any]] = []

    @schema
    class Recording(dj.Manual):
        definition = """
        rec : int32
        ---
        count : int16
        """

    with dj.config.override(**{ALLOW.replace(".", "__"): True}):

        @schema
        class Spike(dj.Computed):
            definition = """
            -> Recording
            spike : int16
            ---
            time : float64
            """

            def make(self, key: dict[str, Any]) -> None:
                calls.append(dict(key))
                count = (Recording & key).fetch1("count")
                if count < 0:
                    raise ValueError("a negative count")
                self.insert([{**key, "spike": s, "time": s / 10} for s in range(count)])

        @schema
        class Detected(dj.Imported):
            definition = """
            -> Recording
            event : int16
            """

            def make_batch(self, keys: pl.DataFrame) -> pl.DataFrame:
                rows = (Recording & keys).to_polars()
                return rows.select("rec", event=pl.col("count")).vstack(
                    rows.select("rec", event=pl.col("count") + 100)
                )

    Recording.insert([{"rec": 1, "count": 3}, {"rec": 2, "count": 2}, {"rec": 3, "count": 0}])
    return SimpleNamespace(Recording=Recording, Spike=Spike, Detected=Detected, calls=calls)


def test_make_is_called_once_per_key_and_inserts_many_rows(spikes: SimpleNamespace) -> None:
    Spike = spikes.Spike
    assert not dj.config[ALLOW]  # the setting is read when declaring only
    assert Spike.heading.primary_key == ["rec", "spike"]
    assert Spike.progress() == (3, 3)
    result = Spike.populate()
    assert result["success_count"] == 3
    assert sorted(c["rec"] for c in spikes.calls) == [1, 2, 3]
    assert all(set(c) == {"rec"} for c in spikes.calls)
    assert len(Spike) == 5
    assert Spike.progress() == (1, 3)  # rec 3 made no row: it is to do again, as in DataJoint
    assert (Spike & {"rec": 1}).to_polars(order_by="spike")["time"].to_list() == [0, 0.1, 0.2]


def test_make_batch_with_own_key_attributes(spikes: SimpleNamespace) -> None:
    spikes.Detected.populate()
    assert spikes.Detected.to_dicts(order_by="KEY") == [
        {"rec": 1, "event": 3},
        {"rec": 1, "event": 103},
        {"rec": 2, "event": 2},
        {"rec": 2, "event": 102},
        {"rec": 3, "event": 0},
        {"rec": 3, "event": 100},
    ]


def test_reserved_jobs_are_keyed_by_the_make_key(spikes: SimpleNamespace) -> None:
    Spike, Recording = spikes.Spike, spikes.Recording
    Recording.insert1({"rec": 4, "count": -1})
    result = Spike.populate(reserve_jobs=True, suppress_errors=True)
    assert result["success_count"] == 3
    assert [key for key, _ in result["error_list"]] == [{"rec": 4}]
    jobs = Spike.jobs.to_polars()
    assert jobs.columns[0] == "rec" and "spike" not in jobs.columns
    assert sorted(jobs["_status"].to_list()) == ["error", "success", "success", "success"]
    spikes.calls.clear()
    Spike.populate(reserve_jobs=True)
    assert spikes.calls == [{"rec": 3}]  # the error is skipped; rec 3 made no row


def test_make_outside_its_key_is_still_refused(spikes: SimpleNamespace, schema: dj.Schema) -> None:
    Recording = spikes.Recording

    with dj.config.override(**{ALLOW.replace(".", "__"): True}):

        @schema
        class Greedy(dj.Computed):
            definition = """
            -> Recording
            n : int16
            """

            def make(self, key: dict[str, Any]) -> None:
                self.insert1({"rec": key["rec"] + 1, "n": 0})

    with pytest.raises(dj.JobError, match="keys it was not given"):
        Greedy.populate(Recording & {"rec": 1})
    assert len(Greedy) == 0


def test_stale_rows_are_recomputed_per_make_key(spikes: SimpleNamespace) -> None:
    Spike, Recording = spikes.Spike, spikes.Recording
    Spike.populate()
    Recording.update1({"rec": 1, "count": 1})
    assert sorted(Spike.stale()["rec"].to_list()) == [1, 1, 1]
    spikes.calls.clear()
    Spike.populate(recompute_stale=True)
    assert [c["rec"] for c in spikes.calls] == [1, 3]
    assert (Spike & {"rec": 1}).to_dicts() == [{"rec": 1, "spike": 0, "time": 0.0}]
    assert Spike.stale().is_empty()
