"""Key sets as relations (djframe.keyset): the keys come back exactly, however they are staged."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import djframe as dj
from djframe.keyset import INLINE_LIMIT, key_relation

AWKWARD = ['say "hi"', "it's", "back\\slash", "{braces}", "a,b", " spaced ", "", "NULL", "ünï"]


def declared(schema: dj.Schema) -> type[dj.Manual]:
    @schema
    class Keyed(dj.Manual):
        definition = """
        n : int32
        name : varchar(20)
        day : date
        """

    return Keyed


def read_back(conn: dj.Connection, keys: pl.DataFrame, heading: object) -> tuple[str, pl.DataFrame]:
    names = ", ".join(f'"{n}"' for n in keys.columns)
    with key_relation(conn, keys, heading) as relation:  # type: ignore[arg-type]
        data = conn.fetch_arrow(f"SELECT {names} FROM {relation}")
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return relation, frame.cast(dict(keys.schema))  # type: ignore[arg-type]


@pytest.mark.parametrize("count", [1, INLINE_LIMIT, INLINE_LIMIT + 1, 3000])
def test_integer_and_text_keys_come_back_exactly(schema: dj.Schema, count: int) -> None:
    table = declared(schema)()
    names = [AWKWARD[i % len(AWKWARD)] + str(i // len(AWKWARD)) for i in range(count)]
    keys = pl.DataFrame({"n": [i - count // 2 for i in range(count)], "name": names})
    keys = keys.cast({"n": pl.Int32})
    relation, back = read_back(schema.connection, keys, table.heading)
    assert back.sort("n").equals(keys.sort("n"))
    many = count > INLINE_LIMIT
    assert ("unnest" in relation) == (many and schema.connection.backend.uploads_relations)


def test_keys_of_other_types_are_uploaded(schema: dj.Schema) -> None:
    table = declared(schema)()
    days = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(INLINE_LIMIT + 5)]
    keys = pl.DataFrame({"n": range(len(days)), "day": days}).cast({"n": pl.Int32})
    relation, back = read_back(schema.connection, keys, table.heading)
    assert "unnest" not in relation
    assert back.sort("n").equals(keys)


@pytest.mark.parametrize("nulls", [False, True])
def test_restricting_by_a_frame_of_awkward_text_matches_exactly(
    schema: dj.Schema, nulls: bool
) -> None:
    """A frame a query restricts by is a temporary table (on PostgreSQL made from arrays
    where it holds integers and text without nulls, else uploaded): its values arrive as given."""
    table = declared(schema)()
    names = [AWKWARD[i % len(AWKWARD)] + str(i) for i in range(300)]
    day = dt.date(2024, 1, 1)
    rows = pl.DataFrame({"n": range(300), "name": names, "day": [day] * 300})
    table.insert(rows.cast({"n": pl.Int32}))
    wanted = pl.DataFrame({"name": names[::2] + ([None] if nulls else [])})
    found = (table & wanted).to_polars().sort("n")
    assert found["name"].to_list() == names[::2]
