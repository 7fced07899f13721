"""DataJoint's ``conn.dependencies``: the pipeline's dependency graph (:mod:`djframe.graph`),
with tables named as ``Table.full_table_name`` gives them (quoted ``"schema"."table"``), as
DataJoint names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import networkx as nx

from djframe.errors import MissingTableError
from djframe.graph import topological

if TYPE_CHECKING:
    from djframe.connection import Connection

__all__ = ["Dependencies"]


class Dependencies:
    """The dependency graph of a connection's loaded tables, by quoted full table name.

    A view of :attr:`Connection.graph <djframe.connection.Connection.graph>`: a table may be
    named as ``Table.full_table_name`` gives it (``"lab"."session"``) or as ``lab.session``;
    the answers name tables the first way. ``parents`` and ``children`` give one
    ``(name, properties)`` pair per foreign key, the properties being ``primary`` (the foreign
    key is in the child's primary key), ``attr_map`` (child attribute to parent attribute) and
    ``aliased`` (some attribute is renamed).

    Examples
    --------
    >>> deps = conn.dependencies  # doctest: +SKIP
    >>> deps.load()  # doctest: +SKIP
    >>> [name for name, props in deps.parents(Trial.full_table_name)]  # doctest: +SKIP
    ['"lab"."session"']
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def load(self, force: bool = True) -> None:
        """Read the catalogs of the loaded schemas again (``force=False``: only if the graph
        has not been built), so tables declared since, by any process, are in the graph."""
        if force:
            for schema in sorted({info.schema for info in self.connection.tables.values()}):
                self.connection.load_schema(schema)
        self.connection.graph  # noqa: B018  (builds it)

    def _node(self, name: str) -> str:
        by_sql = {info.sql_name: full for full, info in self.connection.tables.items()}
        node = by_sql.get(name, name)
        if node not in self.connection.graph:
            raise MissingTableError(
                f"Table {name} is not in the dependency graph of {self.connection!r}: declare "
                "it, or load its schema (dj.Schema(name) or conn.dependencies.load())."
            )
        return node

    def _name(self, node: str) -> str:
        return self.connection.tables[node].sql_name

    def __contains__(self, name: object) -> bool:
        try:
            return isinstance(name, str) and bool(self._node(name))
        except MissingTableError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self.topo_sort())

    def __len__(self) -> int:
        return len(self.connection.graph)

    def _edges(
        self, edges: Iterable[tuple[str, str, dict[str, Any]]], end: int, primary: bool | None
    ) -> list[tuple[str, dict[str, Any]]]:
        return [
            (
                self._name((parent, child)[end]),
                {
                    "primary": data["primary"],
                    "attr_map": dict(data["attr_map"]),
                    "aliased": bool(data["renamed"]),
                },
            )
            for parent, child, data in edges
            if primary is None or data["primary"] == primary
        ]

    def parents(self, name: str, primary: bool | None = None) -> list[tuple[str, dict[str, Any]]]:
        """The tables ``name`` references, one pair per foreign key; ``primary=True`` only the
        foreign keys in its primary key, ``False`` only the others."""
        edges = self.connection.graph.in_edges(self._node(name), data=True)
        return self._edges(edges, 0, primary)

    def children(self, name: str, primary: bool | None = None) -> list[tuple[str, dict[str, Any]]]:
        """The tables that reference ``name``, one pair per foreign key (``primary`` as in
        :meth:`parents`, from the child's side)."""
        edges = self.connection.graph.out_edges(self._node(name), data=True)
        return self._edges(edges, 1, primary)

    def descendants(self, name: str) -> list[str]:
        """``name`` and every table that depends on it, parents first."""
        node = self._node(name)
        nodes = {node, *nx.descendants(self.connection.graph, node)}
        return [self._name(n) for n in topological(self.connection.graph, nodes)]

    def ancestors(self, name: str) -> list[str]:
        """``name`` and every table it depends on, children first."""
        node = self._node(name)
        nodes = {node, *nx.ancestors(self.connection.graph, node)}
        return [self._name(n) for n in reversed(topological(self.connection.graph, nodes))]

    def topo_sort(self) -> list[str]:
        """Every loaded table, parents first."""
        return [self._name(n) for n in topological(self.connection.graph)]
