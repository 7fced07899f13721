"""The query language of ``djframe mcp``: djframe's algebra written as text, parsed, never run.

An agent writes the expressions a Python user would (``Session * Subject & "sex = 'F'"``,
``dj.U('sex').aggr(Subject, n='count(*)')``, ``Features.Band - {'band': 'alpha'}``). This
module turns such text into a small tree of :class:`Node` objects: a tokenizer and a
recursive-descent parser with Python's precedence (``*`` binds tighter than ``+`` and ``-``,
which bind tighter than ``&``). Nothing here imports, looks up or calls anything; giving the
names a meaning is :mod:`djframe.mcp.evaluate`'s job, over a fixed list of tables and methods.

The grammar::

    expression := sum ("&" sum)*
    sum        := product (("+" | "-") product)*
    product    := unary ("*" unary)*
    unary      := "-" unary | postfix
    postfix    := atom ("." NAME | "(" arguments ")")*
    atom       := NAME | NUMBER | STRING | True | False | None | "..."
                | "(" expression ")" | "(" expression "," ... ")" | "[" items "]" | "{" pairs "}"
    arguments  := [argument ("," argument)* [","]]      argument := [NAME "="] expression
    items      := [expression ("," expression)* [","]]
    pairs      := [STRING ":" expression ("," STRING ":" expression)* [","]]

Input is limited in length (:data:`MAX_LENGTH`) and nesting (:data:`MAX_DEPTH`); every
malformed input raises :class:`ExpressionError`, which says where, with the line and a caret.

Examples
--------
>>> parse("Session * Subject & {'sex': 'F'}")
BinOp(op='&', left=BinOp(op='*', left=Name(id='Session'), right=Name(id='Subject')), right=Dict(pairs=[('sex', Literal(value='F'))]))
>>> parse("Subject &")
Traceback (most recent call last):
...
djframe.mcp.grammar.ExpressionError: Malformed expression at column 10: expected an operand after '&', found the end of the expression.
    Subject &
             ^
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import djframe as dj

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Attribute",
    "BinOp",
    "Call",
    "Dict",
    "ExpressionError",
    "List",
    "Literal",
    "Name",
    "Node",
    "parse",
    "tokenize",
]

MAX_LENGTH = 10_000
"""Characters an expression may have."""
MAX_DEPTH = 64
"""How deeply an expression may nest: brackets, calls and chained operators all count."""


class ExpressionError(dj.QueryError):
    """A query expression that cannot be parsed or evaluated; the message says where."""

    def __init__(
        self,
        message: str,
        source: str = "",
        position: int | None = None,
        lead: str = "Malformed expression",
    ) -> None:
        self.position = position
        super().__init__(located(message, source, position, lead))


def located(message: str, source: str, position: int | None, lead: str) -> str:
    """``message`` with the line, column and a caret under ``position`` of ``source``."""
    if position is None or not source:
        return message
    line_number = source.count("\n", 0, position) + 1
    start = source.rfind("\n", 0, position) + 1
    end = source.find("\n", position)
    line = source[start : end if end != -1 else len(source)]
    column = position - start + 1
    where = f"column {column}" if "\n" not in source else f"line {line_number}, column {column}"
    shown, caret = window(line, column - 1)
    return f"{lead} at {where}: {message}\n    {shown}\n    {' ' * caret}^"


def window(line: str, offset: int, width: int = 72) -> tuple[str, int]:
    """At most ``width`` characters of ``line`` around ``offset``, and the offset within them."""
    if len(line) <= width:
        return line, offset
    begin = max(0, min(offset - width // 2, len(line) - width))
    shown = line[begin : begin + width]
    prefix = "..." if begin else ""
    suffix = "..." if begin + width < len(line) else ""
    return prefix + shown + suffix, offset - begin + len(prefix)


# -- tokens ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # NAME, NUMBER, STRING, OP or END
    text: str
    position: int
    value: Any = None


_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<NUMBER>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<NAME>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<OP>\.\.\.|[&*+\-()\[\]{},:=.])"
    r"|(?P<quote>['\"])"
)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_KEYWORDS: dict[str, Any] = {"True": True, "False": False, "None": None}


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an ``END`` token.

    Examples
    --------
    >>> [t.text for t in tokenize("dj.U('sex')")]
    ['dj', '.', 'U', '(', "'sex'", ')', '']
    """
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            f"The expression has {len(source)} characters; at most {MAX_LENGTH} are accepted."
        )
    tokens, position = [], 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise ExpressionError(f"unexpected character {source[position]!r}.", source, position)
        kind = match.lastgroup
        if kind == "quote":
            token = string_token(source, position)
        elif kind == "space":
            position = match.end()
            continue
        else:
            token = word_token(str(kind), match.group(), position)
        tokens.append(token)
        position = token.position + len(token.text)
    return [*tokens, Token("END", "", len(source))]


def word_token(kind: str, text: str, position: int) -> Token:
    if kind == "NUMBER":
        is_float = any(c in text for c in ".eE")
        return Token(kind, text, position, float(text) if is_float else int(text))
    return Token(kind, text, position)


def string_token(source: str, start: int) -> Token:
    """A quoted string from ``start``: backslash escapes as in Python, on one line."""
    quote, chars, position = source[start], [], start + 1
    while position < len(source) and source[position] not in (quote, "\n"):
        char = source[position]
        if char == "\\" and position + 1 < len(source):
            following = source[position + 1]
            chars.append(_ESCAPES.get(following, "\\" + following))
            position += 2
            continue
        chars.append(char)
        position += 1
    if position >= len(source) or source[position] != quote:
        raise ExpressionError(
            f"this string is not closed: add a {quote} at its end.", source, start
        )
    return Token("STRING", source[start : position + 1], start, "".join(chars))


# -- the tree ------------------------------------------------------------------------------------
@dataclass
class Node:
    """A node of a parsed expression: ``position`` is the offset of its token in the source
    text (an operator's, a call's parenthesis), ``start:end`` the text it spans."""

    position: int = field(default=0, repr=False, compare=False, kw_only=True)
    start: int = field(default=0, repr=False, compare=False, kw_only=True)
    end: int = field(default=0, repr=False, compare=False, kw_only=True)
    depth: int = field(default=1, repr=False, compare=False, kw_only=True)

    def children(self) -> list[Node]:
        return []


@dataclass
class Literal(Node):
    value: Any


@dataclass
class Name(Node):
    id: str


@dataclass
class Attribute(Node):
    value: Node
    name: str

    def children(self) -> list[Node]:
        return [self.value]


@dataclass
class Call(Node):
    func: Node
    args: list[Node]
    kwargs: list[tuple[str, Node]]

    def children(self) -> list[Node]:
        return [self.func, *self.args, *(v for _, v in self.kwargs)]


@dataclass
class BinOp(Node):
    op: str
    left: Node
    right: Node

    def children(self) -> list[Node]:
        return [self.left, self.right]


@dataclass
class List(Node):
    items: list[Node]

    def children(self) -> list[Node]:
        return list(self.items)


@dataclass
class Dict(Node):
    pairs: list[tuple[str, Node]]

    def children(self) -> list[Node]:
        return [v for _, v in self.pairs]


# -- the parser ----------------------------------------------------------------------------------
def parse(source: str) -> Node:
    """The tree of ``source``; :class:`ExpressionError` says where it is malformed."""
    parser = Parser(source)
    if parser.peek().kind == "END":
        raise ExpressionError(
            "the expression is empty. Write one over the pipeline's tables, e.g. "
            "Subject & {'subject_id': 1}."
        )
    tree = parser.expression()
    parser.expect_end()
    return tree


_OPERATORS = [("&",), ("+", "-"), ("*",)]
"""Binary operators from the loosest to the tightest, as in Python."""


class Parser:
    """A recursive-descent parser over the tokens of one expression."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.nesting = 0  # open brackets and calls: bounds the recursion on hostile input

    # -- tokens --------------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def at(self, *texts: str) -> bool:
        token = self.peek()
        return token.kind == "OP" and token.text in texts

    def expect(self, text: str, context: str) -> Token:
        if not self.at(text):
            raise self.error(f"expected {text!r} {context}, found {describe(self.peek())}.")
        return self.advance()

    def expect_end(self) -> None:
        token = self.peek()
        if token.kind != "END":
            hint = " (an operator such as & or * may be missing)" if token.kind != "OP" else ""
            raise self.error(f"found {describe(token)} after a complete expression{hint}.")

    def error(self, message: str, position: int | None = None) -> ExpressionError:
        """An :class:`ExpressionError` at ``position`` (by default, the next token)."""
        where = self.peek().position if position is None else position
        return ExpressionError(message, self.source, where)

    def node(self, node: Node, token: Token) -> Node:
        """``node``, placed at ``token``, spanning up to the last token read, checked for depth."""
        node.position = token.position
        node.start = min([token.position, *(c.start for c in node.children())])
        last = self.tokens[self.index - 1]
        node.end = last.position + len(last.text)
        node.depth = 1 + max((c.depth for c in node.children()), default=0)
        if node.depth > MAX_DEPTH:
            raise self.error(
                f"the expression nests more than {MAX_DEPTH} levels deep; split it into "
                "simpler queries.",
                token.position,
            )
        return node

    # -- grammar -------------------------------------------------------------------------------
    def expression(self, level: int = 0) -> Node:
        """A binary expression whose loosest operators are those of ``level``."""
        if level == len(_OPERATORS):
            return self.unary()
        left = self.expression(level + 1)
        while self.at(*_OPERATORS[level]):
            token = self.advance()
            right = self.operand(level + 1, token)
            left = self.node(BinOp(token.text, left, right), token)
        return left

    def operand(self, level: int, operator: Token) -> Node:
        if self.peek().kind == "END" or self.at(")", "]", "}", ",", "&", "*", "="):
            raise self.error(
                f"expected an operand after {operator.text!r}, found {describe(self.peek())}."
            )
        return self.expression(level)

    def unary(self) -> Node:
        """A postfix expression, or a number after one or more '-' (read in a loop, not by
        recursion, so that ``------...1`` cannot exhaust the stack)."""
        signs: list[Token] = []
        while self.at("-"):
            signs.append(self.advance())
        operand = self.postfix()
        if not signs:
            return operand
        if not (isinstance(operand, Literal) and is_number(operand.value)):
            raise self.error("a leading '-' negates numbers only.", signs[0].position)
        value = -operand.value if len(signs) % 2 else operand.value
        return self.node(Literal(value), signs[0])

    def postfix(self) -> Node:
        node = self.atom()
        while self.at(".", "("):
            token = self.advance()
            if token.text == "(":
                args, kwargs = self.arguments()
                node = self.node(Call(node, args, kwargs), token)
                continue
            name = self.peek()
            if name.kind != "NAME" or name.text in _KEYWORDS:
                raise self.error(f"expected a name after '.', found {describe(name)}.")
            self.advance()
            node = self.node(Attribute(node, name.text), name)
        return node

    def atom(self) -> Node:
        token = self.peek()
        if token.kind in {"NUMBER", "STRING"}:
            self.advance()
            return self.node(Literal(token.value), token)
        if token.kind == "NAME":
            self.advance()
            if token.text in _KEYWORDS:
                return self.node(Literal(_KEYWORDS[token.text]), token)
            return self.node(Name(token.text), token)
        if self.at("..."):
            self.advance()
            return self.node(Literal(...), token)
        if self.at("(", "[", "{"):
            return self.bracketed(self.advance())
        raise self.error(f"expected a table, a literal or '(', found {describe(token)}.")

    def bracketed(self, opening: Token) -> Node:
        if opening.text == "{":
            return self.node(Dict(self.pairs()), opening)
        closing = ")" if opening.text == "(" else "]"
        items, trailing_comma = self.sequence(closing, self.expression)
        if opening.text == "(" and len(items) == 1 and not trailing_comma:
            grouped: Node = items[0]  # parentheses that only group: they are part of its text
            grouped.start, grouped.end = opening.position, self.tokens[self.index - 1].position + 1
            return grouped
        if opening.text == "(" and not items:
            raise self.error("empty parentheses '()' are not an expression.", opening.position)
        return self.node(List(items), opening)

    def sequence(self, closing: str, item: Any) -> tuple[list[Any], bool]:
        """Items separated by commas up to ``closing``, and whether a comma came last."""
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.error(
                f"brackets and calls nest more than {MAX_DEPTH} levels deep; split the "
                "expression into simpler queries."
            )
        items: list[Any] = []
        comma = False
        while not self.at(closing):
            if self.peek().kind == "END":
                raise self.error(f"expected {closing!r} to close the bracket, found the end.")
            items.append(item())
            comma = self.at(",")
            if not self.at(closing):
                self.expect(",", f"or {closing!r} between items")
        self.advance()
        self.nesting -= 1
        return items, comma

    def arguments(self) -> tuple[list[Node], list[tuple[str, Node]]]:
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        for name, value in self.sequence(")", self.argument)[0]:
            if name is None and kwargs:
                message = "a positional argument follows a keyword argument."
                raise self.error(message, value.position)
            if name is None:
                args.append(value)
            elif name in dict(kwargs):
                raise self.error(f"the keyword argument {name!r} is given twice.", value.position)
            else:
                kwargs.append((name, value))
        return args, kwargs

    def argument(self) -> tuple[str | None, Node]:
        token, following = self.peek(), self.peek(1)
        if token.kind == "NAME" and following.kind == "OP" and following.text == "=":
            self.index += 2
            return token.text, self.expression()
        return None, self.expression()

    def pairs(self) -> list[tuple[str, Node]]:
        def pair() -> tuple[str, Node]:
            key = self.peek()
            if key.kind != "STRING":
                raise self.error(
                    f"a dict key must be a quoted attribute name, not {describe(key)}."
                )
            self.advance()
            self.expect(":", "after a dict key")
            return key.value, self.expression()

        return self.sequence("}", pair)[0]


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def describe(token: Token) -> str:
    """A token as an error message names it."""
    if token.kind == "END":
        return "the end of the expression"
    if token.kind == "STRING":
        return f"the string {token.text}"
    if token.kind == "NUMBER":
        return f"the number {token.text}"
    return f"{token.text!r}"
