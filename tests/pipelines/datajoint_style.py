"""A pipeline written for DataJoint 2.x, run by djframe with only its import changed.

It uses the idioms of issue 13 that DataJoint pipelines are full of: native SQL types
(``int unsigned auto_increment``, ``smallint unsigned``, ``double``, ``longblob``,
``timestamp``), the diamond of two parents sharing an ancestor's key (also through a
renaming projection), a Computed table with key attributes of its own behind
``jobs.allow_new_pk_fields_in_computed_tables``, positional rows (tuples, generators, zip,
``Lookup.contents`` as a property), the deprecated ``fetch`` / ``fetch1("KEY")`` /
``to_arrays``, and (items 6-10) a schema made empty and activated later as DataJoint Elements
do (:func:`activate`), the shared ``dj.conn()`` from DataJoint's ``dj.config`` keys with
``conn.query`` and ``conn.transaction``, ``dj.config`` sections set as attributes and a
DataJoint store spec with a hyphenated name, ``<blob>`` values (MATLAB cells among them),
``<attach>`` in the row and ``<blob@store>``, ``self.upstream`` inside ``make`` and
``dj.DataJointError``. The database comes from ``dj.config`` (the test sets DataJoint's
``database.*`` keys and the store), as a DataJoint pipeline gets it from its configuration.
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np

import djframe as dj  # the one line changed: was `import datajoint as dj`

schema = dj.Schema()  # activated by activate(), as DataJoint Elements do


def activate(schema_name, *, create_schema=True, create_tables=True):
    """Declare the pipeline in ``schema_name`` on the configured database."""
    schema.activate(
        schema_name,
        connection=dj.conn(),
        create_schema=create_schema,
        create_tables=create_tables,
    )


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


dj.config.jobs.allow_new_pk_fields_in_computed_tables = True


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
        self.insert((*head, n, index / rate, samples[index]) for n, index in enumerate(crossings))


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
        raw, rate = self.upstream[Recording].fetch1("samples", "sampling_rate")
        duration = len(raw) / 8 / rate
        self.insert1((*key.values(), len(times), len(times) / duration))


@schema
class Summary(dj.Computed):
    definition = """
    # per recording: a MATLAB-style cell and a dict in <blob>s, a copy in the raw-data store
    -> FiringRate
    ---
    stats : <blob>
    labels : <blob>
    trace : <blob@raw-data>
    """

    def make(self, key):
        rate = self.upstream[FiringRate].fetch1("rate")
        subject = self.upstream[Subject].fetch1("sex")
        raw = self.upstream[Recording].fetch1("samples")
        cell = np.array([subject, rate], dtype=object).view(dj.MatCell)
        self.insert1(dict(key, stats={"rate": rate, "sex": subject}, labels=cell, trace=raw[:80]))


@schema
class Note(dj.Manual):
    definition = """
    -> Subject
    note_id : tinyint unsigned
    ---
    attachment : <attach>    # a small file, kept in the row
    """


def load_example_data():
    """What a user's ingestion script does, DataJoint-style."""
    conn = dj.conn()
    with conn.transaction:
        _load()
    with contextlib.suppress(dj.DataJointError):  # a duplicate, as DataJoint reports it
        Comparison.insert1(Comparison.fetch1("KEY"))
    assert conn.query("SELECT count(*) FROM " + Comparison.full_table_name).fetchone()[0] == 1


def _load():
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
