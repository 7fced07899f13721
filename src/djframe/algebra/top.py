"""``dj.Top``: keep the first rows of an expression in a given order.

``A & dj.Top(limit=3, order_by="score DESC")`` is not a WHERE condition but ORDER BY with LIMIT
and OFFSET, applied where it is written: later restrictions filter the rows Top kept. Results of
a Top come back in its order unless another order is asked for.

Two Tops in a row with the same order (or the second with ``order_by=None``, which inherits the
first's) merge into one (:meth:`Top.merge`). The merge is exact: ``Top(5, offset=0)`` then ``Top(5, offset=3)`` keeps
rows 3 and 4 of the original order (DataJoint's "min limit, offsets add" rule agrees with this
whenever the second window fits inside the first, and over-counts when it does not).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir

from djframe.algebra.expression import QueryExpression
from djframe.compile.lower import LowerContext
from djframe.compile.sql import OrderBy, OrderKey, order_key, parse_order
from djframe.errors import QueryArgumentError, QueryError

if TYPE_CHECKING:
    from djframe.heading import Heading

__all__ = ["Limited", "Top", "apply_top"]


@dataclass(frozen=True)
class Top:
    """The first ``limit`` rows (after skipping ``offset``) in the order ``order_by``.

    ``order_by`` is ``"KEY"`` (the primary key, the default), an attribute name with an
    optional ``DESC``/``ASC``, a list of those, or ``None`` to inherit the order of an earlier
    Top; it is kept as a list (a single string becomes a one-item list), as in DataJoint.
    ``limit=None`` keeps every row after the offset. Ties are broken by the primary key, so
    the same data always gives the same rows. An argument of the wrong type raises
    :class:`~djframe.errors.QueryArgumentError` (a ``TypeError``), a negative count a
    :class:`~djframe.errors.QueryError`.

    Examples
    --------
    >>> import djframe as dj
    >>> dj.Top(3, "score DESC")
    Top(limit=3, order_by=['score DESC'], offset=0)
    >>> dj.Top(10, "score DESC", offset=2).merge(dj.Top(3, None, offset=1))
    Top(limit=3, order_by=['score DESC'], offset=3)
    """

    limit: int | None = 1
    order_by: OrderBy = "KEY"
    offset: int = 0

    def __post_init__(self) -> None:
        _check_count("limit", self.limit, optional=True)
        _check_count("offset", self.offset, optional=False)
        order = self.order_by
        if not (order is None or isinstance(order, str) or _is_list_of_str(order)):
            raise QueryArgumentError(
                f"dj.Top: order_by must be 'KEY', an attribute name such as 'score DESC', a list "
                f"of those, or None, not {order!r}."
            )
        if order is not None:
            object.__setattr__(self, "order_by", [order] if isinstance(order, str) else list(order))

    def merge(self, later: Top) -> Top:
        """One Top equal to applying ``self`` and then ``later`` (which has the same order or
        ``order_by=None``): offsets add, and the limit is the smaller one, cut further when
        ``later``'s offset reaches past the end of ``self``'s window (DataJoint's merge keeps
        ``min(limits)`` there and so counts rows ``self`` never kept)."""
        offset = self.offset + later.offset
        if self.limit is None:
            return Top(later.limit, self.order_by, offset)
        room = max(self.limit - later.offset, 0)
        limit = room if later.limit is None else min(later.limit, room)
        return Top(limit, self.order_by, offset)


def _check_count(name: str, value: Any, *, optional: bool) -> None:
    """``value`` must be a non-negative int (or None when ``optional``)."""
    if value is None and optional:
        return
    allowed = "a non-negative int or None" if optional else "a non-negative int"
    if not isinstance(value, int) or isinstance(value, bool):
        raise QueryArgumentError(f"dj.Top: {name} must be {allowed}, not {value!r}.")
    if value < 0:
        raise QueryError(f"dj.Top: {name} must be {allowed}, not {value!r}.")


def _is_list_of_str(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def order_keys(heading: Heading, order_by: OrderBy) -> list[OrderKey]:
    """``order_by`` parsed, the primary key appended as tie-breaker."""
    keys = parse_order(heading, order_by)
    named = {key.name for key in keys}
    return keys + [order_key(heading, n) for n in heading.primary_key if n not in named]


class Limited(QueryExpression):
    """``source & Top(...)``: the first rows of ``source`` in the Top's order."""

    def __init__(self, source: QueryExpression, top: Top) -> None:
        self.source, self.top = source, top
        self.connection = source.connection
        self.ordering = order_keys(source.heading, top.order_by)

    @property
    def heading(self) -> Heading:
        return self.source.heading

    def _restricted_table(self) -> Any:
        return self.source._restricted_table()

    @property
    def default_order(self) -> list[str]:
        return [key.text() for key in self.ordering]

    def shape(self, values: list[Any]) -> Hashable | None:
        """The order is part of the shape; the limit and a non-zero offset are parameters
        (Ibis writes no OFFSET for 0)."""
        source = self.source.shape(values)
        if source is None:
            return None
        limit, offset = self.top.limit, self.top.offset
        values += [v for v in (limit, offset or None) if v is not None]
        return ("top", source, tuple(self.default_order), limit is None, offset == 0)

    def with_values(self, values: Iterator[Any]) -> QueryExpression:
        source = self.source.with_values(values)
        limit = None if self.top.limit is None else next(values)
        offset = next(values) if self.top.offset else 0
        return Limited(source, Top(limit, self.top.order_by, offset))

    def lower(self, ctx: LowerContext) -> ir.Table:
        table = self.source.lower(ctx)
        ordered = table.order_by([key.ibis(table) for key in self.ordering])
        return ordered.limit(self.top.limit, offset=self.top.offset)


def apply_top(source: QueryExpression, top: Top) -> QueryExpression:
    """``source & top``, merged with a Top directly underneath when the orders agree."""
    if isinstance(source, Limited) and (
        top.order_by is None or order_keys(source.heading, top.order_by) == source.ordering
    ):
        return Limited(source.source, source.top.merge(top))
    if top.order_by is None:
        top = Top(top.limit, "KEY", top.offset)
    return Limited(source, top)
