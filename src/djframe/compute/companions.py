"""The hidden tables that serve an auto-populated table: its job queue and its provenance.

Each is a table of its own tier (``jobs``, ``provenance``) named with its prefix and the served
table's name (``~~features``, ``~p~features``), declared in the served table's schema the first
time it is needed and found through the registry afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from djframe.catalog import companion_name
from djframe.registry import table_class

if TYPE_CHECKING:
    from djframe.table import Table

__all__ = ["companion_table"]


def companion_table(
    target: type[Table],
    base: type[Table],
    definition: str,
    context: dict[str, Any],
    *,
    create: bool = True,
) -> Table | None:
    """The hidden table that serves ``target`` (its job queue, its provenance), named
    ``base.prefix + target's name`` and declared on first use when ``create``."""
    info, schema = target._info, target._schema
    assert info is not None and schema is not None
    full_name = companion_name(info.full_name, base.prefix)
    name = full_name.split(".", 1)[1]
    conn = schema.connection
    if full_name not in conn.tables:
        conn.load_schema(info.schema)
    if full_name not in conn.tables:
        if not create:
            return None
        cls = type(
            f"{target.__name__}{base.__name__.removesuffix('Table')}",
            (base,),
            {
                "definition": definition,
                "__module__": target.__module__,
                "table_name_for": classmethod(lambda _cls, _class_name: name),
            },
        )
        schema.declare(cls, context)
    return table_class(conn, full_name)()
