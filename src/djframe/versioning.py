"""Versions of whole rows, as writes record them and as ``Table.as_of`` reads them.

Inserts, ``update1`` and deletes of a table with store-typed attributes record, inside their
transaction and after their statement, the rows as the table then holds them (or the keys
deleted) with the objects they wrote, in one Delta commit per store
(:mod:`djframe.store.versions` has the layout). :class:`AsOf` is the read side: the rows as
committed at a version, every attribute, shown in notebooks as an expression is.

Examples
--------
>>> Model.as_of(3)  # doctest: +SKIP
>>> (Model.as_of(datetime(2024, 5, 1)) & {"model_id": 1}).fetch1("accuracy")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from djframe._sql import quote
from djframe.compile.sql import TEXT_ON_EXPORT
from djframe.errors import DataError
from djframe.results import conform, frame_html, frame_text
from djframe.settings import config
from djframe.store.history import rows_as_of, store_attributes
from djframe.store.versions import record_deletes, record_rows, versioned

if TYPE_CHECKING:
    from djframe.catalog import TableInfo
    from djframe.connection import Connection
    from djframe.heading import Attribute
    from djframe.store import StoredTable
    from djframe.store.columns import PendingObjects

__all__ = ["AsOf", "record_deleted", "record_written"]


def record_written(
    conn: Connection,
    info: TableInfo,
    data: pa.Table,
    objects: PendingObjects | None,
    kept: set[str] | None = None,
    operation: str = "insert",
) -> None:
    """After the statement that wrote ``data``'s rows (inserted, replaced or updated): their
    objects (of the ``kept`` rows, when given) and their records, before the commit."""
    if not versioned(info):
        return
    rows = current_rows(conn, info, data.select(info.heading.primary_key))
    record_rows(conn, info, data, objects.payloads if objects else {}, kept, rows, operation)


def record_deleted(conn: Connection, info: TableInfo, source: str) -> None:
    """Before the rows whose keys are in the relation ``source`` are deleted: their delete
    records (the keys only), written before the transaction commits."""
    if not versioned(info):
        return
    columns = ", ".join(quote(k) for k in info.heading.primary_key)
    keys = conn.fetch_arrow(f"SELECT DISTINCT {columns} FROM {quote(source)}")
    record_deletes(conn, info, conform(keys, info.heading))


def current_rows(conn: Connection, info: TableInfo, keys: pa.Table) -> pa.Table:
    """Every attribute of the rows with these keys, as the table holds them now (defaults
    filled in, replaced values replaced), in the heading's Arrow types."""
    names = ", ".join(exported(a, conn) for a in info.heading)
    match = ", ".join(quote(k) for k in info.heading.primary_key)
    with conn.temporary(keys) as given:
        rows = conn.fetch_arrow(
            f"SELECT {names} FROM {info.sql_name} t WHERE ({match}) IN "
            f"(SELECT {match} FROM {quote(given)})",
            action=f"recording a version of {info.class_name}",
        )
    return conform(rows, info.heading)


def exported(attr: Attribute, conn: Connection) -> str:
    """A column as a query selects it: uuids, json (and decimals where the backend says so)
    as text, which Arrow casts (see :func:`djframe.compile.sql.final_relation`)."""
    text = TEXT_ON_EXPORT | ({"decimal"} if conn.backend.decimals_as_text else set())
    column = f"t.{quote(attr.name)}"
    if attr.type is not None and attr.type.name in text:
        return f"CAST({column} AS VARCHAR) AS {quote(attr.name)}"
    return column


class AsOf:
    """The rows of a table as committed at a version or a time (read-only), every attribute.

    Restrict by a dict or a frame of key values (``&``), read with ``to_polars``,
    ``to_pandas``, ``to_dicts`` or ``fetch1``; notebooks show it as they show a table.
    """

    def __init__(
        self, table: StoredTable, version: int | dt.datetime, keys: pl.DataFrame | None = None
    ) -> None:
        if not isinstance(version, int | dt.datetime) or isinstance(version, bool):
            raise DataError(
                f"as_of takes a version number or a datetime, not {type(version).__name__}."
            )
        if not store_attributes(table):
            raise DataError(
                f"{type(table).__name__} keeps no versions: only tables with store-typed "
                "attributes (<npy@>, <object@>, ...) record their rows in Delta Lake."
            )
        self.table, self.version, self.keys = table, version, keys

    @property
    def heading(self) -> Any:
        return self.table.heading

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
        """Every attribute, codec values decoded (arrays as ``to_polars`` gives them), sorted
        by the key."""
        keys = self.keys
        if keys is not None:
            heading = self.table.heading
            keys = keys.cast({c: heading[c].type.polars for c in keys.columns})  # type: ignore[union-attr]
        return rows_as_of(self.table, self.version, keys)

    def to_pandas(self) -> Any:
        return self.to_polars().to_pandas()

    def to_dicts(self) -> list[dict[str, Any]]:
        frame = self.to_polars()
        return [dict(zip(frame.columns, row, strict=True)) for row in frame.iter_rows()]

    def __len__(self) -> int:
        return self.to_polars().height

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

    def _preview(self) -> tuple[pl.DataFrame, int]:
        frame = self.to_polars()
        return frame.head(int(config["display.limit"])), frame.height

    def __repr__(self) -> str:
        frame, count = self._preview()
        title = f"{type(self.table).__name__} as of {self.version}"
        key, width = self.table.heading.primary_key, int(config["display.width"])
        return f"{title}\n{frame_text(frame, count, key, width)}"

    def _repr_html_(self) -> str:
        frame, count = self._preview()
        return frame_html(
            frame, count, self.table.heading.primary_key, int(config["display.width"])
        )
