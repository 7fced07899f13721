"""Scaling: the fetch benchmark at three sizes a decade apart, against the raw engine."""

from __future__ import annotations

from benchmarks.fetch import fetch_results
from benchmarks.harness import Context, Result

__all__ = ["run"]


def run(ctx: Context) -> list[Result]:
    largest = ctx.size(2_000_000, 200_000)
    results = []
    for backend, url in ctx.urls.items():
        for size in (largest // 100, largest // 10, largest):
            results += fetch_results(ctx, "scaling", backend, url, size, datajoint=False)
    return results
