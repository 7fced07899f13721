"""The shared machinery of the benchmarks: timing, results, the run context and the registry.

A benchmark is a module with a ``run(ctx: Context) -> list[Result]`` function, named in
:data:`REGISTRY`; the runner (``python -m benchmarks.run``) imports each in turn, so adding
one is one module and one registry line. Every figure is the median of ``ctx.repeats``
timed runs after one untimed warm-up; djframe and its baseline are timed in alternation
(ours, theirs, ours, theirs, ...) so that load from other processes on a shared machine
falls on both alike.

Examples
--------
>>> measure({"a": lambda: None, "b": lambda: None}, repeats=3)["a"] < 0.01
True
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["REGISTRY", "Context", "Result", "measure", "result_rows"]

REGISTRY: dict[str, str] = {
    "fetch": "benchmarks.fetch",
    "insert": "benchmarks.insert",
    "query": "benchmarks.query",
    "compile": "benchmarks.compile",
    "scaling": "benchmarks.scaling",
    "objects": "benchmarks.objects",
    "populate": "benchmarks.populate",
    "populate-objects": "benchmarks.populate_objects",
    "populate-workers": "benchmarks.populate_workers",
    "history-growth": "benchmarks.history_growth",
}
"""Benchmark name -> the module whose ``run(ctx)`` measures it, in the order they run."""

Work = Callable[[], object]


@dataclass
class Result:
    """One comparison: djframe against one baseline on one backend at one size."""

    benchmark: str
    backend: str
    size: int
    djframe_s: float
    baseline: str
    baseline_s: float | None
    """None when the baseline has no figure (e.g. DataJoint not installed)."""
    note: str = ""
    """What a reader must know about this figure (e.g. the baseline hung and was killed)."""
    date: str = ""
    """The day it was measured (YYYY-MM-DD); the runner stamps new figures with today."""

    @property
    def speedup(self) -> float | None:
        """How many times faster djframe is: baseline_s / djframe_s (> 1 is faster)."""
        if self.baseline_s is None or self.djframe_s <= 0:
            return None
        return self.baseline_s / self.djframe_s

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["djframe_s"] = round(self.djframe_s, 5)
        row["baseline_s"] = None if self.baseline_s is None else round(self.baseline_s, 5)
        row["speedup"] = None if self.speedup is None else round(self.speedup, 3)
        return row


@dataclass
class Context:
    """What a benchmark needs: the sizes, the backends' URLs and the baselines available."""

    quick: bool
    repeats: int
    urls: dict[str, str]
    """Backend name ("duckdb", "postgres") -> a URL for an empty scratch database."""
    workdir: Path
    datajoint: Any = None
    """The configured ``datajoint`` module, or None when it is not installed."""
    notes: list[str] = field(default_factory=list)
    max_size: int | None = None
    """Sizes above this are left out by :meth:`sizes` (``--max-size``)."""

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def sizes(self, full: tuple[int, ...], quick: tuple[int, ...]) -> tuple[int, ...]:
        """The sizes to run, less those above ``max_size``."""
        chosen = quick if self.quick else full
        return tuple(n for n in chosen if self.max_size is None or n <= self.max_size)


def measure(
    works: Mapping[str, Work],
    repeats: int,
    setup: Callable[[], object] | Mapping[str, Callable[[], object]] | None = None,
    *,
    warmup: bool = True,
) -> dict[str, float]:
    """Median seconds of each work, timed in alternation after one warm-up of each.

    ``setup`` runs untimed before every run of every work (e.g. to empty a table); a
    mapping gives each work its own. ``warmup=False`` skips the warm-up, for works that are
    long and warmed up otherwise (e.g. by a small run of the same code first).
    """
    setups = setup if isinstance(setup, Mapping) else dict.fromkeys(works, setup)
    times: dict[str, list[float]] = {name: [] for name in works}
    for round_ in range(0 if warmup else 1, repeats + 1):
        for name, work in works.items():
            if (prepare := setups.get(name)) is not None:
                prepare()
            start = time.perf_counter()
            work()
            if round_:  # round 0 is the warm-up
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def result_rows(
    benchmark: str,
    backend: str,
    size: int,
    ours: float,
    baselines: Mapping[str, float | None],
) -> list[Result]:
    """One :class:`Result` per baseline, all against the same djframe figure."""
    return [
        Result(benchmark, backend, size, ours, name, seconds) for name, seconds in baselines.items()
    ]
