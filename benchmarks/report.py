"""Reporting: the printed tables, ``results/latest.json``, the plot and docs/benchmarks.md.

Examples
--------
>>> from benchmarks.harness import Result
>>> print(table([Result("fetch", "duckdb", 10, 0.5, "raw", 1.0)]).splitlines()[2])
| fetch | duckdb | 10 | 0.5000 | raw | 1.0000 | 2.00x |
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import targets
from benchmarks.harness import Result

__all__ = ["family", "measured", "merge_json", "plot", "table", "write_markdown"]

HEADER = ("benchmark", "backend", "size", "djframe s", "baseline", "baseline s", "speedup")


def seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def table(results: Iterable[Result]) -> str:
    """A Markdown table, one row per comparison (speedup > 1: djframe is faster); the notes
    of some rows follow it, numbered."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    notes: list[str] = []
    for r in results:
        speedup = "n/a" if r.speedup is None else f"{r.speedup:.2f}x"
        baseline = r.baseline
        if r.note:
            notes.append(
                f"[{len(notes) + 1}] {r.benchmark} [{r.backend}] vs {r.baseline}: {r.note}"
            )
            baseline += f" [{len(notes)}]"
        cells = (r.benchmark, r.backend, f"{r.size:,}".replace(",", "_") if r.size >= 10_000 else str(r.size),
                 seconds(r.djframe_s), baseline, seconds(r.baseline_s), speedup)  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + (["", *notes] if notes else []))


def merge_json(path: Path, results: Sequence[Result]) -> list[dict[str, Any]]:
    """Write ``results`` to ``path``, keeping earlier rows of benchmarks that did not run.

    A benchmark that ran replaces all of its rows (``populate-workers 1`` and ``... 4`` are
    one benchmark); the others keep theirs, with the date they were measured.
    """
    ran = {family(r.benchmark) for r in results}
    kept: list[dict[str, Any]] = []
    if path.exists():
        rows = json.loads(path.read_text())
        kept = [row for row in rows if family(row["benchmark"]) not in ran]
    rows = kept + [r.to_json() for r in results]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=2) + "\n")
    return rows


def family(benchmark: str) -> str:
    """The benchmark a row belongs to: ``populate make_batch`` -> ``populate``."""
    return benchmark.split(" ", 1)[0]


def measured(results: Iterable[Result]) -> str:
    """When the figures were measured, for the environment: one date, or each benchmark's."""
    dates: dict[str, set[str]] = {}
    for r in results:
        dates.setdefault(r.date or "unknown", set()).add(family(r.benchmark))
    if len(dates) <= 1:
        return next(iter(dates), "unknown")
    return "; ".join(f"{day}: {', '.join(sorted(names))}" for day, names in sorted(dates.items()))


def from_json(rows: Iterable[Mapping[str, Any]]) -> list[Result]:
    fields = ("benchmark", "backend", "size", "djframe_s", "baseline", "baseline_s", "note",
              "date")  # fmt: skip
    return [Result(**{f: row[f] for f in fields if f in row}) for row in rows]


def plot(results: Sequence[Result], path: Path) -> None:
    """Speedups as bars on a log scale (left) and fetch time against size (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    compared = [
        r for r in results if r.speedup is not None and not r.benchmark.startswith("scaling")
    ]
    scaling = [r for r in results if r.benchmark == "scaling"]
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(14, max(4, 0.32 * len(compared) + 1.5)), width_ratios=(3, 2)
    )
    labels = [f"{r.benchmark} [{r.backend}] vs {r.baseline}" for r in compared]
    values = [r.speedup or 0.0 for r in compared]
    colors = ["tab:green" if v >= 1 else "tab:red" for v in values]
    left.barh(range(len(values)), values, color=colors)
    left.set_yticks(range(len(values)), labels, fontsize=8)
    left.invert_yaxis()
    left.set_xscale("log")
    left.axvline(1.0, color="black", linewidth=0.8)
    left.set_xlabel("speedup = baseline time / djframe time (log; > 1: djframe faster)")
    for backend in sorted({r.backend for r in scaling}):
        rows = sorted((r for r in scaling if r.backend == backend), key=lambda r: r.size)
        sizes = [r.size for r in rows]
        right.plot(sizes, [r.djframe_s for r in rows], marker="o", label=f"djframe {backend}")
        right.plot(sizes, [r.baseline_s or 0 for r in rows], marker="x", linestyle="--",
                   label=f"{rows[0].baseline} {backend}")  # fmt: skip
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("rows fetched")
    right.set_ylabel("seconds (median)")
    right.set_title("fetch scaling")
    if scaling:
        right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_markdown(
    path: Path, results: Sequence[Result], image: Path, environment: Mapping[str, str]
) -> None:
    """docs/benchmarks.md: how to run, the environment, the table and the plot."""
    env = "\n".join(f"- {name}: {value}" for name, value in environment.items())
    text = f"""# Benchmarks

djframe against DataJoint 2.3.5 and the raw engines, written by `nox -s bench` (the
harness in `benchmarks/`; the figures below are in `docs/benchmarks.json`). Each figure
is the median of several runs after a warm-up, djframe and its baseline timed in
alternation; `speedup` is baseline time / djframe time, so above 1 means djframe is
faster. Absolute times drift with the machine and its load; the ratios are what matter.

Run it: `nox -s bench` (full sizes) or `nox -s bench -- --quick` (small sizes, a few
minutes); `-- --only fetch insert` runs some benchmarks and keeps the others' figures.

| benchmark | what is timed |
|---|---|
| fetch | a 6-column table (int64 key, int32, float64, varchar, date, bool) into Polars |
| insert | the same rows from a Polars frame into an empty table with its primary key |
| query-gpa | university: each student's credit-weighted GPA (`aggr`, left join); size = enrollments |
| query-antijoin | university: the students who never got an F (antijoin restriction) |
| compile | building a 10-operator query and compiling it to SQL (size = operators) |
| compile-shape | the same query with other literals, compiled as it runs: its shape comes from the SQL-by-shape cache |
| populate | 5,000 keys, a trivial make (one row from the parent): `make` per key and `make_batch`, each with and without `reserve_jobs` |
| objects | 500 float32 arrays of 1 MiB written to and read from the object store |
| scaling | fetch at three sizes a decade apart |
| scaling-populate | `populate` (make per key, make_batch) at three sizes a decade apart, against a straight line through the smallest |
| populate-objects | 1,000 and 10,000 keys, a make that reads its parent (`fetch1`) and `insert1`s a 1,024-float `<npy@>` and a float: `make` per key and `make_batch`, from an empty table and store, against DataJoint's `populate()` with `<npy@main>` on a file store |
| history-growth | the same per-key table filled 10 times with 1,000 new keys in one schema and store: the 2nd and the 10th populate against the 1st (speedup = their rate / the first's) |
| populate-workers | 2,000 keys, a make that sleeps 20 ms, `populate(reserve_jobs=True, processes=N)` for N = 1, 2, 4 on PostgreSQL, against the ideal N / 20 ms (speedup = the fraction reached) and DataJoint's same call |

## Environment

{env}

## Targets (issue 15)

speedup needed per comparison; "n/a" where the baseline has no figure in this run.

{targets.table(targets.check(results))}

## Results

{table(results)}

![speedups and fetch scaling]({image.name})
"""
    path.write_text(text)
