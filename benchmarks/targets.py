"""The performance targets (issue 15), checked against the results of a run.

A target asks that the speedup of some comparisons (a benchmark against a baseline) be at
least some figure: speedup = baseline time / djframe time, so "at least 2x DataJoint" is a
speedup of 2 against DataJoint and "at least 90% of the ideal" one of 0.9 against the ideal.

Examples
--------
>>> from benchmarks.harness import Result
>>> fast = Result("populate-workers 4", "postgres", 2000, 11.0, "ideal 4 / 20 ms", 10.0)
>>> [(c.target.at_least, round(c.figure, 2), c.met) for c in check([fast])][:1]
[(0.9, 0.91, True)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from benchmarks.harness import Result

__all__ = ["TARGETS", "Check", "Target", "check", "table"]


@dataclass(frozen=True)
class Target:
    """At least ``at_least`` speedup for the results of ``benchmark`` against ``baseline``."""

    goal: str
    benchmark: str
    """The benchmark's name, exactly."""
    baseline: str
    """How the baseline's name starts."""
    at_least: float
    backend: str | None = None
    """Only this backend, or every one."""

    def applies(self, result: Result) -> bool:
        return (
            result.benchmark == self.benchmark
            and result.baseline.startswith(self.baseline)
            and self.backend in (None, result.backend)
        )


DATAJOINT = "DataJoint 2.3.5"
TARGETS = (
    Target("per-key populate with <npy@> >= 2x DataJoint", "populate-objects make", DATAJOINT, 2.0),
    Target("2nd populate of 1,000 keys >= 0.8x the 1st", "history-growth populate 2", "populate 1", 0.8),
    Target("10th populate of 1,000 keys >= 0.8x the 1st", "history-growth populate 10", "populate 1", 0.8),
    Target("4 workers >= 90% of the ideal rate", "populate-workers 4", "ideal", 0.9),
    Target("4 workers >= DataJoint", "populate-workers 4", DATAJOINT, 1.0),
    Target("make_batch >= 100x DataJoint on DuckDB", "populate make_batch", f"{DATAJOINT} populate()", 100.0, "duckdb"),
    Target("make_batch >= 40x DataJoint on PostgreSQL", "populate make_batch", f"{DATAJOINT} populate()", 40.0, "postgres"),
    Target("compile (cold, 10 operators) < 20 ms", "compile", "target 20 ms", 1.0),
    Target("compile of a shape seen before < 2 ms", "compile-shape", "target 2 ms", 1.0),
)  # fmt: skip
"""Issue 15's targets, in the order the docs list them."""


@dataclass(frozen=True)
class Check:
    target: Target
    result: Result

    @property
    def figure(self) -> float | None:
        return self.result.speedup

    @property
    def met(self) -> bool | None:
        """None when the comparison has no figure (its baseline did not run)."""
        return None if self.figure is None else self.figure >= self.target.at_least


def check(results: Iterable[Result]) -> list[Check]:
    """Every (target, result) pair that applies, in the order of :data:`TARGETS`."""
    listed = list(results)
    return [Check(t, r) for t in TARGETS for r in listed if t.applies(r)]


def table(checks: Iterable[Check]) -> str:
    """A Markdown table: the target, the comparison, its speedup, what it needs, met or not."""
    lines = ["| target | benchmark | backend | size | speedup | needs | met |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in checks:
        figure = "n/a" if c.figure is None else f"{c.figure:.2f}x"
        met = {True: "yes", False: "**no**", None: "n/a"}[c.met]
        r = c.result
        lines.append(f"| {c.target.goal} | {r.benchmark} vs {r.baseline} | {r.backend} | {r.size} "
                     f"| {figure} | {c.target.at_least:g}x | {met} |")  # fmt: skip
    return "\n".join(lines)
