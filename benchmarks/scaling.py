"""Scaling: fetch and populate at three sizes a decade apart.

Fetch is compared with the raw engine at each size. Populate (``make`` per key and
``make_batch``) is compared with a straight line through its smallest size: the baseline
at ``n`` keys is the smallest run's time times ``n / smallest``, so a speedup near or above
1 means time grows linearly or slower (fixed costs spread), and well below 1 would show a
step worse than linear.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import djframe as dj
from benchmarks.baselines import drop_djframe_schema
from benchmarks.fetch import fetch_results
from benchmarks.harness import Context, Result, measure, result_rows
from benchmarks.populate import SCHEMA, declare, emptied

__all__ = ["run"]

POPULATE_CASES = {"scaling-populate make": "One", "scaling-populate make_batch": "Many"}


def run(ctx: Context) -> list[Result]:
    largest = ctx.size(2_000_000, 200_000)
    results = []
    for backend, url in ctx.urls.items():
        for size in (largest // 100, largest // 10, largest):
            results += fetch_results(ctx, "scaling", backend, url, size, datajoint=False)
        results += populate_scaling(ctx, backend, url)
    return results


def populate_scaling(ctx: Context, backend: str, url: str) -> list[Result]:
    largest = ctx.size(50_000, 10_000)
    sizes = (largest // 100, largest // 10, largest)
    times: dict[str, list[float]] = {name: [] for name in POPULATE_CASES}
    conn = dj.connect(url)
    try:
        for size in sizes:
            tables = declare(conn, size)
            for name, table_name in POPULATE_CASES.items():
                table = tables[table_name]

                def work(t: Any = table, n: int = size) -> None:
                    assert t.populate()["success_count"] == n

                median = measure({name: work}, ctx.repeats, setup=partial(emptied, conn, table))
                times[name].append(median[name])
    finally:
        drop_djframe_schema(conn, SCHEMA)
        conn.close()
    results = []
    for name, measured in times.items():
        for size, seconds in zip(sizes, measured, strict=True):
            linear = measured[0] * size / sizes[0]
            results += result_rows(
                name, backend, size, seconds, {f"linear from {sizes[0]:,} keys": linear}
            )
    return results
