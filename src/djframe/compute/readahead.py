"""Read-ahead for populate: the point queries of a group of makes answered by one query.

A make typically reads its inputs with a point query, ``(Parent & key).fetch1("v")``, and
populate runs many quick makes in one transaction (see :mod:`djframe.compute.populate`). While
such a group runs, a query that restricts one table by dicts of values, some of them key
values among the group's keys, is answered from one query that fetched the rows of that table for
every key of the group at once; each make then gets its own rows, exactly those its point
query would have returned. The first point query of each shape (table and restricted
attributes) pays for the group; the others cost a lookup.

What is never read ahead: the tables the makes write (the populated table and its parts),
queries with an order or an offset, tables with inline binary attributes (their rows may be
large), and values that are not plain ints, strings or dates. Any statement that changes
data on the connection while the group runs (an insert into another table, a delete)
forgets everything read ahead so far.

Examples
--------
>>> with reading_ahead(conn, keys, Features.heading, skip={"lab.__features"}):  # doctest: +SKIP
...     (Recording & {"rec": 3}).fetch1("rate")  # one query for every key of the group
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from djframe._sql import quote
from djframe.compile.cache import dict_restrictions, table_sql
from djframe.keyset import key_relation
from djframe.session import read_ahead

if TYPE_CHECKING:
    from djframe.algebra.expression import QueryExpression
    from djframe.compile.lower import TableRelation
    from djframe.connection import Connection
    from djframe.heading import Heading

__all__ = ["ReadAhead", "reading_ahead"]

MAX_ROWS = 100_000
"""A table with more rows than this for one group's keys is queried key by key instead."""
PLAIN_VALUES = (int, str, dt.date)
"""Value types compared exactly in Python as in SQL (bool is not one: it is an int there)."""
WIDE_TYPES = frozenset({"bytes", "blob", "longblob", "attach"})


@dataclass(frozen=True)
class Rows:
    """A table's rows for all the group's keys, sorted by them: the rows of each key value
    are ``data.slice(*by_key[value])``."""

    data: pa.Table
    by_key: dict[tuple[Any, ...], tuple[int, int]]


class ReadAhead:
    """What one group of makes has read ahead on one connection."""

    def __init__(
        self, conn: Connection, keys: pl.DataFrame, heading: Heading, skip: set[str]
    ) -> None:
        self.conn = conn
        self.keys = keys
        self.heading = heading
        self.skip = skip
        self.fetched: dict[tuple[str, tuple[str, ...]], Rows | None] = {}
        self.allowed: dict[tuple[str, ...], set[tuple[Any, ...]]] = {}

    def serve(self, expr: QueryExpression, options: Mapping[str, Any]) -> pa.Table | None:
        """The result of ``expr`` from rows read ahead, or None if it must be queried."""
        if expr.connection is not self.conn:
            return None
        if options.get("order_by") is not None or options.get("offset"):
            return None
        point = point_query(expr)
        if point is None:
            return None
        table, values = point
        names = tuple(n for n in self.keys.columns if n in values)
        if not names or table.full_name in self.skip:
            return None
        wanted = tuple(values[n] for n in names)
        if wanted not in self.allowed_values(names):
            return None
        rows = self.rows_of(table, names)
        if rows is None:
            return None
        start, count = rows.by_key.get(wanted, (0, 0))
        found = rows.data.slice(start, count)
        for name in values.keys() - set(names):  # restricted by more than the key
            found = found.filter(pc.equal(found.column(name), pa.scalar(values[name])))
        limit = options.get("limit")
        return found if limit is None else found.slice(0, limit)

    def forget(self, conn: Connection) -> None:
        """Data on ``conn`` is about to change: what was read ahead may no longer hold."""
        if conn is self.conn:
            self.fetched.clear()

    def allowed_values(self, names: tuple[str, ...]) -> set[tuple[Any, ...]]:
        if names not in self.allowed:
            self.allowed[names] = set(self.keys.select(names).iter_rows())
        return self.allowed[names]

    def rows_of(self, table: TableRelation, names: tuple[str, ...]) -> Rows | None:
        slot = (table.full_name, names)
        if slot not in self.fetched:
            self.fetched[slot] = self.fetch(table, names)
        return self.fetched[slot]

    def fetch(self, table: TableRelation, names: tuple[str, ...]) -> Rows | None:
        """One query for the rows of ``table`` matching any of the group's keys."""
        if any(a.type is not None and a.type.name in WIDE_TYPES for a in table.heading):
            return None
        columns = ", ".join(quote(n) for n in names)
        keys = self.keys.select(names).unique()
        with key_relation(self.conn, keys, self.heading) as relation:
            sql = (
                f"SELECT * FROM ({table_sql(table)}) AS t WHERE ({columns}) IN "
                f"(SELECT {columns} FROM {relation}) ORDER BY {columns} LIMIT {MAX_ROWS + 1}"
            )
            data = self.conn.fetch_arrow(sql, action=f"reading {type(table).__name__} ahead")
        if data.num_rows > MAX_ROWS:
            return None
        by_key: dict[tuple[Any, ...], tuple[int, int]] = {}
        for index, value in enumerate(
            zip(*(data.column(n).to_pylist() for n in names), strict=True)
        ):
            start, count = by_key.get(value, (index, 0))
            by_key[value] = (start, count + 1)
        return Rows(data, by_key)


def point_query(expr: QueryExpression) -> tuple[TableRelation, dict[str, Any]] | None:
    """``(table, {attribute: value})`` for a table restricted by dicts of plain values."""
    restricted = dict_restrictions(expr)
    if restricted is None:
        return None
    table, conditions = restricted
    names = table.heading.names
    values: dict[str, Any] = {}
    for condition in conditions:
        for name, value in condition.items():
            if name not in names:
                continue  # the restriction ignores it
            if type(value) not in PLAIN_VALUES or values.get(name, value) != value:
                return None
            values[name] = value
    return (table, values) if values else None


@contextmanager
def reading_ahead(
    conn: Connection, keys: pl.DataFrame, heading: Heading, skip: set[str]
) -> Iterator[ReadAhead]:
    """Answer point queries on ``conn`` for ``keys`` (columns named as in ``heading``) from
    one query per table while the block runs; ``skip``: tables never read ahead."""
    ahead = ReadAhead(conn, keys, heading, skip)
    token = read_ahead.set(ahead)
    try:
        yield ahead
    finally:
        read_ahead.reset(token)
