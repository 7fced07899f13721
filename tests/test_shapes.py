"""The shape cache (djframe.compile.cache): every kind of node, compiled once per shape.

For each kind of expression a query is compiled, then another of the same shape with other
literals (quotes, unicode, negative and 64-bit numbers, other frames); the second must come
from the cache, give the SQL Ibis gives for it, and return the right rows. Random
expressions are checked the same way in test_differential.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

import djframe as dj
from djframe.compile import cache
from djframe.compile.cache import ibis_sql, query_sql, shape_key
from djframe.compile.lower import LowerContext
from djframe.compile.params import canonical_text, fill_template, sql_template


@pytest.fixture
def shop(schema: dj.Schema) -> dict[str, Any]:
    @schema
    class Item(dj.Manual):
        definition = """
        item : int32
        ---
        label : varchar(40)
        price : float64
        added : date
        """

    @schema
    class Sale(dj.Manual):
        definition = """
        -> Item
        sale : int16
        ---
        quantity : int32
        """

    Item.insert(
        [
            {"item": i, "label": label, "price": 1.5 * i, "added": f"2024-01-{i + 1:02d}"}
            for i, label in enumerate(["plain", "it's", "naïve ✓", "50% off", "a", "b"])
        ]
    )
    Sale.insert(
        [{"item": i % 5, "sale": s, "quantity": s * 2 - 3} for i, s in enumerate(range(12))]
    )
    return {"Item": Item, "Sale": Sale}


Build = Callable[[dict[str, Any], Any, Any], Any]
"""A query from the tables and two literals."""

SHAPES: dict[str, tuple[Build, list[tuple[Any, Any]]]] = {
    "dict": (lambda t, a, b: t["Item"] & {"item": a, "label": b}, [(1, "it's"), (2, "naïve ✓")]),
    "dict of a float": (lambda t, a, b: t["Item"] & {"price": a}, [(1.5, 0), (4.5, 0)]),
    "dict of a date": (
        lambda t, a, b: t["Item"] & {"added": a},
        [("2024-01-02", 0), ("2024-01-02", 0)],  # dates are part of the shape,
    ),
    "sql text": (
        lambda t, a, b: t["Item"] & f"item > {a} and label <> '{b}'",
        [(0, "it''s"), (2, "50% off")],
    ),
    "sql like": (lambda t, a, b: t["Item"] & f"label like '{a}%'", [("it", 0), ("na", 0)]),
    "sql date": (
        lambda t, a, b: t["Item"] & f"added >= '{a}'",
        [("2024-01-03", 0), ("2024-01-03", 0)],  # so are strings read as dates,
    ),
    "or of dicts": (lambda t, a, b: t["Item"] & [{"item": a}, {"label": b}], [(1, "a"), (4, "b")]),
    "not": (lambda t, a, b: t["Item"] - {"item": a}, [(1, 0), (3, 0)]),
    "and list": (
        lambda t, a, b: t["Sale"] & dj.AndList([f"quantity > {a}", {"item": b}]),
        [(0, 1), (5, 3)],
    ),
    "frame": (lambda t, a, b: t["Sale"] & pl.DataFrame({"item": [a, b]}), [(1, 2), (0, 4)]),
    "semi-join": (lambda t, a, b: t["Item"] & (t["Sale"] & f"quantity > {a}"), [(5, 0), (15, 0)]),
    "antijoin": (lambda t, a, b: t["Item"] - (t["Sale"] & {"sale": a}), [(3, 0), (7, 0)]),
    "join": (
        lambda t, a, b: (t["Item"] & {"item": a}) * (t["Sale"] & f"sale > {b}"),
        [(1, 0), (2, 5)],
    ),
    "proj": (
        lambda t, a, b: t["Item"].proj("label", cost=f"price * {a}", tag=f"label || '{b}'"),
        [(2, "!"), (7, "''")],
    ),
    "proj rename": (
        lambda t, a, b: (t["Item"] & {"item": a}).proj(name="label"),
        [(0, 0), (3, 0)],
    ),
    "aggr": (
        lambda t, a, b: t["Item"].aggr(
            t["Sale"] & f"quantity > {a}", n="count(*)", big=f"sum(quantity) + {b}"
        ),
        [(0, 1), (10, 2**40)],
    ),
    "union": (
        lambda t, a, b: (
            (t["Item"] & {"item": a}).proj("label") + (t["Item"] & {"item": b}).proj("price")
        ),
        [(1, 2), (3, 4)],
    ),
    "top": (
        lambda t, a, b: t["Sale"] & dj.Top(a, "quantity DESC", offset=b),
        [(3, 1), (2, 4)],
    ),
    "top without offset": (lambda t, a, b: t["Sale"] & dj.Top(a, "sale"), [(3, 0), (1, 0)]),
    "distinct": (lambda t, a, b: dj.U("item") & (t["Sale"] & f"sale < {a}"), [(4, 0), (9, 0)]),
    "group": (
        lambda t, a, b: dj.U("item").aggr(t["Sale"] & {"sale": a}, total=f"sum(quantity) * {b}"),
        [(3, 2), (5, 3)],
    ),
}


def is_cached(expr: Any) -> bool:
    key = shape_key(expr, [], {})
    return key is not None and isinstance(cache._cache.get(key), cache.Template)


def rows(expr: Any) -> list[tuple[Any, ...]]:
    return sorted(expr.to_polars().rows(), key=repr)


def fresh_rows(expr: Any) -> list[tuple[Any, ...]]:
    ctx = LowerContext()
    sql = ibis_sql(expr, ctx)
    with expr.connection.registered(ctx.frames):
        return sorted(pl.from_arrow(expr.connection.fetch_arrow(sql)).rows(), key=repr)  # type: ignore[union-attr]


@pytest.mark.parametrize("name", list(SHAPES))
def test_a_shape_seen_before_comes_from_the_cache(shop: dict[str, Any], name: str) -> None:
    build, literals = SHAPES[name]
    first, second = (build(shop, *pair) for pair in literals)
    assert rows(first) == fresh_rows(first)
    assert is_cached(second)  # the first query compiled the shape
    ctx, fresh = LowerContext(), LowerContext()
    ours, theirs = query_sql(second, ctx), ibis_sql(second, fresh)
    for mine, other in zip(ctx.frames, fresh.frames, strict=True):
        theirs = theirs.replace(f'"{other}"', f'"{mine}"')
    assert ours == theirs
    assert rows(second) == fresh_rows(second)


@pytest.mark.parametrize(
    ("build", "good", "bad"),
    [
        (lambda t, v: t["Item"] & {"added": v}, "2024-01-02", "2024-13-45"),
        (lambda t, v: t["Item"] & f"added = '{v}'", "2024-01-02", "2024-13-45"),
        (lambda t, v: t["Item"] & {"item": v}, "3", "abc"),
    ],
)
def test_values_that_are_cast_are_still_checked(
    shop: dict[str, Any], build: Any, good: str, bad: str
) -> None:
    """A value compared with an attribute of another type is cast, and checked first: it
    stays part of the shape, so a bad one is refused even after a good one was cached."""
    assert len(build(shop, good).to_polars()) == 1
    with pytest.raises(dj.QueryError):
        build(shop, bad).to_polars()


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("price", [1.5, -1.5, 1e-05, 1e300, -0.0, 0.1 + 0.2, 2.5e-310, 1e16]),
        ("item", [3, -3, 0, 2**63 - 1, -(2**63)]),
        ("label", ["", " ", "a\\b", "é✓😀", "it's", "%_"]),
    ],
)
def test_spliced_literals_are_the_ones_ibis_writes(
    shop: dict[str, Any], name: str, values: list[Any]
) -> None:
    for value in values:
        expr = shop["Item"] & {name: value}
        assert query_sql(expr, LowerContext()) == ibis_sql(expr, LowerContext()), value
    assert is_cached(shop["Item"] & {name: values[0]})


def test_the_cached_top_keeps_its_window(shop: dict[str, Any]) -> None:
    sale = shop["Sale"]
    for limit, offset in [(3, 0), (3, 2), (2, 5), (20, 1)]:
        got = (sale & dj.Top(limit, "sale DESC", offset=offset)).to_polars()["sale"].to_list()
        assert got == list(range(11, -1, -1))[offset : offset + limit]


def test_an_ibis_predicate_compiles_without_the_cache(shop: dict[str, Any]) -> None:
    from ibis import _

    expr = shop["Item"] & (_.item > 2)
    assert expr.shape([]) is None
    assert sorted(expr.to_polars()["item"]) == [3, 4, 5]


def test_other_tables_are_other_shapes(shop: dict[str, Any], schema: dj.Schema) -> None:
    @schema
    class Other(dj.Manual):
        definition = """
        item : int32
        ---
        label : varchar(40)
        """

    Other.insert1({"item": 1, "label": "other"})
    assert (shop["Item"] & {"item": 1}).fetch1("label") == "it's"
    assert (Other & {"item": 1}).fetch1("label") == "other"


@pytest.mark.parametrize(
    ("text", "template", "values"),
    [
        ("x > 3", "x > \x00i", (3,)),
        ("x1 > 3.5 and y < 1e3", "x1 > 3.5 and y < 1e3", ()),
        ("s = 'it''s' or \"col 2\" = 2", 's = \x00s or "col 2" = \x00i', ("it's", 2)),
        ("s = 'back\\slash'", "s = 'back\\slash'", ()),
        ("x = 99999999999999999999", "x = 99999999999999999999", ()),
        ("x = 1 -- a comment 'x'", "x = 1 -- a comment 'x'", ()),
    ],
)
def test_literals_are_cut_out_of_sql_text(text: str, template: str, values: tuple[Any]) -> None:
    assert sql_template(text) == (template, values)
    assert fill_template(template, iter(values)) == text.replace("'it''s'", "'it''s'")


def test_the_canonical_text_is_one_per_shape() -> None:
    assert canonical_text("x > 3 and s = 'a'") == canonical_text("x > 40 and s = 'it''s'")
    assert canonical_text("x > 3") != canonical_text("y > 3")
