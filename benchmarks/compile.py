"""Compile: build a ten-operator query on the university tables and compile it to SQL.

No data is touched: this is the Python-side cost of a query (lineage checks, Ibis, sqlglot),
against a fixed target of 20 ms and DataJoint's ``make_sql()`` of the same expression.
Every repeat is cold: the expression is built anew and no cache serves it (the SQL-by-shape
cache of :mod:`djframe.algebra.compiled` holds only tables restricted by dicts).
"""

from __future__ import annotations

from typing import Any

import djframe as dj
from benchmarks.baselines import (
    declare_datajoint,
    declare_djframe,
    drop_datajoint_schema,
    drop_djframe_schema,
)
from benchmarks.data import UNIVERSITY, UNIVERSITY_ORDER
from benchmarks.harness import Context, Result, measure, result_rows

__all__ = ["OPERATORS", "run", "ten_operators"]

SCHEMA = "bench_compile"
DJ_SCHEMA = "bench_dj_compile"
TARGET_S = 0.020
OPERATORS = 10
MIN_REPEATS = 20  # a run takes milliseconds: more repeats for a steadier median
DEFINITIONS = {name: UNIVERSITY[name] for name in UNIVERSITY_ORDER}


def ten_operators(t: dict[str, Any]) -> Any:
    """Two joins, a computed projection, an aggregation, four restrictions (one of them an
    antijoin), a renaming projection: ten operators in all."""
    passed = t["grade"] & "grade <> 'F'"  # 1 restrict
    graded = passed * t["letter_grade"] * t["course"]  # 2, 3 join
    weighted = graded.proj("credits", weighted="points * credits")  # 4 proj
    gpa = t["student"].aggr(weighted, ..., gpa="sum(weighted) / sum(credits)", n="count(*)")  # 5
    regular = gpa & "n > 3"  # 6 restrict
    failed = t["grade"] & "grade = 'F'"  # 7 restrict
    never_failed = regular - failed  # 8 antijoin
    local = never_failed & {"home_state": "CA"}  # 9 restrict
    return local.proj("gpa", name="first_name")  # 10 proj with renaming


def run(ctx: Context) -> list[Result]:
    repeats = max(ctx.repeats, MIN_REPEATS)
    results = []
    for backend, url in ctx.urls.items():
        conn = dj.connect(url)
        try:
            tables = declare_djframe(conn, SCHEMA, DEFINITIONS)
            works = {"djframe": lambda t=tables: ten_operators(t).sql()}
            if ctx.datajoint is not None and backend == "postgres":
                dj_tables = declare_datajoint(ctx.datajoint, DJ_SCHEMA, DEFINITIONS)
                works["DataJoint 2.3.5 make_sql()"] = lambda t=dj_tables: ten_operators(
                    t
                ).make_sql()
            times = measure(works, repeats)
        finally:
            drop_datajoint_schema(ctx.datajoint, DJ_SCHEMA)
            drop_djframe_schema(conn, SCHEMA)
            conn.close()
        ours = times.pop("djframe")
        times["target 20 ms"] = TARGET_S
        results += result_rows("compile", backend, OPERATORS, ours, times)
    return results
