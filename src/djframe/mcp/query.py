"""The query tools: an expression of the algebra, written as text, run with a row limit.

``query`` parses the expression (:mod:`djframe.mcp.grammar`), builds it with djframe's own
operators (:mod:`djframe.mcp.evaluate`: lineage checks and portable SQL as in Python) and
returns at most ``limit`` rows, as JSON or as an Arrow IPC stream. ``explain`` shows what a
query would return (heading, primary key, lineage) and its SQL, without running it.

Examples
--------
>>> tools = Query(pipeline)  # doctest: +SKIP
>>> json.loads(tools.query("dj.U('sex').aggr(Subject, n='count(*)')"))["rows"]  # doctest: +SKIP
[{'sex': 'F', 'n': 2}, {'sex': 'M', 'n': 2}]
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import Field

import djframe as dj
from djframe.mcp.evaluate import evaluate_text
from djframe.mcp.payload import ObjectMode, arrow_ipc, attributes, document, fetch
from djframe.mcp.pipeline import Pipeline, PipelineError

__all__ = ["Attachment", "Query"]

ARROW_MIME = "application/vnd.apache.arrow.stream"
DEFAULT_LIMIT = 100

Expression = Annotated[
    str,
    Field(
        description=(
            "An expression of djframe's algebra over the pipeline's tables, as in Python: "
            "Session * Subject & \"sex = 'F'\", dj.U('sex').aggr(Subject, n='count(*)'), "
            "(Session * Subject).proj('sex', age='session_date - date_of_birth'), A - B, "
            "A.proj() + B.proj(), "
            "A & {'subject_id': 1}, A & [cond1, cond2] (or), A & dj.Top(5, 'mean DESC'), "
            "Master.Part"
        )
    ),
]


@dataclass(frozen=True)
class Attachment:
    """Binary content of a result (an Arrow IPC stream), sent base64-encoded."""

    data: bytes
    mime_type: str
    uri: str

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")


class Query:
    """Tools that run expressions of the algebra."""

    TOOLS = ("query", "explain")

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def query(
        self,
        expression: Expression,
        limit: Annotated[
            int | None,
            Field(ge=0, description="At most this many rows (default 100, or max_rows if less)"),
        ] = None,
        offset: Annotated[int, Field(ge=0, description="Skip this many rows first")] = 0,
        order_by: Annotated[
            str | list[str] | None,
            Field(description="'KEY' (default), 'attr', 'attr DESC', or a list of those"),
        ] = None,
        format: Annotated[
            Literal["json", "arrow"],
            Field(description="json: rows in the text; arrow: an Arrow IPC stream attached"),
        ] = "json",
        objects: Annotated[
            ObjectMode,
            Field(description="Stored objects: omit (default), summary (dtype, shape), include"),
        ] = "omit",
        sql: Annotated[bool, Field(description="Also return the SQL the query runs")] = False,
    ) -> Any:
        """Run a query and return its rows (at most `limit`, ordered by primary key unless
        `order_by` says otherwise) with its heading; `truncated` and `total_rows` tell when
        more rows match. Lineage errors and unknown attributes come back as errors that say
        how to fix the expression."""
        expr = evaluate_text(expression, self.pipeline.namespace)
        rows = self.limit(limit)
        frame, meta = self.rows(expr, objects, limit=rows, offset=offset, order_by=order_by)
        meta = {"expression": expression, **meta}
        if sql:
            meta["sql"] = expr.sql()
        if format == "arrow":
            attachment = Attachment(arrow_ipc(frame), ARROW_MIME, "djframe://result.arrow")
            return [document(meta), attachment]
        return document(meta, frame)

    def limit(self, asked: int | None) -> int:
        """The row limit: the one asked for, within the server's maximum, or the default."""
        maximum = self.pipeline.max_rows
        if asked is None:
            return min(DEFAULT_LIMIT, maximum)
        if asked > maximum:
            raise PipelineError(
                f"limit={asked} is above this server's maximum of {maximum} rows "
                "(djframe mcp --max-rows). Page with offset, or aggregate first."
            )
        return asked

    def rows(
        self,
        expr: dj.QueryExpression,
        objects: ObjectMode,
        *,
        limit: int,
        offset: int,
        order_by: str | list[str] | None,
    ) -> tuple[pl.DataFrame, dict[str, Any]]:
        """At most ``limit`` rows of ``expr``, and what the answer says about them."""
        order = order_by if order_by is not None else default_order(expr)
        fetched, omitted = fetch(
            expr, objects=objects, order_by=order, limit=limit + 1, offset=offset
        )
        frame = fetched.head(limit)
        truncated = fetched.height > limit
        meta: dict[str, Any] = {
            "primary_key": expr.primary_key,
            "attributes": attributes(expr.heading),
            "row_count": frame.height,
            "total_rows": len(expr) if truncated or offset else frame.height,
            "truncated": truncated,
            "omitted_objects": omitted,
        }
        if truncated:
            meta["note"] = (
                f"{meta['total_rows']} rows match; {frame.height} are shown. Raise limit (at most "
                f"{self.pipeline.max_rows}), page with offset, or restrict the query."
            )
        return frame, meta

    def explain(self, expression: Expression) -> str:
        """What a query would return, without running it: its primary key, its attributes
        (type and lineage, which joins and restrictions match on) and its SQL."""
        expr = evaluate_text(expression, self.pipeline.namespace)
        return document(
            {
                "expression": expression,
                "primary_key": expr.primary_key,
                "attributes": attributes(expr.heading),
                "sql": expr.sql(),
            }
        )


def default_order(expr: dj.QueryExpression) -> str | None:
    """The primary key, unless the expression keeps an order of its own (a dj.Top's)."""
    return None if getattr(expr, "default_order", None) else "KEY"
