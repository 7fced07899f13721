"""Profile the per-key ``<npy@>`` populate of :mod:`benchmarks.populate_objects`.

Fills the per-key table (a make that ``fetch1``s its parent and ``insert1``s a 1,024-float
``<npy@>``) under cProfile on one backend and prints where the time per key goes: the
cumulative milliseconds per key of the steps in :data:`STEPS` (a step's time includes the
steps it calls, so the rows overlap), then the top functions. ``--pyinstrument`` prints
pyinstrument's call tree instead (``pip install pyinstrument``).

    python -m benchmarks.profile_populate --backend duckdb --keys 300
    python -m benchmarks.profile_populate --backend postgres --pyinstrument
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

import djframe as dj
from benchmarks.populate_objects import WARMUP_KEYS, Fresh, populate_all
from benchmarks.run import backend_urls

__all__ = ["STEPS", "main"]

STEPS: dict[str, tuple[str, str]] = {
    "populate, all of it": ("autopopulate.py", "populate"),
    "one group's transaction (group_once)": ("autopopulate.py", "group_once"),
    "make (user code)": ("populate_objects.py", "make"),
    "  fetch1 of the parent": ("results.py", "fetch1"),
    "  insert1": ("table.py", "insert1"),
    "    encode (codecs)": ("columns.py", "encode_rows"),
    "    objects to the store": ("columns.py", "write"),
    "      payload files": ("files.py", "write"),
    "      Delta commit (write_deltalake)": ("delta.py", "commit_rows"),
    "held rows written (one INSERT per group)": ("pending.py", "write"),
    "provenance and job status (finish)": ("autopopulate.py", "finish"),
    "transaction commit (backend)": ("backends", "commit"),
    "SQL statements (Connection.execute)": ("connection.py", "execute"),
    "SQL queries into Arrow (Connection.fetch_arrow)": ("connection.py", "fetch_arrow"),
}
"""Row label -> (file name ending, function name) of the function whose cumulative time it is."""


def cumulative(stats: pstats.Stats, where: str, name: str) -> tuple[float, int]:
    """Cumulative seconds and calls of the functions named ``name`` in files containing
    ``where`` (several functions may match: their times are summed; recursion counted once)."""
    seconds, calls = 0.0, 0
    for (path, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and where in path:
            seconds += row[3]
            calls += row[1]
    return seconds, calls


def steps_table(stats: pstats.Stats, keys: int, total: float) -> str:
    lines = [f"{'step':46} {'ms/key':>8} {'share':>6} {'calls/key':>9}"]
    for label, (where, name) in STEPS.items():
        seconds, calls = cumulative(stats, where, name)
        lines.append(
            f"{label:46} {seconds / keys * 1e3:8.2f} {seconds / total:6.0%} {calls / keys:9.1f}"
        )
    return "\n".join(lines)


def profiled_populate(
    table: Any, keys: int, use_pyinstrument: bool, dump: Path | None = None
) -> tuple[float, str]:
    """Seconds of the populate under the profiler, and the profiler's report."""
    if use_pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        start = time.perf_counter()
        with profiler:
            populate_all(table, keys)
        seconds = time.perf_counter() - start
        return seconds, profiler.output_text(unicode=False, show_all=False)
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    populate_all(table, keys)
    profile.disable()
    seconds = time.perf_counter() - start
    if dump is not None:
        profile.dump_stats(dump)
    stats = pstats.Stats(profile)
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
    return seconds, steps_table(stats, keys, seconds) + "\n\n" + out.getvalue()


def main(argv: list[str] | None = None) -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--backend", choices=["duckdb", "postgres"], default="duckdb")
    options.add_argument("--keys", type=int, default=300)
    options.add_argument("--pyinstrument", action="store_true")
    options.add_argument("--dump", type=Path, help="also save the cProfile stats here")
    args = options.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="djframe-profile-") as tmp:
        url = backend_urls(Path(tmp), [args.backend])[args.backend]
        conn = dj.connect(url)
        populate_all(Fresh(conn, Path(tmp) / "warm", WARMUP_KEYS)()["PerKey"], WARMUP_KEYS)
        table = Fresh(conn, Path(tmp) / "store", args.keys)()["PerKey"]
        seconds, report = profiled_populate(table, args.keys, args.pyinstrument, args.dump)
        conn.close()
    print(f"{args.backend}: {args.keys} keys in {seconds:.2f} s under the profiler "
          f"({args.keys / seconds:.0f} keys/s, {seconds / args.keys * 1e3:.1f} ms/key)\n")  # fmt: skip
    print(report)


if __name__ == "__main__":
    main()
