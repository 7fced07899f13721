"""``self.upstream`` inside ``make``: the ancestors of the table, restricted to the make's key.

DataJoint 2.3.5's reproducibility contract for ``make(self, key)``: read inputs through
``self.upstream[Ancestor]``, which is ``Ancestor`` restricted to the rows the current key
derives from, and which refuses a table that is not an ancestor. An ancestor whose key the
make's key determines is restricted by it; any other (a secondary parent of a parent) is
restricted by the key source's rows of the key, which carry the parents' attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx

from djframe.errors import DjframeError, MissingTableError
from djframe.registry import table_class
from djframe.session import make_scope

if TYPE_CHECKING:
    from djframe.algebra.expression import QueryExpression
    from djframe.table import Table

__all__ = ["Upstream", "upstream_of"]


class Upstream:
    """The ancestors of a table in a running make: ``upstream[Session]``."""

    def __init__(self, table: Table, key: dict[str, Any]) -> None:
        self.table = table
        self.key = key

    def __getitem__(self, ancestor: Any) -> QueryExpression:
        target = self._resolve(ancestor)
        if target.full_name not in nx.ancestors(self.table.connection.graph, self.table.full_name):
            raise DjframeError(
                f"{type(target).__name__} is not upstream of {type(self.table).__name__}, so "
                "not in this trace: self.upstream[...] gives only the tables its rows are "
                "computed from."
            )
        if all(name in self.key for name in target.heading.primary_key):
            return target & self.key
        source = self.table.key_source & self.key  # type: ignore[attr-defined]
        return target & source

    def _resolve(self, ancestor: Any) -> Table:
        if isinstance(ancestor, str):
            conn = self.table.connection
            name = ancestor if "." in ancestor else f"{self.table.info.schema}.{ancestor}"
            if name not in conn.tables:
                raise MissingTableError(f"self.upstream[{ancestor!r}]: no such table.")
            return table_class(conn, name)()
        return ancestor() if isinstance(ancestor, type) else ancestor


def upstream_of(table: Table) -> Upstream:
    """The :class:`Upstream` of ``table``'s running make; an error outside make."""
    scope = make_scope.get()
    key = getattr(scope, "key", None)
    if scope is None or key is None or not scope.covers(table):  # type: ignore[attr-defined]
        raise DjframeError(
            f"{type(table).__name__}.upstream is only available inside make(self, key); "
            "outside it, restrict the ancestor yourself (Ancestor & key)."
        )
    return Upstream(table, dict(key))
