"""Compiled SQL reused across queries of the same shape: ``Table & {"k": 3}`` compiles once.

Compiling through Ibis takes milliseconds, far more than running a point query, and
``populate`` runs the same query for every key (``(Parent & key).fetch1(...)``). A query
whose shape is a table restricted by dicts of plain values (ints and strings) is compiled once
by Ibis with a placeholder for each value; later queries of that shape splice their values'
literals into the cached text. The text is the one Ibis gives for those values (a test
compares them), so nothing but the time changes. A table restricted by a local frame
(``make_batch``'s ``Source & keys``) is cached the same way, by the frame's columns and types,
with the name of the uploaded frame spliced in. Any other query compiles as before.

Examples
--------
>>> sql = query_sql(Student & {"student_id": 3}, LowerContext())  # doctest: +SKIP
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from djframe._sql import plain_literal, quote
from djframe.compile.lower import LowerContext
from djframe.compile.sql import final_relation, sql_of
from djframe.frames import as_frame

if TYPE_CHECKING:
    from djframe.catalog import TableInfo
    from djframe.compile.lower import Relation, TableRelation
    from djframe.types import CoreType

__all__ = ["dict_restrictions", "query_sql", "table_sql"]

CACHE_SIZE = 512
INT64 = (-(2**63), 2**63 - 1)

_PLACEHOLDER_INT = 7_361_284_905_000_000_000
_PLACEHOLDER_STR = "djframe_placeholder_{}_q"


@dataclass(frozen=True)
class Template:
    """SQL text cut at its placeholders: ``parts[0] + v0 + parts[1] + v1 + ...``."""

    info: TableInfo
    parts: tuple[str, ...]

    def render(self, literals: list[str]) -> str:
        pieces = [self.parts[0]]
        for literal, part in zip(literals, self.parts[1:], strict=True):
            pieces += [literal, part]
        return "".join(pieces)


_cache: OrderedDict[tuple[Any, ...], Template | None] = OrderedDict()


def query_sql(expr: Relation, ctx: LowerContext, **options: Any) -> str:
    """The SQL of ``final_relation(expr, ctx, **options)``, from the cache when it can be."""
    restricted = frame_restriction(expr)
    if restricted is not None:
        return frame_query_sql(expr, ctx, *restricted, options)
    shape = query_shape(expr, options)
    if shape is None:
        return ibis_sql(expr, ctx, **options)
    key, info, values = shape
    template = _cache.get(key)
    if template is None or template.info is not info:
        template = compile_template(expr, info, values, options)
        remember(key, template)
        if template is None:
            return ibis_sql(expr, ctx, **options)
    else:
        _cache.move_to_end(key)
    return template.render([plain_literal(v) for v in values])


def ibis_sql(expr: Relation, ctx: LowerContext, **options: Any) -> str:
    return sql_of(expr, final_relation(expr, ctx, **options))


def frame_query_sql(
    expr: Relation,
    ctx: LowerContext,
    info: TableInfo,
    frame: pa.Table,
    options: Mapping[str, Any],
) -> str:
    """The SQL of a table restricted by a local frame, the frame's upload name spliced in."""
    key = (
        "frame",
        expr.connection.backend.dialect,
        id(info),
        frame.schema,
        *(options_key(options)),
    )
    template = _cache.get(key)
    if template is not None and template.info is info:
        _cache.move_to_end(key)
        return template.render([quote(ctx.register(frame))])
    sql = ibis_sql(expr, ctx, **options)
    pieces = sql.split(quote(next(iter(ctx.frames)))) if len(ctx.frames) == 1 else []
    remember(key, Template(info, tuple(pieces)) if len(pieces) == 2 else None)
    return sql


def frame_restriction(expr: Relation) -> tuple[TableInfo, pa.Table] | None:
    """``(table, the frame's matching columns)`` for a table restricted by a local frame."""
    chain = expr.restriction_chain()
    if chain is None or len(chain[1]) != 1:
        return None
    table, (condition,) = chain
    frame = as_frame(condition)
    if frame is None:
        return None
    heading = table.info.heading
    names = [n for n in frame.column_names if n in heading]
    return (table.info, frame.select(names)) if names else None


def options_key(options: Mapping[str, Any]) -> tuple[Any, ...]:
    order = options.get("order_by")
    order_key = tuple(order) if isinstance(order, list | tuple) else order
    return order_key, options.get("limit"), options.get("offset")


def remember(key: tuple[Any, ...], template: Template | None) -> None:
    _cache[key] = template
    if len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)


# -- shapes ------------------------------------------------------------------------------
def query_shape(
    expr: Relation, options: Mapping[str, Any]
) -> tuple[tuple[Any, ...], TableInfo, list[Any]] | None:
    """``(cache key, table, values)`` for a table restricted by dicts, else None."""
    restricted = dict_restrictions(expr)
    if restricted is None:
        return None
    table, conditions = restricted
    info = table.info
    names = info.heading.names
    values: list[Any] = []
    kinds: list[tuple[str, ...]] = []
    for condition in conditions:
        kind: list[str] = []
        for name, value in condition.items():
            if name not in names:
                continue  # ignored by the restriction, so not part of the shape
            label = value_kind(value)
            if label is None or not kind_fits(label, info.heading[name].type):
                return None
            kind.append(f"{name}:{label}")
            if label != "null":
                values.append(value)
        kinds.append(tuple(kind))
    key = (expr.connection.backend.dialect, id(info), tuple(kinds), *options_key(options))
    return key, info, values


def dict_restrictions(expr: Relation) -> tuple[TableRelation, list[Mapping[str, Any]]] | None:
    """``(table, its dicts, outermost first)`` for a table restricted by dicts only, else None."""
    chain = expr.restriction_chain()
    if chain is None:
        return None
    table, conditions = chain
    if not conditions or not all(isinstance(c, Mapping) for c in conditions):
        return None
    return table, conditions


def table_sql(table: TableRelation) -> str:
    """The SQL that selects a whole table's columns as results read them (cached)."""
    info = table.info
    key = ("table", table.connection.backend.dialect, id(info))
    template = _cache.get(key)
    if template is None or template.info is not info:
        template = Template(info, (ibis_sql(table, LowerContext()),))
        remember(key, template)
    return template.render([])


_FITTING = {
    "null": None,
    "int": {"int8", "int16", "int32", "int64"},
    "str": {"char", "varchar", "enum"},
}


def kind_fits(label: str, core: CoreType | None) -> bool:
    """Whether a value of kind ``label`` is compared with an attribute of type ``core``
    without a cast, so that a placeholder stands for it faithfully; other pairs compile
    (and are checked) with their own values."""
    allowed = _FITTING[label]
    return allowed is None or (core is not None and core.name in allowed)


def value_kind(value: Any) -> str | None:
    """``"int"``, ``"str"`` or ``"null"`` for values the cache handles, else None."""
    if value is None:
        return "null"
    if type(value) is int and INT64[0] <= value <= INT64[1]:
        return "int"
    if type(value) is str and value.isprintable():
        return "str"
    return None


def placeholders(values: list[Any]) -> list[Any]:
    return [
        _PLACEHOLDER_INT + i if isinstance(v, int) else _PLACEHOLDER_STR.format(i)
        for i, v in enumerate(values)
    ]


def compile_template(
    expr: Relation, info: TableInfo, values: list[Any], options: Mapping[str, Any]
) -> Template | None:
    """Compile the shape of ``expr`` with placeholders; None if they cannot be found again."""
    marks = placeholders(values)
    stand_in = expr.with_values(iter(marks))
    ctx = LowerContext()
    sql = ibis_sql(stand_in, ctx, **options)
    if ctx.frames:
        return None
    parts = [sql]
    for mark in marks:
        head, *rest = parts[-1].split(plain_literal(mark))
        if len(rest) != 1:
            return None  # not found exactly once: do not guess
        parts[-1:] = [head, rest[0]]
    return Template(info, tuple(parts))
