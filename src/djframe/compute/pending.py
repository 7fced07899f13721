"""Rows a running ``make`` inserted, held back and written in bulk when its group of keys ends.

populate runs the makes of several keys in one transaction (see :mod:`djframe.compute.populate`);
their inserts into the populated table and its parts are checked at once (columns, types,
scope) but written together, one statement per table, before the transaction commits. A
query through djframe that reads one of those tables writes them first, so a make still
sees its own rows. Inserts that carry stored objects, and inserts into other tables, are
written at once as usual.

Examples
--------
>>> with holding(conn, ["lab.__stat", "lab.__stat__bin"]) as held:  # doctest: +SKIP
...     Stat.insert1(row)  # checked, then held
...     held.write()  # one INSERT per table
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import pyarrow as pa

from djframe._typing import OnConflict
from djframe.insert import check_duplicates, insert_rows, prepare
from djframe.session import held_rows

if TYPE_CHECKING:
    from djframe.catalog import TableInfo
    from djframe.connection import Connection

__all__ = ["Held", "holding"]


Chunk: TypeAlias = "pa.Table | list[dict[str, Any]]"
"""Rows held by one insert: checked Arrow, or dicts checked when written."""


@dataclass
class Held:
    """The rows held for one connection, by table and conflict policy, in insertion order."""

    connection: Connection
    tables: list[str]
    """Full names of the tables whose inserts are held (the target and its parts), parents
    first: the order they are written in."""
    rows: dict[tuple[str, OnConflict], tuple[TableInfo, list[Chunk]]] = field(default_factory=dict)
    written: int = 0
    """How many times held rows went to the database (a make's rows cannot be dropped then)."""
    direct: int = 0
    """How many inserts on this connection went to the database at once meanwhile."""

    def mark(self) -> tuple[int, int, dict[tuple[str, OnConflict], int]]:
        """A point to drop back to with :meth:`drop_since` (before a make runs)."""
        return self.written, self.direct, {slot: len(v[1]) for slot, v in self.rows.items()}

    def drop_since(self, mark: tuple[int, int, dict[tuple[str, OnConflict], int]]) -> bool:
        """Drop the rows held since ``mark``; False if some of them already went to the
        database (the transaction must then be rolled back instead)."""
        written, direct, sizes = mark
        if (self.written, self.direct) != (written, direct):
            return False
        for slot in list(self.rows):
            keep = sizes.get(slot, 0)
            if keep:
                del self.rows[slot][1][keep:]
            else:
                del self.rows[slot]
        return True

    def accepts(self, conn: Connection, info: TableInfo) -> bool:
        return conn is self.connection and info.full_name in self.tables

    def takes(self, conn: Connection, info: TableInfo) -> bool:
        """Whether inserts into ``info`` on ``conn`` are held (one on this connection that
        is not is counted as written at once)."""
        if conn is not self.connection:
            return False
        if info.full_name in self.tables:
            return True
        self.direct += 1
        return False

    def wrote_directly(self) -> None:
        self.direct += 1

    def hold(self, info: TableInfo, data: Chunk, on_conflict: OnConflict) -> None:
        """Hold checked rows, or dicts to be checked when written (see :meth:`hold_dicts`)."""
        slot = self.rows.setdefault((info.full_name, on_conflict), (info, []))
        slot[1].append(data)

    def hold_dicts(self, conn: Connection, info: TableInfo, rows: Any) -> bool:
        """Hold a make's rows given as dicts (``insert1(row)``) as they are; True if held.

        Converting and checking one row costs far more than the make that gives it, so the
        rows of a group's makes are converted and checked together when written: a row that
        fails then fails its group, which runs again key by key and so finds the make that
        gave it. Rows that name unknown or too few attributes, or go to a table with stored
        objects, take the usual path (and its error at once).
        """
        if not self.accepts(conn, info) or not isinstance(rows, list) or not rows:
            return False
        heading = info.heading
        first = rows[0]
        if not isinstance(first, dict) or any(attr.codec for attr in heading):
            return False
        names = first.keys()
        if not all(name in heading for name in names) or not names >= set(heading.primary_key):
            return False
        if not all(isinstance(row, dict) and row.keys() == names for row in rows):
            return False
        self.hold(info, list(rows), "error")
        return True

    def flush_for(self, conn: Connection, sql: str) -> None:
        """Before ``sql`` runs: write the held rows if it reads a table they belong to."""
        if self.rows and conn is self.connection and self.mentioned_in(sql):
            self.write()

    def mentioned_in(self, sql: str) -> bool:
        return any(info.sql_name in sql for info, _ in self.rows.values())

    def write(self) -> None:
        """Insert every held row (one statement per table and policy); nothing stays held."""
        rows, self.rows = self.rows, {}
        self.written += bool(rows)
        token = held_rows.set(None)  # the inserts below go to the database
        try:
            order = sorted(rows, key=lambda slot: self.tables.index(slot[0]))
            for slot in order:
                (_, on_conflict), (info, chunks) = slot, rows[slot]
                for tables in same_columns(checked(chunks, info)):
                    data = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
                    if len(tables) > 1:  # as if inserted one at a time: repeats are refused
                        data = check_duplicates(data, info, on_conflict)
                    insert_rows(self.connection, info, data, on_conflict)
        finally:
            held_rows.reset(token)


def checked(chunks: list[Chunk], info: TableInfo) -> list[pa.Table]:
    """The held chunks as checked Arrow tables: the dicts of all inserts that name the same
    attributes are checked and converted together."""
    tables = [chunk for chunk in chunks if isinstance(chunk, pa.Table)]
    by_names: dict[frozenset[str], list[dict[str, Any]]] = {}
    for chunk in chunks:
        if isinstance(chunk, list):
            by_names.setdefault(frozenset(chunk[0]), []).extend(chunk)
    return tables + [prepare(dicts, info) for dicts in by_names.values()]


def same_columns(tables: list[pa.Table]) -> list[list[pa.Table]]:
    """``tables`` grouped by their columns (each group goes in one statement)."""
    groups: dict[tuple[str, ...], list[pa.Table]] = {}
    for table in tables:
        groups.setdefault(tuple(sorted(table.column_names)), []).append(
            table.select(sorted(table.column_names))
        )
    return list(groups.values())


@contextmanager
def holding(conn: Connection, tables: list[str]) -> Iterator[Held]:
    """Hold inserts into ``tables`` on ``conn`` until :meth:`Held.write` (or the block ends
    with an error, when they are dropped)."""
    held = Held(conn, tables)
    token = held_rows.set(held)
    try:
        yield held
    finally:
        held_rows.reset(token)
