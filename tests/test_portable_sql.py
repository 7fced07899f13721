"""The portable SQL dialect of restriction strings (compile/portable.py, compile/fragments.py).

Nothing a string says is dropped: what the dialect does not support is refused with a
``QueryError`` naming it (subqueries, qualified names, aggregates in a restriction, ``TRIM``'s
position, ...). Ill-typed and malformed strings, and wrongly typed dict and frame restrictions,
raise ``dj.DjframeError`` subclasses, never Ibis, sqlglot, parsy or engine exceptions. A small
grammar of random strings (valid and broken) is run on both backends, the valid ones compared
with a Polars reference.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import uuid
from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from ibis import _

import djframe as dj

EXAMPLES = int(os.environ.get("DJFRAME_HYPOTHESIS_EXAMPLES", "40"))

ROWS = pl.DataFrame(
    {
        "k": list(range(10)),
        "a": [3, None, 0, -2, 5, 0, 1, None, 7, 2],
        "x": [0.5, 1.5, None, -3.0, 2.0, 0.0, 9.25, 4.0, None, -1.5],
        "s": ["ab", "ba", None, "Abc", "b", "", "aab", "xb", "a_b", None],
    },
    schema={"k": pl.Int32, "a": pl.Int32, "x": pl.Float64, "s": pl.String},
)


@pytest.fixture
def T(schema: dj.Schema) -> dj.Table:
    @schema
    class T(dj.Manual):
        definition = """
        k : int32
        ---
        a = null : int32
        x = null : float64
        s = null : varchar(8)
        d = null : date
        """

    T.insert(ROWS)
    return T()


@pytest.fixture
def Other(schema: dj.Schema, T: dj.Table) -> dj.Table:
    @schema
    class Other(dj.Manual):
        definition = """
        -> T
        """

    Other.insert([{"k": 1}, {"k": 2}])
    return Other()


def keys(expression: dj.QueryExpression) -> list[int]:
    return sorted(expression.to_polars()["k"].to_list())


# -- item 7: nothing is dropped ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("k IN (SELECT k FROM other)", "subquery"),
        ("k = (SELECT 1)", "subquery"),
        ("EXISTS (SELECT 1)", "subquery"),
        ("k = ANY (SELECT 1)", "subquery"),
        ("nosuch.table.k = 1", "qualified name"),
        ("t.k = 1", "qualified name"),
        ("sum(k) > 3", "aggregate"),
        ("count(*) > 0", "aggregate"),
        ("trim(leading 'a' from s) = 'b'", "position"),
        ("trim('a' from s) = 'b'", "expression"),
        ("min(k, a) = 1", "expressions of MIN"),
        ("k BETWEEN SYMMETRIC 5 AND 1", "symmetric"),
        ("row_number() OVER () = 1", "window function"),
        ("k = 1; DROP TABLE t", "not supported"),
        ("s LIKE 'a!%' ESCAPE '!'", "not supported"),
        ("cast(k AS foo) = 1", "not a type"),
        ("cast(k AS varchar(1)) = '1'", "would cut the strings"),
        ("k::char(2) = '1'", "would cut the strings"),
        ("cast(x AS timestamp(3)) IS NULL", "not a type"),
        ("k = *", "count(*)"),
    ],
)
def test_unsupported_parts_are_refused_by_name(T: dj.Table, text: str, named: str) -> None:
    with pytest.raises(dj.QueryError, match=re.escape(named)):
        len(T & text)


def test_refusal_is_immediate_and_says_what_to_write(T: dj.Table) -> None:
    with pytest.raises(dj.QueryError, match=r"T & Other") as info:
        T & "k IN (SELECT k FROM other.t)"  # refused when the restriction is made
    assert "IN ()" not in str(info.value)
    with pytest.raises(dj.QueryError, match=r"write 'k'"):
        T & "nosuch.table.k = 1"


def test_what_the_subquery_meant_is_written_as_an_expression(T: dj.Table, Other: dj.Table) -> None:
    assert keys(T & Other) == [1, 2]
    assert keys(T - Other) == [0, 3, 4, 5, 6, 7, 8, 9]


def test_double_quotes_get_a_hint(T: dj.Table) -> None:
    with pytest.raises(dj.MissingAttributeError, match="write the string literal 'ab' in single"):
        T & 's = "ab"'
    assert keys(T & "\"s\" = 'ab'") == [0]  # a quoted attribute name is fine


def test_not_like_and_simple_case_keep_their_meaning(T: dj.Table) -> None:
    assert keys(T & "s NOT LIKE 'a%'") == [1, 3, 4, 5, 7]
    assert keys(T & "s NOT ILIKE 'a%'") == [1, 4, 5, 7]
    assert keys(T & "CASE k WHEN 2 THEN true WHEN 4 THEN true ELSE false END") == [2, 4]


def test_is_true_is_never_null(T: dj.Table) -> None:
    assert keys(T & "(a > 2) IS TRUE") == [0, 4, 8]
    assert keys(T & "NOT ((a > 2) IS TRUE)") == [1, 2, 3, 5, 6, 7, 9]  # NULL a kept, as in SQL
    assert keys(T & "(a > 2) IS NOT FALSE") == [0, 1, 4, 7, 8]
    with pytest.raises(dj.QueryError, match="IS takes NULL, TRUE or FALSE"):
        len(T & "k IS 1")


def test_aggregates_in_proj_are_refused_and_kept_in_aggr(T: dj.Table) -> None:
    with pytest.raises(dj.QueryError, match=r"aggregate.*aggr"):
        T.proj(total="sum(k)")
    assert dj.U().aggr(T, total="sum(k)").fetch1("total") == 45


def test_long_or_chains_are_one_level(T: dj.Table) -> None:
    text = " OR ".join(f"k = {i}" for i in range(1500))  # deeper than Python recursion
    assert len(T & text) == 10


# -- item 10: every error is ours, naming the input ----------------------------------------
@pytest.mark.parametrize(
    ("text", "error", "named"),
    [
        ("lower(k) = 'a'", dj.QueryError, "k (int32)"),
        ("k + 'a' = 1", dj.QueryError, "'a' (string)"),
        ("s > 3", dj.QueryError, "s (string)"),
        ("year(s) = 1", dj.QueryError, "YEAR(s)"),
        ("-s = 1", dj.QueryError, "-s"),
        ("s = 'abc", dj.QueryError, "not closed"),
        ("k = 1 and", dj.QueryError, "Cannot parse"),
        ("", dj.QueryError, "not an SQL expression"),
        ("cast(k AS foo) = 1", dj.QueryError, "Cast to one of"),
        ("(" * 3000 + "k = 1" + ")" * 3000, dj.QueryError, "levels deep"),
        ("not " * 3000 + "k = 1", dj.QueryError, "levels deep"),
        ("k = 99999999999999999999999", dj.QueryError, "out of range"),
        ("x = 1e999", dj.QueryError, "out of range"),
        ("k = 'abc'", dj.QueryError, "not an integer"),
        ("d > 'soon'", dj.QueryError, "not a date"),
        ("k", dj.QueryError, "not a condition"),
        ("not k", dj.QueryError, "not a condition"),
        ("round(x, k) > 1", dj.QueryError, "whole number"),
        ("@", dj.QueryError, "incomplete"),
        ("s = 'a\x00b'", dj.QueryError, "NUL"),
    ],
)
def test_bad_strings_raise_our_errors(T: dj.Table, text: str, error: type, named: str) -> None:
    with pytest.raises(error, match=re.escape(named)):
        len(T & text)


def test_ibis_predicates_that_do_not_apply_are_query_errors(T: dj.Table) -> None:
    for condition in (_.k.lower() == "a", _.nosuch > 1, _.k > "a", _.k + 1):
        with pytest.raises(dj.QueryError, match="Ibis predicate"):
            len(T & condition)
    assert keys(T & (_.k > 7)) == [8, 9]


def test_numpy_booleans_are_booleans(T: dj.Table) -> None:
    assert len(T & np.bool_(True)) == 10
    assert len(T & np.bool_(False)) == 0


def test_a_bad_restriction_deletes_nothing(T: dj.Table) -> None:
    for condition in ("lower(k) = 'a'", {"k": "abc"}, pl.DataFrame({"k": ["1"]})):
        with pytest.raises(dj.QueryError):
            (T & condition).delete()
    assert len(T) == 10


def test_zero_division_and_log_domain_are_null_on_every_backend(T: dj.Table) -> None:
    assert len(T & "k % 0 = 1") == 0
    assert len(T & "k / 0 > 1") == 0
    assert len(T & "x / 0 > 1") == 0
    assert len(T & "ln(-1) IS NULL") == 10
    assert keys(T & "ln(x) IS NULL") == [2, 3, 5, 8, 9]
    assert keys(T & "sqrt(x) IS NULL") == [2, 3, 8, 9]
    assert keys(T & "k / a > 2") == [6, 9]


def test_computed_values_agree_across_backends(T: dj.Table) -> None:
    got = (
        (T & "k < 4")
        .proj(half="k / 2", whole="round(x)", tenth="round(x, 1)", year="year(d)")
        .to_polars()
    )
    got = got.sort("k")
    assert got["half"].to_list() == [0.0, 0.5, 1.0, 1.5]  # not PostgreSQL's integer 0
    assert got["whole"].to_list() == [1, 2, None, -3]  # halves away from zero: 0.5 -> 1
    assert got["tenth"].to_list() == [0.5, 1.5, None, -3.0]
    assert got["year"].dtype == pl.Int64


def test_rounding_is_the_same_from_the_shape_cache(T: dj.Table) -> None:
    first = T.proj(v="round(x, 2)").to_polars().sort("k")["v"].to_list()
    again = T.proj(v="round(x, 0)").to_polars().sort("k")["v"].to_list()  # same shape
    assert first == [0.5, 1.5, None, -3.0, 2.0, 0.0, 9.25, 4.0, None, -1.5]
    assert again == [1.0, 2.0, None, -3.0, 2.0, 0.0, 9.0, 4.0, None, -2.0]
    with pytest.raises(dj.QueryError, match="0 to 15 digits"):
        len(T.proj(v="round(x, 16)"))


def test_casts_the_backends_do_differently_are_refused(T: dj.Table) -> None:
    for text in ("cast(x AS boolean)", "cast(d AS int)", "cast(b AS double)"):
        with pytest.raises(dj.QueryError, match="Portable casts"):
            len(T.proj(v=text.replace("b AS", "(k > 1) AS")))
    assert len(T & "cast(k AS varchar) = '3'") == 1
    assert len(T & "cast(d AS timestamp) IS NULL") == 10


def test_aggr_refuses_a_value_per_row(T: dj.Table) -> None:
    with pytest.raises(dj.QueryError, match="not an aggregate"):
        len(dj.U().aggr(T, v="k + 1"))
    assert dj.U().aggr(T, v="max(k) + 1").fetch1("v") == 10


def test_engine_errors_at_run_time_are_data_errors(T: dj.Table) -> None:
    for text in ("cast(s AS int) = 1", "k * 2000000000 * 2000000000 > 0"):
        with pytest.raises(dj.DataError) as info:
            (T & text).to_polars()
        assert "\n" not in str(info.value) and "LINE 1" not in str(info.value)


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        ({"k": "abc"}, "not an integer"),
        ({"s": 5}, "Python int"),
        ({"k": [1, 2]}, "Python list"),
        ({"d": 5}, "type date"),
        ({"d": "x"}, "not a date"),
        ({"k": 2**70}, "64-bit"),
        ({"k": True}, "Python bool"),
        ({"k": object()}, "Python object"),
        ({"s": "a\x00b"}, "NUL"),
        (pl.DataFrame({"k": ["1"]}), "'k' of type string"),
        (pl.DataFrame({"s": [1]}), "'s' of type int64"),
        (pl.DataFrame({"d": ["2020-01-01"]}), "'d' of type string"),
    ],
)
def test_wrongly_typed_dicts_and_frames_are_query_errors(
    T: dj.Table, condition: object, named: str
) -> None:
    with pytest.raises(dj.QueryError, match=re.escape(named)):
        len(T & condition)
    with pytest.raises(dj.QueryError, match=re.escape(named)):
        len(T - condition)


def test_a_cached_shape_still_checks_its_values(T: dj.Table) -> None:
    assert keys(T & {"k": 3}) == keys(T & {"k": 3}) == [3]  # compiled once, then from the cache
    with pytest.raises(dj.QueryError, match="not an integer"):
        len(T & {"k": "abc"})
    with pytest.raises(dj.QueryError, match="Python int"):
        len(T & {"s": 3})
    assert keys(T & {"s": "ab"}) == keys(T & {"s": "ab"}) == [0]
    with pytest.raises(dj.QueryError, match="NUL"):
        len(T & {"s": "a\x00"})


def test_well_typed_dicts_and_frames_still_match(T: dj.Table) -> None:
    assert keys(T & {"k": 1.5}) == []
    assert keys(T & {"x": "1.5"}) == [1]
    assert keys(T & pl.DataFrame({"k": [1, 2]})) == [1, 2]  # int64 frame, int32 attribute
    assert keys(T & {"d": dt.date(2020, 1, 1)}) == []


def test_frames_of_nulls_and_uuid_text_match_alike(schema: dj.Schema) -> None:
    @schema
    class Sample(dj.Manual):
        definition = """
        k : int32
        ---
        u : uuid
        """

    ids = [uuid.UUID(int=i) for i in range(3)]
    Sample.insert([{"k": i, "u": u} for i, u in enumerate(ids)])
    assert len(Sample & pl.DataFrame({"k": [None]})) == 0  # PostgreSQL: integer = text
    assert len(Sample & pl.DataFrame({"u": [str(ids[1])]})) == 1  # PostgreSQL: uuid = text
    assert len(Sample - pl.DataFrame({"u": [str(ids[1])]})) == 2


# -- property: a small grammar of strings ----------------------------------------------------
@dataclass(frozen=True)
class Term:
    """A piece of portable SQL and the Polars expression that means the same."""

    sql: str
    polars: pl.Expr


def like_regex(pattern: str) -> str:
    return "^" + "".join({"%": ".*", "_": "."}.get(c, re.escape(c)) for c in pattern) + "$"


INT_LITERALS = st.integers(-3, 6).map(lambda i: Term(str(i), pl.lit(i, pl.Int64)))
INT_COLUMNS = st.sampled_from([Term("k", pl.col("k")), Term("a", pl.col("a"))])


def int_terms() -> st.SearchStrategy[Term]:
    def extend(inner: st.SearchStrategy[Term]) -> st.SearchStrategy[Term]:
        ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
        binary = st.tuples(inner, st.sampled_from(sorted(ops)), inner).map(
            lambda t: Term(f"({t[0].sql} {t[1]} {t[2].sql})", ops[t[1]](t[0].polars, t[2].polars))
        )
        absolute = inner.map(lambda t: Term(f"abs({t.sql})", t.polars.abs()))
        modulo = st.tuples(inner, inner).map(lambda t: modulo_term(*t))
        fallback = st.tuples(inner, INT_LITERALS).map(
            lambda t: Term(
                f"coalesce({t[0].sql}, {t[1].sql})", pl.coalesce(t[0].polars, t[1].polars)
            )
        )
        chosen = st.tuples(atoms_without_numbers(), inner, inner).map(
            lambda t: Term(
                f"CASE WHEN {t[0].sql} THEN {t[1].sql} ELSE {t[2].sql} END",
                pl.when(t[0].polars.fill_null(False)).then(t[1].polars).otherwise(t[2].polars),
            )
        )
        return binary | absolute | modulo | fallback | chosen

    return st.recursive(INT_COLUMNS | INT_LITERALS, extend, max_leaves=4)


def modulo_term(a: Term, b: Term) -> Term:
    """SQL's remainder takes the dividend's sign (Polars' the divisor's); NULL for 0."""
    truncated = (a.polars.cast(pl.Float64) / b.polars).cast(pl.Int64, strict=False)
    remainder = pl.when(b.polars != 0).then(a.polars - b.polars * truncated)
    return Term(f"({a.sql} % {b.sql})", remainder)


def float_terms() -> st.SearchStrategy[Term]:
    def divide(a: Term, b: Term) -> Term:  # NULL where the divisor is 0, as portable SQL says
        quotient = pl.when(b.polars != 0).then(a.polars.cast(pl.Float64) / b.polars)
        return Term(f"({a.sql} / {b.sql})", quotient)

    column = st.just(Term("x", pl.col("x")))
    literal = st.sampled_from([0.5, -1.5, 2.0]).map(lambda v: Term(str(v), pl.lit(v)))

    def rounded(a: Term, places: int) -> Term:  # halves away from zero, as portable SQL says
        value = a.polars.cast(pl.Float64).round(places, mode="half_away_from_zero")
        return Term(f"round({a.sql}, {places})", value)

    quotients = st.builds(divide, int_terms(), int_terms())
    rounds = st.builds(rounded, column | quotients, st.integers(0, 2))
    return column | literal | quotients | rounds


STRINGS = st.sampled_from(["ab", "b", "", "Abc", "zz"])


def string_conditions() -> st.SearchStrategy[Term]:
    s = pl.col("s")
    equal = STRINGS.map(lambda v: Term(f"s = '{v}'", s == v))
    lowered = STRINGS.map(lambda v: Term(f"lower(s) = '{v}'", s.str.to_lowercase() == v))
    patterns = st.text(alphabet="ab%_", min_size=1, max_size=3)
    like = patterns.map(lambda p: Term(f"s LIKE '{p}'", s.str.contains(like_regex(p))))
    unlike = patterns.map(lambda p: Term(f"s NOT LIKE '{p}'", ~s.str.contains(like_regex(p))))
    length = st.integers(0, 3).map(lambda n: Term(f"length(s) > {n}", s.str.len_chars() > n))
    return equal | lowered | like | unlike | length


COMPARISONS = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
}


def atoms_without_numbers() -> st.SearchStrategy[Term]:
    null = st.sampled_from("axs").map(lambda c: Term(f"{c} IS NOT NULL", pl.col(c).is_not_null()))
    text = STRINGS.map(
        lambda v: Term(
            f"cast(k AS varchar) || s = '{v}'", pl.col("k").cast(pl.String) + pl.col("s") == v
        )
    )
    return null | text | string_conditions()


def atoms() -> st.SearchStrategy[Term]:
    def compare(a: Term, op: str, b: Term) -> Term:
        return Term(f"{a.sql} {op} {b.sql}", COMPARISONS[op](a.polars, b.polars))

    ops = st.sampled_from(sorted(COMPARISONS))
    numbers = int_terms() | float_terms()
    member = st.lists(st.integers(-1, 9), min_size=1, max_size=4).map(
        lambda v: Term(f"k IN ({', '.join(map(str, v))})", pl.col("k").is_in(v))
    )
    between = st.tuples(st.integers(-1, 5), st.integers(0, 9)).map(
        lambda b: Term(f"a BETWEEN {b[0]} AND {b[1]}", pl.col("a").is_between(b[0], b[1]))
    )
    null = st.sampled_from("axs").map(lambda c: Term(f"{c} IS NULL", pl.col(c).is_null()))
    return st.builds(compare, numbers, ops, numbers) | member | between | null | string_conditions()


def conditions() -> st.SearchStrategy[Term]:
    def extend(inner: st.SearchStrategy[Term]) -> st.SearchStrategy[Term]:
        both = st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(
            lambda t: Term(
                f"({t[0].sql} {t[1]} {t[2].sql})",
                t[0].polars & t[2].polars if t[1] == "AND" else t[0].polars | t[2].polars,
            )
        )
        negated = inner.map(lambda t: Term(f"NOT ({t.sql})", ~t.polars))
        return both | negated

    return st.recursive(atoms(), extend, max_leaves=5)


PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(term=conditions())
def test_valid_strings_agree_with_polars(T: dj.Table, term: Term) -> None:
    note(term.sql)
    expected = sorted(ROWS.filter(term.polars.fill_null(False))["k"].to_list())
    assert keys(T & term.sql) == expected
    rejected = sorted(ROWS.filter((~term.polars).fill_null(False))["k"].to_list())
    assert keys(T - term.sql) == rejected  # NOT of a NULL condition is NULL: neither side


@PROPERTY
@given(term=int_terms() | float_terms())
def test_computed_values_agree_with_polars(T: dj.Table, term: Term) -> None:
    note(term.sql)
    got = T.proj(v=f"{term.sql} + 0").to_polars().sort("k")["v"].cast(pl.Float64)  # not a rename
    expected = ROWS.with_columns(v=term.polars + 0)["v"].cast(pl.Float64)
    assert got.is_null().to_list() == expected.is_null().to_list()
    pairs = zip(got.drop_nulls().to_list(), expected.drop_nulls().to_list(), strict=True)
    assert all(a == pytest.approx(b, rel=1e-12) for a, b in pairs)


PIECES = [
    "k", "a", "x", "s", "d", "k.k", "(", ")", "'", "'ab'", "=", "<", "+", "/", "%", "*",
    "AND", "OR", "NOT", "IN", "(1, 2)", "IS NULL", "LIKE", "lower(", "ln(", "cast(", "AS",
    "int", "foo", "0", "1", "2.5", "99999999999999999999", ",", ";", "--", "SELECT",
    "sum(", "CASE", "WHEN", "THEN", "END", "\x00", "\\", '"', "@", "::", "[", "]",
]  # fmt: skip


@PROPERTY
@given(
    pieces=st.lists(st.sampled_from(PIECES), max_size=10),
    cut=st.one_of(st.none(), conditions().map(lambda t: t.sql), st.integers(0, 40)),
)
def test_random_strings_raise_only_our_errors(T: dj.Table, pieces: list[str], cut: object) -> None:
    text = " ".join(pieces)
    if isinstance(cut, int):
        text = "(k > 1 AND s LIKE 'a%') OR lower(s) = 'b'"[:cut]
    elif isinstance(cut, str):
        text = f"{cut} {text}"
    note(repr(text))
    with contextlib.suppress(dj.DjframeError):
        len(T & text)


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "ab", "3", "2.5", "1e3", "2020-01-02", "2020-01-02 10:00", "x\x00", "'"]),
    st.text(max_size=4),
    st.binary(max_size=3),
    st.dates(),
    st.datetimes(),
    st.decimals(allow_nan=False, places=2, min_value=-1000, max_value=1000),
    st.lists(st.integers(0, 3), max_size=2),
    st.uuids(),
)


@pytest.mark.filterwarnings("ignore:.*is not an attribute:UserWarning")  # 'zz': ignored keys
@PROPERTY
@given(
    condition=st.dictionaries(st.sampled_from(["k", "a", "x", "s", "d", "zz"]), VALUES, max_size=3),
    negate=st.booleans(),
)
def test_random_dicts_raise_only_our_errors(
    T: dj.Table, condition: dict[str, object], negate: bool
) -> None:
    with contextlib.suppress(dj.DjframeError):
        len(T - condition if negate else T & condition)


FRAME_COLUMNS = {
    "int": st.lists(st.integers(-5, 12), min_size=1, max_size=3).map(pl.Series),
    "null": st.integers(1, 2).map(lambda n: pl.Series([None] * n)),
    "text": st.lists(st.sampled_from(["1", "ab", "2020-01-02", ""]), min_size=1, max_size=3).map(
        pl.Series
    ),
    "float": st.lists(st.floats(allow_nan=True), min_size=1, max_size=3).map(pl.Series),
    "bool": st.lists(st.booleans(), min_size=1, max_size=3).map(pl.Series),
    "date": st.lists(st.dates(), min_size=1, max_size=3).map(pl.Series),
}


@PROPERTY
@given(
    names=st.lists(st.sampled_from(["k", "a", "x", "s", "d"]), min_size=1, max_size=2, unique=True),
    kinds=st.lists(st.sampled_from(sorted(FRAME_COLUMNS)), min_size=2, max_size=2),
    data=st.data(),
)
def test_random_frames_raise_only_our_errors(
    T: dj.Table, names: list[str], kinds: list[str], data: st.DataObject
) -> None:
    columns = [data.draw(FRAME_COLUMNS[kind]) for kind in kinds[: len(names)]]
    height = min(len(c) for c in columns)
    frame = pl.DataFrame({n: c.head(height) for n, c in zip(names, columns, strict=False)})
    note(repr(frame))
    with contextlib.suppress(dj.DjframeError):
        len(T & frame)
        len(T - frame)


@pytest.mark.parametrize("limit", [-1, 1.5, "3", 2**70, True])
def test_a_limit_that_is_not_a_row_count_is_refused(T: dj.Table, limit: object) -> None:
    with pytest.raises(dj.QueryError, match="whole number of rows"):
        T.to_polars(limit=limit)  # type: ignore[arg-type]
    with pytest.raises(dj.QueryError, match="whole number of rows"):
        T.to_polars(offset=limit)  # type: ignore[arg-type]


def test_an_order_that_is_not_a_name_is_refused(T: dj.Table) -> None:
    with pytest.raises(dj.QueryError, match="Cannot order by 5"):
        T.to_polars(order_by=5)  # type: ignore[arg-type]
    assert T.to_polars(order_by="k DESC", limit=np.int64(2))["k"].to_list() == [9, 8]
