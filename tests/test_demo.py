"""The demo pipeline (README's first command) builds, computes, records its failing key, and
continues where it stopped when run again. It runs on the embedded default (DuckDB) only."""

from __future__ import annotations

from pathlib import Path

import pytest

import djframe as dj
from djframe.demo import FLAT, run_demo


def test_demo_runs_and_reruns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_demo(tmp_path)
    first = capsys.readouterr().out
    assert "'Features': 63" in first and "'SessionQuality': 8" in first
    assert "flat trace on channel 5" in first
    assert (tmp_path / "pipeline.duckdb").is_file() and (tmp_path / "djframe-store").is_dir()
    run_demo(tmp_path)
    second = capsys.readouterr().out
    assert "'Features': 0" in second  # nothing left to do; the error key is not retried
    conn = dj.connect(f"duckdb:///{tmp_path / 'pipeline.duckdb'}")
    try:
        demo = dj.virtual_schema("demo", connection=conn)
        assert len(demo.Features()) == 63
        assert len(demo.Features.Band()) == 63 * 4
        errors = demo.Features.jobs.errors.to_dicts()
        assert [{k: e[k] for k in FLAT} for e in errors] == [FLAT]
        spectrum = (demo.Features & {"subject_id": 1, "session": 1, "channel": 0}).fetch1(
            "spectrum"
        )
        assert spectrum.shape == (1001,)
    finally:
        conn.close()


def test_the_cli_opens_the_demo_pipeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from djframe.cli import main

    run_demo(tmp_path)
    capsys.readouterr()
    assert main(["status", str(tmp_path / "pipeline.py"), "--json"]) == 0
    state = json.loads(capsys.readouterr().out)[0]
    features = next(t for t in state["tables"] if t["class"] == "Features")
    assert features["rows"] == 63 and features["jobs"]["error"] == 1
    assert (
        main(
            [
                "diagram",
                str(tmp_path / "pipeline.py"),
                "--format",
                "svg",
                "-o",
                str(tmp_path / "p.svg"),
            ]
        )
        == 0
    )
    assert (tmp_path / "p.svg").read_text().startswith("<svg")
