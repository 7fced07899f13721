"""A DataJoint 2.x pipeline module (tests/pipelines/datajoint_style.py), unchanged but for its
import, declares, loads, populates and answers queries on both backends, configured the way
DataJoint is (``database.host``/``user``/``password``, a store spec) and activated later."""

from __future__ import annotations

import importlib
import itertools
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import urlparse

import numpy as np
import pytest

import djframe as dj

TESTS = Path(__file__).parent
_numbers = itertools.count()


def datajoint_settings(url: str, tmp_path: Path) -> dict[str, object]:
    """The dj.config a DataJoint user writes for this database, and a file store."""
    store = {"raw-data": {"protocol": "file", "location": str(tmp_path / "raw")}}
    if url.startswith("duckdb"):
        database = {"backend": "duckdb", "host": str(tmp_path / "pipeline.duckdb")}
    else:
        parts = urlparse(url)
        database = {
            "backend": "postgresql",
            "host": f"{parts.hostname}:{parts.port}",
            "user": parts.username,
            "password": parts.password,
            "name": parts.path.lstrip("/"),
        }
    return {"database": database, "stores": store, "download_path": str(tmp_path / "down")}


@pytest.fixture
def pipeline(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.delenv("DJFRAME_DATABASE_URL", raising=False)
    settings = datajoint_settings(database_url, tmp_path)
    with dj.config.override(**settings), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # positional rows, fetch()
        sys.modules.pop("pipelines.datajoint_style", None)
        module = importlib.import_module("pipelines.datajoint_style")
        module.activate(f"djstyle_{os.getpid()}_{next(_numbers)}")
        yield module
        module.schema.drop(prompt=False)
        dj.conn().close()


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


def test_schema_connection_config_codecs_and_tables(pipeline: ModuleType, tmp_path: Path) -> None:
    schema = pipeline.schema
    assert schema.connection is dj.conn() and schema.database.startswith("djstyle_")
    assert "Recording" in schema and schema["spike"].heading.primary_key[-1] == "spike"
    pipeline.load_example_data()
    assert pipeline.Summary.populate()["success_count"] == 0  # FiringRate not there yet
    pipeline.Spike.populate()
    pipeline.FiringRate.populate()
    assert pipeline.Summary.populate()["success_count"] == 5
    row = (pipeline.Summary & {"subject_id": 2}).fetch1()
    assert isinstance(row["labels"], dj.MatCell) and row["labels"][0] == "M"
    assert row["stats"]["sex"] == "M" and len(row["trace"]) == 80
    assert (tmp_path / "raw").is_dir()  # <blob@raw-data> went to the DataJoint-spec store
    (tmp_path / "note.txt").write_text("calibrated")
    pipeline.Note.insert1((1, 1, str(tmp_path / "note.txt")))
    assert Path(pipeline.Note.fetch1("attachment")).read_text() == "calibrated"
    # the schema opened elsewhere, without the module: a virtual module and spawned classes
    lab = dj.VirtualModule("lab", schema.database)
    assert len(lab.Summary) == 5 and lab.Recording.head(1)[0]["probe"] == 1
    found: dict[str, object] = {}
    schema.spawn_missing_classes(context=found)
    assert "FiringRate" in found
    # tables: alter with rows kept, keys by a secondary attribute, tail
    pipeline.Subject.definition = pipeline.Subject.definition.replace(
        "weight = null : double     # grams",
        "weight = null : double     # grams\n    notes = '' : varchar(40)",
    )
    pipeline.Subject.alter(prompt=False)
    assert pipeline.Subject.tail(1)[0]["notes"] == ""
    assert pipeline.Subject.keys(order_by="lab DESC") == [{"subject_id": 2}, {"subject_id": 1}]
