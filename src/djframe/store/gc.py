"""Garbage collection of stored objects: ``schema.gc()``.

An object is unreferenced when no SQL row holds its id any more: its row was deleted, its
value was replaced, or the transaction that wrote it failed (objects are written before the
SQL commit, so a crash leaves objects without rows, never rows without objects). ``gc``
compares each Delta table's object ids with the ids in its SQL table and removes the
unreferenced ones in one Delta commit per table (a logical delete: earlier versions keep
them for ``as_of``). Objects younger than ``min_age_seconds`` are spared, since their
transaction may still be running. With ``retention_hours``, it also vacuums: files of
versions older than that are deleted, and time travel to those versions ends.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import polars as pl

from djframe.store.history import store_attributes

if TYPE_CHECKING:
    from djframe.schema import Schema
    from djframe.table import Table

__all__ = ["collect"]

REPORT_SCHEMA = {
    "table": pl.String,
    "store": pl.String,
    "location": pl.String,
    "objects": pl.Int64,
    "unreferenced": pl.Int64,
    "removed": pl.Int64,
    "vacuumed_files": pl.Int64,
}


def referenced_ids(table: Table, names: list[str]) -> set[str]:
    data = table.proj(*names).to_arrow()
    return {str(v) for name in names for v in data.column(name).to_pylist() if v is not None}


def collect_table(
    table: Table,
    default_store: Any,
    *,
    dry_run: bool,
    retention_hours: float | None,
    min_age_seconds: float,
) -> list[dict[str, Any]]:
    from djframe.store import store_for
    from djframe.store.delta import delete_objects, list_objects, object_time, vacuum

    rows = []
    cutoff = time.time() - min_age_seconds
    for name, attrs in store_attributes(table).items():
        store = store_for(table.connection, table.full_name, name, default_store)
        uri = store.table_uri(table.info.schema, table.info.name)
        listed = list_objects(store, uri)
        if listed is None:
            continue
        stored = [str(v) for v in listed.column("_oid").to_pylist()]
        referenced = referenced_ids(table, [a.name for a in attrs])
        doomed = [o for o in stored if o not in referenced and object_time(o) < cutoff]
        removed = 0 if dry_run else delete_objects(store, uri, table.full_name, doomed)
        files = vacuum(store, uri, retention_hours, dry_run) if retention_hours is not None else []
        rows.append(
            {
                "table": table.full_name,
                "store": name or "@",
                "location": uri,
                "objects": len(stored),
                "unreferenced": len(doomed),
                "removed": removed,
                "vacuumed_files": len(files),
            }
        )
    return rows


def collect(
    schema: Schema,
    *,
    dry_run: bool = True,
    retention_hours: float | None = None,
    min_age_seconds: float = 3600.0,
) -> pl.DataFrame:
    """Find (and unless ``dry_run``, remove) unreferenced objects of a schema's tables.

    Returns one row per Delta table: its objects, the unreferenced ones, how many were
    removed and how many files vacuum deleted (or would delete, in a dry run).
    """
    from djframe.schema import table_class

    rows: list[dict[str, Any]] = []
    for info in schema.tables.values():
        if not any(a.object_table == info.full_name for a in info.heading):
            continue
        table = table_class(schema.connection, info.full_name)()
        rows += collect_table(
            table,
            schema.store,
            dry_run=dry_run,
            retention_hours=retention_hours,
            min_age_seconds=min_age_seconds,
        )
    return pl.DataFrame(rows, schema=REPORT_SCHEMA)
