"""The README's Python example runs as a new user would run it: twice, in a fresh folder.

Its code blocks are joined into one script and run in a subprocess with no configuration, so
`dj.Schema("lab")` opens `./djframe.duckdb` in the folder. On PostgreSQL the same script runs
with `DJFRAME_DATABASE_URL` naming the test server (and a schema name of its own, so that
runs never meet). The second run must succeed and compute nothing new.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import djframe as dj

README = Path(__file__).resolve().parents[1] / "README.md"
FIRST_COMMANDS = [
    "pip install nox && nox -s demo     # builds and queries the demo pipeline (embedded DuckDB)",
    "pip install nox && nox -s tests    # the whole test suite, DuckDB and PostgreSQL",
]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def run_example(script: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=script.parent,
        env=env,
        stdin=subprocess.DEVNULL,  # as a script, a delete does not ask
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_readme_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.split("```bash\n", 1)[0].strip() == "# djframe"
    assert blocks("bash")[0].splitlines() == FIRST_COMMANDS


def test_readme_points_to_the_docs() -> None:
    text = README.read_text(encoding="utf-8")
    for page in ["docs/index.md", "docs/quickstart.md", "docs/tutorial.ipynb", "docs/cli.md"]:
        assert f"]({page})" in text and (README.parent / page).exists()


def test_readme_example_computes_and_runs_again(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    script = tmp_path / "example.py"
    code = "\n".join(blocks("python"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJFRAME_")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)  # the djframe under test
    name = "lab"
    if backend == "postgres":
        name = f"readme_{os.getpid()}"
        env["DJFRAME_DATABASE_URL"] = url = str(request.getfixturevalue("pg_url"))
        code = code.replace('dj.Schema("lab")', f'dj.Schema("{name}")')
    script.write_text(code, encoding="utf-8")
    first = run_example(script, env)
    assert "'success_count': 2" in first
    second = run_example(script, env)
    assert "'success_count': 0, 'error_list': []" in second
    assert second.rsplit("shape:", 1)[1].startswith(" (0, ")  # the last frame, stale(): empty
    conn = dj.connect(f"duckdb:///{tmp_path / 'djframe.duckdb'}" if backend == "duckdb" else url)
    lab = dj.virtual_schema(name, connection=conn, store=tmp_path / "djframe-store")
    try:
        assert len(lab.Activity) == 2 and len(lab.Session) == 2 and len(lab.Subject) == 2
    finally:
        if backend == "postgres":
            dj.Schema(name, connection=conn).drop(prompt=False)
        conn.close()
