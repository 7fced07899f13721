"""The portable SQL dialect of restriction strings and computed attributes: what it accepts.

A string is parsed once by sqlglot and then checked node by node against :data:`ARGS`, the
nodes the dialect supports and, for each, the parts of it that djframe translates. Anything
else (a subquery, a qualified name, an aggregate in a restriction, ``NOT LIKE``'s escape,
``TRIM``'s position, ``IN``'s query) is refused with a :class:`~djframe.errors.QueryError` that
names it and says what to write instead, so no part of a string is silently dropped. The
translation to Ibis lives in :mod:`djframe.compile.fragments`; this module knows no types.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

from djframe.errors import QueryError

__all__ = [
    "AGGREGATES",
    "ARGS",
    "CAST_NAMES",
    "MAX_DEPTH",
    "MAX_NESTING",
    "parse_sql",
    "quoting_hint",
    "referenced_names",
    "shown",
]

_DIALECT = Dialect.get_or_raise("duckdb")

MAX_NESTING = 32
"""Brackets nested deeper than this are refused (sqlglot's parser recurses about 20 Python
frames per level, and nothing written by hand nests this deep)."""

MAX_DEPTH = 128
"""Operators nested deeper than this are refused; a chain of ``AND`` (or of ``OR``) counts
as one level, so ``k = 1 OR k = 2 OR ...`` may be as long as needed."""

_BINARY = ("this", "expression")
# fmt: off
_BINARY_NODES = (
    exp.And, exp.Or, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Add, exp.Sub,
    exp.Mul, exp.Mod, exp.Pow, exp.Is,
)
_UNARY_NODES = (
    exp.Not, exp.Neg, exp.Paren, exp.Abs, exp.Lower, exp.Upper, exp.Length, exp.Sqrt, exp.Ln,
    exp.Exp, exp.Floor, exp.Ceil, exp.Trim, exp.Year, exp.Month, exp.Day, exp.Sum, exp.Avg,
    exp.Min, exp.Max, exp.Stddev, exp.StddevSamp, exp.StddevPop, exp.Variance, exp.VariancePop,
)
# fmt: on
ARGS: dict[type[exp.Expr], tuple[str, ...]] = {
    **dict.fromkeys(_BINARY_NODES, _BINARY),
    **dict.fromkeys(_UNARY_NODES, ("this",)),
    exp.Div: (*_BINARY, "typed", "safe"),
    exp.DPipe: (*_BINARY, "safe"),
    exp.Like: (*_BINARY, "negate"),
    exp.ILike: (*_BINARY, "negate"),
    exp.Column: ("this",),
    exp.Identifier: ("this", "quoted"),
    exp.Literal: ("this", "is_string"),
    exp.Boolean: ("this",),
    exp.Null: (),
    exp.Star: (),
    exp.Distinct: ("expressions",),
    exp.In: ("this", "expressions"),
    exp.Between: ("this", "low", "high"),
    exp.Count: ("this", "big_int"),
    exp.Round: ("this", "decimals"),
    exp.Coalesce: ("this", "expressions", "is_nvl", "is_null"),
    exp.Cast: ("this", "to"),
    exp.DataType: ("this", "expressions", "nested"),
    exp.DataTypeParam: ("this",),
    exp.Case: ("this", "ifs", "default"),
    exp.If: ("this", "true", "false"),
    exp.CurrentDate: (),
    exp.CurrentTimestamp: (),
}
"""Each node of the dialect and the arguments of it that are translated; a node of another
kind, or one that sets another argument, is refused."""

CAST_NAMES = {
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
"""The type names ``cast(x AS name)`` takes, and the Ibis type each means."""

# fmt: off
AGGREGATES = (
    exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Stddev, exp.StddevSamp, exp.StddevPop,
    exp.Variance, exp.VariancePop,
)
# fmt: on

FUNCTIONS = (
    "abs, avg, between, case, cast, ceil, coalesce, count, current_date, current_timestamp, day, "
    "exp, floor, if, in, is null, length, like, ilike, ln, lower, max, min, month, round, "
    "sqrt, stddev, stddev_pop, stddev_samp, sum, trim, upper, var_pop, variance, year"
)
_INSTEAD = (
    f"Portable SQL has comparisons, and/or/not, arithmetic, || and the functions {FUNCTIONS}; "
    "for anything else, build the condition with Ibis (from ibis import _; T & (_.x > 3))."
)


def shown(text: str, limit: int = 100) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters (strings can be generated)."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def _refuse(node: exp.Expr, text: str, why: str) -> QueryError:
    return QueryError(f"{shown(node.sql())} in {shown(text)} {why}")


def _subquery(node: exp.Expr, text: str) -> QueryError:
    return _refuse(
        node,
        text,
        "is a subquery, which portable SQL does not support (it would not mean the same on "
        "every backend). Restrict by the other table as an expression instead: "
        "T & Other, T - Other, or T & (Other & 'cond').proj(k='other_name').",
    )


def _check_node(node: exp.Expr, text: str) -> None:
    """Refuse ``node`` unless the dialect translates it and every argument it sets."""
    _check_kind(node, text)
    _check_arguments(node, text)


def _check_kind(node: exp.Expr, text: str) -> None:
    """Refuse the kinds of node that need their own advice: subqueries, qualified names,
    unknown cast types, window functions."""
    kind = type(node)
    if isinstance(node, exp.Subquery | exp.Select | exp.Exists | exp.Any | exp.All):
        raise _subquery(node, text)
    if kind is exp.In and node.args.get("query") is not None:
        raise _subquery(node.args["query"], text)
    if kind is exp.Column and any(node.args.get(a) for a in ("table", "db", "catalog")):
        raise _refuse(
            node,
            text,
            "is a qualified name. A restriction string names the attributes of what it "
            f"restricts, unqualified: write {node.name!r}; to restrict by another table, use "
            "the table itself: T & Other.",
        )
    if isinstance(node, exp.DataType) and not _known_type(node):
        raise _refuse(
            node,
            text,
            "is not a type portable SQL casts to. Cast to one of "
            f"{', '.join(sorted(CAST_NAMES))}, or decimal(p, s).",
        )
    if isinstance(node, exp.Window):
        raise _refuse(node, text, "is a window function, which portable SQL does not support.")


def _check_arguments(node: exp.Expr, text: str) -> None:
    """Refuse a node the dialect lacks, one that lacks a required part, and one that sets a
    part djframe does not translate (it would be dropped)."""
    kind = type(node)
    allowed = ARGS.get(kind)
    if allowed is None:
        raise _refuse(node, text, f"is not supported in portable SQL. {_INSTEAD}")
    missing = [a for a, required in kind.arg_types.items() if required and node.args.get(a) is None]
    if missing:
        raise _refuse(node, text, f"is incomplete: it lacks its {', '.join(missing)}.")
    extra = [a for a, v in node.args.items() if a not in allowed and v not in (None, False, [])]
    if extra:
        part = ", ".join(extra)
        raise _refuse(
            node,
            text,
            f"uses the {part} of {kind.key.upper()}, which portable SQL does not support "
            f"(it would be dropped). {_INSTEAD}",
        )
    if kind is exp.Star and not isinstance(node.parent, exp.Count):
        raise _refuse(node, text, "is not a value; '*' is allowed only in count(*).")


def _known_type(node: exp.DataType) -> bool:
    if node.this == exp.DataType.Type.DECIMAL:
        return True
    used = {a for a, v in node.args.items() if v not in (None, False, [])}
    return used <= {"this"} and node.sql(dialect="duckdb").lower() in CAST_NAMES


def _check_depth(tree: exp.Expr, text: str) -> None:
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise QueryError(
                f"{shown(text, 60)} nests operators more than {MAX_DEPTH} levels deep. Restrict "
                "by a list of dicts or a frame instead of a long generated string."
            )
        for child in node.iter_expressions():
            chain = type(child) is type(node) and isinstance(node, exp.And | exp.Or)
            stack.append((child, depth if chain else depth + 1))


_TEXT_TYPES = {TokenType.TEXT, TokenType.VARCHAR, TokenType.CHAR, TokenType.NCHAR}
"""String types whose length DuckDB's dialect drops as it parses (``varchar(3)``)."""


def _tokens(text: str) -> list[Token]:
    """The tokens of ``text``, refused where brackets nest deeper than :data:`MAX_NESTING`."""
    try:
        tokens = _DIALECT.tokenize(text)
    except sqlglot.errors.SqlglotError as exc:
        raise QueryError(
            f"Cannot read the SQL expression {shown(text)}: a quote, bracket or comment is not "
            f"closed ({str(exc).splitlines()[0]}). Write string literals in single quotes and "
            "double a quote inside one: 'it''s'."
        ) from None
    for token, after in itertools.pairwise(tokens):
        if token.token_type in _TEXT_TYPES and after.token_type == TokenType.L_PAREN:
            raise QueryError(
                f"{shown(text)} casts to {token.text}(...): PostgreSQL would cut the strings "
                "to that length and DuckDB would not (DuckDB ignores it). Cast to varchar."
            )
    depth = 0
    for token in tokens:
        if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE):
            depth += 1
            if depth > MAX_NESTING:
                raise QueryError(
                    f"{shown(text, 60)} nests brackets more than {MAX_NESTING} levels deep, "
                    "which portable SQL does not support: write the condition flatter."
                )
        elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE):
            depth -= 1
    return tokens


def _parse_error(text: str, exc: sqlglot.errors.ParseError) -> QueryError:
    first = exc.errors[0] if exc.errors else {}
    where = f" at column {first['col']}" if first.get("col") else ""
    what = first.get("description") or str(exc).splitlines()[0]
    return QueryError(
        f"Cannot parse the SQL expression {shown(text)}{where}: {what}. Write one condition or value, "
        "such as \"k > 3 and name = 'x'\" (string literals in single quotes)."
    )


@lru_cache(maxsize=1024)
def parse_sql(text: str) -> exp.Expr:
    """Parse and check a portable SQL expression (cached: the same text is parsed once).

    Raises
    ------
    QueryError
        The text does not parse, or uses what the portable dialect does not support.
    """
    if not isinstance(text, str) or not text.strip():
        raise QueryError(f"{text!r} is not an SQL expression: give a condition such as 'k > 3'.")
    tokens = _tokens(text)
    try:
        statements = _DIALECT.parser().parse(tokens, text)  # tokenized once, above
    except sqlglot.errors.ParseError as exc:
        raise _parse_error(text, exc) from None
    except RecursionError:
        raise QueryError(
            f"{shown(text, 60)} nests operators too many levels deep to parse: write the "
            "condition flatter."
        ) from None
    except sqlglot.errors.SqlglotError as exc:
        raise QueryError(
            f"Cannot parse the SQL expression {shown(text)}: {str(exc)[:200]}."
        ) from None
    if not statements or statements[0] is None:
        raise QueryError(f"{shown(text)} holds no SQL expression: give one such as 'k > 3'.")
    tree = statements[0] if len(statements) == 1 else exp.Block(expressions=statements)
    _check_depth(tree, text)
    for node in tree.walk():
        _check_node(node, text)
    return tree


def check_no_aggregates(text: str, where: str) -> None:
    """Refuse an aggregate in ``text``, which is used ``where`` rows are seen one at a time."""
    found = parse_sql(text).find(*AGGREGATES)
    if found is not None:
        raise _refuse(
            found,
            text,
            f"is an aggregate, which {where} cannot compute (it sees one row at a time). "
            "Compute aggregates with aggr and restrict its result: "
            "A.aggr(B, n='count(*)') & 'n > 2'.",
        )


def quoting_hint(text: str, unknown: list[str]) -> str:
    """Advice for a name written in double quotes, which SQL reads as an attribute (MySQL,
    where DataJoint users wrote ``home_state="UT"``, reads it as a string)."""
    columns = parse_sql(text).find_all(exp.Column)
    quoted = [c.name for c in columns if c.this.args.get("quoted") and c.name in unknown]
    if not quoted:
        return ""
    return (
        f" Double quotes name attributes; write the string literal {quoted[0]!r} in single quotes."
    )


def referenced_names(text: str) -> set[str]:
    """The attribute names a portable SQL expression reads."""
    return {c.name for c in parse_sql(text).find_all(exp.Column)}
