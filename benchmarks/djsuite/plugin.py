"""The pytest plugin of a suite run: which tests exist, which ran how, and each one's first error.

The runner copies this file as ``djsuite_plugin.py`` next to the alias and loads it with
``-p djsuite_plugin``. It is driven by environment variables:

- ``DJSUITE_OUT``: the JSON file it writes at the end of the session.
- ``DJSUITE_SELECT``: a file of node ids, one a line; other tests are deselected.
- ``DJSUITE_TIMEOUT``: seconds a test may take (set-up, call and teardown) before it fails.

The JSON holds ``collected`` (node ids with their module), ``collect_errors`` (a test module
that could not be imported, with its error) and ``results`` (per test: ``outcome`` and the
first ``error`` with its exception type, message and where it happened).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

_results: dict[str, dict[str, Any]] = {}
_collected: list[str] = []
_collect_errors: dict[str, dict[str, str]] = {}
_SUITE = str(Path.cwd() / "tests")
_DJFRAME_MARK = os.sep + "djframe" + os.sep
_MESSAGE_LIMIT = 600


class SuiteTimeout(Exception):
    """A test ran longer than ``DJSUITE_TIMEOUT`` seconds."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    select = os.environ.get("DJSUITE_SELECT")
    if select:
        # One id a line: parametrized ids hold spaces ("[int unsigned-INTEGER]").
        wanted = set(Path(select).read_text().splitlines())
        keep = [item for item in items if item.nodeid in wanted]
        dropped = [item for item in items if item.nodeid not in wanted]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    _collected.extend(item.nodeid for item in items)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _collect_errors[report.nodeid] = _collect_error(report.longreprtext)


def _collect_error(text: str) -> dict[str, str]:
    """The last ``E   Type: message`` line of a collection error, and the suite's line."""
    lines = text.splitlines()
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    last = errors[-1] if errors else text.strip().splitlines()[-1]
    kind, _, message = last.partition(": ")
    where = ""
    for index, line in enumerate(lines[:-1]):
        if line.startswith("tests/") and ": in " in line:
            where = f"{line.split(': in ')[0]}: {lines[index + 1].strip()}"
    return {
        "type": kind.split(".")[-1],
        "message": message[:_MESSAGE_LIMIT],
        "where": where,
        "when": "import",
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    seconds = float(os.environ.get("DJSUITE_TIMEOUT", "0") or 0)
    if seconds:
        signal.signal(signal.SIGALRM, _on_timeout)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _on_timeout(signum: int, frame: object) -> None:
    raise SuiteTimeout(f"test exceeded DJSUITE_TIMEOUT={os.environ['DJSUITE_TIMEOUT']} s")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _record(item.nodeid, report, call)
    return report


def _record(nodeid: str, report: pytest.TestReport, call: pytest.CallInfo[None]) -> None:
    """A test's outcome over its phases: its first failure stays its error."""
    entry = _results.setdefault(nodeid, {"outcome": "passed", "error": None})
    if report.skipped:
        if entry["outcome"] == "passed":
            entry["outcome"] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
            entry["reason"] = _skip_reason(report)
    elif report.failed and entry["error"] is None:
        entry["outcome"] = "failed" if report.when == "call" else "error"
        if call.excinfo is not None:
            entry["error"] = _describe(call.excinfo, report.when)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])[:_MESSAGE_LIMIT]
    return str(longrepr)[:_MESSAGE_LIMIT]


def _describe(excinfo: pytest.ExceptionInfo[BaseException], when: str) -> dict[str, str]:
    """Type, first lines of the message, the suite's line that failed and djframe's deepest."""
    message = str(excinfo.value).strip()
    lines = message.splitlines()
    return {
        "type": excinfo.type.__name__,
        "message": "\n".join(lines[:3])[:_MESSAGE_LIMIT],
        "when": when,
        "where": _last_frame(excinfo, lambda path: path.startswith(_SUITE)),
        "djframe": _last_frame(excinfo, lambda path: _DJFRAME_MARK in path),
    }


def _last_frame(excinfo: pytest.ExceptionInfo[BaseException], keep: Any) -> str:
    """``path:line: source`` of the innermost traceback entry whose path ``keep`` accepts."""
    entries = [entry for entry in excinfo.traceback if keep(str(entry.path))]
    if not entries:
        return ""
    entry = entries[-1]
    path = str(entry.path)
    shown = path[len(_SUITE) - len("tests") :] if path.startswith(_SUITE) else _short(path)
    try:
        source = str(entry.statement).strip().splitlines()[0]
    except (IndexError, OSError, ValueError):
        source = ""
    return f"{shown}:{entry.lineno + 1}: {source}"[:300]


def _short(path: str) -> str:
    index = path.rfind(_DJFRAME_MARK)
    return path[index + 1 :] if index >= 0 else path


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("DJSUITE_OUT")
    if not out:
        return
    payload = {"collected": _collected, "collect_errors": _collect_errors, "results": _results}
    Path(out).write_text(json.dumps(payload, indent=1))
