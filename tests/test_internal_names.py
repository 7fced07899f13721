"""Tables and attributes named like djframe's own aliases and working columns (issue 14,
item 8): a table ``s`` (``update1``'s alias was ``s``), a key ``count_all`` (the Arrow
count of repeated keys), tables and attributes ``t0``, ``t1`` (Ibis's aliases). djframe's
own names carry a ``~``, which no user's name can. On every backend."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import djframe as dj


@pytest.fixture
def named(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class S(dj.Manual):
        definition = """
        s : int32
        ---
        t = 0 : int32
        v = null : varchar(10)
        """

    @schema
    class T(dj.Manual):
        definition = """
        -> S
        k : int32
        ---
        p = 0 : int32
        """

    @schema
    class Counted(dj.Manual):
        definition = """
        count_all : int32
        ---
        new = 0 : int32
        """

    @schema
    class T0(dj.Manual):
        definition = """
        t0 : int32
        ---
        t1 = 0 : int32
        """

    @schema
    class T1(dj.Manual):
        definition = """
        -> T0
        t2 : int32
        ---
        t3 = 0 : int32
        """

    return SimpleNamespace(S=S, T=T, Counted=Counted, T0=T0, T1=T1)


def test_update1_of_a_table_named_s(named: SimpleNamespace) -> None:
    named.S.insert([{"s": 1, "t": 2, "v": "a"}, {"s": 2, "t": 3, "v": "b"}])
    named.S.update1({"s": 1, "t": 9, "v": None})
    assert named.S.to_dicts(order_by="s") == [
        {"s": 1, "t": 9, "v": None},
        {"s": 2, "t": 3, "v": "b"},
    ]
    named.T.insert([{"s": 1, "k": 1}])
    named.T.update1({"s": 1, "k": 1, "p": 4})
    assert named.T.fetch1("p") == 4
    with pytest.raises(dj.DataError, match="found no row"):
        named.S.update1({"s": 7, "t": 1})


def test_repeated_key_named_count_all(named: SimpleNamespace) -> None:
    rows = [{"count_all": 1, "new": 1}, {"count_all": 1, "new": 2}]
    with pytest.raises(dj.DuplicateError, match="'count_all': 1"):
        named.Counted.insert(rows)
    assert len(named.Counted()) == 0
    named.Counted.insert(rows, replace=True)
    assert named.Counted.to_dicts() == [{"count_all": 1, "new": 2}]


@pytest.mark.parametrize(("option", "kept"), [("skip_duplicates", 1), ("replace", 2)])
def test_repeats_within_one_insert_keep_every_key(
    named: SimpleNamespace, option: str, kept: int
) -> None:
    """The rows kept of repeated keys were taken by the wrong index: other keys' rows were
    lost and replace kept the first."""
    rows = [{"count_all": 1, "new": 1}, {"count_all": 1, "new": 2}, {"count_all": 2, "new": 3}]
    named.Counted.insert(rows, **{option: True})
    assert named.Counted.to_dicts(order_by="count_all") == [
        {"count_all": 1, "new": kept},
        {"count_all": 2, "new": 3},
    ]


def test_algebra_over_tables_named_like_ibis_aliases(named: SimpleNamespace) -> None:
    named.T0.insert([{"t0": i, "t1": i} for i in range(4)])
    named.T1.insert([{"t0": i, "t2": j, "t3": j} for i in range(4) for j in range(3)])
    assert len(named.T0 * named.T1) == 12
    assert len(named.T0 - (named.T1 & "t3 > 1")) == 0
    top = named.T0.aggr(named.T1, t4="max(t3)") & "t0 > 1"
    assert top.to_dicts(order_by="t0") == [{"t0": 2, "t4": 2}, {"t0": 3, "t4": 2}]
    named.T1.update1({"t0": 1, "t2": 1, "t3": 7})
    assert (named.T1 & {"t0": 1, "t2": 1}).fetch1("t3") == 7
