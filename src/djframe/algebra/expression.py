"""Query expressions: lazy, immutable relational algebra over declared tables.

Each operator returns a new expression whose heading (names, key, lineage) is derived at once,
so mistakes surface where they are made; nothing runs until results are asked for. An
expression lowers to an Ibis table over unbound tables (:meth:`QueryExpression.lower`), which
Ibis compiles for the backend's dialect.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir

from djframe._typing import PartIntegrity
from djframe.algebra.condition import Not, restricted, warn_unknown_keys
from djframe.algebra.lineage import check_namesakes, namesakes
from djframe.algebra.shape import (
    condition_shape,
    condition_with_values,
    named_shape,
    named_with_values,
)
from djframe.compile.fragments import referenced_names, translate
from djframe.compile.lower import LowerContext, TableRelation, joinable
from djframe.compile.params import canonical_text
from djframe.compile.portable import check_no_aggregates, quoting_hint
from djframe.delete import delete, delete_quick
from djframe.errors import MissingAttributeError, QueryError
from djframe.heading import Attribute, Heading
from djframe.results import ResultsMixin

if TYPE_CHECKING:
    from djframe.connection import Connection

__all__ = ["Join", "Projection", "QueryExpression", "Restriction", "as_expression"]


def as_expression(value: Any) -> Any:
    """A table class stands for its table: ``Session & Subject`` needs ``Subject()``."""
    if isinstance(value, type) and issubclass(value, QueryExpression):
        return value()
    return value


def operand(value: Any, operation: str) -> QueryExpression:
    """The right operand of a binary operator, as an expression, or a clear error."""
    expression = as_expression(value)
    refusal = getattr(expression, "join_refusal", None)  # dj.U says why it cannot be joined
    if refusal and not isinstance(expression, QueryExpression):
        raise QueryError(refusal)
    if not isinstance(expression, QueryExpression):
        raise QueryError(
            f"{operation} takes a table or an expression, not a {type(value).__name__}."
        )
    return expression


class QueryExpression(ResultsMixin):
    """The base of tables and of every expression built from them."""

    connection: Connection

    @property
    def heading(self) -> Heading:
        """The attributes of the result: names, types, primary key and lineage."""
        raise NotImplementedError

    def lower(self, ctx: LowerContext) -> ir.Table:
        """This expression as an Ibis table whose columns are the heading's names."""
        raise NotImplementedError

    @property
    def primary_key(self) -> list[str]:
        """The names of the result's primary-key attributes, following DataJoint 2.x's rules."""
        return self.heading.primary_key

    # -- restriction ---------------------------------------------------------------------
    def restrict(self, condition: Any, *, semantic_check: bool = True) -> QueryExpression:
        """Rows that match ``condition`` (see :mod:`djframe.algebra.condition` for the kinds).

        A :class:`~djframe.algebra.top.Top` keeps the first rows in an order instead.
        """
        from djframe.algebra.top import Top, apply_top

        if isinstance(condition, Top):
            return apply_top(self, condition)
        return Restriction(self, condition, semantic_check)

    def __and__(self, condition: Any) -> QueryExpression:
        return self.restrict(condition)

    def __sub__(self, condition: Any) -> QueryExpression:
        return self.restrict(Not(condition))

    # -- join ----------------------------------------------------------------------------
    def join(
        self, other: Any, *, semantic_check: bool = True, left: bool = False
    ) -> QueryExpression:
        """All combinations of rows that agree on the namesake attributes.

        With ``left=True`` every row of ``self`` is kept (``self`` must determine ``other``).
        """
        return Join(self, as_expression(other), semantic_check=semantic_check, left=left)

    def __mul__(self, other: Any) -> QueryExpression:
        return self.join(other)

    def __matmul__(self, other: Any) -> QueryExpression:
        raise QueryError(
            "The @ operator was removed in DataJoint 2.0: join with A * B (matching namesakes "
            "of one lineage), or A.join(B, semantic_check=False) to match every namesake."
        )

    def __xor__(self, other: Any) -> QueryExpression:
        raise QueryError(
            "The ^ operator was removed in DataJoint 2.0: restrict with A & B, or "
            "A.restrict(B, semantic_check=False) to match every namesake."
        )

    def extend(self, other: Any, *, semantic_check: bool = True) -> QueryExpression:
        """Add ``other``'s attributes to each row (a left join; ``self`` must determine ``other``)."""
        return self.join(other, semantic_check=semantic_check, left=True)

    # -- projection ----------------------------------------------------------------------
    def proj(self, *attributes: Any, **named: str) -> QueryExpression:
        """Keep, rename, compute or exclude attributes; the primary key is always kept.

        ``proj()`` keeps the key; ``proj('a')`` adds ``a``; ``proj(...)`` keeps all;
        ``proj(..., '-notes')`` all but notes; ``proj(new='old')`` renames;
        ``proj(total='a + b')`` computes from portable SQL.
        """
        return Projection(self, attributes, named)

    # -- aggregation and union -----------------------------------------------------------
    def aggr(
        self,
        group: Any,
        *attributes: Any,
        exclude_nonmatching: bool = False,
        semantic_check: bool = True,
        **named: str,
    ) -> QueryExpression:
        """One row per row of ``self`` with aggregates over the matching rows of ``group``.

        ``Student.aggr(Enroll, n='count(*)', gpa='avg(points)')``; ``...`` among
        ``attributes`` keeps ``self``'s secondary attributes.
        """
        from djframe.algebra.aggregation import Aggregation

        return Aggregation(
            self,
            group,
            attributes,
            named,
            exclude_nonmatching=exclude_nonmatching,
            semantic_check=semantic_check,
        )

    aggregate = aggr

    def __add__(self, other: Any) -> QueryExpression:
        from djframe.algebra.union import Union

        return Union(self, other)

    def _foreign_key_source(self) -> Any:
        return None

    # -- deleting ------------------------------------------------------------------------
    def _restricted_table(self) -> Any:
        """The table this expression restricts, or None if it is not a restricted table."""
        return None

    @property
    def default_order(self) -> list[str] | None:
        """The order results come in when none is asked for (a Top's order), else None."""
        return None

    def restriction_chain(self) -> tuple[TableRelation, list[Any]] | None:
        """``(table, conditions outermost first)`` if this is a table restricted by
        conditions (none for the table itself), else None (see :mod:`djframe.compile.cache`)."""
        return None

    def shape(self, values: list[Any]) -> Hashable | None:
        """The key of this expression's structure, its parameters (literals, local frames)
        appended to ``values``; None if it has no shape (see :mod:`djframe.algebra.shape`)."""
        return None

    def with_values(self, values: Iterator[Any]) -> QueryExpression:
        """This expression with its parameters taken from ``values``, in :meth:`shape`'s
        order: the same shape, other literals."""
        return self

    def delete(
        self, *, prompt: bool | None = None, part_integrity: PartIntegrity = "enforce"
    ) -> int:
        """Delete these rows and every row that depends on them, in one transaction.

        Returns the number of rows deleted from this table. Asks first only in an interactive
        session with ``dj.config["safemode"]`` on, unless ``prompt`` says otherwise.
        """
        return delete(self, prompt=prompt, part_integrity=part_integrity)

    def delete_quick(self) -> int:
        """Delete these rows without cascading; refused where other rows still reference them."""
        return delete_quick(self)


class Restriction(QueryExpression):
    def __init__(self, source: QueryExpression, condition: Any, semantic_check: bool) -> None:
        self.source = source
        self.condition = condition
        self.semantic_check = semantic_check
        self.connection = source.connection
        check_restriction(source, condition, semantic_check)

    @property
    def heading(self) -> Heading:
        return self.source.heading

    def _restricted_table(self) -> Any:
        return self.source._restricted_table()

    def restriction_chain(self) -> tuple[TableRelation, list[Any]] | None:
        inner = self.source.restriction_chain()
        return None if inner is None else (inner[0], [self.condition, *inner[1]])

    def shape(self, values: list[Any]) -> Hashable | None:
        source = self.source.shape(values)
        if source is None:
            return None
        condition = condition_shape(self.condition, self.heading, values)
        return None if condition is None else ("restrict", self.semantic_check, source, condition)

    def with_values(self, values: Iterator[Any]) -> QueryExpression:
        source = self.source.with_values(values)
        condition = condition_with_values(self.condition, self.heading, values)
        return Restriction(source, condition, self.semantic_check)

    def lower(self, ctx: LowerContext) -> ir.Table:
        table = self.source.lower(ctx)
        return restricted(table, self.heading, self.condition, ctx, self.semantic_check)


def restriction_names(text: str) -> set[str]:
    """The names a restriction string references, after its checks. Its text without
    literals is parsed once for every query of its shape; errors name the text as written."""
    try:
        return checked_names(canonical_text(text))
    except QueryError:
        return checked_names(text)


def checked_names(text: str) -> set[str]:
    check_no_aggregates(text, "a restriction")
    return referenced_names(text)


def check_restriction(source: QueryExpression, condition: Any, semantic_check: bool) -> None:
    """Check names and lineage where that needs no data, so errors surface at once."""
    if isinstance(condition, str):
        unknown = sorted(restriction_names(condition) - set(source.heading.names))
        if unknown:
            raise MissingAttributeError(
                f"The restriction {condition!r} names {unknown}, which are not attributes here; "
                f"the attributes are {', '.join(source.heading.names)}.{quoting_hint(condition, unknown)}"
            )
        return
    if isinstance(condition, Not):
        check_restriction(source, condition.condition, semantic_check)
        return
    from djframe.algebra.top import Top

    if isinstance(condition, Top):
        raise QueryError(
            f"{condition!r} cannot be negated or combined in a list, AndList or Not: it is an "
            "ORDER BY with LIMIT, not a condition. Apply it on its own: (A & cond) & dj.Top(...)."
        )
    if isinstance(condition, list | tuple):
        for part in condition:
            check_restriction(source, part, semantic_check)
        return
    if isinstance(condition, Mapping):
        warn_unknown_keys(source, condition, source_label(source))
        return
    other = as_expression(condition)
    if semantic_check and isinstance(other, QueryExpression):
        check_namesakes(source.heading, other.heading, "restrict")


def source_label(expr: QueryExpression) -> str:
    """A table's class name (``Fit.Class`` for a part), else ``query``."""
    if getattr(expr, "_info", None) is not None:
        return type(expr).__qualname__.rsplit("<locals>.", 1)[-1]
    return "query"


class Join(QueryExpression):
    def __init__(
        self, a: QueryExpression, b: Any, *, semantic_check: bool = True, left: bool = False
    ) -> None:
        b = operand(b, "join")
        self.a, self.b, self.left = a, b, left
        self.semantic_check = semantic_check
        self.connection = a.connection
        self.on = (
            check_namesakes(a.heading, b.heading, "join")
            if semantic_check
            else namesakes(a.heading, b.heading)
        )
        if left and not a.heading.determines(b.heading):
            raise QueryError(
                "A left join (extend) keeps every row of the left operand, so the left operand "
                f"must determine the right one: it lacks {[k for k in b.primary_key if k not in a.heading]} "
                "of the right operand's primary key."
            )
        self._heading = self.derive_heading()

    def derive_heading(self) -> Heading:
        a, b = self.a.heading, self.b.heading
        joined = a.join(b)
        if not self.left:
            return joined
        return Heading(attr if attr.name in a else replace(attr, nullable=True) for attr in joined)

    @property
    def heading(self) -> Heading:
        return self._heading

    def lower(self, ctx: LowerContext) -> ir.Table:
        a = joinable(self.a.lower(ctx))
        b = joinable(self.b.lower(ctx), a)
        if self.left:
            joined = a.left_join(b, [a[n] == b[n] for n in self.on])
            return joined.select(
                *(a[n] for n in self.a.heading.names),
                *(b[n] for n in self.b.heading.names if n not in self.on),
            )
        joined = a.join(b, self.on) if self.on else a.cross_join(b)
        return joined.select(*self.heading.names)

    def shape(self, values: list[Any]) -> Hashable | None:
        a = self.a.shape(values)
        b = None if a is None else self.b.shape(values)
        return None if b is None else ("join", self.left, self.semantic_check, a, b)

    def with_values(self, values: Iterator[Any]) -> QueryExpression:
        a = self.a.with_values(values)
        b = self.b.with_values(values)
        return Join(a, b, semantic_check=self.semantic_check, left=self.left)


class Projection(QueryExpression):
    def __init__(
        self, source: QueryExpression, attributes: tuple[Any, ...], named: dict[str, str]
    ) -> None:
        self.source = source
        self.connection = source.connection
        self.attributes, self.named = attributes, named
        self.plan = plan_projection(source.heading, attributes, named)
        self.keep, self.renames, self.computed = (
            self.plan.keep,
            self.plan.renames,
            self.plan.computed,
        )
        self._heading = self.derive_heading()

    def derive_heading(self) -> Heading:
        """A renamed attribute takes the original's place, so the key keeps its order."""
        attributes = []
        for attr in self.source.heading:
            if attr.name in self.keep:
                attributes.append(attr)
            attributes += [
                replace(attr, name=new, in_key=attr.in_key and new not in self.plan.copies)
                for new, old in self.renames.items()
                if old == attr.name
            ]
        computed = [Attribute(name, None) for name in self.computed]
        return Heading(attributes + computed)

    @property
    def heading(self) -> Heading:
        return self._heading

    def lower(self, ctx: LowerContext) -> ir.Table:
        table = self.source.lower(ctx)
        columns = {n: table[n] for n in self.keep}
        columns |= {new: table[old] for new, old in self.renames.items()}
        computed = self.computed.items()
        columns |= {name: translate(table, text, aggregates=False) for name, text in computed}
        return table.select(**{n: columns[n] for n in self.heading.names})

    def shape(self, values: list[Any]) -> Hashable | None:
        source = self.source.shape(values)
        computed = None if source is None else named_shape(self.computed, values)
        if computed is None:
            return None
        renames = tuple((n, t) for n, t in self.named.items() if n not in self.computed)
        return ("proj", source, self.attributes, renames, computed)

    def with_values(self, values: Iterator[Any]) -> QueryExpression:
        source = self.source.with_values(values)
        computed = named_with_values(self.computed, values)
        return Projection(
            source, self.attributes, {n: computed.get(n, t) for n, t in self.named.items()}
        )

    def _foreign_key_source(self) -> Any:
        """``-> Parent.proj(new='old')``: a pure renaming of a table can be referenced."""
        source = getattr(self.source, "_foreign_key_source", None)
        found = source() if callable(source) else None
        if found is None or found[1] or self.computed:
            return None
        info = found[0]
        if any(name not in info.heading.primary_key for name in self.keep):
            return None
        return info, dict(self.renames)


@dataclass(frozen=True)
class ProjectionPlan:
    keep: list[str]
    renames: dict[str, str]
    """New name -> source name, for renames and for copies ``new='(old)'``."""
    copies: set[str]
    computed: dict[str, str]
    """New name -> portable SQL."""


def plan_projection(
    heading: Heading, attributes: tuple[Any, ...], named: dict[str, str]
) -> ProjectionPlan:
    """Sort proj's arguments into kept names, renames, copies and computed attributes."""
    keep_all = any(a is Ellipsis for a in attributes)
    excluded = {a[1:].strip() for a in attributes if isinstance(a, str) and a.startswith("-")}
    listed = [a for a in attributes if isinstance(a, str) and not a.startswith("-")]
    for name in [*listed, *excluded]:
        heading[name]  # raises MissingAttributeError naming it
    if excluded & set(heading.primary_key):
        raise QueryError(
            f"Cannot exclude primary-key attribute(s) {sorted(excluded & set(heading.primary_key))} "
            "with proj: a projection keeps the key. Rename them, or use dj.U to change the key."
        )
    renames: dict[str, str] = {}
    copies: set[str] = set()
    computed: dict[str, str] = {}
    for new, text in named.items():
        old = text.strip()
        if old.startswith("(") and old.endswith(")") and old[1:-1].strip() in heading:
            renames[new] = old[1:-1].strip()
            copies.add(new)
        elif old in heading:
            renames[new] = old
        else:
            check_no_aggregates(text, "a computed attribute of proj")
            computed[new] = text
    moved = {old for new, old in renames.items() if new not in copies}
    base = heading.names if keep_all else heading.primary_key + listed
    keep = [n for n in dict.fromkeys(base) if n not in excluded | moved]
    clash = set(keep) & set(named)
    if clash:
        raise QueryError(
            f"proj would create {sorted(clash)} twice: they are kept and also assigned. "
            "Exclude them ('-name') or pick new names."
        )
    if not keep and not named:
        raise QueryError(
            "This projection keeps no attributes: the expression has no primary key (a "
            "dj.U().aggr(...) result, say). Name the attributes to keep, e.g. proj('n')."
        )
    return ProjectionPlan(keep, renames, copies, computed)
