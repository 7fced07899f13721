"""A reference evaluator of djframe's query algebra, written directly in Polars.

It shares no code with djframe: each operator is a few lines of Polars that follow SPEC
section 4 and DataJoint 2.x (``/work/shared/reference/datajoint.md`` sections 2-3), so the
differential tests (``test_differential.py``) can compare the SQL that djframe generates
against an independent reading of the rules. A relation is a :class:`Rel`: a Polars frame,
its primary key and each attribute's lineage.

The rules it encodes:

- Conditions use SQL's three-valued logic (Polars' Kleene ``&``, ``|``, ``~`` are the same):
  ``x = 1`` on a NULL ``x`` is unknown, and a row is kept only when the condition is true.
- A dict is the AND of equalities over its keys that are attributes (others are ignored;
  ``None`` means IS NULL); a list is OR (empty: false); :class:`And` is AND (empty: true).
- Restriction by a relation or a frame is a semi-join (EXISTS) on the namesakes; NULL never
  matches; with no namesakes it keeps every row when the other side is non-empty.
- Join, restriction by a relation, aggr and union require every namesake to carry the same,
  non-empty lineage (:class:`LineageMismatch` otherwise).
- A join's key is A's key if A determines B, else B's if B determines A, else the union.
- ``aggr`` keeps every row of A; ``count`` of a row without matches is 0, other aggregates
  NULL; the match is on all namesakes.
- A union outer-joins the two operands on their common key.

Examples
--------
>>> p = table(pl.DataFrame({"p": [1, 2]}), ["p"], {"p": "s.p.p"})
>>> restrict(p, {"p": 2}).frame["p"].to_list()
[2]
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

__all__ = [
    "Agg",
    "And",
    "Arith",
    "Compare",
    "LineageMismatch",
    "Negate",
    "Rel",
    "Undetermined",
    "aggr",
    "extend",
    "join",
    "proj",
    "restrict",
    "table",
    "u_aggr",
    "u_distinct",
    "union",
]


class LineageMismatch(Exception):
    """Namesake attributes whose lineages differ or are missing (its args name them all)."""


@dataclass(frozen=True)
class Rel:
    frame: pl.DataFrame
    key: tuple[str, ...]
    lineage: dict[str, str | None] = field(compare=False)

    @property
    def names(self) -> list[str]:
        return list(self.frame.columns)

    @property
    def secondary(self) -> list[str]:
        return [n for n in self.names if n not in self.key]


# -- conditions ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Compare:
    """``name op value`` (``op`` one of = <> < <= > >=), or ``name IS NULL`` when value is None."""

    name: str
    op: str
    value: int | None

    def sql(self) -> str:
        if self.value is None:
            return f"{self.name} is null"
        return f"{self.name} {self.op} {self.value}"

    def polars(self) -> pl.Expr:
        column = pl.col(self.name)
        if self.value is None:
            return column.is_null()
        ops = {
            "=": column.__eq__,
            "<>": column.__ne__,
            "<": column.__lt__,
            "<=": column.__le__,
            ">": column.__gt__,
            ">=": column.__ge__,
        }
        result: pl.Expr = ops[self.op](self.value)
        return result


@dataclass(frozen=True)
class And:
    conditions: tuple[Any, ...]


@dataclass(frozen=True)
class Negate:
    condition: Any


def constant(rel: Rel, value: bool) -> pl.Series:
    return pl.Series([value] * rel.frame.height, dtype=pl.Boolean)


def semi_mask(rel: Rel, other: pl.DataFrame, names: list[str]) -> pl.Series:
    """True for rows of ``rel`` with a match in ``other`` on ``names`` (never NULL)."""
    if not names:
        return constant(rel, other.height > 0)
    indexed = rel.frame.with_row_index("__row")
    hits = indexed.join(other.select(names).unique(), on=names, how="semi", nulls_equal=False)
    return indexed["__row"].is_in(hits["__row"].implode())


def truth(rel: Rel, condition: Any) -> pl.Series:
    """The condition's truth value for each row of ``rel``: True, False or NULL (unknown)."""
    if isinstance(condition, bool):
        return constant(rel, condition)
    if isinstance(condition, Negate):
        return ~truth(rel, condition.condition)
    if isinstance(condition, And):
        parts = [truth(rel, c) for c in condition.conditions]
        return functools.reduce(lambda a, b: a & b, parts, constant(rel, True))
    if isinstance(condition, list | tuple):
        parts = [truth(rel, c) for c in condition]
        return functools.reduce(lambda a, b: a | b, parts, constant(rel, False))
    if isinstance(condition, Mapping):
        terms = [Compare(k, "=", v).polars() for k, v in condition.items() if k in rel.names]
        return rel.frame.select(pl.all_horizontal(pl.lit(True), *terms)).to_series()
    if isinstance(condition, Compare):
        return rel.frame.select(condition.polars()).to_series()
    if isinstance(condition, Rel):
        return semi_mask(rel, condition.frame, checked_namesakes(rel, condition))
    if isinstance(condition, pl.DataFrame):
        return semi_mask(rel, condition, [n for n in condition.columns if n in rel.names])
    raise TypeError(f"the reference does not evaluate {condition!r}")


# -- operators -----------------------------------------------------------------------------
def table(frame: pl.DataFrame, key: Sequence[str], lineage: Mapping[str, str | None]) -> Rel:
    return Rel(frame, tuple(key), {n: lineage.get(n) for n in frame.columns})


def namesakes(a: Rel, b: Rel) -> list[str]:
    return [n for n in a.names if n in b.names]


def checked_namesakes(a: Rel, b: Rel) -> list[str]:
    names = namesakes(a, b)
    bad = [n for n in names if a.lineage[n] is None or a.lineage[n] != b.lineage[n]]
    if bad:
        raise LineageMismatch(*bad)
    return names


def restrict(rel: Rel, condition: Any) -> Rel:
    """Rows for which ``condition`` is true."""
    mask = truth(rel, condition).fill_null(False)
    return Rel(rel.frame.filter(mask), rel.key, rel.lineage)


def determines(a: Rel, b: Rel) -> bool:
    return all(k in a.names for k in b.key)


def join(a: Rel, b: Rel, *, semantic_check: bool = True) -> Rel:
    """Inner join on all namesakes (NULL never matches); a cross join when there are none."""
    on = checked_namesakes(a, b) if semantic_check else namesakes(a, b)
    if on:
        frame = a.frame.join(b.frame, on=on, how="inner", nulls_equal=False)
    else:
        frame = a.frame.join(b.frame, how="cross")
    if determines(a, b):
        key = a.key
    elif determines(b, a):
        key = b.key
    else:
        key = a.key + tuple(k for k in b.key if k not in a.key)
    return Rel(frame, key, {**b.lineage, **a.lineage})


class Undetermined(Exception):
    """A left join whose left operand lacks part of the right operand's key."""


def extend(a: Rel, b: Rel) -> Rel:
    """Left join: every row of ``a``, with ``b``'s attributes where a row agrees (else NULL)."""
    on = [*checked_namesakes(a, b), "__one"]  # the constant pairs rows when nothing is shared
    if not determines(a, b):
        raise Undetermined(", ".join(k for k in b.key if k not in a.names))
    left, right = (r.frame.with_columns(__one=pl.lit(1)) for r in (a, b))
    frame = left.join(right, on=on, how="left", nulls_equal=False).drop("__one")
    return Rel(frame, a.key, {**b.lineage, **a.lineage})


@dataclass(frozen=True)
class Arith:
    """``name op value`` as a computed attribute (``op`` one of + - *)."""

    name: str
    op: str
    value: int

    def sql(self) -> str:
        return f"{self.name} {self.op} {self.value}"

    def polars(self) -> pl.Expr:
        column = pl.col(self.name).cast(pl.Int64)
        return {"+": column + self.value, "-": column - self.value, "*": column * self.value}[
            self.op
        ]


def proj(
    rel: Rel,
    keep: Sequence[str] = (),
    *,
    keep_all: bool = False,
    exclude: Sequence[str] = (),
    renames: Mapping[str, str] | None = None,
    computed: Mapping[str, Arith] | None = None,
) -> Rel:
    """Keep the key (renamed where asked), ``keep`` (or all but ``exclude``), renames, computed."""
    renames, computed = dict(renames or {}), dict(computed or {})
    moved = set(renames.values())
    base = rel.names if keep_all else [*rel.key, *keep]
    kept = [n for n in dict.fromkeys(base) if n not in moved and n not in exclude]
    columns = [pl.col(n) for n in kept]
    columns += [pl.col(old).alias(new) for new, old in renames.items()]
    columns += [spec.polars().alias(new) for new, spec in computed.items()]
    new_name = {old: new for new, old in renames.items()}
    key = tuple(new_name.get(k, k) for k in rel.key)
    lineage = {n: rel.lineage[n] for n in kept}
    lineage |= {new: rel.lineage[old] for new, old in renames.items()}
    lineage |= dict.fromkeys(computed)
    return Rel(rel.frame.select(columns), key, lineage)


@dataclass(frozen=True)
class Agg:
    """An aggregate: ``count`` (of rows) or ``sum``/``max``/``min`` of an attribute."""

    function: str
    attribute: str | None = None

    def sql(self) -> str:
        return "count(*)" if self.function == "count" else f"{self.function}({self.attribute})"


def aggregate(frame: pl.DataFrame, by: list[str], aggregates: Mapping[str, Agg]) -> pl.DataFrame:
    """Group ``frame`` by ``by`` (no ``by``: one row of totals), SQL-style: the sum of no
    values, or of NULLs only, is NULL (Polars would give 0)."""
    exprs: list[pl.Expr] = []
    for name, agg in aggregates.items():
        if agg.function == "count":
            exprs.append(pl.len().alias(name))
            continue
        column = pl.col(agg.attribute).cast(pl.Int64)
        value = {"sum": column.sum(), "max": column.max(), "min": column.min()}[agg.function]
        exprs += [value.alias(name), column.count().alias(f"__n_{name}")]
    grouped = frame.group_by(by).agg(exprs) if by else frame.select(exprs)
    fixes = [
        pl.when(pl.col(f"__n_{n}") > 0).then(pl.col(n)).alias(n)
        for n, a in aggregates.items()
        if a.function != "count"
    ]
    return grouped.with_columns(fixes).select([*by, *aggregates])


def aggr(
    a: Rel,
    b: Rel,
    aggregates: Mapping[str, Agg],
    keep: Sequence[str] = (),
    *,
    exclude_nonmatching: bool = False,
) -> Rel:
    """One row per row of ``a``, aggregating the rows of ``b`` that match on all namesakes."""
    if not determines(b, a):
        raise ValueError("aggr: the group must contain the key of the left operand")
    on = checked_namesakes(a, b)
    left = a.frame.with_row_index("__row")
    narrowed = left.select("__row", *on)
    if on:
        matched = narrowed.join(b.frame, on=on, how="inner", nulls_equal=False)
    else:
        matched = narrowed.join(b.frame, how="cross")
    grouped = aggregate(matched, ["__row"], aggregates)
    how = "inner" if exclude_nonmatching else "left"
    joined = left.join(grouped, on="__row", how=how)
    counts = [pl.col(n).fill_null(0) for n, agg in aggregates.items() if agg.function == "count"]
    kept = list(dict.fromkeys([*a.key, *keep]))
    frame = joined.with_columns(counts).select([*kept, *aggregates])
    return Rel(frame, a.key, {n: a.lineage[n] for n in kept} | dict.fromkeys(aggregates))


def union(a: Rel, b: Rel) -> Rel:
    """Rows of either operand; the key is shared, secondary attributes are disjoint."""
    if set(a.key) != set(b.key) or set(a.secondary) & set(b.secondary):
        raise ValueError("union: operands need one key and disjoint secondary attributes")
    checked_namesakes(a, b)
    key = list(a.key)
    if not a.secondary and not b.secondary:
        frame = pl.concat([a.frame.select(key), b.frame.select(key)]).unique()
    else:  # with no key, each side has at most one row: pair them up on a constant
        left, right = (r.frame.with_columns(__one=pl.lit(1)) for r in (a, b))
        on = [*key, "__one"]
        frame = left.join(right, on=on, how="full", coalesce=True, nulls_equal=False)
        frame = frame.drop("__one")
    return Rel(frame, a.key, {**b.lineage, **a.lineage})


def u_distinct(rel: Rel, attributes: Sequence[str]) -> Rel:
    """``dj.U(*attributes) & rel``: the distinct combinations, keyed by them."""
    names = list(attributes)
    return Rel(rel.frame.select(names).unique(), tuple(names), {n: rel.lineage[n] for n in names})


def u_aggr(rel: Rel, attributes: Sequence[str], aggregates: Mapping[str, Agg]) -> Rel:
    """``dj.U(*attributes).aggr(rel, ...)``: group by any attributes (none: one row)."""
    names = list(attributes)
    frame = aggregate(rel.frame, names, aggregates)
    lineage = {n: rel.lineage[n] for n in names} | dict.fromkeys(aggregates)
    return Rel(frame, tuple(names), lineage)
