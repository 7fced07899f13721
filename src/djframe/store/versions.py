"""Versions of whole rows: what a table held, every attribute, at each Delta version.

A table with store-typed attributes keeps, in the Delta table of its first store (the
default store ``@`` if it uses it), beside the index rows of its objects, a **row record**
for every row a transaction wrote or deleted: the row as the database holds it after the
statement (every attribute; store attributes as their object ids), ``_op = "insert"`` (an
insert, a replace or an ``update1``) or ``"delete"`` (its key only), in the same Delta
commit as the objects the transaction wrote. Every row of a commit, object or record, has
the commit's ``_txn`` (a time-ordered id: the later of two records of one key is the later
write), and the database transaction records the ``_txn`` in the schema's hidden table
``~versions`` once the commit is made. A Delta commit is made before its transaction
commits (so that no committed row points to a missing object); a transaction that rolls back
takes its ``~versions`` row with it, so :func:`committed` knows which commits count, and
``as_of`` never shows the rows (or objects) of a transaction that failed.

Object rows have ``_op`` null; row records have ``_attribute`` and ``_oid`` null, so the
object index (``gc``, reads by id) never sees them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from djframe._sql import literal, quote
from djframe.catalog import VERSIONS, own_tables_sql
from djframe.codecs import Payload, parse_codec
from djframe.store import object_table
from djframe.store.delta import open_table, write_objects
from djframe.store.owner import owner_of, standing

if TYPE_CHECKING:
    from djframe.catalog import TableInfo
    from djframe.connection import Connection
    from djframe.heading import Attribute, Heading

__all__ = [
    "INSERT",
    "RECORD_COLUMNS",
    "committed",
    "from_delta",
    "record_deletes",
    "record_rows",
    "stores_of",
    "versioned",
]

INSERT, DELETE = "insert", "delete"
RECORD_COLUMNS = ("_txn", "_op")
"""The columns every row of a commit (``_txn``) or every row record (``_op``) has."""


def stores_of(heading: Heading, full_name: str) -> dict[str, list[Attribute]]:
    """The store-typed attributes whose objects ``full_name`` keeps, by store name (``""``:
    the default store), the store of row records first."""
    groups: dict[str, list[Attribute]] = defaultdict(list)
    for attr in heading:
        if attr.codec and attr.object_table == full_name:
            spec = parse_codec(attr.codec)
            if spec.in_store:
                groups[spec.store or ""].append(attr)
    return dict(sorted(groups.items()))


def versioned(info: TableInfo) -> bool:
    """Whether the table keeps versions of its rows (it has store-typed attributes)."""
    return bool(stores_of(info.heading, info.full_name))


ObjectEntry = tuple[str, int, str]
"""An attribute, the row of the written data it belongs to, and its object id."""


def record_rows(
    conn: Connection,
    info: TableInfo,
    data: pa.Table,
    payloads: dict[str, Payload],
    kept: set[str] | None,
    rows: pa.Table,
    operation: str = INSERT,
) -> None:
    """After the statement that wrote ``data`` (inside its transaction): the objects its rows
    refer to (of ``kept`` rows only, when given) and the records of ``rows``, the rows as the
    table now holds them, one Delta commit per store, each recorded in ``~versions``."""
    entries = object_entries(info, data, payloads, kept)
    with_op = rows.append_column("_op", pa.array([INSERT] * rows.num_rows, pa.string()))
    records = to_delta(with_op, info.heading)
    key = info.heading.primary_key
    for number, store in enumerate(stores_of(info.heading, info.full_name)):
        found = entries.get(store, [])
        if not found and number:
            continue
        rows = pa.array([row for _, row, _ in found], pa.int64())
        commit(
            conn,
            info,
            store,
            data.select(key).take(rows),
            found,
            payloads,
            records if number == 0 else None,
            operation,
        )


def record_deletes(conn: Connection, info: TableInfo, keys: pa.Table) -> None:
    """Before a transaction that deletes rows with these keys commits: their delete records
    (none where there is no Delta table yet, or it is another database's: a copy reads the
    objects it inherited and deletes only its own rows)."""
    if keys.num_rows == 0:
        return
    store = next(iter(stores_of(info.heading, info.full_name)))
    target = object_table(conn, info.full_name, store)
    table = open_table(target.store, target.uri)
    if table is None or standing(owner_of(table), target) in ("inherited", "foreign"):
        return  # no history to end, or another database's (a copy deletes its own rows only)
    with_op = keys.append_column("_op", pa.array([DELETE] * keys.num_rows, pa.string()))
    records = to_delta(with_op, info.heading)
    key = info.heading.primary_key
    commit(conn, info, store, records.select(key).slice(0, 0), [], {}, records, DELETE)


def commit(
    conn: Connection,
    info: TableInfo,
    store: str,
    keys: pa.Table,
    entries: Sequence[ObjectEntry],
    payloads: dict[str, Payload],
    records: pa.Table | None,
    operation: str = INSERT,
) -> None:
    target = object_table(conn, info.full_name, store)
    done = write_objects(
        target,
        keys,
        [name for name, _, _ in entries],
        [oid for _, _, oid in entries],
        [payloads[oid] for _, _, oid in entries],
        records,
        operation,
    )
    if done is not None:
        txn, version = done
        values = ", ".join([*(literal(v) for v in (txn, info.full_name, store)), str(int(version))])
        conn.execute(
            f"INSERT INTO {quote(info.schema, VERSIONS)} VALUES ({values})",
            action=f"recording a version of {info.class_name}",
        )


def object_entries(
    info: TableInfo, data: pa.Table, payloads: dict[str, Payload], kept: set[str] | None
) -> dict[str, list[ObjectEntry]]:
    """The objects of ``data``'s rows waiting to be written, by store."""
    groups: dict[str, list[ObjectEntry]] = defaultdict(list)
    for store, attrs in stores_of(info.heading, info.full_name).items():
        for attr in attrs:
            if attr.name not in data.column_names:
                continue
            for row, oid in enumerate(data.column(attr.name).to_pylist()):
                if oid is not None and oid in payloads and (kept is None or oid in kept):
                    groups[store].append((attr.name, row, oid))
    return groups


def to_delta(rows: pa.Table, heading: Heading) -> pa.Table:
    """Row records in types Delta Lake stores: each attribute's own Arrow type, except
    secondary times (microseconds, int64) and timestamps (UTC; a new naive timestamp column
    would need a Delta protocol upgrade). Key columns keep the type object rows give them."""
    columns = {}
    for name in rows.column_names:
        column = rows.column(name)
        if name not in heading:
            columns[name] = column
            continue
        own: pa.DataType = heading[name].type.arrow  # type: ignore[union-attr]
        if heading[name].in_key:
            columns[name] = column.cast(own)
        elif pa.types.is_time(own):
            columns[name] = pc.cast(column.cast(own), pa.time64("us")).cast(pa.int64())
        else:
            columns[name] = column.cast(delta_type(own))
    return pa.table(columns)


def delta_type(arrow: pa.DataType) -> pa.DataType:
    if pa.types.is_time(arrow):
        return pa.int64()
    if pa.types.is_timestamp(arrow):
        return pa.timestamp("us", tz="UTC")
    return arrow


def from_delta(column: pa.ChunkedArray, attr: Attribute) -> pa.ChunkedArray:
    """A row record's column in its attribute's Arrow type again (see :func:`to_delta`)."""
    wanted: pa.DataType = attr.type.arrow  # type: ignore[union-attr]
    if attr.in_key:
        return column.cast(wanted)
    if pa.types.is_time(wanted):
        return column.cast(pa.int64()).cast(pa.time64("us")).cast(wanted)
    if pa.types.is_timestamp(wanted):
        return column.cast(pa.timestamp("us", tz="UTC")).cast(wanted)
    return column.cast(wanted)


def committed(conn: Connection, schema: str, full_name: str) -> set[str]:
    """The ``_txn`` of every Delta commit of ``full_name`` whose transaction committed."""
    own = conn.fetch_arrow(own_tables_sql(schema)).column(0).to_pylist()
    if VERSIONS not in own:  # a read-only schema made before versions: none recorded
        return set()
    found = conn.fetch_arrow(
        f"SELECT txn FROM {quote(schema, VERSIONS)} WHERE table_name = {literal(full_name)}",
        action="reading versions",
    )
    return {str(v) for v in found.column(0).to_pylist()}
