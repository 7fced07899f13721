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

``gc`` collects only object tables its schema owns (:mod:`djframe.store.owner`): before it
removes anything it checks every table of the schema, and a table another database owns
(another file or server given the same store, the original of a copy) stops it with a
:class:`~djframe.errors.StoreError`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from djframe.catalog import class_label
from djframe.registry import table_class
from djframe.store import object_table
from djframe.store.delta import delete_objects, list_objects, object_time, owned, vacuum
from djframe.store.files import FOLDER, payload_files
from djframe.store.history import store_attributes

if TYPE_CHECKING:
    from djframe.heading import Attribute
    from djframe.store import ObjectTable, StoredSchema, StoredTable
    from djframe.store.files import Files

__all__ = ["collect"]

REPORT_SCHEMA = {
    "table": pl.String,
    "store": pl.String,
    "location": pl.String,
    "objects": pl.Int64,
    "unreferenced": pl.Int64,
    "spared": pl.Int64,
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
                named.update(str(v) for v in column.to_pylist() if v is not None)
    return named


def older_than(path: str, cutoff: float) -> bool:
    """Whether a payload file (named by its object id) was made before ``cutoff``."""
    try:
        return object_time(path.rsplit("/", 1)[-1]) < cutoff
    except ValueError:
        return False  # not a file djframe wrote: leave it


def sweep_files(target: ObjectTable, cutoff: float, dry_run: bool) -> int:
    """Delete the payload files no readable version names (count them, in a dry run)."""
    files = payload_files(target.store, target.uri)
    named = indexed_paths(files)
    doomed = [p for p in files.listing(FOLDER) if p not in named and older_than(p, cutoff)]
    return len(doomed) if dry_run else files.delete(doomed)


Found = tuple[str, "StoredTable", list["Attribute"], "ObjectTable"]
"""A store name, a table, its attributes kept there, and their object table."""


def object_tables(schema: StoredSchema) -> list[Found]:
    """Every object table of the schema's tables, in every store they use."""
    found: list[Found] = []
    for info in schema.tables.values():
        if not any(a.object_table == info.full_name for a in info.heading):
            continue
        table = table_class(schema.connection, info.full_name)()
        for name, attrs in store_attributes(table).items():
            target = object_table(schema.connection, info.full_name, name, schema)
            found.append((name, table, attrs, target))
    return found


def collect_table(
    found: Found, cutoff: float, dry_run: bool, retention_hours: float | None
) -> dict[str, Any] | None:
    """The report row of one object table, after collecting it (None: nothing there)."""
    name, table, attrs, target = found
    row = collect_objects(table, attrs, target, cutoff, dry_run, retention_hours)
    row["orphan_files"] = sweep_files(target, cutoff, dry_run)
    if row["objects"] is None and not row["orphan_files"]:
        return None
    label = class_label(table.connection.tables, table.full_name)
    return {"table": label, "store": name or "@", "location": target.uri, **row}


def collect_objects(
    table: StoredTable,
    attrs: list[Attribute],
    target: ObjectTable,
    cutoff: float,
    dry_run: bool,
    retention_hours: float | None,
) -> dict[str, Any]:
    """Remove the index rows of unreferenced objects, then vacuum (with ``retention_hours``).
    ``objects`` is None when there is no Delta table (yet)."""
    listed = list_objects(target)
    if listed is None:
        return {"objects": None, "unreferenced": 0, "spared": 0, "removed": 0, "vacuumed_files": 0}
    stored = [str(v) for v in listed.column("_oid").to_pylist()]
    referenced = referenced_ids(table, [a.name for a in attrs])
    unreferenced = [o for o in stored if o not in referenced]
    doomed = [o for o in unreferenced if object_time(o) < cutoff]
    removed = 0 if dry_run else delete_objects(target, doomed)
    files = vacuum(target, retention_hours, dry_run) if retention_hours is not None else []
    return {
        "objects": len(stored),
        "unreferenced": len(unreferenced),
        "spared": len(unreferenced) - len(doomed),
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

    Returns one row per Delta table: its ``table`` (by class name, ``Master.Part`` for a
    part), ``store`` and ``location``; its ``objects``; the ``unreferenced`` ones (no row
    holds them, whatever their age); of those, the ``spared`` ones (younger than
    ``min_age_seconds``, kept: their transaction may still be running); how many were
    ``removed`` (0 in a dry run, where ``unreferenced - spared`` would be); the
    ``vacuumed_files``; and the ``orphan_files``, payload files no readable version names any
    more, deleted (the last two: would be deleted, in a dry run).
    """
    found = object_tables(schema)
    for _, _, _, target in found:  # refused before anything is removed
        owned(target, "collect", claim=not dry_run)
    cutoff = time.time() - min_age_seconds
    rows = [collect_table(each, cutoff, dry_run, retention_hours) for each in found]
    return pl.DataFrame([row for row in rows if row is not None], schema=REPORT_SCHEMA)
