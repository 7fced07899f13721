"""The act tools, served only with ``--allow-write``: insert, populate, clear errors, delete.

Each act runs in one transaction: it lands whole or not at all (populate commits each
``make`` on its own, as in Python, so a failing key does not undo the others). ``delete``
takes two calls: the first returns the cascade's counts per table and deletes nothing; the
second carries those counts back in ``confirm`` and deletes only if a fresh count, taken in
the deleting transaction, is the same.

Examples
--------
>>> act = Act(pipeline)  # doctest: +SKIP
>>> counts = json.loads(act.delete("Session & {'subject_id': 3}"))["counts"]  # doctest: +SKIP
>>> act.delete("Session & {'subject_id': 3}", confirm=counts)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field

import djframe as dj
from djframe.mcp.evaluate import evaluate_text
from djframe.mcp.look import AUTO, TableName
from djframe.mcp.pipeline import Pipeline, PipelineError
from djframe.mcp.query import Expression

__all__ = ["Act"]

Restriction = Annotated[
    dict[str, Any] | None,
    Field(description="Only keys matching these attribute values, e.g. {'subject_id': 3}"),
]


class Act:
    """Tools that change the pipeline's data."""

    TOOLS = ("insert", "populate", "clear_errors", "delete")

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def insert(
        self,
        table: TableName,
        rows: Annotated[
            list[dict[str, Any]], Field(description="Rows as objects: attribute -> value")
        ],
        skip_duplicates: Annotated[
            bool, Field(description="Skip rows whose primary key exists already")
        ] = False,
    ) -> str:
        """Insert rows into a Manual table, all in one transaction (a bad row inserts
        nothing). Computed and Imported tables are filled by populate instead."""
        cls = self.pipeline.table(table)
        if cls.tier != "manual":
            raise PipelineError(
                f"{table} is a {cls.tier} table; agents insert into Manual tables only "
                "(Computed and Imported rows come from populate, Lookup rows from the code)."
            )
        if not rows:
            raise PipelineError("rows is empty: give at least one row, as an object.")
        with cls.connection.transaction:
            before = len(cls)
            cls.insert(rows, skip_duplicates=skip_duplicates)
            inserted = len(cls) - before
        return json.dumps({"table": table, "inserted": inserted, "given": len(rows)})

    def populate(
        self,
        table: Annotated[
            str | None, Field(description="Only this Imported or Computed table (default: all)")
        ] = None,
        max_calls: Annotated[
            int | None, Field(ge=1, description="At most this many keys per table")
        ] = None,
        restriction: Restriction = None,
    ) -> str:
        """Compute what is missing, parents first: one table or the whole pipeline. Failed
        keys are recorded in the job queues and reported with their messages."""
        options = {"display_progress": False, "suppress_errors": True, "max_calls": max_calls}
        targets = self.auto(table)
        conditions = [restriction] if restriction else []
        if table is None and not conditions:
            results = dj.populate(*self.pipeline.schemas, **options)
        else:
            results = {type(t).__name__: t.populate(*conditions, **options) for t in targets}
        report = {
            name: {
                "success_count": result["success_count"],
                "errors": [
                    {"key": key, "message": message} for key, message in result["error_list"]
                ],
            }
            for name, result in results.items()
        }
        return json.dumps({"populated": report}, default=str)

    def clear_errors(
        self,
        table: Annotated[
            str | None, Field(description="Only this Imported or Computed table (default: all)")
        ] = None,
    ) -> str:
        """Delete the error jobs (of one table or all), in one transaction, so that the
        next populate tries those keys again."""
        cleared: dict[str, int] = {}
        with self.pipeline.schemas[0].connection.transaction:
            for cls in self.auto(table):
                errors = cls.jobs.errors
                cleared[self.pipeline.name_of(cls)] = len(errors)
                if cleared[self.pipeline.name_of(cls)]:
                    errors.delete(prompt=False)
        return json.dumps({"cleared": cleared})

    def delete(
        self,
        expression: Expression,
        confirm: Annotated[
            dict[str, int] | None,
            Field(description="The counts the first call returned, to confirm the delete"),
        ] = None,
    ) -> str:
        """Delete rows and everything computed from them, in two calls. First call it with
        an expression naming the rows (Session & {'subject_id': 3}): it deletes nothing and
        returns the cascade's counts per table. Then call it again with the same expression
        and confirm=<those counts>: it deletes, in one transaction, if the counts still hold."""
        expr = evaluate_text(expression, self.pipeline.namespace)
        if confirm is None:
            return json.dumps(
                {
                    "deleted": False,
                    "counts": self.counts(expr),
                    "next": "Nothing was deleted. To delete these rows, call delete again "
                    "with the same expression and confirm set to these counts.",
                }
            )
        with expr.connection.transaction:
            counts = self.counts(expr)
            if counts != confirm:
                raise PipelineError(
                    f"Nothing was deleted: the rows to delete are now {counts}, not the "
                    f"confirmed {confirm}. Check them, then confirm the new counts."
                )
            expr.delete(prompt=False)
        return json.dumps({"deleted": True, "counts": counts})

    def counts(self, expr: dj.QueryExpression) -> dict[str, int]:
        """Rows per table that deleting ``expr`` would delete, by their names in expressions."""
        names = self.pipeline.full_names
        found = dj.Diagram.cascade(expr).counts_by_name()
        return {names.get(name, name): count for name, count in found.items()}

    def auto(self, table: str | None) -> list[Any]:
        """``table`` (checked to be Imported or Computed), or every such table."""
        if table is None:
            return self.pipeline.auto_tables()
        cls = self.pipeline.table(table)
        if cls.tier not in AUTO:
            raise PipelineError(
                f"{table} is a {cls.tier} table: only Imported and Computed are populated."
            )
        return [cls]
