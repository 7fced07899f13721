"""The djframe command on a real pipeline module (tests/pipelines/counting.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

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
    code, out = run(capsys, "jobs", PIPELINE, "--clear-errors", "--json")
    assert json.loads(out)["cleared"] and len(filled.Square.jobs.errors) == 0
    filled.Item.update1({"item": 2, "value": 3.0})
    code, out = run(capsys, "populate", PIPELINE, "--table", "Square", "--restrict", '{"item": 2}')
    assert code == 0 and "Square" in out
    assert (filled.Square & {"item": 2}).fetch1("square") == 9.0


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
    tests = Path(__file__).parent
    out = subprocess.run(
        [sys.executable, "-m", "djframe.cli", "status", PIPELINE, "--json"],
        env={**os.environ, "PYTHONPATH": str(tests)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out)[0]["tables"][0]["class"] == "Item"
    if backend == "duckdb":
        import importlib

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
