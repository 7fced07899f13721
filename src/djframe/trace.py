"""Following rows through the dependency graph, as DataJoint 2.3.5's diagrams do.

Upstream (``Diagram.trace``, the mirror of a delete's cascade in :mod:`djframe.delete`): from
a seed (``Child & key``), each parent is restricted to the rows its traced children reference,
through renamed foreign keys too, and an ancestor reached along several paths keeps the rows
of any of them (OR). Children are visited before their parents, so every parent sees all of its
traced children.

Downstream (``Diagram.restrict``, for exporting a consistent subset): each descendant keeps
the rows that reference the restricted rows of *every* restricted parent (AND), so a row is
kept only if all it depends on is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

from djframe.delete import edge_condition, restrict_child, root_table, table_of
from djframe.graph import topological

if TYPE_CHECKING:
    from djframe.compile.lower import Relation

__all__ = ["plan_restrict", "plan_trace"]


def parent_condition(child: Relation, attr_map: dict[str, str]) -> Relation:
    """The child's rows as the parent's key: its foreign-key attributes, renamed back."""
    same = [c for c, p in attr_map.items() if c == p]
    return child.proj(*same, **{p: c for c, p in attr_map.items() if c != p})


def plan_trace(expr: Relation) -> dict[str, Relation]:
    """The seed's rows and, per ancestor, the rows they derive from; parents first."""
    conn = expr.connection
    conn.load_all_schemas()
    graph = conn.graph
    seed = root_table(expr).full_name
    order = topological(graph, {seed, *nx.ancestors(graph, seed)})
    traced: dict[str, Relation] = {seed: expr}
    for name in reversed(order[:-1]):  # the seed is last: everything else is its ancestor
        conditions = [
            parent_condition(traced[child], data["attr_map"])
            for _, child, data in graph.out_edges(name, data=True)
            if child in traced
        ]
        if conditions:
            traced[name] = restrict_child(table_of(conn, name), conditions)
    return {name: traced[name] for name in order if name in traced}


def plan_restrict(
    expr: Relation, nodes: set[str], plan: dict[str, Relation] | None = None
) -> dict[str, Relation]:
    """``plan`` (the restricted tables so far, by full name) with ``expr``'s table restricted
    by ``expr`` too, and each descendant among ``nodes`` by all its restricted parents."""
    conn = expr.connection
    graph = conn.graph
    seed = root_table(expr).full_name
    restricted = dict(plan or {})
    previous = restricted.get(seed)
    restricted[seed] = (
        expr if previous is None else previous.restrict(expr.proj(), semantic_check=False)
    )
    below = nodes & nx.descendants(graph, seed)
    for name in topological(graph, below):
        rows = restricted[name] if name in restricted else table_of(conn, name)
        for parent, _, data in graph.in_edges(name, data=True):
            if parent in restricted:
                condition = edge_condition(restricted[parent], data["attr_map"])
                rows = rows.restrict(condition, semantic_check=False)
        restricted[name] = rows
    return restricted
