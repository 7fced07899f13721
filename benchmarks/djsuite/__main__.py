"""``python -m benchmarks.djsuite``: DataJoint 2.3.5's suite on djframe, per backend.

    python -m benchmarks.djsuite                      # both backends
    python -m benchmarks.djsuite --backends duckdb    # one
    python -m benchmarks.djsuite -- -k fetch          # arguments after -- go to pytest
    python -m benchmarks.djsuite --markdown report.md # also the report as Markdown

``nox -s djsuite`` installs what the suite imports (DataJoint 2.3.5's own dependencies, for
collecting it with DataJoint itself) and runs this. The JSON summary goes to
``benchmarks/results/djsuite.json`` (not committed); pytest's output of each run to
``<cache>/logs/``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from benchmarks.djsuite import report, scope
from benchmarks.djsuite.alias_datajoint import BRIDGES
from benchmarks.djsuite.sdist import DEFAULT_CACHE, VERSION, fetch_sdist
from benchmarks.djsuite.suite import Suite, collect, djframe_root, prepare, run_pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "djsuite.json"
BACKENDS = ("duckdb", "postgres")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    sdist = fetch_sdist(args.cache)
    logs = args.cache / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="djsuite-") as tmp:
        suite = prepare(sdist, Path(tmp))
        collected = collect(suite, logs / "inventory.json")
        applicable = [nodeid for nodeid in collected if scope.set_aside(nodeid) is None]
        select = Path(tmp) / "applicable.txt"
        select.write_text("\n".join(applicable) + "\n")
        print(f"DataJoint {VERSION}: {len(collected)} tests, {len(applicable)} apply to djframe")
        per_backend = {
            name: run_backend(suite, name, Path(tmp), select, applicable, logs, args)
            for name in args.backends
        }
    summary = report.summarize(per_backend, meta(collected, applicable, args))
    report.print_summary(summary, args.top)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1))
    print(f"\nwrote {args.out}")
    if args.markdown:
        args.markdown.write_text(report.markdown(summary, args.top))
        print(f"wrote {args.markdown}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.djsuite",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="sdist and logs")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the JSON summary")
    parser.add_argument("--markdown", type=Path, help="also write the report as Markdown")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per test")
    parser.add_argument("--top", type=int, default=15, help="root causes to show")
    parser.add_argument(
        "--strict-alias",
        action="store_true",
        help=f"no bridged names ({', '.join(BRIDGES)}): the alias alone",
    )
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")
    return parser.parse_args(argv)


def run_backend(
    suite: Suite,
    name: str,
    scratch: Path,
    select: Path,
    applicable: list[str],
    logs: Path,
    args: argparse.Namespace,
) -> dict[str, report.Outcome]:
    url = database_url(name, scratch)
    env = {
        "DJSUITE_DATABASE_URL": url,
        "DJFRAME_DATABASE_URL": url,
        "DJSUITE_SELECT": str(select),
        "DJSUITE_TIMEOUT": str(args.timeout),
        "DJ_USE_EXTERNAL_CONTAINERS": "1",
        # DataJoint's own settings for dj.conn(host, user, password): the suite's fixtures
        # give host and user; the backend and (on PostgreSQL) the database come from here.
        "DJ_BACKEND": "duckdb" if name == "duckdb" else "postgresql",
    }
    if name != "duckdb":
        env["DJ_DATABASE_NAME"] = urlparse(url).path.lstrip("/")
    if args.strict_alias:
        env["DJSUITE_STRICT_ALIAS"] = "1"
    print(f"running on {name} ...", flush=True)
    out = logs / f"{name}.json"
    out.unlink(missing_ok=True)
    code, raw = run_pytest(suite, env, out, args.pytest_args)
    log = out.with_suffix(".log").read_text(errors="replace")
    print(f"  pytest exited {code}: {(log.strip().splitlines() or [''])[-1]}")
    return report.outcomes(applicable, raw, log[-20000:])


def database_url(name: str, scratch: Path) -> str:
    """A fresh DuckDB file, or the PostgreSQL server of the test suite (tests/_postgres.py)."""
    if name == "duckdb":
        return f"duckdb:///{scratch / 'djsuite.duckdb'}"
    sys.path.insert(0, str(ROOT / "tests"))
    from _postgres import postgres_url, unavailable_reason

    url = postgres_url()
    if url is None:
        raise SystemExit(f"no PostgreSQL server for the suite: {unavailable_reason()}")
    return url


def meta(collected: list[str], applicable: list[str], args: argparse.Namespace) -> dict[str, Any]:
    aside: dict[str, int] = {}
    for nodeid in collected:
        rule = scope.set_aside(nodeid)
        if rule is not None:
            aside[rule.kind] = aside.get(rule.kind, 0) + 1
    return {
        "datajoint": VERSION,
        "djframe": metadata.version("djframe"),
        "djframe_commit": _commit(),
        "djframe_path": str(djframe_root()),
        "bridged_names": [] if args.strict_alias else sorted(BRIDGES),
        "collected": len(collected),
        "set_aside": aside,
        "applicable": len(applicable),
        "pytest_args": args.pytest_args,
    }


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("GIT_COMMIT", "")


if __name__ == "__main__":
    main()
