"""dj.Top: ORDER BY with LIMIT and OFFSET as a restriction, and how Tops merge."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl
import pytest

import djframe as dj


@pytest.fixture
def scores(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class Player(dj.Manual):
        definition = """
        player : int32
        ---
        team : varchar(8)
        score : float64
        """

    @schema
    class Game(dj.Manual):
        definition = """
        -> Player
        game : int32
        ---
        points : int32
        """

    Player.insert(
        pl.DataFrame(
            {
                "player": list(range(10)),
                "team": ["red", "blue"] * 5,
                "score": [5.0, 9.0, 1.0, 9.0, 7.0, 3.0, 8.0, 2.0, 6.0, 4.0],
            }
        )
    )
    Game.insert(
        pl.DataFrame({"player": [1, 1, 3, 6], "game": [1, 2, 1, 1], "points": [3, 4, 5, 6]})
    )
    return SimpleNamespace(Player=Player, Game=Game)


def players(expr: dj.QueryExpression) -> list[int]:
    return [row["player"] for row in expr.to_dicts()]


def test_top_by_key_is_the_default(scores: SimpleNamespace) -> None:
    assert players(scores.Player & dj.Top()) == [0]
    assert players(scores.Player & dj.Top(3)) == [0, 1, 2]


def test_top_in_descending_order_with_ties_broken_by_key(scores: SimpleNamespace) -> None:
    best = scores.Player & dj.Top(3, "score DESC")
    assert players(best) == [1, 3, 6]  # 9.0 (players 1 and 3, by key), then 8.0
    assert best.to_polars()["score"].to_list() == [9.0, 9.0, 8.0]
    assert len(best) == 3
    assert best.keys() == [{"player": 1}, {"player": 3}, {"player": 6}]


def test_top_with_offset_and_no_limit(scores: SimpleNamespace) -> None:
    assert players(scores.Player & dj.Top(2, "score", offset=1)) == [7, 5]
    assert players(scores.Player & dj.Top(None, "KEY", offset=8)) == [8, 9]


def test_restriction_after_top_filters_the_kept_rows(scores: SimpleNamespace) -> None:
    best = scores.Player & dj.Top(4, "score DESC")  # players 1, 3, 6, 4
    assert sorted(players(best & {"team": "blue"})) == [1, 3]
    assert sorted(players(best & "score < 9")) == [4, 6]
    assert sorted(players(best - scores.Game)) == [4]


def test_top_after_restriction(scores: SimpleNamespace) -> None:
    red = scores.Player & {"team": "red"}
    assert players(red & dj.Top(2, "score DESC")) == [6, 4]


def test_top_of_a_join_and_an_aggregation(scores: SimpleNamespace) -> None:
    joined = scores.Player * scores.Game & dj.Top(2, "points DESC")
    assert [r["points"] for r in joined.to_dicts()] == [6, 5]
    totals = scores.Player.aggr(scores.Game, total="sum(points)") & dj.Top(1, "total DESC")
    assert totals.fetch1("player", "total") == (1, 7)


def test_same_order_merges_exactly(scores: SimpleNamespace) -> None:
    base = scores.Player & dj.Top(5, "score DESC")  # 1, 3, 6, 4, 8
    merged = base & dj.Top(5, "score DESC", offset=3)
    assert type(merged) is type(base)
    assert merged.top == dj.Top(2, "score DESC", 3)  # type: ignore[attr-defined]
    assert players(merged) == [4, 8]
    inherited = base & dj.Top(2, None, offset=1)
    assert players(inherited) == [3, 6]


def test_different_order_nests(scores: SimpleNamespace) -> None:
    best_by_score = scores.Player & dj.Top(4, "score DESC")  # 1, 3, 6, 4
    lowest_keys = best_by_score & dj.Top(2, "KEY")
    assert players(lowest_keys) == [1, 3]
    assert players(lowest_keys.proj()) == [1, 3]


def test_explicit_order_overrides_the_top_order(scores: SimpleNamespace) -> None:
    best = scores.Player & dj.Top(3, "score DESC")
    rows = best.to_dicts(order_by="player DESC")
    assert [r["player"] for r in rows] == [6, 3, 1]


def test_zero_limit_gives_no_rows(scores: SimpleNamespace) -> None:
    assert len(scores.Player & dj.Top(0)) == 0


def test_top_on_the_class_and_in_sql(scores: SimpleNamespace) -> None:
    sql = (scores.Player & dj.Top(3, "score DESC")).sql()
    assert "LIMIT" in sql.upper() and "ORDER BY" in sql.upper()


def test_delete_the_top_rows(scores: SimpleNamespace) -> None:
    (scores.Player & dj.Top(1, "score")).delete(prompt=False)  # player 2, the lowest score
    assert 2 not in players(scores.Player)
    assert len(scores.Player) == 9


@pytest.mark.parametrize(
    "condition",
    [
        lambda: [dj.Top(2)],
        lambda: dj.AndList([{"team": "red"}, dj.Top(2)]),
        lambda: dj.Not(dj.Top(2)),
    ],
)
def test_top_inside_a_combination_is_refused(scores: SimpleNamespace, condition) -> None:
    with pytest.raises(dj.QueryError, match="not a condition"):
        scores.Player & condition()


def test_antirestriction_by_top_is_refused(scores: SimpleNamespace) -> None:
    with pytest.raises(dj.QueryError, match="cannot be negated"):
        scores.Player - dj.Top(2)


def test_unknown_order_attribute(scores: SimpleNamespace) -> None:
    with pytest.raises(dj.MissingAttributeError, match="rank"):
        scores.Player & dj.Top(2, "rank DESC")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": -1}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"offset": -2}, "offset"),
        ({"order_by": 3}, "order_by"),
    ],
)
def test_bad_top_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(dj.QueryError, match=message):
        dj.Top(**kwargs)


def test_bad_direction(scores: SimpleNamespace) -> None:
    with pytest.raises(dj.QueryError, match="DESC"):
        scores.Player & dj.Top(2, "score DOWN")
