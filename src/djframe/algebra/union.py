"""``A + B``: the rows of both operands, which must share one primary key.

Secondary attributes must be disjoint (DataJoint 2.x); a row present on one side only gets
NULL for the other side's secondary attributes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import replace
from typing import Any

import ibis
import ibis.expr.types as ir

from djframe.algebra.expression import QueryExpression, operand
from djframe.algebra.lineage import check_namesakes
from djframe.compile.lower import LowerContext
from djframe.errors import QueryError
from djframe.heading import Heading

__all__ = ["Union"]


class Union(QueryExpression):
    def __init__(self, a: QueryExpression, b: Any) -> None:
        b = operand(b, "union")
        if set(a.primary_key) != set(b.primary_key):
            raise QueryError(
                f"The operands of a union must have the same primary key: ({', '.join(a.primary_key)}) "
                f"vs ({', '.join(b.primary_key)}). Project both onto the same key first."
            )
        shared = set(a.heading.secondary_attributes) & set(b.heading.secondary_attributes)
        if shared:
            raise QueryError(
                f"The operands of a union must not share secondary attributes; both have {sorted(shared)}. "
                "Rename or project them away on one side."
            )
        check_namesakes(a.heading, b.heading, "unite")
        self.a, self.b = a, b
        self.connection = a.connection
        extra = [replace(attr, nullable=True) for attr in b.heading if attr.name not in a.heading]
        mine = [replace(attr, nullable=attr.nullable or not attr.in_key) for attr in a.heading]
        self._heading = Heading(mine + extra)

    @property
    def heading(self) -> Heading:
        return self._heading

    def shape(self, values: list[Any]) -> Hashable | None:
        a = self.a.shape(values)
        b = None if a is None else self.b.shape(values)
        return None if b is None else ("union", a, b)

    def with_values(self, values: Iterator[Any]) -> QueryExpression:
        a = self.a.with_values(values)
        return Union(a, self.b.with_values(values))

    def lower(self, ctx: LowerContext) -> ir.Table:
        a, b = self.a.lower(ctx).view(), self.b.lower(ctx).view()
        key = self.a.primary_key
        mine, theirs = self.a.heading.secondary_attributes, self.b.heading.secondary_attributes
        if not mine and not theirs:
            return a.select(*key).union(b.select(*key), distinct=True)
        # (A left join B) union all (B - A), not a full outer join: DuckDB cannot decorrelate
        # a full outer join over a shared subquery inside EXISTS (a restriction by a union).
        on = [a[k] == b[k] for k in key] or [ibis.literal(True)]
        both = a.left_join(b, on).select(*(a[n] for n in [*key, *mine]), *(b[n] for n in theirs))
        marked = a.select(*key, _djframe_in_a=ibis.literal(True)).view()
        on_b = [b[k] == marked[k] for k in key] or [ibis.literal(True)]
        only_b = (
            b.left_join(marked, on_b)
            .filter(marked._djframe_in_a.isnull())
            .select(
                *(b[k] for k in key),
                *(ibis.null(a[n].type()).name(n) for n in mine),
                *(b[n] for n in theirs),
            )
        )
        return both.union(only_b, distinct=False).select(*self.heading.names)
