"""``A.aggr(B, ...)``: one row per row of A, with aggregates computed over the matching rows of B.

As in DataJoint 2.x, every row of A is kept by default (a left join; counts of non-matching
rows are 0, other aggregates NULL); ``exclude_nonmatching=True`` keeps only rows of A that
have matches. Rows match on all namesakes, as in a join. B is aggregated first and then
joined, which is also the faster plan.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

import ibis
import ibis.expr.types as ir
from sqlglot import exp

from djframe.algebra.expression import QueryExpression, operand
from djframe.algebra.lineage import check_namesakes, namesakes
from djframe.algebra.shape import named_shape, named_with_values
from djframe.compile.fragments import parse_sql, translate
from djframe.compile.lower import LowerContext, joinable
from djframe.errors import QueryError
from djframe.heading import Attribute, Heading

__all__ = ["Aggregation", "aggregates"]


def aggregates(table: ir.Table, named: dict[str, str]) -> dict[str, ir.Value]:
    """Each named text as an aggregate over ``table``; a per-row value is refused."""
    values = {name: translate(table, text) for name, text in named.items()}
    for name, value in values.items():
        if isinstance(value, ir.Column):
            raise QueryError(
                f"aggr's {name}={named[name]!r} is a value per row, not an aggregate: aggr "
                f"computes one value per group. Aggregate it, e.g. {name}='max({named[name]})', "
                "or join to keep per-row values."
            )
    return values


def is_count(text: str) -> bool:
    return isinstance(parse_sql(text), exp.Count)


def matching_rows(b: ir.Table, a: ir.Table, on: list[str]) -> ir.Table:
    """The rows of B that agree with a row of A on every namesake (NULL never agrees).

    Grouping B by A's key alone would also count rows that differ from A in another shared
    attribute (a secondary foreign key of A, say); ``on`` contains A's key, so each row of B
    matches at most one row of A.
    """
    partner = a.select(*on).view()
    matched = b.join(partner, [b[n] == partner[n] for n in on])
    return matched.select(*(b[n] for n in b.columns)).view()


class Aggregation(QueryExpression):
    def __init__(
        self,
        a: QueryExpression,
        b: Any,
        attributes: tuple[Any, ...],
        named: dict[str, str],
        *,
        exclude_nonmatching: bool = False,
        semantic_check: bool = True,
    ) -> None:
        b = operand(b, "aggr")
        missing = [k for k in a.primary_key if k not in b.heading]
        if missing:
            raise QueryError(
                f"aggr needs the grouped expression to contain the primary key of the left "
                f"operand; it lacks {missing}. Join the missing attributes in first."
            )
        self.a, self.b, self.named = a, b, dict(named)
        self.connection = a.connection
        self.attributes = attributes
        self.exclude_nonmatching = exclude_nonmatching
        self.semantic_check = semantic_check
        self.on = (
            check_namesakes(a.heading, b.heading, "aggr")
            if semantic_check
            else namesakes(a.heading, b.heading)
        )
        self.keep = self.kept_attributes(attributes)
        self._heading = Heading(
            [a.heading[n] for n in self.keep] + [Attribute(n, None) for n in self.named]
        )

    def kept_attributes(self, attributes: tuple[Any, ...]) -> list[str]:
        heading = self.a.heading
        listed = (
            heading.names
            if any(x is Ellipsis for x in attributes)
            else [x for x in attributes if isinstance(x, str)]
        )
        for name in listed:
            heading[name]
        clash = set(listed) & set(self.named) | set(heading.primary_key) & set(self.named)
        if clash:
            raise QueryError(f"aggr would create {sorted(clash)} twice; pick other names.")
        return list(dict.fromkeys(heading.primary_key + listed))

    @property
    def heading(self) -> Heading:
        return self._heading

    def shape(self, values: list[Any]) -> Hashable | None:
        a = self.a.shape(values)
        b = None if a is None else self.b.shape(values)
        named = None if b is None else named_shape(self.named, values)
        if named is None:
            return None
        flags = (self.exclude_nonmatching, self.semantic_check)
        return ("aggr", a, b, self.attributes, named, flags)

    def with_values(self, values: Iterator[Any]) -> QueryExpression:
        a, b = self.a.with_values(values), self.b.with_values(values)
        return Aggregation(
            a,
            b,
            self.attributes,
            named_with_values(self.named, values),
            exclude_nonmatching=self.exclude_nonmatching,
            semantic_check=self.semantic_check,
        )

    def lower(self, ctx: LowerContext) -> ir.Table:
        a, b = joinable(self.a.lower(ctx)), joinable(self.b.lower(ctx))
        key = self.a.primary_key
        if set(self.on) - set(key):
            b = matching_rows(b, a, self.on)
        if not key:  # A has at most one row: pair it with the totals over all of B
            totals = b.aggregate(_djframe_rows=b.count(), **aggregates(b, self.named))
            joined = a.cross_join(totals)
            if self.exclude_nonmatching:
                joined = joined.filter(joined._djframe_rows > 0)
            return joined.select(*self.heading.names)
        grouped = b.group_by(key).aggregate(**aggregates(b, self.named))
        grouped = grouped.view()
        condition = [a[k] == grouped[k] for k in key]
        joined = (
            a.join(grouped, condition)
            if self.exclude_nonmatching
            else a.left_join(grouped, condition)
        )
        columns = {n: a[n] for n in self.keep}
        for name, text in self.named.items():
            value = grouped[name]
            columns[name] = (
                ibis.coalesce(value, 0)
                if is_count(text) and not self.exclude_nonmatching
                else value
            )
        return joined.select(**columns)
