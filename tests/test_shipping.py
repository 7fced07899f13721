"""populate(processes=N) for tables defined anywhere: a notebook cell, a function, ``__main__``.

Worker processes are spawned: a class they cannot import is sent to them by value
(djframe.compute.shipping, cloudpickle), one they can import is sent by reference. The notebook
test runs a small notebook through nbclient, as a reader would, on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import nbclient
import nbformat
import pytest

import djframe as dj
from djframe.compute import workers
from djframe.compute.shipping import ship

_names = itertools.count()


def fresh_name() -> str:
    return f"ship_{os.getpid()}_{next(_names)}"


@pytest.fixture
def file_schema(worker_url: str) -> Iterator[dj.Schema]:
    """A fresh schema on a database that worker processes can reach (a DuckDB file)."""
    schema = dj.Schema(fresh_name(), connection=dj.connect(worker_url))
    yield schema
    schema.drop(prompt=False)
    schema.connection.close()


def declare_pair(schema: dj.Schema, lock: object = None) -> tuple[type[dj.Table], type[dj.Table]]:
    """A Manual table and a Computed one with a part, declared inside this function."""
    offset = 10

    @schema
    class Sample(dj.Manual):
        definition = """
        sample : int32
        ---
        value : float64
        """

    def shifted(value: float) -> float:
        return value + offset

    @schema
    class Shifted(dj.Computed):
        definition = """
        -> Sample
        ---
        shifted : float64
        pid : int32
        """

        class Digit(dj.Part):
            definition = """
            -> master
            digit : int16
            """

        def make(self, key: dict) -> None:
            if lock is not None:
                with lock:  # type: ignore[attr-defined]
                    pass
            value = (Sample & key).fetch1("value")
            self.insert1({**key, "shifted": shifted(value), "pid": os.getpid()})
            self.Digit.insert([{**key, "digit": int(d)} for d in sorted(set(str(key["sample"])))])

    return Sample, Shifted


def test_a_function_local_table_runs_in_workers(file_schema: dj.Schema) -> None:
    sample, shifted = declare_pair(file_schema)
    assert ship(shifted).by_value
    sample.insert([{"sample": i, "value": float(i)} for i in range(30)])
    result = shifted.populate(processes=2)
    assert result == {"success_count": 30, "error_list": []}
    rows = shifted.to_polars()
    assert rows["pid"].n_unique() == 2 and os.getpid() not in rows["pid"].to_list()
    assert (shifted & {"sample": 7}).fetch1("shifted") == 17.0  # the closure came along
    assert len(shifted.Digit) == sum(len(set(str(i))) for i in range(30))  # and its part
    assert len(shifted.stale()) == 0  # the workers recorded the parent's code version


def test_reserving_workers_share_a_function_local_table(file_schema: dj.Schema) -> None:
    sample, shifted = declare_pair(file_schema)
    sample.insert([{"sample": i, "value": -1.0 if i == 3 else float(i)} for i in range(20)])
    with dj.config.override(populate__code_version="v7"):
        result = shifted.populate(processes=2, reserve_jobs=True, suppress_errors=True)
        assert len(shifted.stale()) == 0  # the run-time setting reached the workers
    assert result["success_count"] == 20
    assert set(shifted.provenance()["_version"]) == {"v7"}


def test_a_function_local_codec_reaches_the_workers(file_schema: dj.Schema) -> None:
    class Shout(dj.Codec):
        name = "test_shipped_shout"

        def get_dtype(self, is_store: bool) -> str:
            return "<blob>"

        def encode(self, value: str, **_: object) -> str:
            return value.upper()

        def decode(self, stored: str, **_: object) -> str:
            return stored + "!"

    @file_schema
    class Word(dj.Manual):
        definition = """
        word_id : int32
        ---
        text : varchar(20)
        """

    @file_schema
    class Shouted(dj.Computed):
        definition = """
        -> Word
        ---
        shouted : <test_shipped_shout>
        """

        def make(self, key: dict) -> None:
            self.insert1({**key, "shouted": (Word & key).fetch1("text")})

    Word.insert([{"word_id": i, "text": f"word {i}"} for i in range(6)])
    assert Shouted.populate(processes=2)["success_count"] == 6
    assert (Shouted & {"word_id": 4}).fetch1("shouted") == "WORD 4!"


def test_what_cannot_be_sent_is_refused_with_nothing_queued(file_schema: dj.Schema) -> None:
    sample, shifted = declare_pair(file_schema, lock=threading.Lock())
    sample.insert([{"sample": i, "value": float(i)} for i in range(3)])
    with pytest.raises(
        dj.JobError, match=r"sends Shifted .*a function.*cannot be sent.*processes=1"
    ):
        shifted.populate(processes=2, reserve_jobs=True)
    assert len(shifted.jobs) == 0 and len(shifted) == 0
    assert shifted.populate()["success_count"] == 3  # in this process it runs


def test_nothing_to_do_starts_no_worker(
    file_schema: dj.Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample, shifted = declare_pair(file_schema)
    Shifted = shifted  # noqa: F841 (the name the definition below resolves)

    @file_schema
    class Again(dj.Computed):
        definition = """
        -> Shifted
        """

        def make(self, key: dict) -> None:
            self.insert1(key)

    sample.insert1({"sample": 1, "value": 1.0})
    dj.populate(file_schema)

    def refuse(*args: object) -> None:
        raise AssertionError("a worker was started with nothing to do")

    monkeypatch.setattr(workers.WorkerPool, "run", refuse)
    assert shifted.populate(processes=2) == {"success_count": 0, "error_list": []}
    assert shifted.populate(processes=2, reserve_jobs=True)["success_count"] == 0
    results = dj.populate(file_schema, processes=2)  # both tables at once, sharing workers
    assert results == {
        "Shifted": {"success_count": 0, "error_list": []},
        "Again": {"success_count": 0, "error_list": []},
    }


def test_importable_classes_go_by_reference(counting: ModuleType, tmp_path: Path) -> None:
    shipped = ship(counting.Square)
    assert not shipped.by_value and shipped.module == "pipelines.counting"
    assert shipped.file is None  # importable by name: the worker imports it
    copy = tmp_path / "elsewhere" / "copied_pipeline.py"
    copy.parent.mkdir()
    copy.write_text(Path(counting.__file__).read_text())
    from djframe.pipelines import load_pipeline

    loaded = load_pipeline(str(copy))  # as `djframe populate copied_pipeline.py` does
    try:
        by_file = ship(loaded.Square)
        assert not by_file.by_value and by_file.file == str(copy.resolve())
    finally:
        loaded.schema.connection.close()
        del sys.modules["copied_pipeline"]


# -- a notebook -------------------------------------------------------------------------------
CELLS = [
    """
import os
import djframe as dj
schema = dj.Schema(os.environ["NB_SCHEMA"], connection=dj.connect(os.environ["NB_URL"]))
""",
    """
@schema
class Digit(dj.Manual):
    definition = '''
    digit_id : int32
    ---
    label : int16
    '''
""",
    """
SCALE = 0.5

def scaled(label):
    return label * SCALE

@schema
class Features(dj.Computed):
    definition = '''
    -> Digit
    ---
    feature : float64
    pid : int32
    '''

    def make(self, key):
        label = (Digit & key).fetch1("label")
        self.insert1({**key, "feature": scaled(label), "pid": os.getpid()})

@schema
class Summary(dj.Computed):
    definition = '''
    -> Features
    ---
    doubled : float64
    '''

    def make(self, key):
        self.insert1({**key, "doubled": 2 * (Features & key).fetch1("feature")})
""",
    """
Digit.insert([{"digit_id": i, "label": i % 10} for i in range(40)])
result = Features.populate(processes=2)
assert result == {"success_count": 40, "error_list": []}, result
pids = set(Features.to_polars()["pid"])
assert len(pids) == 2 and os.getpid() not in pids, pids
result
""",
    """
assert Features.populate(processes=2)["success_count"] == 0
assert len(Features.stale()) == 0
Digit.insert([{"digit_id": i, "label": 3} for i in range(40, 50)])
results = dj.populate(schema, processes=2)
assert results["Features"]["success_count"] == 10, results
assert results["Summary"]["success_count"] == 50, results
assert (Summary & {"digit_id": 43}).fetch1("doubled") == 3.0
""",
]


def notebook(cells: list[str]) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.strip()) for c in cells])


def test_a_notebook_populates_with_two_processes(
    worker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = fresh_name()
    monkeypatch.setenv("NB_URL", worker_url)
    monkeypatch.setenv("NB_SCHEMA", name)
    book = notebook(CELLS)
    client = nbclient.NotebookClient(
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    try:
        client.execute()  # raises CellExecutionError naming the failing cell
    finally:
        connection = dj.connect(worker_url)
        dj.Schema(name, connection=connection).drop(prompt=False)
        connection.close()
    shown = book.cells[3].outputs[-1]["data"]
    assert "40 computed" in shown["text/html"]
