"""Giving a parsed expression its meaning: djframe's own operators over the pipeline's tables.

:func:`evaluate` walks a tree from :mod:`djframe.mcp.grammar` and builds the query with the
public algebra (``&``, ``-``, ``*``, ``+``, ``proj``, ``aggr``, ``dj.U``, ``dj.Top``, ...), so
lineage checks, portable SQL strings and primary-key rules are the library's, exactly as in
Python. Names mean only what :class:`Namespace` lists (the pipeline's tables, their parts, the
``dj`` functions); methods only what :data:`METHODS` lists. No attribute is looked up by a
name the agent wrote, nothing is imported, nothing is evaluated as Python.

Examples
--------
>>> import djframe as dj
>>> schema = dj.Schema("doc_eval", connection=dj.connect("duckdb://"))
>>> @schema
... class Subject(dj.Manual):
...     definition = '''
...     subject_id : int32
...     ---
...     sex : enum('F', 'M')
...     '''
>>> query = evaluate_text("dj.U('sex') & Subject", Namespace({"Subject": Subject}))
>>> query.primary_key
['sex']
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import djframe as dj
from djframe.mcp.grammar import (
    Attribute,
    BinOp,
    Call,
    Dict,
    ExpressionError,
    List,
    Literal,
    Name,
    Node,
    parse,
)

__all__ = ["METHODS", "Namespace", "evaluate", "evaluate_text"]

METHODS = ("proj", "aggr", "aggregate", "join", "extend", "restrict")
"""The methods an expression may call; everything else (delete, insert, ...) is refused."""
U_METHODS = ("aggr", "aggregate")
OPTIONS = {"exclude_nonmatching", "semantic_check", "left"}
"""Keyword arguments of those methods that are flags; every other one names an attribute."""
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "U": dj.U,
    "Top": dj.Top,
    "Not": dj.Not,
    "AndList": lambda conditions=(): dj.AndList(conditions),
}
"""The ``dj.`` names an expression may use (also without ``dj.``)."""
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "&": operator.and_,
    "-": operator.sub,
    "*": operator.mul,
    "+": operator.add,
}


class Namespace:
    """The names an expression may use: table classes by name, ``"Master.Part"`` for parts,
    and ``"schema.Table"`` for a table of a given schema."""

    def __init__(self, tables: Mapping[str, type[dj.Table]], schemas: tuple[str, ...] = ()):
        self.tables = dict(tables)
        self.schemas = schemas

    def table(self, name: str) -> type[dj.Table] | None:
        return self.tables.get(name)

    def suggestion(self, name: str) -> str:
        """``; did you mean 'X'?`` and the known names, for an error message."""
        known = sorted(n for n in self.tables if "." not in n or n.count(".") == 1)
        close = difflib.get_close_matches(name, [*known, "dj"], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"{hint} The tables are: {', '.join(known) or '(none)'}."


# -- what a name can stand for while evaluating -------------------------------------------------
@dataclass(frozen=True)
class TableName:
    """A table named in the expression (a part is reached through it)."""

    name: str
    cls: type[dj.Table]


@dataclass(frozen=True)
class Function:
    name: str


@dataclass(frozen=True)
class Method:
    target: Any
    name: str


@dataclass(frozen=True)
class Prefix:
    """``dj`` or a schema name: only useful followed by ``.Name``."""

    name: str


def evaluate_text(source: str, namespace: Namespace) -> dj.QueryExpression:
    """Parse ``source`` and evaluate it to a query expression."""
    return evaluate(parse(source), namespace, source)


def evaluate(tree: Node, namespace: Namespace, source: str = "") -> dj.QueryExpression:
    """The query expression ``tree`` stands for; :class:`ExpressionError` if it is none."""
    value = Evaluator(namespace, source).relation(tree, "the expression")
    return value


class Evaluator:
    """Walks a tree, building djframe objects; each error names the place it comes from."""

    def __init__(self, namespace: Namespace, source: str) -> None:
        self.namespace = namespace
        self.source = source

    def error(self, message: str, node: Node) -> ExpressionError:
        return ExpressionError(
            message, self.source, node.position, "Cannot evaluate the expression"
        )

    # -- values ------------------------------------------------------------------------------
    def value(self, node: Node) -> Any:
        """What ``node`` stands for: a table name, a query, a condition, a literal, ..."""
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, List):
            return [self.plain(item) for item in node.items]
        if isinstance(node, Dict):
            return {key: self.scalar(value) for key, value in node.pairs}
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, Attribute):
            return self.attribute(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, BinOp):
            return self.binary(node)
        raise self.error(f"cannot evaluate a {type(node).__name__}.", node)

    def plain(self, node: Node) -> Any:
        """A value as djframe takes it: tables as instances; names of functions refused."""
        value = self.value(node)
        if isinstance(value, TableName):
            return value.cls()
        if isinstance(value, Function | Method | Prefix):
            raise self.error(f"{describe(value)} must be called or followed by a name.", node)
        return value

    def scalar(self, node: Node) -> Any:
        value = self.plain(node)
        if value is not None and not isinstance(value, str | int | float | bool):
            raise self.error("a dict value must be a string, a number, True, False or None.", node)
        return value

    def relation(self, node: Node, role: str) -> dj.QueryExpression:
        value = self.plain(node)
        if not isinstance(value, dj.QueryExpression):
            raise self.error(f"{role} must be a table or a query, not {describe(value)}.", node)
        return value

    # -- names -------------------------------------------------------------------------------
    def name(self, node: Name) -> Any:
        table = self.namespace.table(node.id)
        if table is not None:
            return TableName(node.id, table)
        if node.id == "dj" or node.id in self.namespace.schemas:
            return Prefix(node.id)
        if node.id in FUNCTIONS:
            return Function(node.id)
        raise self.error(
            f"{node.id!r} is not a table of this pipeline.{self.namespace.suggestion(node.id)}",
            node,
        )

    def attribute(self, node: Attribute) -> Any:
        target = self.value(node.value)
        if isinstance(target, Prefix) and target.name == "dj":
            if node.name in FUNCTIONS:
                return Function(node.name)
            raise self.error(f"dj.{node.name} is not available; use {functions()}.", node)
        if isinstance(target, Prefix | TableName):
            found = self.namespace.table(f"{target.name}.{node.name}")
            if found is not None:
                return TableName(f"{target.name}.{node.name}", found)
            if isinstance(target, Prefix):
                raise self.error(f"schema {target.name!r} has no table {node.name!r}.", node)
            target = target.cls()
        allowed = U_METHODS if isinstance(target, dj.U) else METHODS
        if isinstance(target, dj.QueryExpression | dj.U) and node.name in allowed:
            return Method(target, node.name)
        if isinstance(target, dj.QueryExpression | dj.U):
            raise self.error(
                f"{node.name!r} is neither a part table nor an allowed method here; the "
                f"methods are {', '.join(allowed)} (reading and writing rows are separate tools).",
                node,
            )
        raise self.error(f"{describe(target)} has no attribute {node.name!r}.", node)

    # -- calls and operators -----------------------------------------------------------------
    def call(self, node: Call) -> Any:
        target = self.value(node.func)
        args = [self.plain(a) for a in node.args]
        kwargs = {k: self.plain(v) for k, v in node.kwargs}
        if isinstance(target, TableName):
            if args or kwargs:
                raise self.error(f"{target.name}() takes no arguments.", node)
            return target.cls()
        if isinstance(target, Function):
            return self.apply(FUNCTIONS[target.name], args, kwargs, node, f"dj.{target.name}")
        if isinstance(target, Method):
            self.check_named(target.name, node)
            method = getattr(target.target, target.name)  # a name from METHODS only
            return self.apply(method, args, kwargs, node, f".{target.name}(...)")
        raise self.error(f"{describe(target)} cannot be called.", node)

    def check_named(self, method: str, node: Call) -> None:
        """Named arguments of proj and aggr are strings: an attribute or a SQL expression."""
        for name, value in node.kwargs:
            if name in OPTIONS:
                continue
            if not (isinstance(value, Literal) and isinstance(value.value, str)):
                raise self.error(
                    f"{name}= of .{method}(...) takes a string: an attribute to rename or a "
                    f"portable SQL expression, e.g. {name}='count(*)' or {name}='a + 1'.",
                    value,
                )

    def binary(self, node: BinOp) -> Any:
        left = self.plain(node.left)
        if not isinstance(left, dj.QueryExpression) and not (
            isinstance(left, dj.U) and node.op == "&"
        ):
            raise self.error(
                f"the left side of {node.op!r} must be a table or a query, not {describe(left)}.",
                node.left,
            )
        right = self.plain(node.right)
        if node.op in "*+" and not isinstance(right, dj.QueryExpression | dj.U):
            raise self.error(
                f"the right side of {node.op!r} must be a table or a query, not {describe(right)}.",
                node.right,
            )
        return self.apply(OPERATORS[node.op], [left, right], {}, node, repr(node.op))

    def apply(
        self,
        function: Callable[..., Any],
        args: list[Any],
        kwargs: dict[str, Any],
        node: Node,
        what: str,
    ) -> Any:
        """Call the library; its errors keep their class, and say where they arose."""
        try:
            return function(*args, **kwargs)
        except dj.DjframeError as exc:
            raise type(exc)(f"{exc} (In {self.excerpt(node)}.)") from None
        except Exception as exc:  # the library's own checks said no in a builtin's words
            message = f"{what} could not be applied ({type(exc).__name__}: {exc})."
            raise self.error(message, node) from None

    def excerpt(self, node: Node) -> str:
        """The text of ``node``, shortened, and where it starts: where a library error arose."""
        text = " ".join(self.source[node.start : node.end].split())
        shown = text if len(text) <= 80 else text[:77] + "..."
        return f"`{shown}`, column {node.start + 1}"


def functions() -> str:
    return ", ".join(f"dj.{name}" for name in FUNCTIONS)


def describe(value: Any) -> str:
    """A value as an error message names it."""
    if isinstance(value, TableName):
        return f"the table {value.name}"
    if isinstance(value, Function):
        return f"dj.{value.name}"
    if isinstance(value, Method):
        return f"the method .{value.name}"
    if isinstance(value, Prefix):
        return f"{value.name!r}"
    if isinstance(value, dj.U):
        return f"{value!r} (a universal set: restrict it, dj.U(...) & Table, or aggregate it)"
    if isinstance(value, str):
        return f"the string {value!r}"
    if value is None or isinstance(value, bool | int | float):
        return f"the value {value!r}"
    return f"a {type(value).__name__}"
