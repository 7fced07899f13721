"""The dependency graph of a pipeline, held by networkx.

Nodes are tables by full name (``schema.table``) with their catalog entry as ``info``; there is
one edge per foreign key, parent to child, carrying the attribute map. Cascades, drops, the
order of declaration and of populate all read this graph (DataJoint's view of it,
``conn.dependencies``, is :mod:`djframe.dependencies`).
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from djframe.catalog import TableInfo

__all__ = ["build_graph", "dependents_first", "topological"]


def build_graph(tables: Iterable[TableInfo]) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    infos = list(tables)
    for info in infos:
        graph.add_node(info.full_name, info=info, tier=info.tier)
    for info in infos:
        for fk in info.foreign_keys:
            if fk.parent in graph:
                graph.add_edge(
                    fk.parent,
                    info.full_name,
                    key=tuple(fk.attr_map),
                    attr_map=fk.attr_map,
                    primary=fk.in_key,
                    renamed=fk.renamed,
                )
    return graph


def topological(graph: nx.MultiDiGraph, nodes: Iterable[str] | None = None) -> list[str]:
    """A deterministic parents-first order of ``nodes`` (all nodes by default)."""
    sub = graph if nodes is None else graph.subgraph(nodes)
    return list(nx.lexicographical_topological_sort(sub))


def dependents_first(graph: nx.MultiDiGraph, roots: Iterable[str]) -> list[str]:
    """``roots`` and everything downstream of them, leaves first: the order to delete in."""
    nodes: set[str] = set()
    for root in roots:
        nodes |= {root, *nx.descendants(graph, root)}
    return list(reversed(topological(graph, nodes)))
