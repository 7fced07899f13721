"""djframe's tables of populate-workers: a make that sleeps 20 ms, for worker processes.

``populate(processes=N)`` workers import the populated table's module, so this one is a
plain module that reads where to connect from the environment: DJFRAME_BENCH_WORKER_URL and
DJFRAME_BENCH_WORKER_SCHEMA (set by :mod:`benchmarks.populate_workers` before it imports
this). The definitions are those of DataJoint's copy (:mod:`benchmarks.datajoint_workers`).
"""

from __future__ import annotations

import os
import time
from typing import Any

import djframe as dj
from benchmarks.datajoint_workers import PAUSE, SLEEP, SOURCE, WORKER_SCHEMA_ENV, WORKER_URL_ENV

schema = dj.Schema(os.environ[WORKER_SCHEMA_ENV], connection=dj.connect(os.environ[WORKER_URL_ENV]))


@schema
class Source(dj.Manual):
    definition = SOURCE


@schema
class Sleep(dj.Computed):
    definition = SLEEP

    def make(self, key: dict[str, Any]) -> None:
        time.sleep(PAUSE)
        self.insert1({**key, "done": time.time()})
