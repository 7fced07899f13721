"""Compile: build a ten-operator query on the university tables and compile it to SQL.

No data is touched: this is the Python-side cost of a query (lineage checks, Ibis, sqlglot).
``compile`` is cold, against a fixed target of 20 ms and DataJoint's ``make_sql()`` of the
same expression: every repeat builds the expression anew and compiles it through Ibis
(``sql()``, which no cache serves). ``compile-shape`` builds the same query with other
literals each time and compiles it as a query does before it runs, the shape seen before
(the SQL-by-shape cache of :mod:`djframe.compile.cache`), against a target of 2 ms.
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
from djframe.compile.cache import query_sql
from djframe.compile.lower import LowerContext

__all__ = ["OPERATORS", "run", "ten_operators"]

SCHEMA = "bench_compile"
DJ_SCHEMA = "bench_dj_compile"
TARGET_S = 0.020
SHAPE_TARGET_S = 0.002
STATES = ("CA", "NY", "TX", "WA", "O'Hare")
OPERATORS = 10
MIN_REPEATS = 20  # a run takes milliseconds: more repeats for a steadier median
DEFINITIONS = {name: UNIVERSITY[name] for name in UNIVERSITY_ORDER}


def ten_operators(t: dict[str, Any], state: str = "CA", courses: int = 3) -> Any:
    """Two joins, a computed projection, an aggregation, four restrictions (one of them an
    antijoin), a renaming projection: ten operators in all."""
    passed = t["grade"] & "grade <> 'F'"  # 1 restrict
    graded = passed * t["letter_grade"] * t["course"]  # 2, 3 join
    weighted = graded.proj("credits", weighted="points * credits")  # 4 proj
    gpa = t["student"].aggr(weighted, ..., gpa="sum(weighted) / sum(credits)", n="count(*)")  # 5
    regular = gpa & f"n > {courses}"  # 6 restrict
    failed = t["grade"] & "grade = 'F'"  # 7 restrict
    never_failed = regular - failed  # 8 antijoin
    local = never_failed & {"home_state": state}  # 9 restrict
    return local.proj("gpa", name="first_name")  # 10 proj with renaming


def seen_shape(t: dict[str, Any]) -> Any:
    """Works that compile :func:`ten_operators` with other literals on every call."""
    calls = iter(range(10**9))

    def work() -> str:
        n = next(calls)
        return query_sql(ten_operators(t, STATES[n % len(STATES)], n % 7), LowerContext())

    work()  # the shape is compiled once
    return work


def run(ctx: Context) -> list[Result]:
    repeats = max(ctx.repeats, MIN_REPEATS)
    results = []
    for backend, url in ctx.urls.items():
        conn = dj.connect(url)
        try:
            tables = declare_djframe(conn, SCHEMA, DEFINITIONS)
            works = {"djframe": lambda t=tables: ten_operators(t).sql()}
            shaped = measure({"djframe": seen_shape(tables)}, repeats)["djframe"]
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
        results += result_rows(
            "compile-shape", backend, OPERATORS, shaped, {"target 2 ms": SHAPE_TARGET_S}
        )
    return results
