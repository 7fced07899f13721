"""The look tools: what the pipeline is, what one table holds, how tables depend on each other,
and what is left to compute or has failed.

Each method of :class:`Look` is one tool; its docstring is what the agent reads about it, and
each returns a JSON document (the diagram: Mermaid text). Nothing here writes, and nothing
declares a job queue that does not exist yet (which a read-only database would refuse).

Examples
--------
>>> look = Look(pipeline)  # doctest: +SKIP
>>> json.loads(look.table("Subject", rows=3))["rows"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import polars as pl
from pydantic import Field

import djframe as dj
from djframe.mcp.payload import ObjectMode, attributes, document, fetch
from djframe.mcp.pipeline import Pipeline

__all__ = ["Look"]

AUTO = {"imported", "computed"}
TableName = Annotated[
    str, Field(description="A table as expressions name it: Subject, Features.Band")
]
Objects = Annotated[
    ObjectMode,
    Field(
        description="Stored objects (<npy@>, <blob>, ...): omit, summary (dtype and shape) or include"
    ),
]


class Look:
    """Tools that describe the pipeline."""

    TOOLS = ("describe", "table", "diagram", "progress")

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def describe(self) -> str:
        """The whole pipeline as JSON: per schema its tables (the name to use in queries,
        tier, comment, primary key, attributes with types, lineage and comments, foreign
        keys, row counts; for computed tables the remaining work and job counts), and this
        server's mode (read-only or read-write) and row limit. Start here."""
        pipeline = self.pipeline
        return json.dumps(
            {
                "pipeline": pipeline.name,
                "mode": "read-only" if pipeline.read_only else "read-write",
                "max_rows": pipeline.max_rows,
                "tables": pipeline.names(),
                "schemas": [self.schema_state(s) for s in pipeline.schemas],
            },
            default=str,
        )

    def schema_state(self, schema: dj.Schema) -> dict[str, Any]:
        """``schema.describe(format="json")``, each table with its name in expressions."""
        state: dict[str, Any] = json.loads(schema.describe(format="json"))
        for table in state["tables"]:
            table.pop("definition", None)
            table["query_name"] = self.pipeline.full_names.get(f"{schema.name}.{table['name']}")
        return state

    def table(
        self,
        name: TableName,
        rows: Annotated[int, Field(ge=0, le=1000, description="How many first rows to show")] = 10,
        objects: Objects = "omit",
    ) -> str:
        """One table: its definition, tier, primary key, attributes (type, lineage, comment),
        parents, children and parts, its row count and its first rows (by primary key)."""
        cls = self.pipeline.table(name)
        first, omitted = fetch(cls, objects=objects, order_by="KEY", limit=rows)
        names = self.pipeline.full_names
        meta = {
            "name": name,
            "tier": cls.tier,
            "definition": cls.describe(),
            "primary_key": cls.primary_key,
            "attributes": attributes(cls.heading),
            "parents": [names.get(n, n) for n in cls.parents()],
            "children": [names.get(n, n) for n in cls.children()],
            "parts": [names.get(n, n) for n in cls.parts()],
            "row_count": len(cls),
            "omitted_objects": omitted,
        }
        return document(meta, first)

    def diagram(self) -> str:
        """The dependency graph as Mermaid text (parents above children; Manual tables green,
        Lookup grey, Computed red, Imported blue, parts small)."""
        schemas = self.pipeline.schemas
        diagram = dj.Diagram(schemas[0])
        for schema in schemas[1:]:
            diagram = diagram + dj.Diagram(schema)
        return str(diagram.mermaid())

    def progress(
        self,
        table: Annotated[
            str | None, Field(description="Only this Imported or Computed table (default: all)")
        ] = None,
        keys: Annotated[
            int, Field(ge=0, le=1000, description="How many remaining keys and errors to list")
        ] = 10,
    ) -> str:
        """What is left to compute and what failed: per Imported and Computed table the rows,
        the remaining and total keys, the job counts by status, the first remaining keys and
        the failed keys with their error messages."""
        if table is not None and self.pipeline.table(table).tier not in AUTO:
            raise dj.QueryError(f"{table} is not an Imported or Computed table: it has no work.")
        report = [
            self.work(state, keys)
            for schema in self.pipeline.schemas
            for state in self.schema_state(schema)["tables"]
            if state["tier"] in AUTO and table in {None, state["query_name"]}
        ]
        return json.dumps({"tables": report}, default=str)

    def work(self, state: dict[str, Any], keys: int) -> dict[str, Any]:
        """One table's remaining work and errors, from its ``describe`` entry."""
        table = self.pipeline.table(state["query_name"])
        assert isinstance(table, dj.Computed | dj.Imported)
        entry = {k: state.get(k) for k in ("query_name", "rows", "remaining", "total", "jobs")}
        entry["table"] = entry.pop("query_name")
        if state.get("remaining") and keys:
            left = (table.key_source - table).proj().to_arrow(order_by="KEY", limit=keys)
            entry["remaining_keys"] = json.loads(pl.DataFrame(left).write_json())
        if state.get("jobs", {}).get("error") and keys:
            entry["errors"] = errors_of(table, keys)
        return entry


def errors_of(cls: dj.Computed | dj.Imported, limit: int) -> list[dict[str, Any]]:
    """The first failed keys of a table with their error messages (the queue exists)."""
    queue = cls.jobs.errors
    columns = [*cls.primary_key, "_error_message", "_completed_time"]
    frame = pl.DataFrame(queue.to_arrow(order_by="KEY", limit=limit)).select(columns)
    rows: list[dict[str, Any]] = json.loads(frame.write_json())
    return [
        {
            "key": {k: row[k] for k in cls.primary_key},
            "message": row["_error_message"],
            "at": row["_completed_time"],
        }
        for row in rows
    ]
