"""The literals of a query shape: which values are parameters, their stand-ins, and the
literals of portable SQL text.

A query seen before with other values (``Grade & {"student_id": 4}``, ``Student & "age > 21"``,
``proj(x="v * 2")``) has the same *shape*: the shape cache (:mod:`djframe.compile.cache`)
compiles it once with a distinct stand-in for each parameter and splices the next query's
literals into the text. This module says which values can be parameters (ints, finite floats
and printable strings, written by :func:`~djframe._sql.plain_literal` exactly as Ibis writes
them), gives their stand-ins, and cuts the literals out of portable SQL text
(``"age > 21"`` -> ``"age > ?i"`` and ``[21]``). Everything else stays part of the shape.

Examples
--------
>>> template, values = sql_template("name = 'Ann' and age > 21")
>>> values
('Ann', 21)
>>> fill_template(template, iter(["Bo", 3]))
"name = 'Bo' and age > 3"
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Literal

from djframe._sql import plain_literal

__all__ = [
    "Kind",
    "canonical_text",
    "fill_template",
    "param_kind",
    "placeholder",
    "placeholders",
    "sql_template",
]

Kind = Literal["int", "float", "str"]

INT64 = (-(2**63), 2**63 - 1)
_PLACEHOLDER_INT = 7_361_284_905_000_000_000
_PLACEHOLDER_FLOAT = 7_361_284_905.0625
_PLACEHOLDER_STR = "djframe_placeholder_{}_q"
MARK = "\x00"
"""Marks a literal cut out of SQL text; the next character is its kind's initial."""

_KINDS: dict[str, Kind] = {"i": "int", "f": "float", "s": "str"}
_TOKENS = re.compile(
    r"""(?P<string>'(?:[^']|'')*')"""  # a string literal, '' for a quote
    r"""|(?P<quoted>"(?:[^"]|"")*")"""  # a quoted identifier: left alone
    r"""|(?P<word>[A-Za-z_][A-Za-z0-9_$]*)"""  # a name or keyword, digits included
    r"""|(?P<number>(?<![.\w])\d+(?![.\w]))"""  # a whole integer, not part of 1.5 or 1e3
)


def param_kind(value: Any) -> Kind | None:
    """The kind of parameter ``value`` can be (None: it must be part of the shape).

    Examples
    --------
    >>> param_kind(3), param_kind(2.5), param_kind("a"), param_kind(True), param_kind(None)
    ('int', 'float', 'str', None, None)
    """
    kind = type(value)
    if kind is int:
        return "int" if INT64[0] <= value <= INT64[1] else None
    if kind is float:
        return "float" if math.isfinite(value) else None
    if kind is str:
        return "str" if value.isprintable() else None
    return None


def placeholder(kind: Kind, index: int) -> Any:
    """The stand-in of parameter ``index``: a value no query writes by chance."""
    if kind == "int":
        return _PLACEHOLDER_INT + index
    if kind == "float":
        return _PLACEHOLDER_FLOAT + index
    return _PLACEHOLDER_STR.format(index)


@lru_cache(maxsize=4096)
def sql_template(text: str) -> tuple[str, tuple[Any, ...]] | None:
    """``text`` with its integer and string literals cut out, and those literals in order.

    A literal that is not a parameter (a string with a backslash, an integer beyond 64 bits)
    stays in the text; so does everything in text with comments. None for text that holds
    the mark itself (it cannot be templated).
    """
    if MARK in text:
        return None
    if "--" in text or "/*" in text:
        return text, ()
    pieces: list[str] = []
    values: list[Any] = []
    end = 0
    for match in _TOKENS.finditer(text):
        value = literal_value(match)
        if value is None:
            continue
        pieces += [text[end : match.start()], MARK + str(param_kind(value))[0]]
        values.append(value)
        end = match.end()
    pieces.append(text[end:])
    return "".join(pieces), tuple(values)


def literal_value(match: re.Match[str]) -> Any:
    """The value of a literal token that can be a parameter, else None."""
    if match["number"] is not None:
        value: Any = int(match["number"])
    elif match["string"] is not None and "\\" not in match["string"]:
        value = match["string"][1:-1].replace("''", "'")
        if not text_only(value):
            return None
    else:
        return None
    return value if param_kind(value) is not None else None


def text_only(value: str) -> bool:
    """Whether a string reads as nothing but text: one that reads as a number, a date, a
    time or a uuid may be cast to the type of what it is compared with (and checked), so it
    stays part of the shape."""
    stripped = value.strip()
    for read in (Decimal, dt.date.fromisoformat, dt.datetime.fromisoformat, uuid.UUID):
        try:
            read(stripped)
        except (ValueError, InvalidOperation):
            continue
        return False
    return True


def fill_template(template: str, values: Iterator[Any]) -> str:
    """Portable SQL text from :func:`sql_template`'s template and one value per literal."""
    head, *rest = template.split(MARK)
    pieces = [head]
    for piece in rest:
        pieces += [plain_literal(next(values)), piece[1:]]
    return "".join(pieces)


def canonical_text(text: str) -> str:
    """``text`` with each parameter literal replaced by its stand-in: the same text for every
    query of one shape (parsed once, for the names it references)."""
    found = sql_template(text)
    if found is None or not found[1]:
        return text
    template, values = found
    return fill_template(template, iter(placeholders(values)))


def placeholders(values: Iterable[Any]) -> list[Any]:
    """The stand-ins of ``values`` (parameters all), one per value."""
    return [placeholder(param_kind(v) or "str", i) for i, v in enumerate(values)]


def template_kinds(template: str) -> list[Kind]:
    """The kinds of a template's literals, in order."""
    return [_KINDS[piece[0]] for piece in template.split(MARK)[1:]]
