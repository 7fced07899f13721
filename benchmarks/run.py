"""Benchmark runner: djframe against DataJoint 2.3.5 and the raw engines, in one run.

Runs every benchmark of :data:`benchmarks.harness.REGISTRY` (or those named by ``--only``)
on DuckDB (a scratch file) and PostgreSQL (``DJFRAME_TEST_PG_URL`` or the test suite's
throwaway server, tests/_postgres.py), prints a table per benchmark and writes
``benchmarks/results/latest.json``; full-size runs also write docs/benchmarks.md and its
plot. DataJoint baselines appear when ``datajoint`` is installed (``nox -s bench`` does).

    python -m benchmarks.run              # full sizes
    python -m benchmarks.run --quick      # small sizes, a few minutes
    python -m benchmarks.run --only fetch insert --backends duckdb
    python -m benchmarks.run --only populate-objects --max-size 1000
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from benchmarks import report, targets
from benchmarks.baselines import load_datajoint
from benchmarks.harness import REGISTRY, Context, Result

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "latest.json"
DOC = ROOT / "docs" / "benchmarks.md"
DOC_FIGURES = ROOT / "docs" / "benchmarks.json"
"""The figures behind docs/benchmarks.md, tracked: a partial run replaces its own rows only."""
PLOT = ROOT / "docs" / "benchmarks.png"
PACKAGES = ("djframe", "polars", "pyarrow", "duckdb", "ibis-framework", "adbc-driver-postgresql",
            "datajoint", "psycopg2-binary")  # fmt: skip
# Like the server the baselines were measured on (docs: /work/shared/reference/baseline.md).
SERVER_SETTINGS = {"work_mem": "'128MB'", "jit": "off"}


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="djframe-bench-") as tmp:
        urls = backend_urls(Path(tmp), args.backends)
        ctx = Context(
            args.quick, args.repeats, urls, Path(tmp), load_datajoint(urls.get("postgres"))
        )
        ctx.max_size = args.max_size
        if ctx.datajoint is None:
            print("DataJoint is not installed (or no PostgreSQL): its baselines are left out.")
        results: list[Result] = []
        for name in [] if args.report_only else args.only or list(REGISTRY):
            results += run_one(name, ctx)
        today = time.strftime("%Y-%m-%d")
        results = [replace(r, date=r.date or today) for r in results]
        if ctx.notes:
            print("\n## notes\n\n" + "\n".join(f"- {note}" for note in ctx.notes))
        rows = report.merge_json(RESULTS, results)
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")
        checks = targets.check(report.from_json(rows))
        if checks:
            print("\n## targets (every figure in results/latest.json)\n\n" + targets.table(checks))
        if args.docs if args.docs is not None else not args.quick:
            everything = report.from_json(report.merge_json(DOC_FIGURES, results))
            report.plot(everything, PLOT)
            report.write_markdown(DOC, everything, PLOT, environment(ctx, args, everything))
            print(f"wrote {DOC.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--quick", action="store_true", help="small sizes")
    options.add_argument("--repeats", type=int, default=3, help="timed runs per figure (>= 3)")
    options.add_argument("--only", nargs="+", choices=list(REGISTRY), help="run these benchmarks")
    options.add_argument("--max-size", type=int, metavar="N",
                         help="leave out sizes above N where a benchmark runs several")  # fmt: skip
    options.add_argument(
        "--backends", nargs="+", choices=["duckdb", "postgres"], default=["duckdb", "postgres"]
    )
    options.add_argument("--docs", action=argparse.BooleanOptionalAction, default=None,
                         help="write docs/benchmarks.md and the plot (default: on full runs)")  # fmt: skip
    options.add_argument("--report-only", action="store_true",
                         help="run nothing: rewrite the docs from docs/benchmarks.json")  # fmt: skip
    args = options.parse_args(argv)
    if args.report_only and args.docs is None:
        args.docs = True
    if args.repeats < 3:
        options.error("--repeats must be at least 3: every figure is a median")
    return args


def run_one(name: str, ctx: Context) -> list[Result]:
    started = time.perf_counter()
    module = importlib.import_module(REGISTRY[name])
    results: list[Result] = module.run(ctx)
    print(f"\n## {name} ({time.perf_counter() - started:.0f} s)\n")
    print(report.table(results), flush=True)
    return results


def backend_urls(tmp: Path, backends: list[str]) -> dict[str, str]:
    urls = {}
    if "duckdb" in backends:
        urls["duckdb"] = f"duckdb:///{tmp / 'bench.duckdb'}"
    if "postgres" in backends:
        sys.path.insert(0, str(ROOT / "tests"))
        import _postgres

        url = _postgres.postgres_url()
        if url is None:
            print(f"PostgreSQL is left out: {_postgres.unavailable_reason()}")
        else:
            if _postgres.URL_ENV not in os.environ:
                tune_server(url)  # our own throwaway server: fair settings for every client
            urls["postgres"] = url
    return urls


def tune_server(url: str) -> None:
    from adbc_driver_postgresql import dbapi

    with dbapi.connect(url, autocommit=True) as con, con.cursor() as cursor:
        for name, value in SERVER_SETTINGS.items():
            cursor.execute(f"ALTER SYSTEM SET {name} = {value}")
        cursor.execute("SELECT pg_reload_conf()")


def environment(ctx: Context, args: argparse.Namespace, results: list[Result]) -> dict[str, str]:
    env = {
        "mode": f"{'quick' if args.quick else 'full'} sizes, median of {args.repeats} runs",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "measured": report.measured(results),
    }
    for package in PACKAGES:
        try:
            env[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            env[package] = "not installed"
    if "postgres" in ctx.urls:
        env["PostgreSQL"] = server_version(ctx.urls["postgres"])
    return env


def server_version(url: str) -> str:
    from adbc_driver_postgresql import dbapi

    with dbapi.connect(url, autocommit=True) as con, con.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version')")
        row = cursor.fetchone()
    return str(row[0]) if row else "unknown"


if __name__ == "__main__":
    main()
