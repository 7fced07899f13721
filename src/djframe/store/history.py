"""Versions of a table's stored objects: ``Table.history()`` and ``Table.as_of(version)``.

Each Delta commit of a table's objects is a version. :func:`table_history` lists them with
the djframe metadata of each commit (table, operation, job id, code version).
:class:`AsOf` reads the stored attributes as they were at a version: for every primary key,
the value of each store-typed attribute written last at or before that version, among the
objects the Delta table held then. Values removed by ``gc`` stay readable at the versions
before their removal until ``gc(retention_hours=...)`` vacuums those versions.
Objects written by a transaction that failed, if not yet removed by ``gc``, count as written.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import polars as pl

from djframe.catalog import class_label
from djframe.codecs import parse_codec
from djframe.codecs.arrays import values_series
from djframe.errors import DataError
from djframe.store import object_table
from djframe.store.delta import MAINTENANCE, history, latest_objects, read_version_objects

if TYPE_CHECKING:
    from djframe.heading import Attribute
    from djframe.store import ObjectTable, StoredTable

__all__ = ["AsOf", "store_attributes", "table_history"]

METADATA = {
    "djframe.table": "table",
    "djframe.operation": "action",
    "djframe.job_id": "job_id",
    "djframe.code_version": "code_version",
}
"""Commit metadata keys djframe writes, and the history column each one becomes."""


def store_attributes(table: StoredTable) -> dict[str, list[Attribute]]:
    """A table's store-typed attributes, by store name (``""`` for the default store)."""
    groups: dict[str, list[Attribute]] = defaultdict(list)
    for attr in table.heading:
        if attr.codec and attr.object_table == table.full_name:
            spec = parse_codec(attr.codec)
            if spec.in_store:
                groups[spec.store or ""].append(attr)
    return dict(groups)


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
    for name, target in table_stores(table).items():
        for commit in history(target):
            if commit.get("djframe.operation") == MAINTENANCE:
                continue  # compaction and log retention change no row
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


class AsOf:
    """The stored attributes of a table as they were at a version or a time (read-only).

    Examples
    --------
    >>> Features.as_of(3).to_polars()  # doctest: +SKIP
    >>> (Features.as_of(datetime(2024, 5, 1)) & {"recording_id": 1}).fetch1("spectrum")  # doctest: +SKIP
    """

    def __init__(
        self, table: StoredTable, version: int | dt.datetime, keys: pl.DataFrame | None = None
    ) -> None:
        if not isinstance(version, int | dt.datetime):
            raise DataError(
                f"as_of takes a version number or a datetime, not {type(version).__name__}."
            )
        if not store_attributes(table):
            raise DataError(
                f"{type(table).__name__} has no store-typed attributes to travel back in."
            )
        self.table, self.version, self.keys = table, version, keys

    def __and__(self, condition: Any) -> AsOf:
        """Restrict to keys: a dict or a frame of primary-key values."""
        if isinstance(condition, dict):
            condition = pl.DataFrame([condition])
        frame = condition if isinstance(condition, pl.DataFrame) else pl.DataFrame(condition)
        key = [c for c in frame.columns if c in self.table.heading.primary_key]
        frame = frame.select(key).unique()
        if self.keys is not None:
            frame = self.keys.join(frame, on=key, how="inner") if key else self.keys
        return AsOf(self.table, self.version, frame)

    def to_polars(self) -> pl.DataFrame:
        """Primary key and stored attributes (decoded; arrays as ``to_polars`` gives them)."""
        key = self.table.heading.primary_key
        names = [a.name for attrs in store_attributes(self.table).values() for a in attrs]
        values: dict[tuple[Any, ...], dict[str, Any]] = {}
        for name, target in table_stores(self.table).items():
            self._collect(target, store_attributes(self.table)[name], values)
        ordered = sorted(values, key=lambda k: tuple((v is None, v) for v in k))
        columns: dict[str, pl.Series] = {
            k: pl.Series(k, [t[i] for t in ordered], dtype=self.table.heading[k].type.polars)  # type: ignore[union-attr]
            for i, k in enumerate(key)
        }
        for n in names:
            columns[n] = values_series(n, [values[t].get(n) for t in ordered])
        return pl.DataFrame(list(columns.values())) if columns else pl.DataFrame()

    def _collect(
        self,
        target: ObjectTable,
        attrs: list[Attribute],
        out: dict[tuple[Any, ...], dict[str, Any]],
    ) -> None:
        key = self.table.heading.primary_key
        found = latest_objects(target, key, self.version)
        if found is None:
            return
        ids, delta = found
        frame = pl.from_arrow(ids)
        assert isinstance(frame, pl.DataFrame)
        if self.keys is not None:
            frame = frame.join(self.keys, on=list(self.keys.columns), how="semi")
        payloads = read_version_objects(target, delta, frame.get_column("_oid").to_list())
        specs = {a.name: parse_codec(a.codec or "") for a in attrs}
        for row in frame.iter_rows(named=True):
            spec = specs.get(row["_attribute"])
            if spec is not None:
                entry = out.setdefault(tuple(row[k] for k in key), {})
                entry[row["_attribute"]] = spec.decode(payloads[row["_oid"]])

    def to_dicts(self) -> list[dict[str, Any]]:
        frame = self.to_polars()
        return [dict(zip(frame.columns, row, strict=True)) for row in frame.iter_rows()]

    def fetch1(self, *attributes: str) -> Any:
        rows = self.to_dicts()
        if len(rows) != 1:
            raise DataError(
                f"fetch1 expects exactly one row as of {self.version}; there are {len(rows)}."
            )
        row = rows[0]
        if not attributes:
            return row
        values = tuple(row.get(a) for a in attributes)
        return values[0] if len(values) == 1 else values

    def __repr__(self) -> str:
        return f"<{type(self.table).__name__} as of {self.version}>"
