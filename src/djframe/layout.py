"""Layered drawing of a dependency graph: the row of each node and its place in the row.

Sugiyama's method, as far as a pipeline diagram needs it. Rows are the topological
generations (parents above children). An edge that spans several rows passes through a
*dummy* node in each row in between, so that it is a chain of short segments that the
ordering sees. Each row is then ordered by the barycentre of its neighbours' places in the
row above (sweeping down) and in the row below (sweeping up), keeping the ordering with the
fewest crossings; swapping neighbours in a row where that removes crossings finishes it.
Two segments between the same two rows cross exactly when their ends come in opposite orders,
so counting inversions counts the crossings a drawing with straight segments has.

This module places nothing in coordinates and knows no tables: :mod:`djframe.diagram` does.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from itertools import combinations, pairwise
from typing import Any

import networkx as nx

__all__ = ["Dummy", "Layers", "layers"]

SWEEPS = 12
"""Down-and-up barycentre sweeps at most; a pipeline diagram settles in two or three."""
STARTS = 8
"""Orderings the sweeps start from: the given one, its reverse and fixed shuffles."""


@dataclass(frozen=True)
class Dummy:
    """The point where the edge ``parent -> child`` crosses row ``row``."""

    parent: Hashable
    child: Hashable
    row: int


@dataclass
class Layers:
    """Rows of nodes (and dummies), top to bottom, and the chain each edge is drawn along."""

    rows: list[list[Hashable]]
    chains: dict[tuple[Hashable, Hashable], list[Hashable]] = field(default_factory=dict)

    def crossings(self) -> int:
        """How many pairs of segments cross, over all pairs of adjacent rows."""
        place = self.places()
        return sum(row_crossings(self.segments(i), place) for i in range(len(self.rows)))

    def crossings_at(self, row: int) -> int:
        """The crossings of the segments that end in ``row``, above it and below it."""
        place = self.places()
        return sum(row_crossings(self.segments(i), place) for i in (row - 1, row) if i >= 0)

    def places(self) -> dict[Hashable, int]:
        return {node: i for row in self.rows for i, node in enumerate(row)}

    def segments(self, row: int) -> list[tuple[Hashable, Hashable]]:
        """The segments from ``row`` to the row below."""
        members = set(self.rows[row]) if row < len(self.rows) else set()
        return [
            (a, b) for chain in self.chains.values() for a, b in pairwise(chain) if a in members
        ]


def layers(graph: nx.DiGraph, key: Callable[[Hashable], Any]) -> Layers:
    """Order the nodes of ``graph`` (a DAG) in rows with few crossings; ``key`` gives the
    first order of each row (and keeps the drawing the same from one call to the next).

    Barycentre sweeps settle in a local optimum that depends on where they start, so they
    start from the ``key`` order, its reverse and a few fixed shuffles, and the ordering
    with the fewest crossings wins (the earliest, among equals).
    """
    rows = [sorted(generation, key=key) for generation in nx.topological_generations(graph)]
    found = Layers(rows, chains(graph, rows))
    up, down = neighbours(found)
    shuffle = random.Random(0).shuffle
    best: list[list[Hashable]] | None = None
    fewest = -1
    for start in range(STARTS):
        tried = Layers([list(r) for r in rows], found.chains)
        if start == 1:
            tried.rows = [r[::-1] for r in tried.rows]
        elif start > 1:
            for row in tried.rows:
                shuffle(row)
        count = settle(tried, up, down)
        if best is None or count < fewest:
            best, fewest = tried.rows, count
        if fewest == 0:
            break
    found.rows = best or rows
    return found


def settle(found: Layers, up: Neighbours, down: Neighbours) -> int:
    """Sweep barycentres down and up, keep the best rows, then transpose; the crossings."""
    best, fewest = [list(r) for r in found.rows], found.crossings()
    for _ in range(SWEEPS):
        if fewest == 0:
            break
        for i in range(1, len(found.rows)):
            found.rows[i] = by_barycentre(found.rows[i], found.rows[i - 1], up)
        for i in range(len(found.rows) - 2, -1, -1):
            found.rows[i] = by_barycentre(found.rows[i], found.rows[i + 1], down)
        count = found.crossings()
        if count < fewest:
            best, fewest = [list(r) for r in found.rows], count
    found.rows = best
    return transpose(found)


def chains(
    graph: nx.DiGraph, rows: list[list[Hashable]]
) -> dict[tuple[Hashable, Hashable], list[Hashable]]:
    """Each edge as the nodes it passes through; dummies are added to the rows they cross."""
    row_of = {node: i for i, row in enumerate(rows) for node in row}
    found: dict[tuple[Hashable, Hashable], list[Hashable]] = {}
    for parent, child in graph.edges():
        dummies = [Dummy(parent, child, r) for r in range(row_of[parent] + 1, row_of[child])]
        for dummy in dummies:
            rows[dummy.row].append(dummy)
        found[(parent, child)] = [parent, *dummies, child]
    return found


Neighbours = dict[Hashable, list[Hashable]]


def neighbours(found: Layers) -> tuple[Neighbours, Neighbours]:
    """Each node's neighbours in the row above and in the row below."""
    up: Neighbours = {node: [] for row in found.rows for node in row}
    down: Neighbours = {node: [] for row in found.rows for node in row}
    for chain in found.chains.values():
        for a, b in pairwise(chain):
            down[a].append(b)
            up[b].append(a)
    return up, down


def by_barycentre(
    row: list[Hashable], fixed: list[Hashable], adjacent: Neighbours
) -> list[Hashable]:
    """``row`` sorted by the mean place of each node's neighbours in ``fixed``; a node with
    none there keeps its place."""
    place = {node: i for i, node in enumerate(fixed)}

    def centre(item: tuple[int, Hashable]) -> tuple[float, int]:
        index, node = item
        linked = [place[n] for n in adjacent[node] if n in place]
        return (sum(linked) / len(linked) if linked else float(index), index)

    return [node for _, node in sorted(enumerate(row), key=centre)]


def row_crossings(segments: list[tuple[Hashable, Hashable]], place: dict[Hashable, int]) -> int:
    """Pairs of segments between two rows whose ends come in opposite orders."""
    return sum(
        1
        for (a1, b1), (a2, b2) in combinations(segments, 2)
        if (place[a1] - place[a2]) * (place[b1] - place[b2]) < 0
    )


def transpose(found: Layers) -> int:
    """Swap neighbours in a row wherever that lowers the crossings, until none does; the
    crossings left."""
    count = found.crossings()
    improved = count > 0
    while improved:
        improved = False
        for r, row in enumerate(found.rows):
            for i in range(len(row) - 1):
                before = found.crossings_at(r)
                row[i], row[i + 1] = row[i + 1], row[i]
                after = found.crossings_at(r)
                if after < before:
                    count, improved = count - (before - after), True
                else:
                    row[i], row[i + 1] = row[i + 1], row[i]
    return count
