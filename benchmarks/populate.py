"""Populate: 5,000 keys, a trivial make (one row from the parent), per key and in batches.

Four ways of filling a Computed table whose parent holds the keys: ``make`` called per key
(``populate()`` and ``populate(reserve_jobs=True)``) and ``make_batch`` called with frames of
keys (the same two). Each run starts from an empty table and an empty job queue. DataJoint
2.3.5's ``populate()`` and ``populate(reserve_jobs=True)`` of the same table on PostgreSQL are
timed in the same run when DataJoint is installed (``nox -s bench`` installs it), else the
figures measured on this machine kind are used (/work/shared/reference/baseline.md: 884 and
408 keys/s); they are compared on both backends, as DataJoint has no embedded one.

Examples
--------
>>> DATAJOINT_KEYS_PER_S["make"]
884
"""

from __future__ import annotations

from functools import partial
from typing import Any

import polars as pl

import djframe as dj
from benchmarks.baselines import drop_djframe_schema
from benchmarks.harness import Context, Result, measure, result_rows

__all__ = ["DATAJOINT_KEYS_PER_S", "run"]

SCHEMA = "bench_populate"
DATAJOINT_KEYS_PER_S = {"make": 884, "make reserve_jobs": 408}
"""DataJoint 2.3.5 ``populate()`` and ``populate(reserve_jobs=True)``, keys per second."""

CASES = {
    "populate make": ("One", {}, "make"),
    "populate make reserve_jobs": ("One", {"reserve_jobs": True}, "make reserve_jobs"),
    "populate make_batch": ("Many", {}, "make"),
    "populate make_batch reserve_jobs": ("Many", {"reserve_jobs": True}, "make reserve_jobs"),
}
"""Benchmark name -> (table, populate options, DataJoint figure it is compared with)."""


def declare(conn: dj.Connection, size: int) -> dict[str, Any]:
    """A parent with ``size`` rows and two Computed children: one with make, one make_batch."""
    drop_djframe_schema(conn, SCHEMA)
    schema = dj.Schema(SCHEMA, connection=conn)

    @schema
    class Source(dj.Manual):
        definition = """
        k : int64
        ---
        v : float64
        """

    @schema
    class One(dj.Computed):
        definition = """
        -> Source
        ---
        w : float64
        """

        def make(self, key: dict[str, Any]) -> None:
            value = (Source & key).fetch1("v")
            self.insert1({**key, "w": value})

    @schema
    class Many(dj.Computed):
        definition = """
        -> Source
        ---
        w : float64
        """

        def make_batch(self, keys: pl.DataFrame) -> pl.DataFrame:
            return (Source & keys).to_polars().select("k", w=pl.col("v"))

    Source().insert(pl.DataFrame({"k": range(size), "v": [float(i) for i in range(size)]}))
    return {"One": One, "Many": Many}


def emptied(conn: dj.Connection, table: Any) -> None:
    """Delete the computed rows (with their provenance) and the job queue."""
    table.delete(prompt=False)
    conn.execute(f"DELETE FROM {table.jobs.full_table_name}")


DJ_SCHEMA = "bench_dj_populate"


def datajoint_seconds(ctx: Context, size: int) -> dict[str, tuple[str, float]]:
    """DataJoint's populate times by reference name, live when DataJoint is installed."""
    if ctx.datajoint is None:
        return {
            ref: (f"DataJoint 2.3.5 populate({args}) (baseline.md)", size / rate)
            for (ref, rate), args in zip(
                DATAJOINT_KEYS_PER_S.items(), ("", "reserve_jobs=True"), strict=True
            )
        }
    datajoint: Any = ctx.datajoint
    drop_djframe_like(datajoint)
    schema = datajoint.Schema(DJ_SCHEMA)

    @schema
    class Source(datajoint.Manual):
        definition = """
        k : int64
        ---
        v : float64
        """

    @schema
    class One(datajoint.Computed):
        definition = """
        -> Source
        ---
        w : float64
        """

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "w": (Source() & key).fetch1("v")})

    try:
        Source.insert([{"k": i, "v": float(i)} for i in range(size)])

        def empty() -> None:
            One.delete_quick()
            One.jobs.delete_quick()

        times = measure(
            {
                "make": lambda: One.populate(),
                "make reserve_jobs": lambda: One.populate(reserve_jobs=True),
            },
            ctx.repeats,
            setup=empty,
        )
    finally:
        schema.drop(prompt=False)
    return {
        "make": ("DataJoint 2.3.5 populate()", times["make"]),
        "make reserve_jobs": (
            "DataJoint 2.3.5 populate(reserve_jobs=True)",
            times["make reserve_jobs"],
        ),
    }


def drop_djframe_like(datajoint: Any) -> None:
    if DJ_SCHEMA in datajoint.list_schemas():
        datajoint.Schema(DJ_SCHEMA).drop(prompt=False)


def populate_results(
    ctx: Context, backend: str, url: str, size: int, references: dict[str, tuple[str, float]]
) -> list[Result]:
    conn = dj.connect(url)
    results: list[Result] = []
    try:
        tables = declare(conn, size)
        for name, (table_name, options, reference) in CASES.items():
            table = tables[table_name]

            def work(t: Any = table, o: dict[str, Any] = options) -> None:
                result = t.populate(**o)
                assert result["success_count"] == size, result

            times = measure({"djframe": work}, ctx.repeats, setup=partial(emptied, conn, table))
            baseline, seconds = references[reference]
            results += result_rows(name, backend, size, times["djframe"], {baseline: seconds})
    finally:
        drop_djframe_schema(conn, SCHEMA)
        conn.close()
    return results


def run(ctx: Context) -> list[Result]:
    size = ctx.size(5_000, 1_000)
    references = datajoint_seconds(ctx, size)
    results = []
    for backend, url in ctx.urls.items():
        results += populate_results(ctx, backend, url, size, references)
    return results
