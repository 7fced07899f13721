"""Shapes of restriction conditions: a key without the literals, and the condition rebuilt
from other literals.

Every expression node has a *shape* (:meth:`QueryExpression.shape`): a hashable key of its
structure in which each parameter (a value in a dict, a literal in portable SQL text, a
local frame) is left out and appended to a list instead, and :meth:`with_values` rebuilds
the node with other parameters in the same order. Two queries with one shape compile to the
same SQL but for those literals (see :mod:`djframe.compile.cache`). This module does the same
for each kind of condition (:mod:`djframe.algebra.condition`); a condition that has no shape
(an Ibis predicate, an unknown kind) makes its whole query compile as before.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Hashable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from djframe.algebra.condition import AndList, Not
from djframe.compile.params import fill_template, param_kind, sql_template
from djframe.frames import as_frame

if TYPE_CHECKING:
    from djframe.heading import Heading

__all__ = [
    "Identity",
    "condition_shape",
    "condition_with_values",
    "constant_key",
    "named_shape",
    "named_with_values",
]

CONSTANTS = (bool, dt.date, dt.datetime, dt.time, dt.timedelta, uuid.UUID, decimal.Decimal, bytes)
"""Kinds of values a shape may hold as they are (their repr tells any two apart)."""

_NULL = "null"


def constant_key(value: Any) -> Hashable | None:
    """A value that is not a parameter, as part of a key; None if it cannot be one."""
    if isinstance(value, CONSTANTS) or (type(value) in (int, float, str)):
        return (type(value).__qualname__, repr(value))
    return None


class Identity:
    """An object as part of a key, equal only to itself (a table's catalog entry: a table
    altered or declared again is another shape). Holding it keeps its id from being reused."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and other.value is self.value


def named_shape(named: Mapping[str, str], values: list[Any]) -> Hashable | None:
    """The key of named portable SQL (computed attributes, aggregates), literals cut out."""
    items = []
    for name, text in named.items():
        shape = text_shape(text, values)
        if shape is None:
            return None
        items.append((name, shape))
    return tuple(items)


def named_with_values(named: Mapping[str, str], values: Iterator[Any]) -> dict[str, str]:
    """Named portable SQL with its literals taken from ``values``, in :func:`named_shape`'s
    order."""
    return {name: text_with_values(text, values) for name, text in named.items()}


def condition_shape(condition: Any, heading: Heading, values: list[Any]) -> Hashable | None:
    """The key of ``condition`` over ``heading``, its parameters appended to ``values``."""
    from djframe.algebra.expression import QueryExpression, as_expression

    if isinstance(condition, bool):
        return ("bool", condition)
    if getattr(type(condition), "is_universal", False) is True:
        return ("universal",)
    if isinstance(condition, str):
        return text_shape(condition, values)
    if isinstance(condition, Not):
        inner = condition_shape(condition.condition, heading, values)
        return None if inner is None else ("not", inner)
    if isinstance(condition, AndList):
        return parts_shape("and", condition, heading, values)
    if isinstance(condition, Mapping):
        return dict_shape(condition, heading, values)
    if (frame := as_frame(condition)) is not None:
        return frame_shape(frame, heading, values)
    expression = as_expression(condition)
    if isinstance(expression, QueryExpression):
        inner = expression.shape(values)
        return None if inner is None else ("expression", inner)
    if isinstance(condition, list | tuple | set | frozenset):
        return parts_shape("or", condition, heading, values)
    return None  # an Ibis predicate, or what lowering will refuse


def condition_with_values(condition: Any, heading: Heading, values: Iterator[Any]) -> Any:
    """``condition`` with its parameters taken from ``values``, in :func:`condition_shape`'s
    order."""
    from djframe.algebra.expression import QueryExpression, as_expression

    if isinstance(condition, bool) or getattr(type(condition), "is_universal", False) is True:
        return condition
    if isinstance(condition, str):
        return text_with_values(condition, values)
    if isinstance(condition, Not):
        return Not(condition_with_values(condition.condition, heading, values))
    if isinstance(condition, AndList):
        return AndList(condition_with_values(c, heading, values) for c in condition)
    if isinstance(condition, Mapping):
        return {
            name: next(values) if dict_param(value, heading[name].type) else value
            for name, value in condition.items()
            if name in heading
        }
    if (frame := as_frame(condition)) is not None:
        return next(values) if any(n in heading for n in frame.column_names) else frame
    expression = as_expression(condition)
    if isinstance(expression, QueryExpression):
        return expression.with_values(values)
    return [condition_with_values(c, heading, values) for c in condition]


def text_shape(text: str, values: list[Any]) -> Hashable | None:
    found = sql_template(text)
    if found is None:
        return None
    template, literals = found
    values += literals
    return ("sql", template)


def text_with_values(text: str, values: Iterator[Any]) -> str:
    found = sql_template(text)
    return text if found is None else fill_template(found[0], values)


def parts_shape(kind: str, parts: Any, heading: Heading, values: list[Any]) -> Hashable | None:
    shapes = []
    for part in parts:
        shape = condition_shape(part, heading, values)
        if shape is None:
            return None
        shapes.append(shape)
    return (kind, tuple(shapes))


FITTING: dict[str, set[str]] = {
    "int": {"int8", "int16", "int32", "int64"},
    "float": {"float32", "float64"},
    "str": {"char", "varchar", "enum"},
}
"""The attribute types a dict value of each kind is compared with as it is: elsewhere it is
cast (and checked first), so it stays part of the shape and is checked on its own compile."""


def dict_param(value: Any, core: Any) -> bool:
    """Whether a dict value compared with an attribute of type ``core`` is a parameter."""
    kind = param_kind(value)
    return kind is not None and core is not None and core.name in FITTING[kind]


def dict_shape(
    condition: Mapping[str, Any], heading: Heading, values: list[Any]
) -> Hashable | None:
    """Names that are attributes (the others are ignored), each with a kind or constant."""
    items: list[Hashable] = []
    for name, value in condition.items():
        if name not in heading:
            continue
        if dict_param(value, heading[name].type):
            kind = param_kind(value)
            values.append(value)
            items.append((name, kind))
            continue
        constant = _NULL if value is None else constant_key(value)
        if constant is None:
            return None
        items.append((name, "=", constant))
    return ("dict", tuple(items))


def frame_shape(frame: pa.Table, heading: Heading, values: list[Any]) -> Hashable:
    """A frame's matching columns and their types; the frame itself is the parameter."""
    names = [n for n in frame.column_names if n in heading]
    if not names:  # lowering tests only whether the frame has rows
        return ("frame", None, frame.num_rows > 0)
    matched = frame.select(names)
    values.append(matched)
    return ("frame", matched.schema.remove_metadata())
