"""Diagrams of a pipeline: a subgraph of the dependency graph, drawn as Mermaid or SVG.

``dj.Diagram(schema)`` shows every table of a schema, ``dj.Diagram(Table)`` one table; as in
DataJoint, ``D + n`` adds ``n`` generations of descendants, ``D - n`` of ancestors, and
``D1 + D2``, ``D1 - D2``, ``D1 * D2`` are union, difference and intersection. The SVG is drawn
here (tiers by shape and colour, parts under their master, renamed references marked), so no
system binary such as graphviz is needed; notebooks show it through ``_repr_svg_``. It is laid
out in layers (:mod:`djframe.layout`): a row per generation, rows ordered so that edges do not
cross where a layered drawing can avoid it, and each table under its parents.

``dj.Diagram.cascade(Table & condition)`` is the diagram of what a delete would reach, and its
:meth:`Diagram.counts` says how many rows each table would lose. ``dj.Diagram.trace(Table &
condition)`` is its upward mirror: the ancestors the rows come from (:mod:`djframe.trace`).
Either one restricted, ``diagram[Table]`` is that table restricted to its rows in the diagram.
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Mapping
from itertools import pairwise
from types import ModuleType
from typing import TYPE_CHECKING, Any

import networkx as nx

from djframe._typing import PartIntegrity
from djframe.algebra.expression import as_expression
from djframe.catalog import class_label, is_hidden
from djframe.delete import plan_delete
from djframe.errors import QueryError
from djframe.graph import topological
from djframe.layout import Dummy, Layers, layers
from djframe.registry import table_class
from djframe.schema import Schema
from djframe.trace import plan_restrict, plan_trace

if TYPE_CHECKING:
    from djframe.compile.lower import Relation
    from djframe.connection import Connection

__all__ = ["Diagram", "diagram_active"]

diagram_active = True
"""Whether diagrams can be drawn: always, as djframe draws them itself (DataJoint needs pydot)."""

STYLE = {  # tier: (shape, fill, stroke)
    "manual": ("rect", "#d9f2d9", "#2e7d32"),
    "lookup": ("rect", "#eeeeee", "#616161"),
    "imported": ("ellipse", "#dce8f8", "#1f5fa8"),
    "computed": ("ellipse", "#f8dcdc", "#b23b3b"),
    "part": ("text", "none", "#555555"),
}
MERMAID_SHAPES = {
    "manual": ("[", "]"),
    "lookup": ("[/", "/]"),
    "imported": ("([", "])"),
    "computed": ("((", "))"),
    "part": ("[[", "]]"),
}
NODE_WIDTH, NODE_HEIGHT, GAP_X, GAP_Y = 150, 36, 24, 70
Point = tuple[float, float]


class Diagram:
    """A set of tables of one connection, and the foreign keys among them.

    Examples
    --------
    >>> dj.Diagram(schema)  # doctest: +SKIP
    >>> print((dj.Diagram(Session) + 1 - 1).mermaid())  # doctest: +SKIP
    """

    def __init__(
        self,
        source: Any,
        context: Mapping[str, Any] | None = None,
        *,
        _nodes: set[str] | None = None,
    ) -> None:
        """``source`` is a schema, a table (class, instance or expression), a module holding
        a ``schema`` (a pipeline module, a :class:`~djframe.VirtualModule`) or a diagram;
        ``context`` is DataJoint's namespace of the classes (the tables' class names are
        known from the catalog, so it is not needed)."""
        self.nodes: set[str]
        self.connection: Connection
        self.context = dict(context or {})
        if isinstance(source, ModuleType) and isinstance(getattr(source, "schema", None), Schema):
            source = source.schema
        if isinstance(source, Diagram):
            self.connection = source.connection
            self.nodes = set(source.nodes if _nodes is None else _nodes)
            return
        if isinstance(source, Schema):
            self.connection = source.connection
            self.connection.load_all_schemas()
            self.nodes = {i.full_name for i in source.user_tables()}
            return
        table = _table_of(source)
        self.connection = table.connection
        self.connection.load_all_schemas()
        self.nodes = {table.full_name}

    # -- the algebra -------------------------------------------------------------------------
    @property
    def graph(self) -> nx.MultiDiGraph:
        """The shown tables and the foreign keys among them (a networkx view)."""
        graph = self.connection.graph
        return graph.subgraph(n for n in self.nodes if n in graph and not is_hidden(n))

    def _with(self, nodes: set[str]) -> Diagram:
        return Diagram(self, self.context, _nodes=nodes)

    def __add__(self, other: Any) -> Diagram:
        if isinstance(other, int):
            return self._with(self.nodes | self._generations(other, nx.DiGraph.successors))
        return self._with(self.nodes | _diagram(other).nodes)

    def __sub__(self, other: Any) -> Diagram:
        if isinstance(other, int):
            return self._with(self.nodes | self._generations(other, nx.DiGraph.predecessors))
        return self._with(self.nodes - _diagram(other).nodes)

    def __mul__(self, other: Any) -> Diagram:
        return self._with(self.nodes & _diagram(other).nodes)

    def _generations(self, count: int, step: Any) -> set[str]:
        graph = self.connection.graph
        reached, frontier = set(self.nodes), set(self.nodes)
        for _ in range(count):
            frontier = {n for f in frontier for n in step(graph, f) if not is_hidden(n)} - reached
            reached |= frontier
        return reached

    # -- deletes ---------------------------------------------------------------------------------
    @classmethod
    def cascade(cls, expr: Any, part_integrity: PartIntegrity = "enforce") -> Diagram:
        """The tables a delete of ``expr`` would reach; :meth:`counts` gives the rows."""
        expression = as_expression(expr)
        return cls._restricted(expression, plan_delete(expression, part_integrity), "cascade")

    @classmethod
    def trace(cls, expr: Any) -> Diagram:
        """``expr``'s table and its ancestors, each restricted to the rows ``expr``'s rows come
        from (through any path); ``diagram[Ancestor]`` gives them, :meth:`counts` counts them."""
        expression = as_expression(expr)
        return cls._restricted(expression, plan_trace(expression), "trace")

    @classmethod
    def _restricted(cls, expression: Any, plan: dict[str, Relation], mode: str) -> Diagram:
        diagram = cls(_table_of(expression))
        diagram.nodes = {n for n in plan if not is_hidden(n)}
        diagram._plan, diagram._mode = plan, mode
        return diagram

    _plan: dict[str, Relation] | None = None
    _mode = "tables"

    def restrict(self, expr: Any) -> Diagram:
        """This diagram with ``expr``'s table restricted by ``expr`` and each table below it
        to the rows that reference kept rows of all their restricted parents (a consistent
        subset, e.g. to export); restrictions add up when chained."""
        if self._mode in ("cascade", "trace"):
            raise QueryError(
                f"restrict() cannot be applied to a diagram made by Diagram.{self._mode}(): its "
                "rows follow the graph already. Restrict dj.Diagram(...) instead."
            )
        expression = as_expression(expr)
        name = _table_of(expression).full_name
        if name not in self.nodes:
            raise QueryError(f"{self.label(name)} is not in the diagram: add it (+) first.")
        diagram = self._with(set(self.nodes))
        diagram._plan = plan_restrict(expression, self.nodes, self._plan)
        diagram._mode = "restriction"
        return diagram

    def prune(self) -> Diagram:
        """This diagram without the tables that have no rows (after :meth:`restrict`: no rows
        left in the restriction)."""
        if self._mode in ("cascade", "trace"):
            raise QueryError(
                f"prune() cannot be used on a diagram made by Diagram.{self._mode}(): a "
                f"{self._mode} keeps every table it reaches (a delete must see them all)."
            )
        kept = {name for name, count in self.counts_by_name().items() if count}
        diagram = self._with(kept)
        if self._plan is not None:
            diagram._plan = {n: rows for n, rows in self._plan.items() if n in kept}
            diagram._mode = self._mode
        return diagram

    def __getitem__(self, table: Any) -> Any:
        """A table of the diagram (by class, instance or name), restricted to its rows in a
        cascade, trace or restriction; whole otherwise."""
        name = self._node_name(table)
        if name not in self.nodes:
            shown = self.label(name) if name in self.connection.tables else repr(table)
            held = ", ".join(self.label(n) for n in self.topological())
            raise QueryError(f"{shown} is not in this {self._mode}: it holds {held}.")
        restricted = (self._plan or {}).get(name)
        return table_class(self.connection, name)() if restricted is None else restricted

    def _node_name(self, table: Any) -> str:
        if not isinstance(table, str):
            return str(_table_of(table).full_name)
        if table in self.connection.tables:
            return table
        by_sql = {info.sql_name: name for name, info in self.connection.tables.items()}
        return by_sql.get(table, table)

    def counts(self) -> dict[str, int]:
        """Rows per table by its ``full_table_name``: those a cascade would delete, those a
        trace reaches, or all rows of each table."""
        tables = self.connection.tables
        return {tables[name].sql_name: count for name, count in self.counts_by_name().items()}

    def counts_by_name(self) -> dict[str, int]:
        """:meth:`counts` by full name (``schema.table``), parents first."""
        return {name: len(self[name]) for name in self.topological()}

    # -- drawing ---------------------------------------------------------------------------------
    def topological(self) -> list[str]:
        """The shown tables' full names, parents before children."""
        return topological(self.connection.graph, [n for n in self.nodes if not is_hidden(n)])

    def label(self, name: str) -> str:
        return self.connection.tables[name].class_name

    def mermaid(self) -> str:
        """The diagram as Mermaid flowchart text."""
        lines = ["flowchart TB"]
        ids = {name: f"n{i}" for i, name in enumerate(self.topological())}
        for name, node in ids.items():
            opening, closing = MERMAID_SHAPES[self.connection.tables[name].tier]
            lines.append(f'    {node}{opening}"{self.label(name)}"{closing}')
        for parent, child, data in self.graph.edges(data=True):
            arrow = "-->" if data["primary"] else "-.->"
            mark = "|renamed|" if data["renamed"] else ""
            lines.append(f"    {ids[parent]} {arrow}{mark} {ids[child]}")
        for tier in MERMAID_SHAPES:
            _, fill, stroke = STYLE[tier]
            members = [ids[n] for n in ids if self.connection.tables[n].tier == tier]
            if members:
                lines.append(f"    classDef {tier} fill:{fill},stroke:{stroke}")
                lines.append(f"    class {','.join(members)} {tier}")
        return "\n".join(lines)

    def layout(self) -> dict[str, tuple[float, float]]:
        """Centres of the nodes: one row per generation, each row ordered so that few edges
        cross (none where a layered drawing can avoid it; see :mod:`djframe.layout`)."""
        places, _ = self._placed()
        return {name: xy for name, xy in places.items() if isinstance(name, str)}

    def _placed(self) -> tuple[dict[Hashable, tuple[float, float]], Layers]:
        """Centres of the nodes and of the dummies long edges pass through, and the rows."""
        found = layers(nx.DiGraph(self.graph), key=self._first_order)
        xs = columns(found)
        left = min(xs.values(), default=0.0)
        places: dict[Hashable, tuple[float, float]] = {}
        for y, row in enumerate(found.rows):
            for node in row:
                x = xs[node] - left + (NODE_WIDTH + GAP_X) / 2
                places[node] = (x, y * (NODE_HEIGHT + GAP_Y) + NODE_HEIGHT)
        return places, found

    def _first_order(self, node: Hashable) -> tuple[str, str]:
        """Where a row's ordering starts: by name, each part next to its master."""
        name = str(node)
        return (self.master_of(name) or name, name)

    def master_of(self, name: str) -> str | None:
        return self.connection.tables[name].master

    def svg(self) -> str:
        """The diagram as a standalone SVG document."""
        placed, found = self._placed()
        places = {name: xy for name, xy in placed.items() if isinstance(name, str)}
        width = max((x for x, _ in placed.values()), default=0) + (NODE_WIDTH + GAP_X) / 2
        height = max((y for _, y in places.values()), default=0) + NODE_HEIGHT * 2
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'font-family="sans-serif" font-size="12">',
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
            'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>',
        ]
        for parent, child, data in self.graph.edges(data=True):
            points = route(placed, found.chains[(parent, child)])
            dash = "" if data["primary"] else ' stroke-dasharray="4 3"'
            drawn = " ".join(f"{x:.0f},{y:.0f}" for x, y in points)
            parts.append(
                f'<polyline points="{drawn}" fill="none" stroke="#666"{dash} '
                'marker-end="url(#arrow)"/>'
            )
            if data["renamed"]:
                (x1, y1), (x2, y2) = points[0], points[1]
                parts.append(
                    f'<circle cx="{(x1 + x2) / 2:.0f}" cy="{(y1 + y2) / 2:.0f}" r="4" '
                    'fill="#ff9800"><title>renamed foreign key</title></circle>'
                )
        for name, (x, y) in places.items():
            parts.append(self.node_svg(name, x, y))
        parts.append("</svg>")
        return "\n".join(parts)

    def node_svg(self, name: str, x: float, y: float) -> str:
        info = self.connection.tables[name]
        shape, fill, stroke = STYLE[info.tier]
        w, h = NODE_WIDTH - 10, NODE_HEIGHT
        if shape == "rect":
            box = (
                f'<rect x="{x - w / 2:.0f}" y="{y - h / 2:.0f}" width="{w}" height="{h}" '
                f'rx="{8 if info.tier == "lookup" else 2}" fill="{fill}" stroke="{stroke}"/>'
            )
        elif shape == "ellipse":
            box = (
                f'<ellipse cx="{x:.0f}" cy="{y:.0f}" rx="{w / 2:.0f}" ry="{h / 2:.0f}" '
                f'fill="{fill}" stroke="{stroke}"/>'
            )
        else:
            box = ""
        text = html.escape(self.label(name))
        size = ' font-size="10"' if info.tier == "part" else ""
        return (
            f'<g class="{info.tier}"><title>{html.escape(name)} ({info.tier})</title>{box}'
            f'<text x="{x:.0f}" y="{y + 4:.0f}" text-anchor="middle" fill="{stroke}"{size}>'
            f"{text}</text></g>"
        )

    def save(self, path: str) -> None:
        """Write ``.svg`` or ``.mmd`` (Mermaid) by the file's extension."""
        text = self.mermaid() if str(path).endswith((".mmd", ".mermaid")) else self.svg()
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)

    # -- notebooks -------------------------------------------------------------------------------
    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"image/svg+xml": self.svg(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        tables = self.connection.tables
        if self._plan is not None:  # a delete preview (what each table would lose) or a trace
            counted = self.counts_by_name().items()
            rows = ", ".join(f"{class_label(tables, n)}: {c}" for n, c in counted)
            what = {"cascade": "rows a delete would remove", "trace": "rows traced"}.get(
                self._mode, "rows kept"
            )
            return f"<djframe.Diagram.{self._mode}: {what}: {rows}>"
        names = ", ".join(self.label(n) for n in self.topological())
        return f"<djframe.Diagram of {len(self.topological())} tables: {names}>"


def slot_width(node: Hashable) -> float:
    """The width a node takes in its row; the point a long edge passes through, less."""
    return 2 * GAP_X if isinstance(node, Dummy) else NODE_WIDTH + GAP_X


def columns(found: Layers) -> dict[Hashable, float]:
    """The x of every node: the first row side by side, each next row's nodes as close to
    the mean x of their parents as their order and the spacing let them (a part right
    under its master)."""
    parents: dict[Hashable, list[Hashable]] = {}
    for chain in found.chains.values():
        for a, b in pairwise(chain):
            parents.setdefault(b, []).append(a)
    xs: dict[Hashable, float] = {}
    for row in found.rows:
        spaced = [0.0]
        for a, b in pairwise(row):
            spaced.append(spaced[-1] + (slot_width(a) + slot_width(b)) / 2)
        wanted = [
            sum(xs[p] for p in parents[n]) / len(parents[n]) if n in parents else spaced[i]
            for i, n in enumerate(row)
        ]
        xs |= dict(zip(row, fit_in_order(wanted, spaced), strict=True))
    return xs


def fit_in_order(wanted: list[float], spaced: list[float]) -> list[float]:
    """Positions near ``wanted``, in order, at least as far apart as ``spaced`` puts them:
    the mean of pushing rightwards from the left and leftwards from the right."""
    gaps = [b - a for a, b in pairwise(spaced)]
    right = list(wanted)
    for i, gap in enumerate(gaps):
        right[i + 1] = max(right[i + 1], right[i] + gap)
    left = list(wanted)
    for i in range(len(gaps) - 1, -1, -1):
        left[i] = min(left[i], left[i + 1] - gaps[i])
    return [(a + b) / 2 for a, b in zip(left, right, strict=True)]


def route(places: dict[Hashable, tuple[float, float]], chain: list[Hashable]) -> list[Point]:
    """The points an edge is drawn through: from the parent's bottom, through the dummies,
    to the child's top."""
    (x1, y1), (x2, y2) = places[chain[0]], places[chain[-1]]
    middle = [places[dummy] for dummy in chain[1:-1]]
    return [(x1, y1 + NODE_HEIGHT / 2), *middle, (x2, y2 - NODE_HEIGHT / 2)]


def _table_of(source: Any) -> Any:
    expression = as_expression(source)
    table = getattr(expression, "_restricted_table", lambda: None)()
    if table is None:
        raise QueryError(
            f"dj.Diagram takes a schema, a table or a restricted table, not {type(source).__name__}."
        )
    return table


def _diagram(value: Any) -> Diagram:
    return value if isinstance(value, Diagram) else Diagram(value)
