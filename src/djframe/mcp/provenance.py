"""The provenance tools: how computed rows came about, which are stale, and the versions of a
table's stored objects (Delta Lake history and time travel).

They call the library's ``provenance(key)``, ``stale()``, ``history()`` and ``as_of()``.
A table with no rows has no provenance to read, and asking would declare its provenance
table, which a read-only database refuses, so an empty answer is given without asking.

Examples
--------
>>> tools = Provenance(pipeline)  # doctest: +SKIP
>>> json.loads(tools.stale("Features"))["rows"]  # doctest: +SKIP
[]
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import polars as pl
from pydantic import Field

from djframe.mcp.look import AUTO, Objects, TableName
from djframe.mcp.payload import document, plain_objects
from djframe.mcp.pipeline import Pipeline, PipelineError

__all__ = ["Provenance"]

Key = Annotated[
    dict[str, Any] | None,
    Field(description="Restrict to rows matching these attribute values, e.g. {'subject_id': 1}"),
]
Limit = Annotated[int, Field(ge=0, le=10_000, description="At most this many rows")]


class Provenance:
    """Tools on provenance, staleness and stored-object versions."""

    TOOLS = ("provenance", "stale", "history", "as_of")

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def computed(self, name: str) -> Any:
        cls = self.pipeline.table(name)
        if cls.tier not in AUTO:
            raise PipelineError(
                f"{name} is a {cls.tier} table: only Imported and Computed rows have provenance."
            )
        return cls

    def provenance(self, table: TableName, key: Key = None, limit: Limit = 100) -> str:
        """How rows of an Imported or Computed table were computed: job id, code version,
        start time, duration, user, host and the digest of the upstream rows used."""
        cls = self.computed(table)
        frame = cls.provenance(key) if len(cls) else pl.DataFrame()
        return rows_document(table, frame, limit)

    def stale(self, table: TableName, limit: Limit = 100) -> str:
        """The rows whose upstream rows or code version changed since they were computed,
        with the cause (upstream, code or both); populate with recompute_stale fixes them."""
        cls = self.computed(table)
        frame = cls.stale() if len(cls) else pl.DataFrame()
        return rows_document(table, frame, limit)

    def history(self, table: TableName, limit: Limit = 50) -> str:
        """The versions of a table's rows and stored objects, newest first: one row per Delta
        commit of a committed transaction (store, version, timestamp, operation, action, job
        id, code version)."""
        return rows_document(table, self.pipeline.table(table).history(), limit)

    def as_of(
        self,
        table: TableName,
        version: Annotated[
            int | str,
            Field(description="A Delta version number (see history) or an ISO timestamp"),
        ],
        key: Key = None,
        limit: Limit = 100,
        objects: Objects = "summary",
    ) -> str:
        """A table's rows as they were committed at a version or a time (time travel), every
        attribute; never rows of a transaction that rolled back."""
        at = version if isinstance(version, int) else moment(version)
        past = self.pipeline.table(table).as_of(at)
        if key:
            past = past & key
        return rows_document(table, plain_objects(past.to_polars(), objects), limit)


def moment(text: str) -> int | dt.datetime:
    """A version number written as text, or an ISO timestamp (UTC unless it names a zone)."""
    if text.strip().isdigit():
        return int(text)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise PipelineError(
            f"version={text!r} is neither a version number nor an ISO timestamp "
            "such as 2025-06-01T12:00:00."
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def rows_document(table: str, frame: pl.DataFrame, limit: int) -> str:
    meta = {"table": table, "row_count": min(frame.height, limit), "total_rows": frame.height}
    return document(meta, frame.head(limit))
