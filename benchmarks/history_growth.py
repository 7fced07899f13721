"""History growth: does populate slow down as a table and its store history grow?

The per-key ``<npy@>`` table of :mod:`benchmarks.populate_objects`, filled ten times in a
row: 1,000 new parent keys (quick: 100), then ``populate()``, again and again in the same
schema and store, so that each populate runs on the rows, Delta versions and job history of
all the ones before. The 2nd and the 10th populate are each compared with the 1st (speedup
= first time / this time = this rate / the first rate; below 1 it got slower). No repeats:
the sequence is the measurement, so its figures are noisier than the medians elsewhere.

Run alone: ``python -m benchmarks.run --only history-growth``.
"""

from __future__ import annotations

import shutil
import time

import djframe as dj
from benchmarks.baselines import drop_djframe_schema
from benchmarks.harness import Context, Result
from benchmarks.populate_objects import SCHEMA, WARMUP_KEYS, Fresh, add_keys, populate_all

__all__ = ["ROUNDS", "run"]

ROUNDS = 10
COMPARED = (2, ROUNDS)
"""The populates (1-based) compared with the first."""


def round_seconds(conn: dj.Connection, ctx: Context, keys: int) -> list[float]:
    """Seconds of each of :data:`ROUNDS` populates of ``keys`` new keys, in one schema."""
    root = ctx.workdir / "history-growth"
    populate_all(Fresh(conn, root, WARMUP_KEYS)()["PerKey"], WARMUP_KEYS)  # warm-up
    tables = Fresh(conn, root, keys)()
    seconds = []
    for number in range(ROUNDS):
        if number:
            add_keys(tables["Source"], number * keys, keys)
        start = time.perf_counter()
        populate_all(tables["PerKey"], keys)
        seconds.append(time.perf_counter() - start)
        print(f"  history-growth [{conn.backend.name}] populate {number + 1}: "
              f"{keys / seconds[-1]:.0f} keys/s", flush=True)  # fmt: skip
    drop_djframe_schema(conn, SCHEMA)
    shutil.rmtree(root, ignore_errors=True)
    return seconds


def run(ctx: Context) -> list[Result]:
    keys = ctx.size(1_000, 100)
    results = []
    for backend, url in ctx.urls.items():
        conn = dj.connect(url)
        try:
            seconds = round_seconds(conn, ctx, keys)
        finally:
            conn.close()
        for number in COMPARED:
            results.append(
                Result(
                    f"history-growth populate {number}",
                    backend,
                    keys,
                    seconds[number - 1],
                    f"populate 1 of {keys:,} keys",
                    seconds[0],
                )
            )
        rates = ", ".join(f"{keys / s:.0f}" for s in seconds)
        ctx.notes.append(f"history-growth [{backend}]: keys/s of populates 1-{ROUNDS}: {rates}")
    return results
