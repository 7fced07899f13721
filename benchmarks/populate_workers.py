"""Populate with worker processes: 1, 2 and 4 workers sharing a job queue on PostgreSQL.

2,000 keys (quick: 200) of a Computed table whose make sleeps 20 ms and inserts one row
(:mod:`benchmarks.worker_tables`): I/O-bound work, so that two cores are no limit and the
ideal rate is N workers / 20 ms. djframe's ``populate(reserve_jobs=True, processes=N)`` is
compared with that ideal (speedup = ideal time / djframe time: the fraction of the ideal
reached) and with DataJoint 2.3.5's ``populate(reserve_jobs=True, processes=N)`` of the same
table, which runs in a process of its own (:mod:`benchmarks.datajoint_workers`) under a
timeout: its process pool can hang after finishing every key. A run that hangs is killed,
timed to its last row (from the rows' ``done`` times) and reported as such in the row's
note; DataJoint is not run again at that N. DataJoint also caps its pool at the machine's
core count (``min(processes, keys, cpu_count())``), which the note says where it applies.
Every run starts from an empty table and job queue, djframe's and DataJoint's runs in
alternation. Before the timed runs, djframe populates :data:`WARMUP_KEYS` keys with the most
workers: its worker processes (spawned, each importing djframe) stay for the next call
(:mod:`djframe.compute.residents`), so djframe's timed runs measure the steady state of a
process that populates again, planning and queueing included, not the workers' start.
DataJoint's pool lives for one call, so its times include forking it.

Run alone: ``python -m benchmarks.run --only populate-workers``.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import polars as pl

import djframe as dj
from benchmarks import datajoint_workers
from benchmarks.baselines import drop_djframe_schema
from benchmarks.datajoint_workers import PAUSE, WORKER_SCHEMA_ENV, WORKER_URL_ENV
from benchmarks.harness import Context, Result

__all__ = ["WORKERS", "run"]

WORKERS = (1, 2, 4)
SCHEMA = "bench_workers"
DJ_SCHEMA = "bench_dj_workers"
WARMUP_KEYS = 40
ROOT = Path(__file__).resolve().parent.parent


def tables(url: str) -> ModuleType:
    """:mod:`benchmarks.worker_tables` bound to a fresh schema at ``url``."""
    os.environ[WORKER_URL_ENV] = url  # worker processes inherit both
    os.environ[WORKER_SCHEMA_ENV] = SCHEMA
    conn = dj.connect(url)
    drop_djframe_schema(conn, SCHEMA)
    conn.close()
    module = importlib.import_module("benchmarks.worker_tables")
    return importlib.reload(module)  # declares the tables again in the fresh schema


def emptied(module: ModuleType) -> None:
    module.Sleep.delete(prompt=False)
    module.schema.connection.execute(f"DELETE FROM {module.Sleep.jobs.full_table_name}")


def filled(module: ModuleType, keys: int) -> None:
    """Insert the parent keys, then warm up: a small populate with the most workers."""
    module.Source.insert(pl.DataFrame({"k": range(keys), "v": [float(k) for k in range(keys)]}))
    warm = module.Sleep.populate(f"k < {WARMUP_KEYS}", reserve_jobs=True, processes=max(WORKERS))
    assert warm["success_count"] == WARMUP_KEYS, warm


def djframe_run(module: ModuleType, processes: int, keys: int) -> float:
    """Seconds of one ``populate(reserve_jobs=True, processes=N)`` from an empty table."""
    emptied(module)
    start = time.perf_counter()
    result = module.Sleep.populate(reserve_jobs=True, processes=processes)
    seconds = time.perf_counter() - start
    assert result["success_count"] == keys, result
    return seconds


@dataclass
class PoolRun:
    """One run of DataJoint's pool: seconds to its return, or to its last row if it hung."""

    seconds: float | None
    """None if it hung before finishing every key."""
    hung: bool
    made: int


def pool_timeout(keys: int) -> float:
    """Seconds DataJoint's pool gets: twice the one-worker ideal, plus a minute."""
    return keys * PAUSE * 2 + 60


def datajoint_run(url: str, processes: int, keys: int) -> PoolRun:
    """Run :mod:`benchmarks.datajoint_workers` once, killing its session if it hangs."""
    env = os.environ | {datajoint_workers.URL_ENV: url, datajoint_workers.SCHEMA_ENV: DJ_SCHEMA}
    command = [sys.executable, "-m", "benchmarks.datajoint_workers", str(processes), str(keys)]
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        out, err = child.communicate(timeout=pool_timeout(keys))
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # the pool's processes too: its own session
        out, err = child.communicate()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if len(lines) > 1:
        assert lines[1]["success_count"] == keys, lines[1]
        return PoolRun(lines[1]["end"] - lines[0]["start"], hung=False, made=keys)
    if not lines or child.returncode != -signal.SIGKILL:
        raise RuntimeError(f"DataJoint's populate of {processes} processes failed:\n{err}")
    made, last = finished(url)
    seconds = last - lines[0]["start"] if made == keys else None
    return PoolRun(seconds, hung=True, made=made)


def finished(url: str) -> tuple[int, float]:
    """How many rows DataJoint's table holds, and when the last was made."""
    from adbc_driver_postgresql import dbapi

    with dbapi.connect(url, autocommit=True) as raw, raw.cursor() as cursor:
        cursor.execute(f'SELECT count(*), max(done) FROM "{DJ_SCHEMA}"."__sleep"')
        row = cursor.fetchone()
    assert row is not None
    return int(row[0]), float(row[1] or 0.0)


@dataclass
class Figures:
    """The runs at one N: djframe's seconds and DataJoint's pool runs, in alternation."""

    ours: list[float]
    theirs: list[PoolRun]

    def datajoint_seconds(self) -> float | None:
        """The median of DataJoint's finished runs (None if none finished)."""
        done = [r.seconds for r in self.theirs if r.seconds is not None]
        return statistics.median(done) if done else None


def alternated(ctx: Context, module: ModuleType, url: str, keys: int) -> dict[int, Figures]:
    """djframe, DataJoint, djframe, ... at each N; DataJoint not again once its pool hung."""
    figures = {}
    for n in WORKERS:
        runs = Figures([], [])
        for _ in range(ctx.repeats):
            runs.ours.append(djframe_run(module, n, keys))
            if ctx.datajoint is not None and not any(r.hung for r in runs.theirs):
                runs.theirs.append(datajoint_run(url, n, keys))
        figures[n] = runs
    if ctx.datajoint is not None:
        ctx.datajoint.Schema(DJ_SCHEMA).drop(prompt=False)
    return figures


def pool_note(runs: list[PoolRun], processes: int, keys: int) -> str:
    notes = []
    hung = runs[-1]
    if hung.hung:
        finish = (
            f"finishing all {keys} keys" if hung.made == keys else f"{hung.made} of {keys} keys"
        )
        notes.append(
            f"the pool hung in run {len(runs)} after {finish}: killed after "
            f"{pool_timeout(keys):.0f} s" + (", timed to its last row" if hung.made == keys else "")
        )
    cores = os.cpu_count() or 1
    if processes > min(cores, keys):
        notes.append(f"DataJoint runs min(processes, cpu_count()) = {cores} processes here")
    return "; ".join(notes)


def run(ctx: Context) -> list[Result]:
    if "postgres" not in ctx.urls:
        ctx.notes.append("populate-workers: left out (it runs on PostgreSQL only)")
        return []
    url, keys = ctx.urls["postgres"], ctx.size(2_000, 200)
    module = tables(url)
    try:
        filled(module, keys)
        figures = alternated(ctx, module, url, keys)
    finally:
        module.schema.drop(prompt=False)
        module.schema.connection.close()
    results = []
    for n, runs in figures.items():
        results += results_at(ctx, n, keys, runs)
    return results


def results_at(ctx: Context, n: int, keys: int, runs: Figures) -> list[Result]:
    name, ideal = f"populate-workers {n}", keys * PAUSE / n
    ours = statistics.median(runs.ours)
    results = [Result(name, "postgres", keys, ours, f"ideal {n} / {PAUSE * 1e3:.0f} ms", ideal)]
    theirs = runs.datajoint_seconds()
    if runs.theirs:
        label = f"DataJoint 2.3.5 populate(reserve_jobs=True, processes={n})"
        note = pool_note(runs.theirs, n, keys)
        results.append(Result(name, "postgres", keys, ours, label, theirs, note))
    ctx.notes.append(
        f"{name}: djframe {keys / ours:.0f} keys/s, ideal {keys / ideal:.0f}"
        + (f", DataJoint {keys / theirs:.0f}" if theirs else "")
    )
    return results
