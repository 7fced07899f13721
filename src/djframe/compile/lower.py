"""What lowering an expression to Ibis needs: the context, and the protocol nodes implement.

Every query expression lowers itself to an Ibis table over unbound tables
(:meth:`Relation.lower`). The :class:`LowerContext` collects the local frames it restricts by
(uploaded when the query runs). The services above the compiler (results, insert, delete)
and the compiler itself see expressions only through :class:`Relation`.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir

if TYPE_CHECKING:
    import pyarrow as pa

    from djframe.catalog import TableInfo
    from djframe.heading import Heading

__all__ = ["LowerContext", "Relation", "TableRelation", "joinable"]

_frame_names = itertools.count()


class LowerContext:
    """Collects the local frames an expression restricts by, to upload before it runs."""

    def __init__(self) -> None:
        self.frames: dict[str, pa.Table] = {}
        self.correlated = False
        """True while lowering the inside of a correlated ``EXISTS``, where DuckDB cannot
        flatten a semi-join or antijoin: restrictions there stay filters."""

    @contextmanager
    def inside_exists(self) -> Iterator[None]:
        """Lower the relation an ``EXISTS`` tests (see :attr:`correlated`)."""
        outer, self.correlated = self.correlated, True
        try:
            yield
        finally:
            self.correlated = outer

    def relation(self, data: pa.Table) -> ir.Table:
        return ibis.table(ibis.schema(data.schema), name=self.register(data))

    def register(self, data: pa.Table) -> str:
        """A fresh name for local rows the query reads (uploaded when it runs)."""
        name = f"_djframe_frame_{next(_frame_names)}"
        self.frames[name] = data
        return name


class Relation(Protocol):
    """A query expression as the compiler and the services see it."""

    connection: Any

    @property
    def heading(self) -> Heading: ...

    @property
    def default_order(self) -> list[str] | None:
        """The order results come in when none is asked for (a Top's order), else None."""
        ...

    def lower(self, ctx: LowerContext) -> ir.Table:
        """The expression as an Ibis table whose columns are the heading's names."""
        ...

    def restriction_chain(self) -> tuple[TableRelation, list[Any]] | None:
        """``(table, conditions outermost first)`` for a table restricted by conditions
        (none for a table itself), else None."""
        ...

    def shape(self, values: list[Any]) -> Hashable | None:
        """The key of the expression's structure, its parameters appended to ``values``
        (None: it has no shape; see :mod:`djframe.compile.cache`)."""
        ...

    def with_values(self, values: Iterator[Any]) -> Relation:
        """The expression with its parameters taken from ``values``, in :meth:`shape`'s order."""
        ...

    def proj(self, *attributes: Any, **named: str) -> Relation: ...

    def restrict(self, condition: Any, *, semantic_check: bool = True) -> Relation: ...

    def _restricted_table(self) -> TableRelation | None:
        """The table this expression restricts, or None if it is not a restricted table."""
        ...

    def __len__(self) -> int: ...


class TableRelation(Relation, Protocol):
    """A declared table."""

    @property
    def info(self) -> TableInfo: ...

    @property
    def full_name(self) -> str: ...


def joinable(table: ir.Table, partner: ir.Table | None = None) -> ir.Table:
    """``table``, or a view of it if it is a join or the same relation as ``partner``.

    Ibis extends a join chain (a join's, a union's outer join) in place and then rejects
    predicates on the chain's own columns; and ``t[n] == t[n]`` is ambiguous in a self-join.
    Other relations join as they are: a view would only add a node that every compiler pass
    walks.
    """
    same = partner is not None and table.op() == partner.op()
    return table.view() if same or isinstance(table.op(), ops.JoinChain) else table
