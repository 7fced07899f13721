"""Restriction conditions and how each kind becomes an Ibis predicate.

The kinds (SPEC section 4): a dict (AND of equalities; unknown keys ignored), a list, tuple or
set (OR), :class:`AndList` (AND), :class:`Not`, a bool, another expression (semi-join on the
namesakes, lineage-checked), a Polars / Arrow / pandas frame (semi-join on its columns), a
portable SQL string, and an Ibis deferred predicate (``_.x > 3``). Every kind lowers to one
boolean Ibis value, so they nest freely inside OR, AND and NOT.
"""

from __future__ import annotations

import datetime as dt
import difflib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from djframe.algebra.lineage import check_namesakes, namesakes
from djframe.compile.fragments import BUILD_ERRORS, check_literal, check_text
from djframe.compile.fragments import condition as sql_condition
from djframe.compile.lower import joinable
from djframe.errors import DjframeError, QueryError, warn_caller
from djframe.frames import as_frame
from djframe.heading import Heading

if TYPE_CHECKING:
    from djframe.compile.lower import LowerContext

__all__ = ["AndList", "Not", "predicate", "restricted", "warn_unknown_keys"]


class AndList(list[Any]):
    """Conditions that must all hold: ``A & dj.AndList([c1, c2])`` is ``A & c1 & c2``."""


@dataclass(frozen=True)
class Not:
    """The negation of a condition: ``A & dj.Not(c)`` is ``A - c``."""

    condition: Any


def literal_for(value: Any, column: ir.Value, where: str) -> ir.Value:
    """``value`` as an Ibis literal comparable with ``column``, checked before the engine
    sees it (``where`` names the condition in the error)."""
    if isinstance(value, uuid.UUID):
        value = str(value)
    target = column.type()
    if isinstance(value, str):
        check_text(value, where)
        if target.is_temporal() or target.is_numeric() or target.is_uuid():
            check_literal(value, target, where)
            return ibis.literal(value).cast(target)
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        raise QueryError(f"{where} gives {value}, beyond 64-bit integers: give a smaller number.")
    if isinstance(value, dt.datetime | dt.date) and target.is_temporal():
        return ibis.literal(value, type=target)
    return ibis.literal(value)


def dict_predicate(table: ir.Table, condition: Mapping[str, Any]) -> ir.BooleanValue:
    terms = []
    for name, value in condition.items():
        if name not in table.columns:
            continue  # DataJoint: keys that are not attributes are ignored
        column = table[name]
        where = f"The restriction's {name!r}"
        try:
            terms.append(
                column.isnull() if value is None else column == literal_for(value, column, where)
            )
        except DjframeError:
            raise
        except BUILD_ERRORS:
            raise QueryError(
                f"{where} is {value!r} (Python {type(value).__name__}), which cannot be compared with "
                f"the attribute {name} of type {column.type()}. Give a value of that type."
            ) from None
    return ibis.and_(*terms) if terms else ibis.literal(True)


def comparable(table: ir.Table, other: ir.Table, names: list[str], what: str) -> ir.Table:
    """``other`` ready to be matched with ``table`` on ``names``: a column that is all nulls,
    or text standing for a uuid (a uuid's Arrow form), is cast to the attribute's type (else
    PostgreSQL compares ``integer = text``); a column whose type cannot be compared (a
    frame's string ``k`` for an integer ``k``) is refused, naming it."""
    casts = {}
    for name in names:
        mine, theirs = table[name].type(), other[name].type()
        if theirs.is_null() or (mine.is_uuid() and theirs.is_string()):
            casts[name] = other[name].cast(mine)
            continue
        try:
            table[name] == other[name]  # noqa: B015 (built to see whether Ibis accepts it)
        except BUILD_ERRORS:
            raise QueryError(
                f"{what} has {name!r} of type {theirs}, which cannot be matched with the "
                f"attribute {name} of type {mine}. Convert it to the attribute's type first "
                f"(Polars: pl.col({name!r}).cast(...))."
            ) from None
    return other.mutate(**casts) if casts else other


_warned: set[tuple[str, str]] = set()
"""(table, key) pairs already warned about by :func:`warn_unknown_keys`."""
_pipeline_names: dict[int, tuple[int, frozenset[str]]] = {}
"""Per connection: how many tables it knew, and every attribute name of those tables."""


def warn_unknown_keys(source: Any, condition: Mapping[str, Any], where: str) -> None:
    """Warn once per (table, key) for a dict key that no attribute of any loaded table has
    (``source``: the expression restricted, ``where``: how to name it).

    DataJoint ignores the keys of a restriction dict that are not attributes, so that a make's
    key restricts parents that lack some of its attributes; that stays so. A key that is no
    attribute anywhere in the pipeline is a typo (``{"lable": 3}``) that silently matches
    every row: said once, naming the closest attribute.
    """
    heading = source.heading
    unknown = [k for k in condition if k not in heading]
    if not unknown:
        return
    known = pipeline_names(source.connection)
    info = getattr(source, "_info", None)
    table = f"{id(source.connection)}:{heading.names}" if info is None else info.full_name
    for key in unknown:
        if key in known or (table, key) in _warned:
            continue
        _warned.add((table, key))
        close = difflib.get_close_matches(str(key), heading.names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        warn_caller(
            f"{where} & {{{key!r}: ...}}: no table of the pipeline has an attribute {key!r}, "
            f"so the restriction ignores it, as DataJoint does (with no other key it matches "
            f"every row).{hint} {where} has: {', '.join(heading.names)}."
        )


def pipeline_names(conn: Any) -> frozenset[str]:
    """Every attribute name of the tables ``conn`` has loaded (cached until that changes)."""
    tables = getattr(conn, "tables", {})
    cached = _pipeline_names.get(id(conn))
    if cached is not None and cached[0] == len(tables):
        return cached[1]
    names = frozenset(n for info in tables.values() for n in info.heading.names)
    _pipeline_names[id(conn)] = (len(tables), names)
    return names


def matches(table: ir.Table, other: ir.Table, names: list[str]) -> ir.BooleanValue:
    """True for rows of ``table`` that have a match in ``other`` on ``names`` (EXISTS)."""
    other = other.view()
    if not names:
        return other.count() > 0
    return ibis.and_(*(other[n] == table[n] for n in names)).any()


def restricted(
    table: ir.Table, heading: Heading, condition: Any, ctx: LowerContext, semantic_check: bool
) -> ir.Table:
    """``table`` restricted by ``condition``: a semi-join or antijoin where the condition is
    (the negation of) a match with another relation, else a filter by :func:`predicate`.

    Engines plan a join better than the same test written as a correlated ``[NOT] EXISTS``
    (DuckDB ran ``Student - (Grade & "grade = 'F'")`` 2.5x faster as an ANTI JOIN); Ibis
    writes ``NOT EXISTS`` again for PostgreSQL, which plans it as an anti join anyway. An
    ``AndList`` applies its parts one after another, so each can take this path.
    """
    if isinstance(condition, AndList):
        for part in condition:
            table = restricted(table, heading, part, ctx, semantic_check)
        return table
    negated = isinstance(condition, Not)
    positive = condition.condition if negated else condition
    # Inside a correlated EXISTS, DuckDB cannot flatten a semi-join: keep a filter there.
    other = None if ctx.correlated else relation_match(heading, positive, ctx, semantic_check)
    if other is None:
        return table.filter(predicate(table, heading, condition, ctx, semantic_check))
    relation, names = other
    table = joinable(table)
    right = joinable(relation, table)
    right = comparable(table, right, names, "The condition")
    return table.anti_join(right, names) if negated else table.semi_join(right, names)


def relation_match(
    heading: Heading, condition: Any, ctx: LowerContext, semantic_check: bool
) -> tuple[ir.Table, list[str]] | None:
    """``(relation, names)`` when ``condition`` is a match with another relation on at least
    one namesake (an expression or a local frame), else None."""
    from djframe.algebra.expression import QueryExpression, as_expression

    if isinstance(condition, str | Mapping | bool | list | tuple | set | frozenset):
        return None
    if (frame := as_frame(condition)) is not None:
        names = [n for n in frame.column_names if n in heading]
        return (ctx.relation(frame.select(names)), names) if names else None
    expression = as_expression(condition)
    if not isinstance(expression, QueryExpression):
        return None
    if getattr(type(expression), "is_universal", False) is True:
        return None
    names = matching_names(heading, expression.heading, semantic_check)
    return (expression.lower(ctx), names) if names else None


def matching_names(heading: Heading, other: Heading, semantic_check: bool) -> list[str]:
    """The namesakes a restriction matches on (lineage-checked unless ``semantic_check``
    is off)."""
    if semantic_check:
        return check_namesakes(heading, other, "restrict")
    return namesakes(heading, other)


def predicate(
    table: ir.Table, heading: Heading, condition: Any, ctx: LowerContext, semantic_check: bool
) -> ir.BooleanValue:
    """Lower one condition of any kind to a boolean Ibis value over ``table``."""
    from djframe.algebra.expression import QueryExpression, as_expression

    if type(condition).__module__ == "numpy" and getattr(condition, "ndim", None) == 0:
        condition = condition.item()  # numpy.bool_(True) is a bool

    if isinstance(condition, bool) or getattr(type(condition), "is_universal", False) is True:
        return ibis.literal(condition is not False)
    if isinstance(condition, str):
        return sql_condition(table, condition)
    if isinstance(condition, Not):
        return ~predicate(table, heading, condition.condition, ctx, semantic_check)
    if isinstance(condition, AndList):
        parts = [predicate(table, heading, c, ctx, semantic_check) for c in condition]
        return ibis.and_(*parts) if parts else ibis.literal(True)
    if isinstance(condition, Mapping):
        return dict_predicate(table, condition)
    if (frame := as_frame(condition)) is not None:
        return frame_predicate(table, heading, frame, ctx)
    expression = as_expression(condition)
    if isinstance(expression, QueryExpression):
        return expression_predicate(table, heading, expression, ctx, semantic_check)
    if isinstance(condition, list | tuple | set | frozenset):
        parts = [predicate(table, heading, c, ctx, semantic_check) for c in condition]
        return ibis.or_(*parts) if parts else ibis.literal(False)
    if isinstance(condition, ibis.common.deferred.Deferred):
        return resolved(condition, table)
    if isinstance(condition, ir.BooleanValue):
        return condition
    raise QueryError(
        f"Cannot restrict by a {type(condition).__name__}. A condition is a dict, a list (OR), "
        "dj.AndList, dj.Not, a bool, a table or expression, a Polars/Arrow/pandas frame, a SQL "
        "string, or an Ibis predicate such as _.x > 3."
    )


def resolved(condition: Any, table: ir.Table) -> ir.BooleanValue:
    """An Ibis deferred predicate (``_.x > 3``) over ``table``; one that does not apply to its
    columns or types is a QueryError naming it."""
    try:
        value = condition.resolve(table)
    except BUILD_ERRORS as exc:
        raise QueryError(
            f"The Ibis predicate {condition!r} does not apply to the attributes here "
            f"({', '.join(f'{n}: {t}' for n, t in table.schema().items())}): {exc}"
        ) from None
    if not isinstance(value, ir.BooleanValue):
        raise QueryError(f"The Ibis predicate {condition!r} is not a condition: compare it.")
    return value


def frame_predicate(
    table: ir.Table, heading: Heading, frame: pa.Table, ctx: LowerContext
) -> ir.BooleanValue:
    """Rows matching a local frame on its columns that are attributes here."""
    names = [n for n in frame.column_names if n in heading]
    if not names:  # nothing in common: true when the frame has rows, as for an expression
        return ibis.literal(frame.num_rows > 0)
    relation = comparable(table, ctx.relation(frame.select(names)), names, "The condition")
    return matches(table, relation, names)


def expression_predicate(
    table: ir.Table, heading: Heading, expression: Any, ctx: LowerContext, semantic_check: bool
) -> ir.BooleanValue:
    """Rows matching another expression on the namesakes (a correlated EXISTS)."""
    if getattr(type(expression), "is_universal", False) is True:
        return ibis.literal(True)
    names = matching_names(heading, expression.heading, semantic_check)
    with ctx.inside_exists():
        return matches(table, expression.lower(ctx), names)
