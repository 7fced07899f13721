"""Rows a running ``make`` inserted, held back and written in bulk when its group of keys ends.

populate runs the makes of several keys in one transaction (see :mod:`djframe.compute.populate`);
their inserts into the populated table and its parts are checked at once (columns, types,
scope) but written together, one statement per table, before the transaction commits; the
stored objects they carry (``<npy@>`` arrays, ...) go to the store together too, one Delta
commit per table and store for the whole group, after the rows' statement and before the
commit, so no committed row ever points to a missing object. A query through djframe that
reads one of those tables writes them first, so a make still sees its own rows. Inserts into
other tables are written at once as usual.

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
from djframe.store.columns import PendingObjects, encode_rows

if TYPE_CHECKING:
    from djframe.catalog import TableInfo
    from djframe.connection import Connection

__all__ = ["Held", "holding"]


@dataclass(frozen=True)
class Stored:
    """Checked rows of one insert with the stored objects they refer to."""

    data: pa.Table
    objects: PendingObjects


Chunk: TypeAlias = "pa.Table | list[dict[str, Any]] | Stored"
"""Rows held by one insert: checked Arrow, dicts checked when written, or checked rows with
their objects."""


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

    def hold(
        self,
        info: TableInfo,
        data: Chunk,
        on_conflict: OnConflict,
        objects: PendingObjects | None = None,
    ) -> None:
        """Hold checked rows (with the objects they refer to), or dicts to be checked when
        written (see :meth:`hold_dicts`)."""
        slot = self.rows.setdefault((info.full_name, on_conflict), (info, []))
        stored = objects and isinstance(data, pa.Table)
        slot[1].append(Stored(data, objects) if stored else data)  # type: ignore[arg-type]

    def hold_dicts(self, conn: Connection, info: TableInfo, rows: Any) -> bool:
        """Hold a make's rows given as dicts (``insert1(row)``) as they are; True if held.

        Converting and checking one row costs far more than the make that gives it, so the
        rows of a group's makes are converted and checked together when written: a row that
        fails then fails its group, which runs again key by key and so finds the make that
        gave it; their codec values (``<npy@>`` arrays, ...) are encoded together then too.
        Rows that name unknown or too few attributes take the usual path (and its error at
        once).
        """
        if not self.accepts(conn, info) or not isinstance(rows, list) or not rows:
            return False
        heading = info.heading
        first = rows[0]
        if not isinstance(first, dict):
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
                self.write_chunks(info, chunks, on_conflict)
        finally:
            held_rows.reset(token)

    def write_chunks(self, info: TableInfo, chunks: list[Chunk], on_conflict: OnConflict) -> None:
        """One statement per set of columns, and one object write for the rows it carries."""
        for group in same_columns(checked(chunks, info)):
            tables = [data for data, _ in group]
            parts = [objects for _, objects in group if objects]
            objects = PendingObjects.joined(info, parts) if parts else None
            self.insert(info, tables, on_conflict, objects)

    def insert(
        self,
        info: TableInfo,
        tables: list[pa.Table],
        on_conflict: OnConflict,
        objects: PendingObjects | None,
    ) -> None:
        data = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        if len(tables) > 1:  # as if inserted one at a time: repeats are refused
            data = check_duplicates(data, info, on_conflict)
        insert_rows(self.connection, info, data, on_conflict, objects)


def checked(chunks: list[Chunk], info: TableInfo) -> list[tuple[pa.Table, PendingObjects | None]]:
    """The held chunks as checked Arrow tables with their objects: the dicts of all inserts
    that name the same attributes are checked and converted together."""
    tables: list[tuple[pa.Table, PendingObjects | None]] = []
    by_names: dict[frozenset[str], list[dict[str, Any]]] = {}
    for chunk in chunks:
        if isinstance(chunk, list):
            by_names.setdefault(frozenset(chunk[0]), []).extend(chunk)
        elif isinstance(chunk, Stored):
            tables.append((chunk.data, chunk.objects))
        else:
            tables.append((chunk, None))
    return tables + [encoded(dicts, info) for dicts in by_names.values()]


def encoded(rows: list[dict[str, Any]], info: TableInfo) -> tuple[pa.Table, PendingObjects | None]:
    """Held dict rows encoded (codec values) and checked, in one pass for all of them."""
    data, objects = encode_rows(rows, info)
    return prepare(data, info), objects or None


def same_columns(
    tables: list[tuple[pa.Table, PendingObjects | None]],
) -> list[list[tuple[pa.Table, PendingObjects | None]]]:
    """``tables`` grouped by their columns (each group goes in one statement)."""
    groups: dict[tuple[str, ...], list[tuple[pa.Table, PendingObjects | None]]] = {}
    for table, objects in tables:
        names = tuple(sorted(table.column_names))
        groups.setdefault(names, []).append((table.select(list(names)), objects))
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
