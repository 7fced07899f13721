"""Tracing rows upstream: the rows of every ancestor that a restricted table's rows come from.

The upward mirror of a delete's cascade (:mod:`djframe.delete`), as DataJoint 2.3.5's
``Diagram.trace``: from a seed (``Child & key``), each parent is restricted to the rows its
traced children reference, through renamed foreign keys too, and an ancestor reached along
several paths keeps the rows of any of them (OR). Children are visited before their parents, so
every parent sees all of its traced children.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

from djframe.delete import restrict_child, root_table, table_of
from djframe.graph import topological

if TYPE_CHECKING:
    from djframe.compile.lower import Relation

__all__ = ["plan_trace"]


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
