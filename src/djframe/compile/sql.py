"""The final step of every query: order, limit and export casts, then SQL text.

:func:`final_relation` adds what a result needs on top of an expression's lowering: its order
(one parser, :func:`parse_order`, for ``to_polars(order_by=...)`` and ``dj.Top`` alike), limit
and offset, and casts of what an engine cannot export cleanly (uuid and json to text; decimals
to text where the backend says so). :func:`compile_sql` turns it into the backend's dialect.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import ibis.backends.sql.compilers as sc
import ibis.expr.types as ir

from djframe.errors import QueryError

if TYPE_CHECKING:
    from djframe.compile.lower import LowerContext, Relation
    from djframe.heading import Heading

__all__ = ["OrderBy", "OrderKey", "compile_sql", "final_relation", "order_key", "parse_order"]

OrderBy = str | Sequence[str] | None
"""``"KEY"``, an attribute with an optional direction (``"score DESC"``, ``"score DESC NULLS
FIRST"``), a list of those, or None."""

TEXT_ON_EXPORT = frozenset({"uuid", "json"})
"""Core types that leave the engine as text (and become Python values in ``to_dicts``)."""

_ORDER_ITEM = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:\s+(?P<direction>ASC|DESC))?"
    r"(?:\s+NULLS\s+(?P<nulls>FIRST|LAST))?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OrderKey:
    """One attribute of an order: descending or not, nulls first or last (the default)."""

    name: str
    descending: bool = False
    nulls_first: bool = False
    ranks: tuple[str, ...] = ()
    """An enum's values in the order declared, which is how it sorts (as on MySQL and
    PostgreSQL, whose enums DataJoint declares), not alphabetically."""

    def ibis(self, table: ir.Table) -> Any:
        sort = ibis.desc if self.descending else ibis.asc
        column = table[self.name]
        if self.ranks:
            column = column.cases(*((value, rank) for rank, value in enumerate(self.ranks)))
        return sort(column, nulls_first=self.nulls_first)

    def text(self) -> str:
        """The key written as ``order_by`` takes it: ``"score DESC NULLS FIRST"``."""
        nulls = " NULLS FIRST" if self.nulls_first else ""
        return f"{self.name}{' DESC' if self.descending else ''}{nulls}"


def parse_order(heading: Heading, order_by: OrderBy) -> list[OrderKey]:
    """``order_by`` as :class:`OrderKey` s; ``KEY`` stands for the primary key. A string may
    list several items separated by commas (``"a DESC, b"``), as in SQL and DataJoint.

    Examples
    --------
    >>> from djframe.heading import Heading
    >>> [k.name for k in parse_order(Heading([]).with_key([]), None)]
    []
    """
    if order_by is None:
        return []
    if not isinstance(order_by, str | list | tuple):
        raise QueryError(
            f"Cannot order by {order_by!r}: write 'name', 'name DESC', 'KEY', or a list of those."
        )
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    keys: list[OrderKey] = []
    for item in split_items(items):
        match = _ORDER_ITEM.match(item) if isinstance(item, str) else None
        if match is None:
            raise QueryError(
                f"Cannot order by {item!r}: write 'name', 'name ASC' or 'name DESC' (optionally "
                "followed by NULLS FIRST or NULLS LAST), 'KEY', or a list of those."
            )
        descending = (match["direction"] or "").upper() == "DESC"
        nulls_first = (match["nulls"] or "").upper() == "FIRST"
        names = heading.primary_key if match["name"] == "KEY" else [match["name"]]
        for name in names:
            key = order_key(heading, name, descending, nulls_first)  # checks the name
            if all(k.name != name for k in keys):  # a later mention orders nothing more
                keys.append(key)
    return keys


def order_key(
    heading: Heading, name: str, descending: bool = False, nulls_first: bool = False
) -> OrderKey:
    """The key that orders by attribute ``name`` (an enum by its declared order)."""
    attr = heading[name]  # raises MissingAttributeError naming the attribute
    enum = attr.type is not None and attr.type.name == "enum" and not attr.codec
    ranks = tuple(str(v) for v in attr.type.args) if enum and attr.type is not None else ()
    return OrderKey(name, descending, nulls_first, ranks)


def split_items(items: list[Any]) -> list[Any]:
    """Each string item split at its commas, as SQL reads ``"a DESC, b"`` (DataJoint does too)."""
    return [
        piece for item in items for piece in (item.split(",") if isinstance(item, str) else [item])
    ]


def compile_sql(relation: ir.Expr, dialect: str, *, pretty: bool = False) -> str:
    """The SQL text of an Ibis expression in a backend's dialect.

    Ibis' own compiler, called directly: :func:`ibis.to_sql` would first rebuild the graph to
    unbind its tables (lowered expressions hold unbound tables only) and indent the text.
    Queries run as one line; ``sql()`` shows them indented. Ibis' pass that merges nested
    SELECTs is skipped for djframe's own queries (the engines flatten them the same way; the
    pass was a fifth of a compile), and the user's Ibis setting is restored.

    Examples
    --------
    >>> t = ibis.table({"x": "int64"}, name="t")
    >>> compile_sql(t.filter(t.x > 3), "duckdb")
    'SELECT * FROM "t" AS "t0" WHERE "t0"."x" > 3'
    """
    compiler = getattr(sc, dialect).compiler
    with selects_unfused():
        tree = compiler.to_sqlglot(relation)
    return str(tree.sql(dialect=compiler.dialect, pretty=pretty, copy=False))


@contextmanager
def selects_unfused() -> Iterator[None]:
    """Ibis compiles without merging nested SELECTs while the block runs."""
    options = ibis.options.sql
    fused, options.fuse_selects = options.fuse_selects, False
    try:
        yield
    finally:
        options.fuse_selects = fused


def row_count(value: Any, name: str) -> int | None:
    """A ``limit`` or ``offset`` checked to be a whole number of rows (or None)."""
    if value is None:
        return None
    try:
        count = operator.index(value) if not isinstance(value, bool) else -1
    except TypeError:
        count = -1
    if not 0 <= count < 2**63:
        raise QueryError(f"{name} must be a whole number of rows from 0, not {value!r}.")
    return count


def final_relation(
    expr: Relation,
    ctx: LowerContext,
    *,
    order_by: OrderBy = None,
    limit: int | None = None,
    offset: int | None = None,
) -> ir.Table:
    """The relation a query's results are read from: ordered, limited, export-cast."""
    table = expr.lower(ctx)
    keys = parse_order(expr.heading, expr.default_order if order_by is None else order_by)
    if keys:
        table = table.order_by([key.ibis(table) for key in keys])
    limit, offset = row_count(limit, "limit"), row_count(offset, "offset")
    if limit is not None or offset:
        table = table.limit(limit, offset=offset or 0)
    text = TEXT_ON_EXPORT | ({"decimal"} if expr.connection.backend.decimals_as_text else set())
    columns = {}
    for attr in expr.heading:
        column = table[attr.name]
        if attr.type is not None and attr.type.name in text:
            column = column.cast("string")
        columns[attr.name] = column
    return table.select(**columns)


def sql_of(expr: Relation, relation: ir.Expr) -> str:
    """``relation`` (lowered from ``expr``) as SQL for ``expr``'s backend."""
    return compile_sql(relation, dialect=expr.connection.backend.dialect)
