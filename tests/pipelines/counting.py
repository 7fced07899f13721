"""A small pipeline for tests that run populate in worker processes.

Worker processes import this module, so it reads where to connect from the environment:
DJFRAME_TEST_WORKER_URL, DJFRAME_TEST_WORKER_SCHEMA, and DJFRAME_TEST_MAKE_LOG, a folder where
every make call leaves a file (so tests count calls, not only rows).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import polars as pl

import djframe as dj

schema = dj.Schema(
    os.environ["DJFRAME_TEST_WORKER_SCHEMA"],
    connection=dj.connect(os.environ["DJFRAME_TEST_WORKER_URL"]),
)


def log_call(key: dict) -> None:
    folder = Path(os.environ["DJFRAME_TEST_MAKE_LOG"])
    (folder / f"{key['item']}-{os.getpid()}-{uuid.uuid4().hex[:8]}").touch()


def wait_for_total() -> None:
    """With DJFRAME_TEST_TOTAL_MARKER set, Square's makes from the ninth on wait (up to two
    minutes) until Total's make has run and left that file: Total provably starts while Square
    still runs, however slowly its worker process starts on a loaded machine."""
    marker = os.environ.get("DJFRAME_TEST_TOTAL_MARKER")
    if marker is None or len(os.listdir(os.environ["DJFRAME_TEST_MAKE_LOG"])) < 9:
        return
    deadline = time.monotonic() + 120
    while not Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def pause() -> None:
    """Sleep DJFRAME_TEST_MAKE_PAUSE seconds: a window for tests to kill a worker mid-make."""
    if (seconds := float(os.environ.get("DJFRAME_TEST_MAKE_PAUSE", "0"))) > 0:
        time.sleep(seconds)


@schema
class Item(dj.Manual):
    definition = """
    item : int32
    ---
    value : float64
    """


@schema
class Square(dj.Computed):
    definition = """
    -> Item
    ---
    square : float64
    pid : int32
    """

    class Digit(dj.Part):
        definition = """
        -> master
        digit : int16
        """

    def make(self, key: dict) -> None:
        log_call(key)
        wait_for_total()
        value = (Item & key).fetch1("value")
        if value < 0:
            raise ValueError(f"negative value for item {key['item']}")
        self.insert1({**key, "square": value * value, "pid": os.getpid()})
        pause()  # the master row is in, its parts are not yet
        self.Digit.insert([{**key, "digit": int(d)} for d in sorted(set(str(key["item"])))])


@schema
class Doubled(dj.Computed):
    definition = """
    -> Item
    ---
    doubled : float64
    """

    def make_batch(self, keys: pl.DataFrame) -> pl.DataFrame:
        for key in keys.iter_rows(named=True):
            log_call(key)
        values = (Item & keys).to_polars()
        if (values["value"] < 0).any():
            raise ValueError("negative value in batch")
        return values.select("item", doubled=pl.col("value") * 2)


@schema
class Total(dj.Computed):
    definition = """
    -> Square
    ---
    total : float64
    """

    def make(self, key: dict) -> None:
        if marker := os.environ.get("DJFRAME_TEST_TOTAL_MARKER"):
            Path(marker).touch()
        square = (Square & key).fetch1("square")
        self.insert1({**key, "total": square + 1})
