"""A pipeline written for DataJoint 2.x, run by djframe with only its import changed.

It uses the idioms of issue 13 that DataJoint pipelines are full of: native SQL types
(``int unsigned auto_increment``, ``smallint unsigned``, ``double``, ``longblob``,
``timestamp``), the diamond of two parents sharing an ancestor's key (also through a
renaming projection), a Computed table with key attributes of its own behind
``jobs.allow_new_pk_fields_in_computed_tables``, positional rows (tuples, generators, zip,
``Lookup.contents`` as a property) and the deprecated ``fetch`` / ``fetch1("KEY")`` /
``to_arrays``. The schema name comes from ``DJFRAME_TEST_DJ_SCHEMA``; the database from
``dj.config`` (the test sets it), as a DataJoint pipeline gets it from its configuration.
"""

from __future__ import annotations

import itertools
import os

import numpy as np

import djframe as dj  # the one line changed: was `import datajoint as dj`

schema = dj.Schema(os.environ["DJFRAME_TEST_DJ_SCHEMA"])


@schema
class Lab(dj.Lookup):
    definition = """
    lab : varchar(16)
    ---
    institution : varchar(64)
    """
    contents = [("neuro", "Hill University"), ("vision", "Lake Institute")]


@schema
class ProbeType(dj.Lookup):
    definition = """
    probe_type : varchar(32)
    ---
    channels : smallint unsigned
    """

    @property
    def contents(self):
        return zip(("neuropixels", "tetrode"), (384, 4), strict=True)


@schema
class Subject(dj.Manual):
    definition = """
    # an animal
    subject_id : int unsigned auto_increment
    ---
    -> Lab
    sex : enum('M', 'F', 'U')
    weight = null : double     # grams
    """


@schema
class Session(dj.Manual):
    definition = """
    -> Subject
    session : smallint unsigned
    ---
    session_time : timestamp
    """


@schema
class Probe(dj.Manual):
    definition = """
    -> Subject
    probe : tinyint unsigned
    ---
    -> ProbeType
    """


@schema
class Recording(dj.Manual):
    definition = """
    # a probe in a session: both parents carry subject_id, one attribute here
    -> Session
    -> Probe
    ---
    samples : longblob        # raw float64 bytes
    sampling_rate : float
    """


@schema
class Comparison(dj.Manual):
    definition = """
    # two recordings of one subject: subject_id arrives through both, once
    -> Recording
    -> Recording.proj(other_session='session', other_probe='probe')
    """


with dj.config.override(jobs__allow_new_pk_fields_in_computed_tables=True):

    @schema
    class Spike(dj.Computed):
        definition = """
        # threshold crossings: make inserts many rows of its own key
        -> Recording
        spike : int unsigned
        ---
        spike_time : double    # seconds
        amplitude : float
        """

        def make(self, key):
            raw, rate = (Recording & key).fetch1("samples", "sampling_rate")
            samples = np.frombuffer(raw, dtype=np.float64)
            crossings = np.flatnonzero(samples > 1.0)
            head = tuple((Recording & key).fetch1("KEY").values())
            self.insert(
                (*head, n, index / rate, samples[index]) for n, index in enumerate(crossings)
            )


@schema
class FiringRate(dj.Computed):
    definition = """
    -> Recording
    ---
    n_spikes : int
    rate : double
    """

    def make(self, key):
        times = (Spike & key).fetch("spike_time")
        raw, rate = (Recording & key).fetch1("samples", "sampling_rate")
        duration = len(raw) / 8 / rate
        self.insert1((*key.values(), len(times), len(times) / duration))


def load_example_data():
    """What a user's ingestion script does, DataJoint-style."""
    Subject.insert(
        [
            {"lab": "neuro", "sex": "F", "weight": 21.5},
            {"lab": "vision", "sex": "M", "weight": None},
        ]
    )
    first, second = (int(s) for s in Subject.to_arrays("subject_id", order_by="subject_id"))
    Session.insert(
        zip(itertools.repeat(first), (1, 2), ("2024-05-01 10:00:00", "2024-05-02 10:00:00"))
    )
    Session.insert1((second, 1, "2024-06-01 09:30:00"))
    Probe.insert((first, p, "neuropixels") for p in (1, 2))
    Probe.insert1(dict(subject_id=second, probe=1, probe_type="tetrode"))
    rng = np.random.default_rng(13)
    rows = []
    for key in (Session * Probe).fetch("KEY", order_by="KEY"):
        signal = rng.normal(0, 0.5, 1000)
        rows.append(dict(key, samples=signal.tobytes(), sampling_rate=1000.0))
    Recording.insert(rows)
    Comparison.insert1((first, 1, 1, 2, 2))
