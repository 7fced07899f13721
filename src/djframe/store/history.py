"""Versions of a table's rows: ``Table.history()`` and the rows of ``Table.as_of(version)``.

Each Delta commit of a table's objects and row records is a version (one per insert call,
group of makes or batch, update1 or delete; see :mod:`djframe.store.versions`).
:func:`table_history` lists those of committed transactions with the djframe metadata of
each commit (table, operation, job id, code version). :func:`rows_as_of` gives every
attribute of the rows as committed at a version: for each key, its last row record at or
before it, unless that was a delete, among the records of transactions that committed.
Objects removed by ``gc`` stay readable at the versions before their removal until
``gc(retention_hours=...)`` vacuums those versions.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from djframe.catalog import class_label
from djframe.codecs import located, parse_codec
from djframe.codecs.arrays import values_series
from djframe.errors import DataError, StoreError
from djframe.store import object_table
from djframe.store.delta import (
    MAINTENANCE,
    history,
    read_version_objects,
    snapshot,
    snapshot_columns,
)
from djframe.store.versions import INSERT, RECORD_COLUMNS, committed, from_delta, stores_of

if TYPE_CHECKING:
    from deltalake import DeltaTable

    from djframe.heading import Attribute, Heading
    from djframe.store import ObjectTable, StoredTable

__all__ = ["rows_as_of", "store_attributes", "table_history"]

METADATA = {
    "djframe.table": "table",
    "djframe.operation": "action",
    "djframe.job_id": "job_id",
    "djframe.code_version": "code_version",
}
"""Commit metadata keys djframe writes, and the history column each one becomes."""


def store_attributes(table: StoredTable) -> dict[str, list[Attribute]]:
    """A table's store-typed attributes, by store name (``""`` for the default store)."""
    return stores_of(table.heading, table.full_name)


def table_stores(table: StoredTable) -> dict[str, ObjectTable]:
    """The object table of each store ``table`` keeps objects in, by store name."""
    return {
        name: object_table(table.connection, table.full_name, name)
        for name in store_attributes(table)
    }


def table_history(table: StoredTable) -> pl.DataFrame:
    """One row per Delta commit of the table's objects, newest first; ``table`` names the
    writing table by its class (``Master.Part`` for a part)."""
    rows = []
    good = committed(table.connection, table.info.schema, table.full_name)
    for name, target in table_stores(table).items():
        for commit in history(target):
            if commit.get("djframe.operation") == MAINTENANCE:
                continue  # compaction and log retention change no row
            txn = commit.get("djframe.txn")
            if txn is not None and txn not in good:
                continue  # its transaction rolled back (or is still running)
            row: dict[str, Any] = {
                "store": name or "@",
                "version": commit["version"],
                "timestamp": dt.datetime.fromtimestamp(commit["timestamp"] / 1000, dt.timezone.utc),
                "operation": commit.get("operation"),
            }
            for key, column in METADATA.items():
                row[column] = commit.get(key)
            if row["table"] is not None:  # recorded as the SQL name; shown as the class
                row["table"] = class_label(table.connection.tables, row["table"])
            rows.append(row)
    schema: dict[str, Any] = {
        "store": pl.String,
        "version": pl.Int64,
        "timestamp": pl.Datetime("ms", "UTC"),
        "operation": pl.String,
        **dict.fromkeys(METADATA.values(), pl.String),
    }
    return pl.DataFrame(rows, schema=schema, orient="row").sort(
        "timestamp", "version", descending=True
    )


def rows_as_of(
    table: StoredTable, version: int | dt.datetime, keys: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Every attribute of the table's rows as committed at ``version`` of the Delta table of
    its row records (a version number, or the last commit at or before a time), sorted by
    the primary key; codec attributes decoded (see :func:`decoded`). See
    :mod:`djframe.store.versions`."""
    stores = table_stores(table)
    if not stores:
        raise DataError(f"{type(table).__name__} has no store-typed attributes to travel back in.")
    first, target = next(iter(stores.items()))
    delta = snapshot(target, version)
    heading = table.heading
    if delta is None:
        return decoded(table, pl.DataFrame(schema=empty_schema(heading)), {})
    data = snapshot_columns(delta, [*heading.names, "_attribute", "_oid", *RECORD_COLUMNS])
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    good = committed(table.connection, table.info.schema, table.full_name)
    frame = frame.filter(pl.col("_txn").is_null() | pl.col("_txn").is_in(list(good)))
    rows = live_rows(frame, heading)
    if keys is not None:
        rows = rows.join(keys, on=list(keys.columns), how="semi")
    snapshots = {
        first: delta,
        **{n: snapshot_at(t, delta, version) for n, t in stores.items() if n != first},
    }
    return decoded(table, rows, {n: (stores[n], d) for n, d in snapshots.items()})


def empty_schema(heading: Heading) -> dict[str, Any]:
    return {a.name: a.type.polars for a in heading}  # type: ignore[union-attr]


def live_rows(frame: pl.DataFrame, heading: Heading) -> pl.DataFrame:
    """From the committed rows of a Delta table: the last record of each key, unless it is
    a delete; and, for keys written before row records (no ``_txn``), their latest objects."""
    key = heading.primary_key
    if "_op" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("_op"))
    records = frame.filter(pl.col("_op").is_not_null())
    latest = records.sort("_txn").unique(key, keep="last", maintain_order=True)
    live = latest.filter(pl.col("_op") == INSERT)
    live = live.select([n for n in heading.names if n in live.columns])
    legacy = frame.filter(pl.col("_op").is_null() & pl.col("_txn").is_null())
    legacy = legacy.join(records.select(key), on=key, how="anti")
    if legacy.height:
        objects = legacy.sort("_oid").unique([*key, "_attribute"], keep="last")
        wide = objects.pivot(on="_attribute", index=key, values="_oid", aggregate_function="first")
        live = pl.concat([live, wide], how="diagonal_relaxed")
    return live.sort(key, nulls_last=True) if key else live


def snapshot_at(target: ObjectTable, primary: DeltaTable, version: int | dt.datetime) -> Any:
    """Another store's Delta table as it was when ``primary``'s ``version`` was committed."""
    when = version
    if isinstance(version, int):
        stamps = {c["version"]: c["timestamp"] for c in primary.history()}
        when = dt.datetime.fromtimestamp(stamps[primary.version()] / 1000, dt.timezone.utc)
    try:
        return snapshot(target, when)
    except StoreError:
        return None  # nothing was committed there yet


def decoded(
    table: StoredTable, rows: pl.DataFrame, snapshots: dict[str, tuple[ObjectTable, Any]]
) -> pl.DataFrame:
    """``rows`` in the heading's order and types, codec values decoded (arrays in typed
    columns where they fit, as ``to_polars`` gives them; other values in Object columns)."""
    columns = []
    for attr in table.heading:
        if attr.name not in rows.columns:
            columns.append(pl.Series(attr.name, [None] * rows.height, dtype=plain_dtype(attr)))
            continue
        series = rows.get_column(attr.name)
        if attr.codec:
            columns.append(codec_column(attr, series, snapshots))
        else:
            arrow = from_delta(pa.chunked_array([series.to_arrow()]), attr)
            columns.append(pl.Series(attr.name, arrow, dtype=attr.type.polars))  # type: ignore[union-attr]
    return pl.DataFrame(columns)


def plain_dtype(attr: Attribute) -> Any:
    return pl.Object if attr.codec else attr.type.polars  # type: ignore[union-attr]


def codec_column(
    attr: Attribute, series: pl.Series, snapshots: dict[str, tuple[ObjectTable, Any]]
) -> pl.Series:
    spec = parse_codec(attr.codec or "")
    values = series.to_list()
    if not spec.in_store:
        return pl.Series(
            attr.name, [None if v is None else spec.decode(v) for v in values], dtype=pl.Object
        )
    target, delta = snapshots.get(spec.store or "", (None, None))
    wanted = [str(v) for v in values if v is not None]
    if wanted and delta is None:
        raise StoreError(
            f"The objects of {attr.name} are not in {attr.codec}'s store at this version."
        )
    payloads = read_version_objects(target, delta, wanted) if wanted else {}  # type: ignore[arg-type]
    missing = [o for o in wanted if o not in payloads]
    if missing:
        raise StoreError(
            f"{len(missing)} object(s) of {attr.name} are gone from this version (e.g. "
            f"{missing[0]}): a vacuum removed them. See Table.history()."
        )
    out = [
        None if v is None else spec.decode(located(payloads[str(v)], str(v), spec.store))
        for v in values
    ]
    return values_series(attr.name, out)  # arrays as to_polars gives them
