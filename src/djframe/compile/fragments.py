"""Portable SQL fragments: restriction strings and computed attributes, parsed once by sqlglot
and rebuilt as Ibis expressions, so one string works on every backend.

``"home_state = 'UT' and date_of_birth > '1990-01-01'"`` becomes an Ibis predicate over the
relation it restricts; ``"avg(grade)"`` in ``aggr`` becomes an Ibis reduction. A name that is
not an attribute raises :class:`~djframe.errors.MissingAttributeError` naming it. What is not
translated is refused with a message that lists what is, never passed through as raw SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, cast

import ibis
import ibis.expr.types as ir
import sqlglot
from sqlglot import exp

from djframe.errors import MissingAttributeError, QueryError

__all__ = ["parse_sql", "referenced_names", "translate"]


@lru_cache(maxsize=1024)
def parse_sql(text: str) -> exp.Expression:
    """Parse a portable SQL expression (cached: the same text is parsed once)."""
    try:
        return cast(exp.Expression, sqlglot.parse_one(text, read="duckdb"))
    except sqlglot.errors.ParseError as exc:
        raise QueryError(f"Cannot parse the SQL expression {text!r}: {exc}") from None


def referenced_names(text: str) -> set[str]:
    return {c.name for c in parse_sql(text).find_all(exp.Column)}


def coerce(value: ir.Value, like: ir.Value) -> ir.Value:
    """Cast a string literal to the type of the column it is compared with ('2020-01-01')."""
    if isinstance(value.op(), ibis.expr.operations.Literal) and value.type().is_string():
        target = like.type()
        if target.is_temporal() or target.is_numeric() or target.is_uuid():
            return value.cast(target)
    return value


def compare(op: Callable[[Any, Any], ir.Value]) -> Callable[[ir.Value, ir.Value], ir.Value]:
    def apply(left: ir.Value, right: ir.Value) -> ir.Value:
        return op(coerce(left, right), coerce(right, left))

    return apply


BINARY: dict[type[exp.Expression], Callable[[Any, Any], ir.Value]] = {
    exp.And: lambda a, b: a & b,
    exp.Or: lambda a, b: a | b,
    exp.EQ: compare(lambda a, b: a == b),
    exp.NEQ: compare(lambda a, b: a != b),
    exp.GT: compare(lambda a, b: a > b),
    exp.GTE: compare(lambda a, b: a >= b),
    exp.LT: compare(lambda a, b: a < b),
    exp.LTE: compare(lambda a, b: a <= b),
    exp.Add: lambda a, b: a + b,
    exp.Sub: lambda a, b: a - b,
    exp.Mul: lambda a, b: a * b,
    exp.Div: lambda a, b: a / b,
    exp.Mod: lambda a, b: a % b,
    exp.Pow: lambda a, b: a**b,
    exp.DPipe: lambda a, b: a.cast("string").concat(b.cast("string")),
    exp.Like: lambda a, b: a.like(b),
    exp.ILike: lambda a, b: a.ilike(b),
}

UNARY: dict[type[exp.Expression], Callable[[Any], ir.Value]] = {
    exp.Not: lambda a: ~a,
    exp.Neg: lambda a: -a,
    exp.Paren: lambda a: a,
    exp.Abs: lambda a: a.abs(),
    exp.Lower: lambda a: a.lower(),
    exp.Upper: lambda a: a.upper(),
    exp.Length: lambda a: a.length(),
    exp.Sqrt: lambda a: a.sqrt(),
    exp.Ln: lambda a: a.ln(),
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
    exp.AnyValue: lambda a: a.arbitrary(),
    exp.Year: lambda a: a.year(),
    exp.Month: lambda a: a.month(),
    exp.Day: lambda a: a.day(),
}

FUNCTIONS = ", ".join(
    sorted(
        {"count", "round", "coalesce", "cast", "case", "in", "between", "is null"}
        | {k.key for k in UNARY if k not in (exp.Not, exp.Neg, exp.Paren)}
    )
)


class Translator:
    """Rebuilds one sqlglot tree over one Ibis relation."""

    def __init__(self, table: ir.Table, text: str) -> None:
        self.table = table
        self.text = text

    def __call__(self, node: exp.Expression) -> Any:
        kind = type(node)
        if kind in BINARY:
            return BINARY[kind](self(node.this), self(node.expression))
        if kind in UNARY:
            return UNARY[kind](self(node.this))
        method = getattr(self, f"visit_{kind.__name__.lower()}", None)
        if method is None:
            raise QueryError(
                f"{node.sql()!r} in {self.text!r} is not supported in portable SQL. Supported: "
                f"comparisons, and/or/not, arithmetic, like, and the functions {FUNCTIONS}. "
                "For anything else, build the condition with Ibis: from ibis import _."
            )
        return method(node)

    def visit_column(self, node: exp.Column) -> ir.Value:
        name = node.name
        if name not in self.table.columns:
            raise MissingAttributeError(
                f"{self.text!r} names {name!r}, which is not an attribute here; the attributes "
                f"are {', '.join(self.table.columns)}."
            )
        return self.table[name]

    def visit_literal(self, node: exp.Literal) -> ir.Value:
        if node.is_string:
            return ibis.literal(node.this)
        number = float(node.this) if any(c in node.this for c in ".eE") else int(node.this)
        return ibis.literal(number)

    def visit_boolean(self, node: exp.Boolean) -> ir.Value:
        return ibis.literal(bool(node.this))

    def visit_null(self, node: exp.Null) -> ir.Value:
        return ibis.null()

    def visit_star(self, node: exp.Star) -> ir.Value:
        return ibis.literal(1)

    def visit_is(self, node: exp.Is) -> ir.Value:
        if isinstance(node.expression, exp.Null):
            return self(node.this).isnull()
        return self(node.this) == self(node.expression)

    def visit_in(self, node: exp.In) -> ir.Value:
        column = self(node.this)
        return column.isin([coerce(self(e), column) for e in node.expressions])

    def visit_between(self, node: exp.Between) -> ir.Value:
        value = self(node.this)
        return value.between(
            coerce(self(node.args["low"]), value), coerce(self(node.args["high"]), value)
        )

    def visit_count(self, node: exp.Count) -> ir.Value:
        inner = node.this
        if inner is None or isinstance(inner, exp.Star):
            return self.table.count()
        if isinstance(inner, exp.Distinct):
            return self(inner.expressions[0]).nunique()
        return self(inner).count()

    def visit_round(self, node: exp.Round) -> ir.Value:
        digits = node.args.get("decimals")
        return self(node.this).round(int(digits.this) if digits is not None else 0)

    def visit_coalesce(self, node: exp.Coalesce) -> ir.Value:
        return ibis.coalesce(self(node.this), *(self(e) for e in node.expressions))

    def visit_cast(self, node: exp.Cast) -> ir.Value:
        target = node.to.sql(dialect="duckdb").lower()
        return self(node.this).cast(ibis.dtype(_CAST_NAMES.get(target, target)))

    def visit_case(self, node: exp.Case) -> ir.Value:
        builder = ibis.cases(
            *((self(i.this), self(i.args["true"])) for i in node.args["ifs"]),
            else_=self(node.args["default"]) if node.args.get("default") else None,
        )
        return builder

    def visit_if(self, node: exp.If) -> ir.Value:
        return ibis.ifelse(self(node.this), self(node.args["true"]), self(node.args["false"]))

    def visit_currentdate(self, node: exp.CurrentDate) -> ir.Value:
        return ibis.today()

    def visit_currenttimestamp(self, node: exp.CurrentTimestamp) -> ir.Value:
        return ibis.now()


_CAST_NAMES = {
    "int": "int32",
    "integer": "int32",
    "bigint": "int64",
    "smallint": "int16",
    "tinyint": "int8",
    "double": "float64",
    "real": "float32",
    "float": "float32",
    "text": "string",
    "varchar": "string",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}


def translate(table: ir.Table, text: str) -> ir.Value:
    """Translate a portable SQL expression over ``table`` into an Ibis expression.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.table({"x": "int64"}, name="t")
    >>> print(ibis.to_sql(t.filter(translate(t, "x > 3")), dialect="postgres"))  # doctest: +ELLIPSIS
    SELECT ... WHERE "t0"."x" > 3
    """
    return Translator(table, text)(parse_sql(text))
