"""``A.aggr(B, ...)``: one row per row of A, with aggregates computed over the matching rows of B.

As in DataJoint 2.x, every row of A is kept by default (a left join; counts of non-matching
rows are 0, other aggregates NULL); ``exclude_nonmatching=True`` keeps only rows of A that
have matches. B is aggregated first and then joined, which is also the faster plan.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
from sqlglot import exp

from djframe.algebra.expression import LowerContext, QueryExpression, operand
from djframe.algebra.lineage import check_namesakes, namesakes
from djframe.algebra.sqlexpr import parse_sql, translate
from djframe.errors import QueryError
from djframe.heading import Attribute, Heading

__all__ = ["Aggregation", "aggregates"]


def aggregates(table: ir.Table, named: dict[str, str]) -> dict[str, ir.Value]:
    return {name: translate(table, text) for name, text in named.items()}


def is_count(text: str) -> bool:
    return isinstance(parse_sql(text), exp.Count)


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
        self.exclude_nonmatching = exclude_nonmatching
        self.on = check_namesakes(a.heading, b.heading, "aggr") if semantic_check else namesakes(a.heading, b.heading)
        self.keep = self.kept_attributes(attributes)
        self._heading = Heading(
            [a.heading[n] for n in self.keep] + [Attribute(n, None) for n in self.named]
        )

    def kept_attributes(self, attributes: tuple[Any, ...]) -> list[str]:
        heading = self.a.heading
        listed = heading.names if any(x is Ellipsis for x in attributes) else [x for x in attributes if isinstance(x, str)]
        for name in listed:
            heading[name]
        clash = set(listed) & set(self.named) | set(heading.primary_key) & set(self.named)
        if clash:
            raise QueryError(f"aggr would create {sorted(clash)} twice; pick other names.")
        return list(dict.fromkeys(heading.primary_key + listed))

    @property
    def heading(self) -> Heading:
        return self._heading

    def lower(self, ctx: LowerContext) -> ir.Table:
        a, b = self.a.lower(ctx), self.b.lower(ctx).view()
        key = self.a.primary_key
        grouped = b.group_by(key).aggregate(**aggregates(b, self.named)) if key else b.aggregate(**aggregates(b, self.named))
        if not key:
            return a.cross_join(grouped).select(*self.heading.names)
        grouped = grouped.view()
        condition = [a[k] == grouped[k] for k in key]
        joined = a.join(grouped, condition) if self.exclude_nonmatching else a.left_join(grouped, condition)
        columns = {n: a[n] for n in self.keep}
        for name, text in self.named.items():
            value = grouped[name]
            columns[name] = ibis.coalesce(value, 0) if is_count(text) and not self.exclude_nonmatching else value
        return joined.select(**columns)
