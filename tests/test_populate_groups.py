"""The fast paths of populate, on both backends: makes grouped into transactions with their
rows held and written in bulk, SQL cached by query shape, and few-row inserts as VALUES."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

import djframe as dj
from djframe.compile.cache import query_sql
from djframe.compile.lower import LowerContext
from djframe.compile.sql import compile_sql, final_relation


@pytest.fixture
def chain(schema: dj.Schema) -> SimpleNamespace:
    calls: list[int] = []

    @schema
    class Item(dj.Manual):
        definition = """
        item : int32
        ---
        value : float64
        """

    @schema
    class Log(dj.Manual):
        definition = """
        item : int32
        ---
        note : varchar(20)
        """

    @schema
    class Order(dj.Computed):
        definition = """
        -> Item
        ---
        seen : int64        # rows of Order when make ran
        twice : float64
        """

        class Piece(dj.Part):
            definition = """
            -> master
            piece : int16
            """

        def make(self, key: dict[str, Any]) -> None:
            calls.append(key["item"])
            value = (Item & key).fetch1("value")
            seen = len(self) if value == 7 else -1  # reads its table: the held rows go first
            self.insert1({**key, "seen": seen, "twice": 2 * value})
            if value == 7:
                assert (self & key).fetch1("twice") == 14.0  # its own row, held, is seen
            pieces = [{**key, "piece": p} for p in range(2)]
            self.Piece.insert(pieces)
            if value == 13:
                self.Piece.insert(pieces[:1])  # a duplicate, found when the group is written
            if abs(value) == 66:
                Log.insert1({**key, "note": "written at once"})
            if value < 0:
                raise ValueError("negative value")

    Item.insert(pl.DataFrame({"item": range(10), "value": [float(i) for i in range(10)]}))
    return SimpleNamespace(Item=Item, Log=Log, Order=Order, calls=calls)


def test_a_group_sees_its_own_rows_and_commits_them(chain: SimpleNamespace) -> None:
    result = chain.Order.populate()
    assert result["success_count"] == 10
    assert (chain.Order & {"item": 7}).fetch1("seen") == 7  # the rows made before it
    assert len(chain.Order.Piece) == 20
    assert len(chain.Order.provenance()) == 10
    assert chain.calls == list(range(10))


def test_a_failing_make_drops_only_its_own_rows(chain: SimpleNamespace) -> None:
    chain.Item.update1({"item": 4, "value": -1.0})
    result = chain.Order.populate(suppress_errors=True)
    assert result["success_count"] == 9
    assert [key for key, _ in result["error_list"]] == [{"item": 4}]
    assert len(chain.Order & {"item": 4}) == 0
    assert len(chain.Order.Piece & {"item": 4}) == 0
    assert len(chain.Order.Piece) == 18
    assert sorted(chain.calls) == list(range(10))  # held rows only: nothing made twice
    assert len(chain.Order.jobs.errors) == 1


def test_a_failing_make_after_a_direct_write_rolls_its_group_back(chain: SimpleNamespace) -> None:
    chain.Item.update1({"item": 2, "value": 66.0})
    chain.Item.update1({"item": 5, "value": -66.0})  # writes to Log at once, then fails
    result = chain.Order.populate(suppress_errors=True)
    assert result["success_count"] == 9
    assert [key for key, _ in result["error_list"]] == [{"item": 5}]
    assert chain.Log.to_polars()["item"].to_list() == [2]  # item 5's row rolled back
    assert sorted(chain.calls) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 9]  # made again


def test_rows_refused_when_written_find_their_key(chain: SimpleNamespace) -> None:
    chain.Item.update1({"item": 6, "value": 13.0})
    result = chain.Order.populate(suppress_errors=True)
    assert result["success_count"] == 9
    assert [key for key, _ in result["error_list"]] == [{"item": 6}]
    assert "DuplicateError" in result["error_list"][0][1]
    assert len(chain.Order.Piece) == 18


def test_the_first_error_stops_populate_after_committing_the_keys_before_it(
    chain: SimpleNamespace,
) -> None:
    chain.Item.update1({"item": 3, "value": -1.0})
    with pytest.raises(ValueError, match="negative value"):
        chain.Order.populate()
    assert sorted(r["item"] for r in chain.Order.to_dicts()) == [0, 1, 2]


def test_reserved_keys_are_grouped_too(chain: SimpleNamespace) -> None:
    result = chain.Order.populate(reserve_jobs=True)
    assert result["success_count"] == 10
    assert chain.Order.jobs.progress()["success"] == 10
    assert chain.Order.stale().is_empty()


# -- SQL by shape ------------------------------------------------------------------------
@pytest.fixture
def keyed(schema: dj.Schema) -> Any:
    @schema
    class Keyed(dj.Manual):
        definition = """
        n : int16
        name : varchar(20)
        ---
        uid = null : uuid
        amount = null : decimal(6, 2)
        """

    return Keyed


CONDITIONS = [
    {"n": 3},
    {"n": -128},
    {"n": 32767},
    {"n": 2**40},
    {"name": "it's"},
    {"name": "back\\slash"},
    {"name": "naïve ✓"},
    {"name": None},
    {"n": "7"},
    {"n": 1, "name": "a", "unknown": 5},
]


@pytest.mark.parametrize("condition", CONDITIONS, ids=str)
def test_cached_sql_is_the_sql_ibis_gives(keyed: Any, condition: dict[str, Any]) -> None:
    for options in ({}, {"limit": 2}, {"order_by": "KEY", "limit": 5, "offset": 1}):
        expr = keyed & {"n": 0} & condition
        for _ in range(2):  # compiled, then from the cache
            ours = query_sql(expr, LowerContext(), **options)
            dialect = keyed.connection.backend.dialect
            assert ours == compile_sql(final_relation(expr, LowerContext(), **options), dialect)


def test_cached_queries_return_the_right_rows(keyed: Any) -> None:
    keyed.insert([{"n": n, "name": f"x'{n}"} for n in range(5)])
    for n in range(5):
        assert (keyed & {"n": n}).fetch1("name") == f"x'{n}"
        assert (keyed & {"name": f"x'{n}"}).fetch1("n") == n


def test_frame_restrictions_reuse_their_sql(keyed: Any) -> None:
    keyed.insert([{"n": n, "name": f"x{n}"} for n in range(6)])
    dialect = keyed.connection.backend.dialect
    for wanted in ([1, 2], [4], [0, 5, 9]):
        frame = pl.DataFrame({"n": wanted, "other": 0}, schema={"n": pl.Int16, "other": pl.Int8})
        expr = keyed & frame
        ctx = LowerContext()
        ours = query_sql(expr, ctx)
        [name] = ctx.frames  # the frame is uploaded under a name of its own each time
        fresh = LowerContext()
        theirs = compile_sql(final_relation(expr, fresh), dialect)
        assert ours == theirs.replace(next(iter(fresh.frames)), name)
        assert sorted(expr.to_polars()["n"]) == [n for n in wanted if n < 6]


# -- few rows as VALUES ----------------------------------------------------------------------
def test_a_few_rows_of_every_kind_go_in_as_values(schema: dj.Schema) -> None:
    @schema
    class Kinds(dj.Manual):
        definition = """
        k : int64
        ---
        x = null : float64
        s = null : varchar(30)
        d = null : date
        t = null : datetime
        b = null : bool
        """

    rows = [
        {"k": 1, "x": math.nan, "s": "it's", "d": dt.date(2020, 1, 2),
         "t": dt.datetime(2020, 1, 2, 3, 4, 5, 678), "b": True},
        {"k": 2, "x": math.inf, "s": None, "d": None, "t": None, "b": None},
        {"k": 3, "x": -math.inf, "s": "back\\slash", "d": None, "t": None, "b": False},
    ]  # fmt: skip
    Kinds.insert(rows)
    got = Kinds.to_dicts(order_by="KEY")
    assert math.isnan(got[0]["x"]) and got[1]["x"] == math.inf and got[2]["x"] == -math.inf
    assert [g["s"] for g in got] == ["it's", None, "back\\slash"]
    assert got[0]["d"] == dt.date(2020, 1, 2)
    assert got[0]["t"] == dt.datetime(2020, 1, 2, 3, 4, 5, 678)
    assert [g["b"] for g in got] == [True, None, False]


def test_a_missing_parent_is_named_on_the_values_path(schema: dj.Schema) -> None:
    @schema
    class Parent(dj.Manual):
        definition = """
        p : int32
        """

    @schema
    class Child(dj.Manual):
        definition = """
        -> Parent
        c : int32
        """

    Parent.insert1({"p": 1})
    Child.insert1({"p": 1, "c": 1})
    with pytest.raises(dj.MissingParentError, match="Parent"):
        Child.insert([{"p": 1, "c": 2}, {"p": 9, "c": 1}])
    assert len(Child) == 1
