"""The djframe command on a real pipeline module (tests/pipelines/counting.py)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import polars as pl
import pytest

from djframe.cli import main

PIPELINE = "pipelines.counting"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


@pytest.fixture
def filled(counting: ModuleType) -> ModuleType:
    values = [1.0, 2.0, -1.0, 4.0]
    counting.Item.insert(pl.DataFrame({"item": range(4), "value": values}))
    return counting


def test_status_text_and_json(filled: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "status", PIPELINE)
    assert code == 0
    assert "Square" in out and "remaining" in out.splitlines()[0]
    code, out = run(capsys, "status", PIPELINE, "--json")
    state = json.loads(out)[0]
    tables = {t["class"]: t for t in state["tables"]}
    assert tables["Item"]["rows"] == 4
    assert tables["Square"]["remaining"] == 4 and tables["Square"]["jobs"]["total"] == 0
    square_attrs = {a["name"]: a for a in tables["Square"]["attributes"]}
    assert square_attrs["item"]["lineage"].endswith(".item.item") and square_attrs["item"]["in_key"]
    assert tables["Square"]["foreign_keys"][0]["parent"].endswith(".item")


def test_populate_then_jobs(filled: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "populate", PIPELINE, "--json")
    report = json.loads(out)
    assert code == 1  # one key failed
    assert report["Square"]["success_count"] == 3 and len(report["Square"]["error_list"]) == 1
    assert report["Doubled"]["error_list"]
    code, out = run(capsys, "jobs", PIPELINE, "--errors")
    assert "negative value for item 2" in out
    in_error = len(filled.Square.jobs.errors) + len(filled.Doubled.jobs.errors)
    code, out = run(capsys, "jobs", PIPELINE, "--clear-errors", "--json")
    assert json.loads(out)["cleared"] == in_error and len(filled.Square.jobs.errors) == 0
    filled.Item.update1({"item": 2, "value": 3.0})
    code, out = run(capsys, "populate", PIPELINE, "--table", "Square", "--restrict", '{"item": 2}')
    assert code == 0 and "Square" in out
    assert (filled.Square & {"item": 2}).fetch1("square") == 9.0


def test_tables_are_named_by_class_unless_sql_names_are_asked_for(
    filled: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = filled.schema.name
    _, out = run(capsys, "status", PIPELINE)
    assert "Square.Digit" in out and f"{schema}.__square" not in out
    _, out = run(capsys, "status", PIPELINE, "--sql-names")
    assert f"{schema}.__square__digit" in out and "Square.Digit" not in out
    run(capsys, "populate", PIPELINE)
    _, out = run(capsys, "jobs", PIPELINE, "--errors", "--json", "--sql-names")
    document = json.loads(out)
    assert {r["table"] for r in document["jobs"]} == {
        f"{schema}.__square",
        f"{schema}.__doubled",
        f"{schema}.__total",
    }
    assert {e["table"] for e in document["errors"]} == {f"{schema}.__square", f"{schema}.__doubled"}
    _, out = run(capsys, "populate", PIPELINE, "--json", "--sql-names")
    assert f"{schema}.__square" in json.loads(out)


def test_populate_says_how_many_keys_it_skipped_and_how_to_retry(
    filled: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = run(capsys, "populate", PIPELINE)
    assert "skipped" not in out  # the errors of this run are counted as errors
    code, out = run(capsys, "populate", PIPELINE)
    assert code == 0  # nothing failed this time
    square, doubled = len(filled.Square.jobs.errors), len(filled.Doubled.jobs.errors)
    assert square == 1 and doubled >= 1
    assert f"skipped {square + doubled} key(s) whose job is in error" in out
    assert f"Square: {square}" in out and f"Doubled: {doubled}" in out
    assert f"djframe jobs {PIPELINE} --errors" in out
    assert f"djframe jobs {PIPELINE} --clear-errors, then populate again" in out
    run(capsys, "jobs", PIPELINE, "--clear-errors")
    filled.Item.update1({"item": 2, "value": 3.0})
    _, out = run(capsys, "populate", PIPELINE)
    assert "skipped" not in out


def test_jobs_lists_errors_only_when_asked(
    filled: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "populate", PIPELINE)
    _, out = run(capsys, "jobs", PIPELINE, "--json")
    assert list(json.loads(out)) == ["jobs"]
    _, out = run(capsys, "jobs", PIPELINE, "--json", "--errors")
    errors = json.loads(out)["errors"]
    square = next(e for e in errors if e["table"] == "Square")
    assert square["key"] == {"item": 2} and "negative value for item 2" in square["_error_message"]
    _, out = run(capsys, "jobs", PIPELINE, "--errors")
    lines = [line for line in out.splitlines() if line.startswith("Square ")]
    error_line = lines[-1]  # the error listing follows the counts
    assert "item=2" in error_line and "ValueError: negative value for item 2" in error_line
    assert str(filled.Square.jobs.errors.fetch1("_completed_time"))[:16] in error_line
    assert "Traceback" not in out
    _, out = run(capsys, "jobs", PIPELINE, "--errors", "--stack")
    assert "Traceback" in out


def command_env() -> dict[str, str]:
    """The environment of a `djframe` subprocess: the tests' pipelines importable, and the
    djframe under test (PYTHONPATH as this process has it)."""
    paths = [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


@pytest.mark.parametrize("command", ["status", "jobs", "diagram"])
def test_a_closed_pipe_ends_the_command_quietly(
    backend: str, counting: ModuleType, command: str
) -> None:
    if backend == "duckdb":
        counting.schema.connection.close()  # the command opens the file itself
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "djframe.cli", command, PIPELINE],
            env=command_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None
        process.stdout.close()  # as `| head` does once it has its lines: before the output
        _, stderr = process.communicate(timeout=120)
        assert stderr.decode() == "" and process.returncode == 141
    finally:
        if backend == "duckdb":
            importlib.reload(counting)


def test_diagram_to_stdout_and_file(
    filled: ModuleType, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, out = run(capsys, "diagram", PIPELINE)
    assert out.startswith("flowchart TB") and '(("Square"))' in out
    target = tmp_path / "pipeline.svg"
    run(capsys, "diagram", PIPELINE, "--format", "svg", "-o", str(target))
    assert target.read_text().startswith("<svg")


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ["status", "populate", "jobs", "diagram", "gc", "demo", "mcp"]:
        with pytest.raises(SystemExit) as stop:
            main([command, "--help"])
        assert stop.value.code == 0
        assert "usage: djframe" in capsys.readouterr().out


def test_unknown_module_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="cannot import the pipeline module"):
        main(["status", "no_such_pipeline_module"])


def test_console_script_runs(backend: str, counting: ModuleType) -> None:
    if backend == "duckdb":
        counting.schema.connection.close()  # the command opens the file itself
    out = subprocess.run(
        [sys.executable, "-m", "djframe.cli", "status", PIPELINE, "--json"],
        env=command_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out)[0]["tables"][0]["class"] == "Item"
    if backend == "duckdb":
        importlib.reload(counting)


def test_schema_describe_text_and_json(filled: ModuleType) -> None:
    text = filled.schema.describe()
    assert "class Square(dj.Computed)" in text and "-> Item" in text
    state = json.loads(filled.schema.describe(format="json"))
    assert "Item" in [t["class"] for t in state["tables"]]
    assert state["backend"] in {"duckdb", "postgres"} and "password" not in state["database"]
    with pytest.raises(ValueError, match="text' or 'json'"):
        filled.schema.describe(format="yaml")


def test_tables_are_plain_when_piped_and_drawn_in_a_terminal() -> None:
    from djframe.cli import plain_table, rich_table

    rows = [{"table": "Square", "rows": 3}]
    assert plain_table(rows, ["table", "rows"]).splitlines()[2].split() == ["Square", "3"]
    drawn = rich_table(rows, ["table", "rows"])
    assert "Square" in drawn and ("┃" in drawn or "│" in drawn)


def test_gc_reports_as_json(filled: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "gc", PIPELINE, "--json")
    assert code == 0
    report = json.loads(out)
    assert list(report) == [filled.schema.name] and isinstance(report[filled.schema.name], list)
    _, out = run(capsys, "gc", PIPELINE, "--apply")
    assert "no stored objects" in out or filled.schema.name in out


STORED_PIPELINE = '''
import os

import djframe as dj

schema = dj.Schema(
    os.environ["DJFRAME_TEST_WORKER_SCHEMA"] + "_stored",
    connection=dj.connect(os.environ["DJFRAME_TEST_WORKER_URL"]),
    store=os.environ["DJFRAME_TEST_STORE"],
)


@schema
class Trace(dj.Manual):
    definition = """
    trace_id : int32
    ---
    samples : <npy@>
    """
'''


@pytest.fixture
def stored(
    counting: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """A pipeline with a store-typed attribute, next to the counting one (same database)."""
    (tmp_path / "stored_pipeline.py").write_text(STORED_PIPELINE)
    monkeypatch.setenv("DJFRAME_TEST_STORE", str(tmp_path / "store"))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("stored_pipeline")
    yield module
    module.schema.drop(prompt=False)
    module.schema.connection.close()
    sys.modules.pop("stored_pipeline")


def test_gc_reports_unreferenced_objects_young_and_old(
    stored: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    stored.Trace.insert([{"trace_id": i, "samples": np.full(3, i)} for i in range(3)])
    (stored.Trace & {"trace_id": 0}).delete(prompt=False)
    code, out = run(capsys, "gc", "stored_pipeline")
    assert code == 0 and "Trace" in out
    assert "1 unreferenced object(s): --apply would remove 0 (a dry run)" in out
    assert "1 younger than 3600 s are spared" in out
    _, out = run(capsys, "gc", "stored_pipeline", "--json", "--sql-names")
    (row,) = json.loads(out)[stored.schema.name]
    assert row["table"] == f"{stored.schema.name}.trace"
    assert (row["objects"], row["unreferenced"], row["spared"], row["removed"]) == (3, 1, 1, 0)
    _, out = run(capsys, "gc", "stored_pipeline", "--apply")
    assert "removed 0; 1 younger than 3600 s are spared" in out
    _, out = run(capsys, "gc", "stored_pipeline", "--apply", "--min-age", "0")
    assert "1 unreferenced object(s): removed 1; 0 younger than 0 s" in out
    _, out = run(capsys, "gc", "stored_pipeline")
    assert "0 unreferenced object(s)" in out
    assert len(stored.Trace) == 2
