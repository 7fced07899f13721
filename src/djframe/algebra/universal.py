"""``dj.U``: the universal set of some attributes, for distinct values and free grouping.

``dj.U('a', 'b') & A`` is the distinct ``(a, b)`` combinations of A, keyed by ``(a, b)``;
``dj.U('a').aggr(A, n='count(*)')`` groups A by ``a``; ``dj.U().aggr(A, ...)`` is one row of
totals. ``A & dj.U(...)`` is A itself. A universal set has no rows of its own, so it cannot
be fetched, joined or subtracted from.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

import ibis.expr.types as ir

from djframe.algebra.aggregation import aggregates
from djframe.algebra.expression import QueryExpression, as_expression
from djframe.algebra.shape import named_shape, named_with_values
from djframe.compile.lower import LowerContext
from djframe.errors import QueryError
from djframe.heading import Attribute, Heading

__all__ = ["U"]


class U:
    """The universal set of ``attributes`` (DataJoint's ``dj.U``)."""

    is_universal = True

    def __init__(self, *attributes: str) -> None:
        self.attributes = list(attributes)

    def __repr__(self) -> str:
        return f"dj.U({', '.join(map(repr, self.attributes))})"

    def __and__(self, other: Any) -> QueryExpression:
        return Distinct(as_expression(other), self.attributes)

    def __rand__(self, other: Any) -> Any:
        return as_expression(other)

    def aggr(
        self, group: Any, *attributes: Any, exclude_nonmatching: bool = True, **named: str
    ) -> QueryExpression:
        if attributes:
            raise QueryError("dj.U(...).aggr takes only named aggregates, e.g. n='count(*)'.")
        if not exclude_nonmatching:
            raise QueryError(
                "dj.U(...).aggr always excludes non-matching rows: a universal set has none."
            )
        return GroupBy(as_expression(group), self.attributes, named)

    aggregate = aggr

    join_refusal = (
        "Joining with dj.U (dj.U(...) * expr) is no longer supported: it was removed in "
        "DataJoint 2.0. Use dj.U(...) & expr."
    )

    def __mul__(self, other: Any) -> Any:
        raise QueryError(self.join_refusal)

    __rmul__ = __mul__

    def __sub__(self, other: Any) -> Any:
        raise QueryError("dj.U - expr would be an infinite set; restrict it with & instead.")


def checked(expr: Any, attributes: list[str]) -> QueryExpression:
    if not isinstance(expr, QueryExpression):
        raise QueryError(f"dj.U restricts a table or expression, not a {type(expr).__name__}.")
    for name in attributes:
        expr.heading[name]
    return expr


class Distinct(QueryExpression):
    def __init__(self, source: Any, attributes: list[str]) -> None:
        self.source = checked(source, attributes)
        self.attributes = attributes
        self.connection = self.source.connection
        self._heading = Heading([self.source.heading[n] for n in attributes]).with_key(attributes)

    @property
    def heading(self) -> Heading:
        return self._heading

    def lower(self, ctx: LowerContext) -> ir.Table:
        return self.source.lower(ctx).select(*self.attributes).distinct()

    def shape(self, values: list[Any]) -> Hashable | None:
        source = self.source.shape(values)
        return None if source is None else ("distinct", source, tuple(self.attributes))

    def with_values(self, values: Iterator[Any]) -> QueryExpression:
        return Distinct(self.source.with_values(values), self.attributes)


class GroupBy(QueryExpression):
    def __init__(self, source: Any, attributes: list[str], named: dict[str, str]) -> None:
        self.source = checked(source, attributes)
        self.attributes, self.named = attributes, dict(named)
        self.connection = self.source.connection
        keyed = [self.source.heading[n] for n in attributes]
        self._heading = Heading(keyed + [Attribute(n, None) for n in named]).with_key(attributes)

    @property
    def heading(self) -> Heading:
        return self._heading

    def lower(self, ctx: LowerContext) -> ir.Table:
        table = self.source.lower(ctx)
        values = aggregates(table, self.named)
        grouped = (
            table.group_by(self.attributes).aggregate(**values)
            if self.attributes
            else table.aggregate(**values)
        )
        return grouped.select(*self.heading.names)

    def shape(self, values: list[Any]) -> Hashable | None:
        source = self.source.shape(values)
        named = None if source is None else named_shape(self.named, values)
        return None if named is None else ("group", source, tuple(self.attributes), named)

    def with_values(self, values: Iterator[Any]) -> QueryExpression:
        source = self.source.with_values(values)
        return GroupBy(source, self.attributes, named_with_values(self.named, values))
