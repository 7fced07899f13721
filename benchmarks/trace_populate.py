"""Where the time of a ``make_batch`` populate goes, statement by statement.

Runs the ``make_batch`` populate of :mod:`benchmarks.populate` (a trivial make over ``--keys``
keys) ``--repeats`` times on each backend, times every call djframe makes into the backend
(queries, statements, uploads, commits) and prints, per kind of statement, the median and
the least milliseconds per populate, with what is left for Python. On a shared machine
the medians move from run to run; the least are what the work costs when nothing else runs.

    python -m benchmarks.trace_populate --keys 5000 --backends duckdb postgres
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import djframe as dj
from benchmarks.baselines import drop_djframe_schema
from benchmarks.populate import SCHEMA, declare, emptied
from benchmarks.run import backend_urls

__all__ = ["KINDS", "kind", "main"]

METHODS = ("execute", "fetch_arrow", "fetch_arrow_views", "fetch_scalar", "register_arrow",
           "unregister", "begin", "commit", "append_arrow")  # fmt: skip
"""The backend methods timed (a call inside another timed call counts for the outer one)."""
KINDS = (
    (r"^(DELETE|INSERT) .*\"~p~", "provenance"),
    (r"^INSERT INTO \"bench_populate\"\.\"__many\"", "insert (and parent check)"),
    (r"NOT EXISTS \(SELECT 1 FROM \"bench_populate\"\.\"source\" p", "parent check"),
    (r"ANTI JOIN|NOT EXISTS\(SELECT 1 FROM \"bench_populate\"\.\"__many\"", "finding the keys"),
    (r"\"~~__many\"", "job queue"),
    (r"\"source\" AS \"t2\"", "the make's query"),
)
"""(pattern of the SQL, kind of statement), first match wins."""


def kind(method: str, sql: str) -> str:
    """The kind of a backend call, for the report.

    Examples
    --------
    >>> kind("commit", "")
    'commit'
    >>> kind("execute", 'DELETE FROM "s"."~p~__many" WHERE ...')
    'provenance'
    """
    if method in {"register_arrow", "unregister", "begin", "commit", "append_arrow"}:
        return {"append_arrow": "insert (COPY)"}.get(method, method)
    for pattern, name in KINDS:
        if re.search(pattern, sql):
            return name
    return "other"


class Tracer:
    """Times the backend's calls (outermost only) while it is attached."""

    def __init__(self, backend: Any) -> None:
        self.calls: list[tuple[str, float, str]] = []
        self.depth = 0
        for name in METHODS:
            if hasattr(backend, name):
                setattr(backend, name, self.wrap(name, getattr(backend, name)))

    def wrap(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.depth += 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.depth -= 1
                if not self.depth:
                    sql = args[0] if args and isinstance(args[0], str) else ""
                    self.calls.append((name, time.perf_counter() - start, sql))

        return timed


def traced(url: str, keys: int, repeats: int) -> tuple[list[float], dict[str, list[float]]]:
    """Seconds of each populate, and seconds per kind of call in each."""
    conn = dj.connect(url)
    totals: list[float] = []
    kinds: dict[str, list[float]] = defaultdict(list)
    try:
        table = declare(conn, keys)["Many"]
        tracer = Tracer(conn.backend)
        for run in range(repeats + 1):  # the first run warms the caches
            emptied(conn, table)
            tracer.calls.clear()
            start = time.perf_counter()
            table.populate()
            total = time.perf_counter() - start
            if not run:
                continue
            totals.append(total)
            spent: Counter[str] = Counter()
            for name, seconds, sql in tracer.calls:
                spent[kind(name, sql)] += seconds
            spent["(Python and the rest)"] = total - sum(s for _, s, _ in tracer.calls)
            for name in spent.keys() | kinds.keys():
                kinds[name].append(spent[name])
    finally:
        drop_djframe_schema(conn, SCHEMA)
        conn.close()
    return totals, kinds


def report(backend: str, keys: int, totals: list[float], kinds: dict[str, list[float]]) -> str:
    lines = [f"{backend}, {keys} keys: median {statistics.median(totals) * 1e3:.1f} ms, "
             f"least {min(totals) * 1e3:.1f} ms", f"  {'kind':28} {'median':>7} {'least':>7}"]  # fmt: skip
    for name, values in sorted(kinds.items(), key=lambda kv: -statistics.median(kv[1])):
        lines.append(f"  {name:28} {statistics.median(values) * 1e3:7.2f} {min(values) * 1e3:7.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--keys", type=int, default=5000)
    options.add_argument("--repeats", type=int, default=9)
    options.add_argument("--backends", nargs="+", choices=["duckdb", "postgres"],
                         default=["duckdb", "postgres"])  # fmt: skip
    args = options.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="djframe-trace-") as tmp:
        urls = backend_urls(Path(tmp), args.backends)
        for backend, url in urls.items():
            print(report(backend, args.keys, *traced(url, args.keys, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
