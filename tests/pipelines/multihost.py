"""A pipeline for tests/test_multihost.py, computed by workers in PID namespaces of their own.

Run as ``python -m pipelines.multihost``, it populates :class:`Slow` with ``reserve_jobs=True``.
It reads where to connect from DJFRAME_TEST_WORKER_URL and DJFRAME_TEST_WORKER_SCHEMA; each make
call leaves a file ``{item}-{worker}-{random}`` in DJFRAME_TEST_MAKE_LOG (DJFRAME_TEST_WORKER_TAG
names the worker), then sleeps DJFRAME_TEST_MAKE_PAUSE seconds before it inserts its row.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import djframe as dj

schema = dj.Schema(
    os.environ["DJFRAME_TEST_WORKER_SCHEMA"],
    connection=dj.connect(os.environ["DJFRAME_TEST_WORKER_URL"]),
)
TAG = os.environ.get("DJFRAME_TEST_WORKER_TAG", "main")


@schema
class Item(dj.Manual):
    definition = """
    item : int32
    """


@schema
class Slow(dj.Computed):
    definition = """
    -> Item
    ---
    worker : varchar(16)     # the worker that made the row
    """

    def make(self, key: dict) -> None:
        folder = Path(os.environ["DJFRAME_TEST_MAKE_LOG"])
        (folder / f"{key['item']}-{TAG}-{uuid.uuid4().hex[:8]}").touch()
        time.sleep(float(os.environ.get("DJFRAME_TEST_MAKE_PAUSE", "0")))
        self.insert1({**key, "worker": TAG})


if __name__ == "__main__":
    print(f"worker {TAG}: pid {os.getpid()} in its namespace", flush=True)
    Slow.populate(reserve_jobs=True)
