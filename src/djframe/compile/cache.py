"""Compiled SQL reused across queries of the same shape: ``Table & {"k": 3}`` compiles once.

Compiling through Ibis takes milliseconds, far more than running a point query, and
``populate`` runs the same query for every key (``(Parent & key).fetch1(...)``). Every
expression has a *shape* (:meth:`~djframe.algebra.expression.QueryExpression.shape`): its
structure without its parameters, which are the values of dict restrictions, the integer and
string literals of portable SQL (restrictions, computed attributes, aggregates), a Top's
limit and offset, and local frames. The first query of a shape is compiled by Ibis twice: as
it is, and with a distinct stand-in for each parameter, whose text is then cut out of the SQL.
The cut text is kept only if splicing the query's own literals into it gives back, character
for character, the SQL Ibis gave; later queries of that shape splice theirs (literals written
by :func:`~djframe._sql.plain_literal`, frames by the name they are uploaded under) and skip
Ibis. An expression without a shape (an Ibis predicate among its conditions) compiles as before.

Examples
--------
>>> sql = query_sql(Student & {"student_id": 3}, LowerContext())  # doctest: +SKIP
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from djframe._sql import plain_literal, quote
from djframe.compile.lower import LowerContext
from djframe.compile.params import param_kind, placeholder
from djframe.compile.sql import final_relation, sql_of

if TYPE_CHECKING:
    from djframe.compile.lower import Relation, TableRelation

__all__ = ["dict_restrictions", "query_sql", "table_sql"]

CACHE_SIZE = 512
SLOT = b"djframe_slot"
"""Schema metadata of a stand-in frame: the parameter it stands for."""
_MISSING = object()


@dataclass(frozen=True)
class Template:
    """SQL text cut at its parameters: ``parts[0] + p[slots[0]] + parts[1] + ...``."""

    parts: tuple[str, ...]
    slots: tuple[int, ...] = ()

    def render(self, params: Sequence[str]) -> str:
        pieces = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            pieces += [params[slot], part]
        return "".join(pieces)


_cache: OrderedDict[Hashable, Template | None] = OrderedDict()
_lock = threading.Lock()
"""Guards the cache's order: queries may compile in several threads at once."""


def query_sql(expr: Relation, ctx: LowerContext, **options: Any) -> str:
    """The SQL of ``final_relation(expr, ctx, **options)``, from the cache when it can be."""
    values: list[Any] = []
    key = shape_key(expr, values, options)
    if key is None:
        return ibis_sql(expr, ctx, **options)
    template = recall(key)
    if template is _MISSING:
        sql, found = compile_shape(expr, ctx, values, options)
        remember(key, found)
        return sql
    if template is None:  # this shape cannot be cut: Ibis every time
        return ibis_sql(expr, ctx, **options)
    assert isinstance(template, Template)
    return template.render(rendered(values, ctx))


def shape_key(expr: Relation, values: list[Any], options: Mapping[str, Any]) -> Hashable | None:
    """The cache key of ``expr`` with ``options`` (its parameters appended to ``values``)."""
    shape = expr.shape(values)
    if shape is None:
        return None
    backend = expr.connection.backend
    key = (backend.dialect, backend.decimals_as_text, shape, *options_key(options))
    try:
        hash(key)
    except TypeError:  # a value without a hash slipped into the shape: no cache
        return None
    return key


def rendered(values: list[Any], ctx: LowerContext) -> list[str]:
    """Each parameter as SQL: a literal, or the name a frame is uploaded under."""
    return [quote(ctx.register(v)) if isinstance(v, pa.Table) else plain_literal(v) for v in values]


def ibis_sql(expr: Relation, ctx: LowerContext, **options: Any) -> str:
    return sql_of(expr, final_relation(expr, ctx, **options))


def compile_shape(
    expr: Relation, ctx: LowerContext, values: list[Any], options: Mapping[str, Any]
) -> tuple[str, Template | None]:
    """The SQL of ``expr``, and its shape's template if splicing ``values`` into it gives
    that same SQL back."""
    before = len(ctx.frames)
    sql = ibis_sql(expr, ctx, **options)
    try:
        cut = cut_template(expr, values, options)
    except Exception:  # a stand-in Ibis refuses (a cast it checks): this shape is not cached
        return sql, None
    if cut is None:
        return sql, None
    template, frame_slots = cut
    names = list(ctx.frames)[before:]
    if len(names) != len(frame_slots):
        return sql, None
    params = [plain_literal(v) if not isinstance(v, pa.Table) else "" for v in values]
    for name, slot in zip(names, frame_slots, strict=True):
        params[slot] = quote(name)
    return sql, template if template.render(params) == sql else None


def cut_template(
    expr: Relation, values: list[Any], options: Mapping[str, Any]
) -> tuple[Template, list[int]] | None:
    """The SQL of ``expr`` with stand-ins for ``values``, cut at each stand-in; and the
    parameter of each frame in the order lowering uploads them."""
    stand_ins = [stand_in(v, i) for i, v in enumerate(values)]
    ctx = LowerContext()
    sql = ibis_sql(expr.with_values(iter(stand_ins)), ctx, **options)
    frame_slots = [int((t.schema.metadata or {})[SLOT]) for t in ctx.frames.values()]
    markers = {plain_literal(s): i for i, s in enumerate(stand_ins) if not isinstance(s, pa.Table)}
    markers |= {quote(name): slot for name, slot in zip(ctx.frames, frame_slots, strict=True)}
    if not markers:
        return Template((sql,)), frame_slots
    pattern = re.compile("|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True)))
    parts, slots, end = [], [], 0
    for found in pattern.finditer(sql):
        parts.append(sql[end : found.start()])
        slots.append(markers[found.group()])
        end = found.end()
    parts.append(sql[end:])
    if set(slots) != set(range(len(values))):
        return None  # a parameter vanished from the SQL: do not guess
    return Template(tuple(parts), tuple(slots)), frame_slots


def stand_in(value: Any, index: int) -> Any:
    """A parameter's stand-in: a distinct literal of its kind, or an empty frame of the same
    columns that says which parameter it is."""
    if isinstance(value, pa.Table):
        schema = value.schema.with_metadata({SLOT: str(index).encode()})
        return schema.empty_table()
    kind = param_kind(value)
    assert kind is not None, value
    return placeholder(kind, index)


def options_key(options: Mapping[str, Any]) -> tuple[Any, ...]:
    order = options.get("order_by")
    order_key = tuple(order) if isinstance(order, list | tuple) else order
    return order_key, options.get("limit"), options.get("offset")


def recall(key: Hashable) -> Any:
    """The cached template of ``key`` (None: Ibis every time), or ``_MISSING``."""
    with _lock:
        template = _cache.get(key, _MISSING)
        if template is not _MISSING:
            _cache.move_to_end(key)
        return template


def remember(key: Hashable, template: Template | None) -> None:
    with _lock:
        _cache[key] = template
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


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
    key = ("table", table.connection.backend.dialect, table.shape([]))
    template = recall(key)
    if not isinstance(template, Template):
        template = Template((ibis_sql(table, LowerContext()),))
        remember(key, template)
    return template.render([])
