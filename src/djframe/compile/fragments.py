"""Portable SQL fragments rebuilt as Ibis expressions, so one string works on every backend.

``"home_state = 'UT' and date_of_birth > '1990-01-01'"`` becomes an Ibis predicate over the
relation it restricts; ``"avg(grade)"`` in ``aggr`` becomes an Ibis reduction. The dialect (what
parses, and what is refused) is :mod:`djframe.compile.portable`; this module gives each node
its meaning over typed columns. A name that is not an attribute raises
:class:`~djframe.errors.MissingAttributeError`; an operation its operands' types do not allow
(``lower(k)`` of an integer, ``name > 3``) raises :class:`~djframe.errors.QueryError` naming
them. Division and modulo by zero, and ``ln`` or ``sqrt`` outside their domain, are NULL on
every backend (as on MySQL, where DataJoint users wrote these strings), not an engine error.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.common.annotations import ValidationError
from ibis.common.exceptions import IbisError
from sqlglot import exp

from djframe.compile.portable import (
    CAST_NAMES,
    check_no_aggregates,
    parse_sql,
    referenced_names,
    shown,
)
from djframe.errors import DjframeError, MissingAttributeError, QueryError

__all__ = [
    "BUILD_ERRORS",
    "check_literal",
    "check_text",
    "condition",
    "parse_sql",
    "referenced_names",
    "translate",
]

_INT64 = 2**63

BUILD_ERRORS = (IbisError, ValidationError, TypeError, AttributeError, ValueError, ArithmeticError)
"""What Ibis raises when an operation does not fit its operands' types."""


def check_literal(text: str, target: Any, where: str | Callable[[], str]) -> None:
    """Refuse a string that cannot be read as ``target`` (an Ibis type) before the engine
    tries: ``k = 'abc'`` for an integer ``k`` is a mistake in the query, not in the data."""
    readers: list[tuple[Callable[[Any], bool], Callable[[str], Any], str]] = [
        (lambda t: t.is_integer(), int, "an integer"),
        (lambda t: t.is_numeric(), Decimal, "a number"),
        (lambda t: t.is_timestamp(), dt.datetime.fromisoformat, "a datetime (2024-05-01 10:00)"),
        (lambda t: t.is_date(), dt.date.fromisoformat, "a date (2024-05-01)"),
        (lambda t: t.is_uuid(), uuid.UUID, "a uuid"),
    ]
    for applies, read, shape in readers:
        if applies(target):
            try:
                read(text.strip())
            except (ValueError, InvalidOperation):
                place = where if isinstance(where, str) else where()
                raise QueryError(
                    f"{place} compares {text!r} with a value of type {target}; {text!r} is not {shape}. "
                    "Give a value of the attribute's type."
                ) from None
            return


def check_text(text: str, where: str) -> None:
    """Refuse a string holding NUL, which PostgreSQL cannot store and SQL text cannot carry."""
    if "\x00" in text:
        raise QueryError(
            f"{where} holds a NUL character (\\x00) in {text!r}, which no attribute can hold "
            "(PostgreSQL refuses it in text). Remove it."
        )


def coerce(value: ir.Value, like: ir.Value, where: Callable[[], str]) -> ir.Value:
    """Cast a string literal to the type of the column it is compared with ('2020-01-01')."""
    op = value.op()
    if isinstance(op, ibis.expr.operations.Literal) and value.type().is_string():
        target = like.type()
        if target.is_temporal() or target.is_numeric() or target.is_uuid():
            check_literal(str(op.value), target, where)
            return value.cast(target)
    return value


def balanced(terms: Sequence[ir.Value], join: Callable[[Any, Any], ir.Value]) -> ir.Value:
    """``t1 join t2 join ...`` as a balanced tree: a long OR chain compiles without deep
    recursion."""
    level = list(terms)
    while len(level) > 1:
        pairs = [join(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def _divide(a: ir.Value, b: ir.Value) -> ir.Value:
    if a.type().is_integer() and b.type().is_integer():  # PostgreSQL would truncate 1 / 2 to 0
        a = a.cast("float64")
    return a / b.nullif(0)


def _modulo(a: ir.Value, b: ir.Value) -> ir.Value:
    return a % b.nullif(0)


def _within(a: ir.NumericValue, low: float, strict: bool) -> ir.NumericValue:
    inside = a > low if strict else a >= low
    return ibis.ifelse(inside, a, ibis.null(a.type()))


def _round(a: ir.NumericValue, places: int | None) -> ir.Value:
    """Halves away from zero on every backend (PostgreSQL's ROUND of a double rounds them to
    even, DuckDB's away from zero); ``round(x)`` of a double is an ``int64``.

    The digits of a double's rounding enter the SQL as a scale, never as the literal that
    was written, so the shape cache cannot splice other digits into this SQL.
    """
    if not a.type().is_floating():
        return a.round(places or 0)
    scale = 10.0 ** (places or 0)
    whole = (a.abs() * scale + 0.5).floor()
    rounded = ibis.ifelse(a < 0, -whole, whole)
    return rounded.cast("int64") if places is None else rounded / scale


ROUND_DIGITS = range(16)
"""The digits round takes: a double holds 15 to 17 significant ones."""


ARITHMETIC: dict[type[exp.Expr], Callable[[Any, Any], ir.Value]] = {
    exp.Add: lambda a, b: a + b,
    exp.Sub: lambda a, b: a - b,
    exp.Mul: lambda a, b: a * b,
    exp.Div: _divide,
    exp.Mod: _modulo,
    exp.Pow: lambda a, b: a**b,
    exp.DPipe: lambda a, b: a.cast("string").concat(b.cast("string")),
}

COMPARISONS: dict[type[exp.Expr], Callable[[Any, Any], ir.Value]] = {
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
}

UNARY: dict[type[exp.Expr], Callable[[Any], ir.Value]] = {
    exp.Neg: lambda a: -a,
    exp.Paren: lambda a: a,
    exp.Abs: lambda a: a.abs(),
    exp.Lower: lambda a: a.lower(),
    exp.Upper: lambda a: a.upper(),
    exp.Length: lambda a: a.length(),
    exp.Sqrt: lambda a: _within(a, 0, strict=False).sqrt(),
    exp.Ln: lambda a: _within(a, 0, strict=True).ln(),
    exp.Exp: lambda a: a.exp(),
    exp.Floor: lambda a: a.floor(),
    exp.Ceil: lambda a: a.ceil(),
    exp.Trim: lambda a: a.strip(),
    exp.Sum: lambda a: a.sum(),
    exp.Avg: lambda a: a.mean(),
    exp.Min: lambda a: a.min(),
    exp.Max: lambda a: a.max(),
    exp.Stddev: lambda a: a.std(),
    exp.StddevSamp: lambda a: a.std(),
    exp.StddevPop: lambda a: a.std(how="pop"),
    exp.Variance: lambda a: a.var(),
    exp.VariancePop: lambda a: a.var(how="pop"),
    exp.Year: lambda a: a.year().cast("int64"),  # PostgreSQL's EXTRACT is numeric
    exp.Month: lambda a: a.month().cast("int64"),
    exp.Day: lambda a: a.day().cast("int64"),
}


def portable_cast(source: Any, target: Any) -> bool:
    """Whether DuckDB and PostgreSQL both convert ``source`` to ``target`` (Ibis types), and
    alike: PostgreSQL refuses bool to double and double to bool, DuckDB timestamp to int."""
    if source.is_null() or source.is_string() or target.is_string() or source == target:
        return True
    if source.is_numeric() and target.is_numeric():
        return not (source.is_boolean() or target.is_boolean())
    return source.is_temporal() and target.is_temporal() and not source.is_time()


class Translator:
    """Rebuilds one checked sqlglot tree over one Ibis relation."""

    def __init__(self, table: ir.Table, text: str) -> None:
        self.table = table
        self.text = text

    def __call__(self, node: exp.Expr) -> Any:
        kind = type(node)
        if kind in COMPARISONS:
            left, right = self(node.this), self(node.expression)
            where = self.place(node)
            pair = coerce(left, right, where), coerce(right, left, where)
            return self.build(node, COMPARISONS[kind], *pair)
        if kind in ARITHMETIC:
            return self.build(node, ARITHMETIC[kind], self(node.this), self(node.expression))
        if kind in UNARY:
            return self.build(node, UNARY[kind], self(node.this))
        return getattr(self, f"visit_{kind.__name__.lower()}")(node)

    def place(self, node: exp.Expr) -> Callable[[], str]:
        """Where ``node`` is, for a message (written only if one is raised: SQL text of every
        comparison in a long OR chain would cost more than translating it)."""
        return lambda: f"{shown(node.sql())} in {shown(self.text)}"

    def build(self, node: exp.Expr, op: Callable[..., Any], *operands: Any) -> Any:
        """``op(*operands)``, or a QueryError naming the operands' types if they do not fit."""
        try:
            return op(*operands)
        except DjframeError:
            raise
        except BUILD_ERRORS:
            raise self.ill_typed(node, operands) from None

    def ill_typed(self, node: exp.Expr, operands: Sequence[Any]) -> QueryError:
        children = [c for c in node.iter_expressions() if not isinstance(c, exp.DataType)]
        typed = [
            f"{child.sql()} ({value.type()})"
            for child, value in zip(children, operands, strict=False)
            if isinstance(value, ir.Value)
        ]
        return QueryError(
            f"{shown(node.sql())} in {shown(self.text)} does not apply to {', '.join(typed) or 'these'}. "
            "Use operands of the types it takes, or convert one: cast(k AS varchar), "
            "cast(s AS int)."
        )

    def boolean(self, node: exp.Expr) -> ir.BooleanValue:
        value = self(node)
        if value.type().is_null():
            return value.cast("boolean")
        if not value.type().is_boolean():
            raise QueryError(
                f"{shown(node.sql())} in {shown(self.text)} is a value of type {value.type()}, not a condition. "
                f"Compare it: '{node.sql()} > 0', '{node.sql()} IS NOT NULL'."
            )
        return value

    def visit_and(self, node: exp.And) -> ir.Value:
        return balanced([self.boolean(n) for n in node.flatten()], lambda a, b: a & b)

    def visit_or(self, node: exp.Or) -> ir.Value:
        return balanced([self.boolean(n) for n in node.flatten()], lambda a, b: a | b)

    def visit_not(self, node: exp.Not) -> ir.Value:
        return ~self.boolean(node.this)

    def visit_like(self, node: exp.Like) -> ir.Value:
        value = self.build(node, lambda a, b: a.like(b), self(node.this), self(node.expression))
        return ~value if node.args.get("negate") else value

    def visit_ilike(self, node: exp.ILike) -> ir.Value:
        value = self.build(node, lambda a, b: a.ilike(b), self(node.this), self(node.expression))
        return ~value if node.args.get("negate") else value

    def visit_column(self, node: exp.Column) -> ir.Value:
        name = node.name
        if name not in self.table.columns:
            raise MissingAttributeError(
                f"{shown(self.text)} names {name!r}, which is not an attribute here; the attributes "
                f"are {', '.join(self.table.columns)}."
            )
        return self.table[name]

    def visit_literal(self, node: exp.Literal) -> ir.Value:
        if node.is_string:
            check_text(node.this, f"{shown(self.text)}")
            return ibis.literal(node.this)
        if any(c in node.this for c in ".eE"):
            number = float(node.this)
            if math.isfinite(number):
                return ibis.literal(number)
        elif -_INT64 <= (whole := int(node.this)) < _INT64:
            return ibis.literal(whole)
        raise QueryError(
            f"The number {node.this} in {shown(self.text)} is out of range (64-bit integers, double "
            "floats). Give a smaller number."
        )

    def visit_boolean(self, node: exp.Boolean) -> ir.Value:
        return ibis.literal(bool(node.this))

    def visit_null(self, node: exp.Null) -> ir.Value:
        return ibis.null()

    def visit_is(self, node: exp.Is) -> ir.Value:
        """``x IS NULL``; ``c IS TRUE`` / ``IS FALSE``, which are never NULL (``NOT (c IS
        TRUE)`` keeps the rows where ``c`` is NULL, as SQL says)."""
        value = self(node.this)
        if isinstance(node.expression, exp.Null):
            return value.isnull()
        if not isinstance(node.expression, exp.Boolean):
            raise QueryError(
                f"{shown(node.sql())} in {shown(self.text)}: IS takes NULL, TRUE or FALSE; "
                "compare other values with =."
            )
        truth = bool(node.expression.this)
        return self.build(node, lambda a: (a == truth).fill_null(False), value)

    def visit_in(self, node: exp.In) -> ir.Value:
        column = self(node.this)
        where = self.place(node)
        options = [coerce(self(e), column, where) for e in node.expressions]
        return self.build(node, lambda c: c.isin(options), column)

    def visit_between(self, node: exp.Between) -> ir.Value:
        value = self(node.this)
        where = self.place(node)
        low = coerce(self(node.args["low"]), value, where)
        high = coerce(self(node.args["high"]), value, where)
        return self.build(node, lambda v, a, b: v.between(a, b), value, low, high)

    def visit_count(self, node: exp.Count) -> ir.Value:
        inner = node.this
        if inner is None or isinstance(inner, exp.Star):
            return self.table.count()
        if isinstance(inner, exp.Distinct):
            if len(inner.expressions) != 1:
                raise QueryError(
                    f"{shown(node.sql())} in {shown(self.text)}: count(DISTINCT ...) takes one attribute "
                    "in portable SQL. Count distinct combinations with dj.U: "
                    "dj.U('a', 'b').aggr(T, n='count(*)')."
                )
            return self.build(node, lambda a: a.nunique(), self(inner.expressions[0]))
        return self.build(node, lambda a: a.count(), self(inner))

    def visit_round(self, node: exp.Round) -> ir.Value:
        digits = node.args.get("decimals")
        if digits is not None and not (isinstance(digits, exp.Literal) and digits.is_int):
            raise QueryError(
                f"{shown(node.sql())} in {shown(self.text)}: the digits of round must be a whole number "
                "written out, such as round(x, 2)."
            )
        places = int(digits.this) if digits is not None else None
        if places is not None and places not in ROUND_DIGITS:
            raise QueryError(
                f"{shown(node.sql())} in {shown(self.text)}: round takes 0 to 15 digits."
            )
        return self.build(node, lambda a: _round(a, places), self(node.this))

    def visit_coalesce(self, node: exp.Coalesce) -> ir.Value:
        values = [self(node.this), *(self(e) for e in node.expressions)]
        return self.build(node, ibis.coalesce, *values)

    def visit_cast(self, node: exp.Cast) -> ir.Value:
        target = node.to.sql(dialect="duckdb").lower()
        try:
            dtype = ibis.dtype(CAST_NAMES.get(target, target))
        except Exception:  # Ibis's type parser raises parsy errors
            raise QueryError(
                f"{shown(node.sql())} in {shown(self.text)} casts to {target!r}, which is not a type "
                f"portable SQL knows. Cast to one of: {', '.join(sorted(set(CAST_NAMES)))}."
            ) from None
        value = self(node.this)
        if isinstance(value, ir.Value) and not portable_cast(value.type(), dtype):
            raise QueryError(
                f"{shown(node.sql())} in {shown(self.text)} converts {value.type()} to {dtype}, "
                "which the backends do not do alike. Portable casts: text to any type and back, "
                "number to number, date to timestamp and back; compare instead (b = true, "
                "k <> 0) or use CASE WHEN."
            )
        return self.build(node, lambda a: a.cast(dtype), value)

    def visit_case(self, node: exp.Case) -> ir.Value:
        subject = self(node.this) if node.this is not None else None
        pairs = []
        for branch in node.args["ifs"]:
            when = self(branch.this) if subject is not None else self.boolean(branch.this)
            if subject is not None:  # CASE k WHEN 1 THEN ...: a comparison with k
                when = self.build(branch, lambda a, b: a == b, subject, when)
            pairs.append((when, self(branch.args["true"])))
        default = node.args.get("default")
        otherwise = self(default) if default is not None else None
        return self.build(node, lambda: ibis.cases(*pairs, else_=otherwise))

    def visit_if(self, node: exp.If) -> ir.Value:
        false = node.args.get("false")
        values = [self(node.args["true"]), self(false) if false is not None else ibis.null()]
        return self.build(node, lambda a, b: ibis.ifelse(self.boolean(node.this), a, b), *values)

    def visit_currentdate(self, node: exp.CurrentDate) -> ir.Value:
        return ibis.today()

    def visit_currenttimestamp(self, node: exp.CurrentTimestamp) -> ir.Value:
        return ibis.now()


def translate(table: ir.Table, text: str, *, aggregates: bool = True) -> ir.Value:
    """Translate a portable SQL expression over ``table`` into an Ibis expression.

    ``aggregates=False`` refuses aggregate functions (a computed attribute of ``proj`` sees one
    row at a time).

    Examples
    --------
    >>> import ibis
    >>> t = ibis.table({"x": "int64"}, name="t")
    >>> print(ibis.to_sql(t.filter(translate(t, "x > 3")), dialect="postgres"))  # doctest: +ELLIPSIS
    SELECT ... WHERE "t0"."x" > 3
    """
    if not aggregates:
        check_no_aggregates(text, "a computed attribute")
    return Translator(table, text)(parse_sql(text))


def condition(table: ir.Table, text: str) -> ir.BooleanValue:
    """Translate a restriction string: a condition over one row of ``table``."""
    check_no_aggregates(text, "a restriction")
    return Translator(table, text).boolean(parse_sql(text))
