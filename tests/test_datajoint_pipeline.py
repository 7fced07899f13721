"""A DataJoint 2.x pipeline module (tests/pipelines/datajoint_style.py), unchanged but for its
import, declares, loads, populates and answers queries on both backends."""

from __future__ import annotations

import importlib
import itertools
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import djframe as dj

TESTS = Path(__file__).parent
_numbers = itertools.count()


@pytest.fixture
def pipeline(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("DJFRAME_TEST_DJ_SCHEMA", f"djstyle_{os.getpid()}_{next(_numbers)}")
    monkeypatch.syspath_prepend(str(TESTS))
    with dj.config.override(database__url=database_url), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # positional rows, fetch()
        sys.modules.pop("pipelines.datajoint_style", None)
        module = importlib.import_module("pipelines.datajoint_style")
        yield module
        module.schema.drop(prompt=False)


def test_declares_with_core_types_diamonds_and_own_keys(pipeline: ModuleType) -> None:
    assert pipeline.Subject.heading["subject_id"].auto_increment
    assert str(pipeline.Subject.heading["subject_id"].type) == "int64"
    assert str(pipeline.Session.heading["session"].type) == "int32"  # smallint unsigned
    assert str(pipeline.Recording.heading["samples"].type) == "bytes"  # longblob
    assert pipeline.Recording.heading.primary_key == ["subject_id", "session", "probe"]
    assert pipeline.Comparison.heading.primary_key == [
        "subject_id",
        "session",
        "probe",
        "other_session",
        "other_probe",
    ]
    assert pipeline.Spike.heading.primary_key == ["subject_id", "session", "probe", "spike"]
    assert len(pipeline.Lab) == 2 and len(pipeline.ProbeType) == 2  # contents: list, property


def test_loads_populates_and_queries(pipeline: ModuleType) -> None:
    pipeline.load_example_data()
    assert pipeline.Subject.to_arrays("subject_id", order_by="KEY").tolist() == [1, 2]
    assert len(pipeline.Recording) == 5 and len(pipeline.Comparison) == 1
    assert pipeline.Spike.populate()["success_count"] == 5  # once per recording
    assert pipeline.FiringRate.populate()["success_count"] == 5
    assert pipeline.Spike.progress() == (0, 5)
    spikes = pipeline.Spike.fetch(as_dict=True, order_by="KEY")
    assert spikes and all(s["amplitude"] > 1.0 for s in spikes)
    counts = pipeline.Recording.aggr(pipeline.Spike, n="count(*)")
    keys, n = counts.to_arrays("n", include_key=True, order_by="KEY")
    rates = pipeline.FiringRate.fetch("n_spikes", order_by="KEY")
    assert n.tolist() == rates.tolist()
    assert keys == pipeline.Recording.fetch("KEY", order_by="KEY")
    records = pipeline.Session.fetch(order_by="KEY")
    assert records.dtype.names == ("subject_id", "session", "session_time")
    assert records["session"].dtype == np.int64
    first = (pipeline.Recording & {"probe": 2, "session": 2}).fetch1("KEY")
    assert first == {"subject_id": 1, "session": 2, "probe": 2}
    other = pipeline.Comparison * pipeline.Recording
    assert other.fetch1("KEY", "sampling_rate") == (
        {"subject_id": 1, "session": 1, "probe": 1, "other_session": 2, "other_probe": 2},
        1000.0,
    )
    lab = (pipeline.Subject * pipeline.Lab & {"subject_id": 2}).fetch1("institution")
    assert lab == "Lake Institute"
