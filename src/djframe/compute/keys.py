"""What a populate computes: a table's key source, the keys make is called with.

``key_source`` defaults to the join of the primary parents, each projected to its key (with
renamed foreign keys renamed back), as in DataJoint; a table may override it with any query.
The make key (:func:`make_key`) is what each make is called with and what the job queue
holds: the primary key, less attributes the table declares itself (allowed by
``jobs.allow_new_pk_fields_in_computed_tables``), which make fills in, several per key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from djframe.algebra.expression import QueryExpression, as_expression
from djframe.errors import DefinitionError
from djframe.registry import table_class

if TYPE_CHECKING:
    from djframe.catalog import TableInfo
    from djframe.table import Table

__all__ = ["key_source", "make_key", "source_of"]


def make_key(info: TableInfo) -> list[str]:
    """The primary-key attributes a make is given: those that come from primary parents.

    Examples
    --------
    >>> make_key(Spikes.info)  # doctest: +SKIP  (-> Recording, spike : int32, allowed)
    ['subject_id', 'session']
    """
    inherited = {name for fk in info.foreign_keys if fk.in_key for name in fk.attr_map}
    key = info.heading.primary_key
    return [name for name in key if name in inherited] or key


def key_source(table: Table) -> QueryExpression:
    """The default key source: the join of the primary parents, each projected to its key."""
    info = table.info
    key = set(info.heading.primary_key)
    parents = [fk for fk in info.foreign_keys if set(fk.attr_map) <= key]
    if not parents:
        raise DefinitionError(
            f"{type(table).__name__} has no foreign key in its primary key, so there is no "
            "default key_source. Define key_source (a query of the keys to compute)."
        )
    source: QueryExpression | None = None
    for fk in parents:
        parent = table_class(table.connection, fk.parent)()
        renames = {child: p for child, p in fk.attr_map.items() if child != p}
        projected = parent.proj(**renames) if renames else parent.proj()
        source = projected if source is None else source * projected
    assert source is not None
    return source


def source_of(table: Table) -> QueryExpression:
    """The table's key source as an expression, or a DefinitionError saying what it is."""
    source = as_expression(table.key_source)  # type: ignore[attr-defined]
    if not isinstance(source, QueryExpression):
        raise DefinitionError(
            f"{type(table).__name__}.key_source must be a table or query expression, not a "
            f"{type(source).__name__}."
        )
    return source
