"""One scratch copy of DataJoint's tests, ready to run: the alias, the plugin, the fixtures.

:func:`prepare` lays out ``<scratch>/work`` (the suite's ``tests/`` copied from the sdist,
with :mod:`.suite_conftest` as ``conftest.py`` in its ``integration`` and ``unit`` folders),
``<scratch>/alias`` (``datajoint`` = djframe) and ``<scratch>/plugin`` (:mod:`.plugin`).
:func:`run_pytest` runs pytest there in a child process, so each backend starts from a fresh
interpreter and ``dj.config``, importing the same djframe as this process;
:func:`collect` lists the suite's tests with DataJoint itself (its ``src/`` from the sdist),
so what counts as a test never depends on how far djframe gets.

Examples
--------
>>> sorted(OVERRIDDEN)
['integration', 'unit']
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["OVERRIDDEN", "Suite", "collect", "djframe_root", "prepare", "run_pytest"]

HERE = Path(__file__).resolve().parent
OVERRIDDEN = ("integration", "unit")  # the folders that get our connection fixtures
PYTEST_ARGS = (
    "-p",
    "djsuite_plugin",
    "-p",
    "no:cacheprovider",
    "--continue-on-collection-errors",
    "-q",
    "-rN",
    "--tb=short",
    "-W",
    "ignore::DeprecationWarning",
)
# Inherited settings that would point the suite somewhere else; the run sets its own.
_DROPPED_ENV_PREFIXES = ("DJ_", "DJFRAME_", "DJSUITE_", "S3_", "PYTEST_")


@dataclass(frozen=True)
class Suite:
    sdist: Path
    work: Path  # the pytest root: holds tests/
    alias: Path  # holds datajoint/, the alias: on PYTHONPATH for runs, not for collecting
    plugin: Path  # holds djsuite_plugin.py: always on PYTHONPATH


def prepare(sdist: Path, scratch: Path) -> Suite:
    """Copy the suite's tests into ``scratch`` and add the alias, plugin and fixtures."""
    work, alias, plugin = scratch / "work", scratch / "alias", scratch / "plugin"
    shutil.copytree(sdist / "tests", work / "tests")
    for folder in OVERRIDDEN:
        shutil.copyfile(HERE / "suite_conftest.py", work / "tests" / folder / "conftest.py")
    (work / "pytest.ini").write_text("[pytest]\n")  # stops pytest looking further up
    (alias / "datajoint").mkdir(parents=True)
    shutil.copyfile(HERE / "alias_datajoint.py", alias / "datajoint" / "__init__.py")
    plugin.mkdir()
    shutil.copyfile(HERE / "plugin.py", plugin / "djsuite_plugin.py")
    return Suite(sdist, work, alias, plugin)


def collect(suite: Suite, out: Path) -> list[str]:
    """The node ids of every test in the suite, as collected with DataJoint 2.3.5 itself."""
    path = os.pathsep.join([str(suite.sdist / "src"), str(suite.plugin)])
    log = out.with_suffix(".log")
    code = _pytest(suite, {"PYTHONPATH": path, "DJSUITE_OUT": str(out)}, ["--collect-only"], log)
    data = _read(out)
    if code != 0 or data is None or data["collect_errors"]:
        raise RuntimeError(
            f"collecting DataJoint's suite with DataJoint itself failed (exit {code}); "
            f"are DataJoint 2.3.5's dependencies installed (`nox -s djsuite` does)? See {log}"
        )
    return list(data["collected"])


def run_pytest(
    suite: Suite, env: dict[str, str], out: Path, extra: list[str]
) -> tuple[int, dict[str, Any] | None]:
    """Run the suite with the alias; returns pytest's exit code and the plugin's JSON."""
    path = os.pathsep.join([str(suite.alias), str(suite.plugin), str(djframe_root())])
    env = {"PYTHONPATH": path, "DJSUITE_OUT": str(out), **env}
    code = _pytest(suite, env, extra, out.with_suffix(".log"))
    return code, _read(out)


def djframe_root() -> Path:
    """The folder holding the ``djframe`` this process imports: the children import it too."""
    spec = importlib.util.find_spec("djframe")
    if spec is None or spec.origin is None:
        raise RuntimeError("djframe is not importable: install it (`pip install -e .`)")
    return Path(spec.origin).resolve().parents[1]


def _pytest(suite: Suite, env: dict[str, str], extra: list[str], log: Path) -> int:
    base = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV_PREFIXES)}
    command = [sys.executable, "-m", "pytest", "tests", *PYTEST_ARGS, "-c", "pytest.ini", *extra]
    with log.open("w") as sink:
        proc = subprocess.run(
            command, cwd=suite.work, env={**base, **env}, stdout=sink, stderr=subprocess.STDOUT
        )
    return proc.returncode


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data
