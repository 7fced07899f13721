"""Garbage collection of stored objects: ``schema.gc()``.

An object is unreferenced when no SQL row holds its id any more: its row was deleted, its
value was replaced, or the transaction that wrote it failed (objects are written before the
SQL commit, so a crash leaves objects without rows, never rows without objects). ``gc``
compares each Delta table's object ids with the ids in its SQL table and removes the
unreferenced ones in one Delta commit per table (a logical delete: earlier versions keep
them for ``as_of``). Objects younger than ``min_age_seconds`` are spared, since their
transaction may still be running. With ``retention_hours``, it also vacuums: files of
versions older than that are deleted, and time travel to those versions ends.

Payload files (the bytes of large values, see :mod:`djframe.store.files`) are deleted once no
index file left in the Delta table names them, i.e. once no version that can still be read
refers to them: after a vacuum, or at once for files whose index commit never happened (a
writer killed between writing its files and committing). ``min_age_seconds`` spares them too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from djframe.registry import table_class
from djframe.store import store_for
from djframe.store.delta import delete_objects, list_objects, object_time, vacuum
from djframe.store.files import FOLDER, payload_files
from djframe.store.history import store_attributes

if TYPE_CHECKING:
    from djframe.heading import Attribute
    from djframe.store import Store, StoredSchema, StoredTable
    from djframe.store.files import Files

__all__ = ["collect"]

REPORT_SCHEMA = {
    "table": pl.String,
    "store": pl.String,
    "location": pl.String,
    "objects": pl.Int64,
    "unreferenced": pl.Int64,
    "removed": pl.Int64,
    "vacuumed_files": pl.Int64,
    "orphan_files": pl.Int64,
}


def referenced_ids(table: StoredTable, names: list[str]) -> set[str]:
    data = table.proj(*names).to_arrow()
    return {str(v) for name in names for v in data.column(name).to_pylist() if v is not None}


def indexed_paths(files: Files) -> set[str]:
    """The payload files named by the index files present in the table's folder (those of
    every version that can still be read, and of commits in progress)."""
    filesystem = files.filesystem()
    listed = filesystem.get_file_info(pafs.FileSelector("", allow_not_found=True))
    named: set[str] = set()
    for info in listed:
        if info.type != pafs.FileType.File or not info.base_name.endswith(".parquet"):
            continue
        with filesystem.open_input_file(info.path) as source:
            parquet = pq.ParquetFile(source)
            if "_path" in parquet.schema_arrow.names:
                column = parquet.read(columns=["_path"]).column(0)
                named.update(str(v) for v in column.drop_null().to_pylist())
    return named


def older_than(path: str, cutoff: float) -> bool:
    """Whether a payload file (named by its object id) was made before ``cutoff``."""
    try:
        return object_time(path.rsplit("/", 1)[-1]) < cutoff
    except ValueError:
        return False  # not a file djframe wrote: leave it


def sweep_files(store: Store, uri: str, cutoff: float, dry_run: bool) -> int:
    """Delete the payload files no readable version names (count them, in a dry run)."""
    files = payload_files(store, uri)
    named = indexed_paths(files)
    doomed = [p for p in files.listing(FOLDER) if p not in named and older_than(p, cutoff)]
    return len(doomed) if dry_run else files.delete(doomed)


def collect_table(
    table: StoredTable,
    default_store: Any,
    *,
    dry_run: bool,
    retention_hours: float | None,
    min_age_seconds: float,
) -> list[dict[str, Any]]:
    rows = []
    cutoff = time.time() - min_age_seconds
    for name, attrs in store_attributes(table).items():
        store = store_for(table.connection, table.full_name, name, default_store)
        uri = store.table_uri(table.info.schema, table.info.name)
        row = collect_objects(table, attrs, store, uri, cutoff, dry_run, retention_hours)
        row["orphan_files"] = sweep_files(store, uri, cutoff, dry_run)
        if row["objects"] is not None or row["orphan_files"]:
            rows.append({"table": table.full_name, "store": name or "@", "location": uri, **row})
    return rows


def collect_objects(
    table: StoredTable,
    attrs: list[Attribute],
    store: Store,
    uri: str,
    cutoff: float,
    dry_run: bool,
    retention_hours: float | None,
) -> dict[str, Any]:
    """Remove the index rows of unreferenced objects, then vacuum (with ``retention_hours``).
    ``objects`` is None when there is no Delta table (yet)."""
    listed = list_objects(store, uri)
    if listed is None:
        return {"objects": None, "unreferenced": 0, "removed": 0, "vacuumed_files": 0}
    stored = [str(v) for v in listed.column("_oid").to_pylist()]
    referenced = referenced_ids(table, [a.name for a in attrs])
    doomed = [o for o in stored if o not in referenced and object_time(o) < cutoff]
    removed = 0 if dry_run else delete_objects(store, uri, table.full_name, doomed)
    files = vacuum(store, uri, retention_hours, dry_run) if retention_hours is not None else []
    return {
        "objects": len(stored),
        "unreferenced": len(doomed),
        "removed": removed,
        "vacuumed_files": len(files),
    }


def collect(
    schema: StoredSchema,
    *,
    dry_run: bool = True,
    retention_hours: float | None = None,
    min_age_seconds: float = 3600.0,
) -> pl.DataFrame:
    """Find (and unless ``dry_run``, remove) unreferenced objects of a schema's tables.

    Returns one row per Delta table: its objects, the unreferenced ones, how many were
    removed, how many files vacuum deleted and how many payload files no readable version
    names any more were deleted (the last two: would be deleted, in a dry run).
    """
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
