"""The state of a pipeline as plain data: for people (``djframe status``) and for programs.

:func:`describe_schema` gives everything a tool or an automated agent needs to inspect a
pipeline and act on it without scraping text: tables, tiers, attributes with types and
lineage, foreign keys, codecs, row counts, remaining work and jobs. Every value is JSON-ready.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from djframe.catalog import JOBS_PREFIX, companion_name
from djframe.compute.jobs import STATUSES
from djframe.registry import table_class
from djframe.settings import redact

if TYPE_CHECKING:
    from djframe.catalog import TableInfo
    from djframe.schema import Schema

__all__ = ["describe_schema", "table_status"]

AUTO = {"imported", "computed"}


def describe_schema(schema: Schema) -> dict[str, Any]:
    """The whole schema as JSON-ready data (see the module documentation)."""
    schema.connection.load_schema(schema.name)
    order = schema.list_tables()
    infos = {i.name: i for i in schema.user_tables()}
    return {
        "schema": schema.name,
        "database": redact(schema.connection.backend.url),
        "backend": schema.connection.backend.name,
        "tables": [describe_table(schema, infos[name]) for name in order],
    }


def describe_table(schema: Schema, info: TableInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "class": info.class_name,
        "tier": info.tier,
        "comment": info.comment,
        "master": info.master,
        "definition": info.definition.strip(),
        "primary_key": info.heading.primary_key,
        "attributes": [
            {
                "name": a.name,
                "type": a.type_name,
                "in_key": a.in_key,
                "nullable": a.nullable,
                "default": a.default,
                "comment": a.comment,
                "lineage": a.lineage,
                "codec": getattr(a, "codec", None),
            }
            for a in info.heading
        ],
        "foreign_keys": [
            {"parent": fk.parent, "attributes": fk.attr_map, "primary": fk.in_key}
            for fk in info.foreign_keys
        ],
        **table_status(schema, info),
    }


def table_status(schema: Schema, info: TableInfo) -> dict[str, Any]:
    """Rows, and for auto-populated tables the remaining keys and the jobs by status."""
    table = table_class(schema.connection, info.full_name)()
    status: dict[str, Any] = {"rows": len(table)}
    if info.tier in AUTO:
        remaining, total = table.progress()
        status |= {"remaining": remaining, "total": total, "jobs": jobs_summary(schema, info)}
    return status


def jobs_summary(schema: Schema, info: TableInfo) -> dict[str, int]:
    """Jobs by status, without declaring a queue that does not exist yet."""
    queue = companion_name(info.full_name, JOBS_PREFIX)
    if queue not in schema.connection.tables:
        return dict.fromkeys(STATUSES, 0) | {"total": 0}
    return table_class(schema.connection, queue)().progress()
