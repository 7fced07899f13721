"""The query language of ``djframe mcp``: tokens, precedence and errors of the grammar, hostile
input (no eval, deep nesting, unknown names), and evaluation to the same queries Python builds,
on every backend."""

from __future__ import annotations

import doctest
import importlib

import pytest

import djframe as dj
from djframe.mcp.evaluate import Namespace, evaluate_text
from djframe.mcp.grammar import (
    MAX_DEPTH,
    MAX_LENGTH,
    BinOp,
    Call,
    Dict,
    ExpressionError,
    List,
    Literal,
    Name,
    parse,
    tokenize,
)
from djframe.mcp.pipeline import named_tables, tables_of


# -- tokens and trees ----------------------------------------------------------------------------
def test_tokens() -> None:
    tokens = tokenize("""Subject & {'a\\'b': -1.5e3, "n": 7} ... # """[:-2])
    assert [t.kind for t in tokens] == [
        "NAME", "OP", "OP", "STRING", "OP", "OP", "NUMBER", "OP", "STRING", "OP", "NUMBER",
        "OP", "OP", "END",
    ]  # fmt: skip
    assert tokens[3].value == "a'b" and tokens[6].value == 1.5e3 and tokens[10].value == 7
    assert tokens[12].text == "..."


def test_precedence_follows_python() -> None:
    a, b, c = Name("A"), Name("B"), Name("C")
    assert parse("A & B * C") == BinOp("&", a, BinOp("*", b, c))
    assert parse("A - B & C") == BinOp("&", BinOp("-", a, b), c)
    assert parse("A * B + C") == BinOp("+", BinOp("*", a, b), c)
    assert parse("A * (B + C)") == BinOp("*", a, BinOp("+", b, c))
    assert parse("A - B - C") == BinOp("-", BinOp("-", a, b), c)


def test_literals_calls_and_brackets() -> None:
    tree = parse("dj.U('sex').aggr(Subject, n='count(*)',)")
    assert isinstance(tree, Call) and tree.kwargs == [("n", Literal("count(*)"))]
    assert parse("A & [{'x': 1}, 'y > 2']").right == List(  # type: ignore[attr-defined]
        [Dict([("x", Literal(1))]), Literal("y > 2")]
    )
    assert parse("(A,)") == List([Name("A")]) and parse("(A)") == Name("A")
    assert parse("A & {'x': -2, 'y': None, 'z': True}").right == Dict(  # type: ignore[attr-defined]
        [("x", Literal(-2)), ("y", Literal(None)), ("z", Literal(True))]
    )
    assert parse("A.proj(...)").args == [Literal(...)]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("Subject &", "expected an operand after '&', found the end", 10),
        ("A * * B", "expected an operand after '*', found '*'", 5),
        ("(A", "expected ',' or ')' between items", 3),
        ("A B", "found 'B' after a complete expression (an operator", 3),
        ("A $ B", "unexpected character '$'", 3),
        ("A & 'open", "this string is not closed", 5),
        ("A.proj(x='a', 'b')", "a positional argument follows a keyword argument", 15),
        ("A.proj(x='a', x='b')", "the keyword argument 'x' is given twice", 17),
        ("A & {x: 1}", "a dict key must be a quoted attribute name", 6),
        ("A.", "expected a name after '.'", 3),
        ("-A", "a leading '-' negates numbers only", 1),
        ("()", "empty parentheses", 1),
        ("A & )", "expected an operand after '&', found ')'", 5),
    ],
)
def test_malformed_input_says_where(source: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(source)
    text = str(info.value)
    assert message in text and f"at column {column}:" in text
    lines = text.splitlines()
    assert lines[1].strip() == source.strip() and lines[2].index("^") - 4 == column - 1
    assert isinstance(info.value, dj.QueryError) and info.value.position == column - 1


def test_errors_in_multiline_input_name_the_line() -> None:
    with pytest.raises(ExpressionError, match="at line 2, column 3") as info:
        parse("Session\n* * Subject")
    assert "* * Subject" in str(info.value)


def test_empty_and_oversized_input() -> None:
    with pytest.raises(ExpressionError, match="empty"):
        parse("   ")
    with pytest.raises(ExpressionError, match=f"at most {MAX_LENGTH}"):
        parse("A" * (MAX_LENGTH + 1))


# -- hostile input -------------------------------------------------------------------------------
def test_deep_nesting_is_refused_before_the_stack_runs_out() -> None:
    ok = "(" * MAX_DEPTH + "A" + ")" * MAX_DEPTH
    assert parse(ok) == Name("A")
    for source in [
        "(" * (MAX_DEPTH + 1) + "A" + ")" * (MAX_DEPTH + 1),
        "(" * 4000 + "A" + ")" * 4000,  # would overflow Python's stack unchecked
        "[" * 4000,
        "A.proj(" * 1000,
        " & ".join(["A"] * (MAX_DEPTH + 1)),  # a long chain builds a deep tree
        "-" * 4000 + "A",
    ]:
        with pytest.raises(ExpressionError, match=r"levels deep|negates"):
            parse(source)
    assert parse("-" * 4001 + "1") == Literal(-1)


def test_long_lines_are_shown_around_the_error() -> None:
    source = "A & " + " & ".join(["'x > 1'"] * 40) + " & & B"
    with pytest.raises(ExpressionError) as info:
        parse(source)
    shown = str(info.value).splitlines()[1]
    assert len(shown) < 90 and "& & B" in shown


# -- evaluation over a real schema --------------------------------------------------------------
@pytest.fixture
def lab(schema: dj.Schema) -> Namespace:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        sex : enum('F', 'M')
        weight : float64
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session : int16
        ---
        rig : varchar(8)
        """

        class Note(dj.Part):
            definition = """
            -> master
            note_id : int16
            ---
            text : varchar(80)
            """

    subjects = [(1, "F", 20.5), (2, "M", 25.0), (3, "F", 22.0)]
    Subject.insert([dict(zip(["subject_id", "sex", "weight"], s, strict=True)) for s in subjects])
    sessions = [(1, 1, "a"), (1, 2, "b"), (3, 1, "a")]
    Session.insert([dict(zip(["subject_id", "session", "rig"], s, strict=True)) for s in sessions])
    Session.Note.insert1({"subject_id": 1, "session": 1, "note_id": 1, "text": "ok"})
    return Namespace(named_tables({schema.name: tables_of(schema)}), (schema.name,))


def python_queries(lab: Namespace) -> dict[str, dj.QueryExpression]:
    Subject, Session = lab.tables["Subject"], lab.tables["Session"]
    Note = lab.tables["Session.Note"]
    return {
        "Session * Subject & \"sex = 'F'\"": Session * Subject & "sex = 'F'",
        "dj.U('sex').aggr(Subject, n='count(*)')": dj.U("sex").aggr(Subject, n="count(*)"),
        "U('sex') & Subject": dj.U("sex") & Subject,
        "Subject - Session": Subject - Session,
        "Subject & [{'subject_id': 1}, 'weight > 24']": Subject
        & [{"subject_id": 1}, "weight > 24"],
        "Subject & dj.Top(2, 'weight DESC')": Subject & dj.Top(2, "weight DESC"),
        "Subject & dj.Not({'sex': 'F'})": Subject & dj.Not({"sex": "F"}),
        "Subject.proj(..., '-weight', kg='weight')": Subject.proj(..., "-weight", kg="weight"),
        "Subject.aggr(Session, n='count(*)', exclude_nonmatching=True)": Subject.aggr(
            Session, n="count(*)", exclude_nonmatching=True
        ),
        "Session.Note * Subject.proj()": Note * Subject.proj(),
        "(Subject & 'weight < 21').proj() + (Subject & 'weight > 24').proj()": (
            (Subject & "weight < 21").proj() + (Subject & "weight > 24").proj()
        ),
        "Session.extend(Subject)": Session.extend(Subject),
        "(Session() * Subject()) & dj.AndList([{'sex': 'F'}, 'weight > 21'])": (
            (Session * Subject) & dj.AndList([{"sex": "F"}, "weight > 21"])
        ),
    }


def test_expressions_build_the_queries_python_builds(lab: Namespace, schema: dj.Schema) -> None:
    for text, built in python_queries(lab).items():
        parsed = evaluate_text(text, lab)
        assert parsed.sql() == built.sql(), text
        assert parsed.primary_key == built.primary_key, text
        assert parsed.to_arrow(order_by="KEY").equals(built.to_arrow(order_by="KEY")), text
    qualified = evaluate_text(f"{schema.name}.Session.Note & {{'note_id': 1}}", lab)
    assert len(qualified) == 1


def test_library_errors_keep_their_class_and_say_where(lab: Namespace) -> None:
    with pytest.raises(dj.LineageError, match=r"\.proj\(") as info:
        evaluate_text("Subject * (Session.proj(sex='rig'))", lab)
    assert "In `Subject * (Session.proj(sex='rig'))`, column 1" in str(info.value)
    with pytest.raises(dj.QueryError, match="same primary key"):
        evaluate_text("Subject + Session", lab)
    with pytest.raises(dj.MissingAttributeError, match="wieght"):
        evaluate_text("Subject & 'wieght > 2'", lab).to_arrow()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("Sbject", "'Sbject' is not a table of this pipeline. Did you mean 'Subject'?"),
        ("__import__('os')", "'__import__' is not a table"),
        ("eval('1')", "'eval' is not a table"),
        ("Subject.__class__", "'__class__' is neither a part table nor an allowed method"),
        ("Subject._info", "'_info' is neither a part table nor an allowed method"),
        ("Subject.delete()", "'delete' is neither a part table nor an allowed method"),
        ("Subject.proj.__globals__", "the method .proj has no attribute"),
        ("dj.config", "dj.config is not available"),
        ("dj.U.__init__", "dj.U has no attribute"),
        ("'x'.join(Subject)", "the string 'x' has no attribute 'join'"),
        ("'x'(1)", "the string 'x' cannot be called"),
        ("Subject(1)", "Subject() takes no arguments"),
        ("'sex' & Subject", "the left side of '&' must be a table or a query"),
        ("Subject * 'sex'", "the right side of '*' must be a table or a query"),
        ("dj.U('sex')", "must be a table or a query, not dj.U('sex')"),
        ("Subject.proj(n=1)", "n= of .proj(...) takes a string"),
        ("Subject & {'sex': Subject}", "a dict value must be a string, a number"),
        ("Subject & dj.Top('many')", "dj.Top"),
        ("Subject.proj", "must be called"),
        ("lambda: 1", "found ':' after a complete expression"),
    ],
)
def test_hostile_or_wrong_names_are_refused(lab: Namespace, source: str, message: str) -> None:
    with pytest.raises(dj.QueryError, match=None) as info:
        evaluate_text(source, lab)
    assert message in str(info.value)


def test_refused_names_touch_nothing(lab: Namespace) -> None:
    before = len(lab.tables["Subject"]())
    for source in [
        "Subject.delete()",
        "Subject.delete_quick()",
        "Subject.drop()",
        "Subject.insert1",
    ]:
        with pytest.raises(dj.QueryError):
            evaluate_text(source, lab)
    assert len(lab.tables["Subject"]()) == before


@pytest.mark.parametrize(
    "module", ["grammar", "evaluate", "payload", "safety", "docs"], ids=lambda m: m
)
def test_examples_in_docstrings_run(module: str) -> None:
    found = importlib.import_module(f"djframe.mcp.{module}")
    assert doctest.testmod(found, optionflags=doctest.ELLIPSIS).failed == 0
