"""The hidden tables that serve an auto-populated table: its job queue and its provenance.

Each is a table of its own tier (``jobs``, ``provenance``) named with its prefix and the served
table's name (``~~features``, ``~p~features``), declared in the served table's schema the first
time it is needed and found through the registry afterwards.

Their own columns start with ``_`` (``_status``, ``_version``, ...), which no attribute of a
user's table may, so that they never collide with the served table's key. A dict restriction
may name them without it, as DataJoint does (``Table.jobs & {"status": "error"}``), where the
key has no attribute of that name: the key's own attributes come first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from djframe.catalog import companion_name
from djframe.errors import DuplicateError
from djframe.registry import table_class
from djframe.table import Table

if TYPE_CHECKING:
    from djframe.algebra.expression import QueryExpression
    from djframe.heading import Heading

__all__ = ["Companion", "companion_table", "own_names"]


def own_names(condition: Any, heading: Heading) -> Any:
    """A dict restriction with the names of a companion's own columns spelled with their
    ``_`` (``{"status": "error"}`` -> ``{"_status": "error"}``), unless the table has an
    attribute of that name (a key attribute named ``status``); anything else as it is."""
    if not isinstance(condition, Mapping):
        return condition
    names = set(heading.names)
    return {
        f"_{name}" if name not in names and f"_{name}" in names else name: value
        for name, value in condition.items()
    }


class Companion(Table):
    """What the job queue and the provenance table share (see the module documentation)."""

    def restrict(self, condition: Any, *, semantic_check: bool = True) -> QueryExpression:
        return super().restrict(own_names(condition, self.heading), semantic_check=semantic_check)


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
        declare_once(schema, cls, context, full_name)
    return table_class(conn, full_name)()


def declare_once(schema: Any, cls: type[Table], context: dict[str, Any], full_name: str) -> None:
    """Declare a companion that another process may be declaring at the same moment (two
    machines' first populate of a table): PostgreSQL refuses the second CREATE once the
    first commits, and the table it wanted is then there."""
    try:
        schema.declare(cls, context)
    except DuplicateError:
        conn = schema.connection
        conn.load_schema(full_name.split(".", 1)[0])
        if full_name not in conn.tables:
            raise
