"""DataJoint's worker pool, run in a process of its own: the baseline of populate-workers.

``python -m benchmarks.datajoint_workers PROCESSES KEYS`` (the PostgreSQL URL and schema
name in DJFRAME_BENCH_DJ_URL and DJFRAME_BENCH_DJ_SCHEMA) declares a fresh schema with
``KEYS`` parent keys and a Computed table whose make sleeps :data:`PAUSE` seconds, then runs
DataJoint 2.3.5's ``populate(reserve_jobs=True, processes=PROCESSES)``, printing one JSON
line when it starts and one when it returns. DataJoint's process pool can hang after the
last key (baseline.md), so :mod:`benchmarks.populate_workers` runs this with a timeout, in
a session of its own that it kills whole; each row records when it was made (``done``), so
that a killed run still tells when its work was finished. This module imports only the
standard library and DataJoint: its pool forks a process that has not started Polars'
threads.

The table definitions here are also those of djframe's copy (:mod:`benchmarks.worker_tables`).

Examples
--------
>>> PAUSE
0.02
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

__all__ = ["PAUSE", "SLEEP", "SOURCE", "declare", "main"]

PAUSE = 0.02
"""Seconds each make sleeps: I/O-bound work, so that workers, not cores, set the rate."""
SOURCE = """
k : int64
---
v : float64
"""
SLEEP = """
-> Source
---
done : float64   # time.time() when the make ran
"""
URL_ENV, SCHEMA_ENV = "DJFRAME_BENCH_DJ_URL", "DJFRAME_BENCH_DJ_SCHEMA"
WORKER_URL_ENV, WORKER_SCHEMA_ENV = "DJFRAME_BENCH_WORKER_URL", "DJFRAME_BENCH_WORKER_SCHEMA"
"""Where djframe's copy (:mod:`benchmarks.worker_tables`) connects, in every worker."""


def declare(datajoint: Any, schema_name: str) -> tuple[Any, Any]:
    """The parent and the sleeping Computed table in DataJoint (declared if missing)."""
    schema = datajoint.Schema(schema_name)

    @schema
    class Source(datajoint.Manual):
        definition = SOURCE

    @schema
    class Sleep(datajoint.Computed):
        definition = SLEEP

        def make(self, key: dict[str, Any]) -> None:
            time.sleep(PAUSE)
            self.insert1({**key, "done": time.time()})

    return Source, Sleep


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def main(argv: list[str]) -> None:
    from benchmarks.datajoint_setup import load_datajoint

    processes, keys = int(argv[0]), int(argv[1])
    datajoint = load_datajoint(os.environ[URL_ENV])
    schema_name = os.environ[SCHEMA_ENV]
    if schema_name in datajoint.list_schemas():
        datajoint.Schema(schema_name).drop(prompt=False)
    source, sleep = declare(datajoint, schema_name)
    source.insert([{"k": k, "v": float(k)} for k in range(keys)])
    say(start=time.time())
    result = sleep.populate(reserve_jobs=True, processes=processes)
    say(end=time.time(), success_count=result["success_count"])


if __name__ == "__main__":
    main(sys.argv[1:])
