"""The demo pipeline: batch feature extraction from synthetic recordings, on the embedded default.

Subjects (of a species, a Lookup) have sessions; each session has recordings, one per channel,
whose traces are numpy arrays kept in the object store (``<npy@>``). ``Features`` computes
per-recording statistics and a spectrum with numpy (one ``make`` per recording, with a Part
holding band powers); one recording is flat and fails, and its error lands in the job table.
``SessionQuality`` is computed with ``make_batch``: a whole batch of sessions in one Polars
expression. Per-subject summaries are an ``aggr`` query. Running the demo again continues where
it stopped: rows that exist are kept and only missing work is done.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import polars as pl

import djframe as dj

__all__ = ["run_demo"]

SAMPLES = 2_000
RATE = 1_000.0  # Hz
BANDS = {"delta": (1, 4), "theta": (4, 8), "alpha": (8, 13), "beta": (13, 30)}
FLAT = {"subject_id": 3, "session": 2, "channel": 5}  # the recording that fails


def declare(schema: dj.Schema) -> dict[str, type[dj.Table]]:
    """Declare the demo's tables in ``schema``; returns them by class name."""

    @schema
    class Species(dj.Lookup):
        definition = """
        # species studied in the lab
        species : varchar(32)
        ---
        common_name : varchar(64)
        """
        contents = [
            {"species": "mus musculus", "common_name": "house mouse"},
            {"species": "rattus norvegicus", "common_name": "brown rat"},
        ]

    @schema
    class Subject(dj.Manual):
        definition = """
        # an animal
        subject_id : int32
        ---
        -> Species
        sex : enum('F', 'M', 'U')
        date_of_birth : date
        """

    @schema
    class Session(dj.Manual):
        definition = """
        # one recording day of a subject
        -> Subject
        session : int16
        ---
        session_date : date
        rig = null : varchar(16)
        """

    @schema
    class Recording(dj.Manual):
        definition = """
        # one channel of a session
        -> Session
        channel : int16
        ---
        sampling_rate : float64   # Hz
        trace : <npy@>            # the signal, in the object store
        """

    @schema
    class Features(dj.Computed):
        definition = """
        # statistics and spectrum of one recording
        -> Recording
        ---
        mean : float64
        std : float64
        peak_frequency : float64  # Hz
        spectrum : <npy@>
        """

        class Band(dj.Part):
            definition = """
            # power in a frequency band
            -> master
            band : varchar(8)
            ---
            power : float64
            """

        def make(self, key: dict[str, Any]) -> None:
            trace, rate = (Recording & key).fetch1("trace", "sampling_rate")
            if np.ptp(trace) == 0:
                raise ValueError(f"flat trace on channel {key['channel']}: no signal recorded")
            spectrum = np.abs(np.fft.rfft(trace - trace.mean())) ** 2
            freqs = np.fft.rfftfreq(trace.size, 1 / rate)
            self.insert1(
                {
                    **key,
                    "mean": float(trace.mean()),
                    "std": float(trace.std()),
                    "peak_frequency": float(freqs[spectrum.argmax()]),
                    "spectrum": spectrum.astype(np.float32),
                }
            )
            self.Band().insert(
                [
                    {
                        **key,
                        "band": band,
                        "power": float(spectrum[(freqs >= lo) & (freqs < hi)].sum()),
                    }
                    for band, (lo, hi) in BANDS.items()
                ]
            )

    @schema
    class SessionQuality(dj.Computed):
        definition = """
        # how much of a session is usable: computed for many sessions at once
        -> Session
        ---
        channels : int32
        mean_std : float64
        alpha_share : float64     # alpha power / total band power
        """

        def make_batch(self, keys: pl.DataFrame) -> pl.DataFrame:
            stats = (Features & keys).proj("std").to_polars()
            bands = (Features.Band & keys).to_polars()
            per_session = stats.group_by("subject_id", "session").agg(
                channels=pl.len().cast(pl.Int32), mean_std=pl.col("std").mean()
            )
            alpha = bands.group_by("subject_id", "session").agg(
                alpha_share=pl.col("power").filter(pl.col("band") == "alpha").sum()
                / pl.col("power").sum()
            )
            return keys.join(per_session, on=["subject_id", "session"]).join(
                alpha, on=["subject_id", "session"]
            )

    return {
        "Species": Species,
        "Subject": Subject,
        "Session": Session,
        "Recording": Recording,
        "Features": Features,
        "SessionQuality": SessionQuality,
    }


def synthetic_rows(seed: int = 7) -> dict[str, Any]:
    """Four subjects, two sessions each, eight channels per session, with oscillating traces."""
    rng = np.random.default_rng(seed)
    subjects = pl.DataFrame(
        {
            "subject_id": np.arange(1, 5, dtype=np.int32),
            "species": ["mus musculus"] * 3 + ["rattus norvegicus"],
            "sex": rng.choice(["F", "M"], 4).tolist(),
            "date_of_birth": [
                dt.date(2025, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 90, 4)
            ],
        }
    )
    sessions = pl.DataFrame(
        {
            "subject_id": np.repeat(np.arange(1, 5, dtype=np.int32), 2),
            "session": np.tile(np.arange(1, 3, dtype=np.int16), 4),
            "session_date": [dt.date(2025, 6, 1) + dt.timedelta(days=i) for i in range(8)],
            "rig": rng.choice(["rig-a", "rig-b"], 8).tolist(),
        }
    )
    channels = sessions.select("subject_id", "session").join(
        pl.DataFrame({"channel": np.arange(8, dtype=np.int16)}), how="cross"
    )
    t = np.arange(SAMPLES) / RATE
    recordings = []
    for row in channels.iter_rows(named=True):
        frequency = rng.uniform(2, 25)
        trace = np.sin(2 * np.pi * frequency * t) + 0.5 * rng.standard_normal(SAMPLES)
        if row == FLAT:
            trace = np.zeros(SAMPLES)
        recordings.append({**row, "sampling_rate": RATE, "trace": trace.astype(np.float32)})
    return {"Subject": subjects, "Session": sessions, "Recording": recordings}


def fill(tables: dict[str, type[dj.Table]]) -> None:
    rows = synthetic_rows()
    tables["Subject"]().insert(rows["Subject"], skip_duplicates=True)
    tables["Session"]().insert(rows["Session"], skip_duplicates=True)
    recording = tables["Recording"]()
    stored = {tuple(k.values()) for k in recording.keys()}  # noqa: SIM118
    new = [
        r for r in rows["Recording"] if (r["subject_id"], r["session"], r["channel"]) not in stored
    ]
    if new:  # only arrays not stored yet: a re-run writes nothing
        recording.insert(new)


PIPELINE_MODULE = '''"""The demo pipeline as a module the djframe command opens: djframe status pipeline.py"""

from pathlib import Path

import djframe as dj
from djframe.demo import declare

HERE = Path(__file__).resolve().parent
schema = dj.Schema("demo", connection=dj.connect(f"duckdb:///{HERE / 'pipeline.duckdb'}"))
globals().update(declare(schema))
'''


def write_pipeline_module(root: Path) -> Path:
    """``pipeline.py`` next to the data, so that ``djframe status``/``diagram`` can open it."""
    path = root / "pipeline.py"
    if not path.exists():
        path.write_text(PIPELINE_MODULE, encoding="utf-8")
    return path


def run_demo(folder: str | Path = "djframe-demo") -> None:
    """Build, compute and query the demo pipeline in ``folder`` (a DuckDB file and a store)."""
    started = time.perf_counter()
    root = Path(folder).resolve()
    root.mkdir(parents=True, exist_ok=True)
    conn = dj.connect(f"duckdb:///{root / 'pipeline.duckdb'}")
    schema = dj.Schema("demo", connection=conn)  # objects go next to the file: djframe-store/
    tables = declare(schema)
    fill(tables)
    results = schema.populate(display_progress=False)
    Subject, Features = tables["Subject"](), cast(dj.Computed, tables["Features"]())

    print(f"djframe demo: a feature-extraction pipeline in {root}\n")
    print("Tables (parents first):")
    for name in schema.list_tables():
        cls = schema.spawn(schema.tables[name])
        print(f"  {cls.__name__:<16} {cls.tier:<9} {len(cls):>5} rows")
    print("\nThis run computed:", {name: r["success_count"] for name, r in results.items()})
    errors = Features.jobs.errors.to_dicts()
    for error in errors:
        key = {k: error[k] for k in ("subject_id", "session", "channel")}
        print(f"Recorded error for {key}: {error['_error_message']}")
    print("\nPer-subject summary (an aggr query):")
    summary = Subject.aggr(
        Features, recordings="count(*)", mean_std="avg(std)", top_peak="max(peak_frequency)"
    )
    print(summary.to_polars(order_by="subject_id"))
    print("\nRecordings peaking in the alpha band (8-13 Hz), with the subject's sex:")
    alpha = Features & "peak_frequency >= 8 AND peak_frequency < 13"
    print((Subject.proj("sex") * alpha.proj("peak_frequency")).to_polars(order_by="KEY", limit=5))
    print("\nSession quality (computed by make_batch), best first:")
    print(tables["SessionQuality"]().to_polars(order_by="alpha_share DESC", limit=3))
    print("\nDiagram (Mermaid; `djframe diagram` writes SVG too):")
    print(dj.Diagram(schema).mermaid())
    print(
        f"\nData: {root / 'pipeline.duckdb'} (tables) and {root / 'djframe-store'} (arrays, Delta Lake)."
    )
    module = write_pipeline_module(root)
    print(
        f"Done in {time.perf_counter() - started:.1f} s. Run it again: it continues where it stopped."
    )
    print(f"From a shell: djframe status {module}")
    print(f"              djframe diagram {module} --format svg -o pipeline.svg")
    conn.close()
