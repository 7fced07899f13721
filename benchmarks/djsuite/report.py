"""From the plugin's per-test records to the summary: counts, modules, groups, root causes.

:func:`outcomes` gives every applicable test of one backend a status and, unless it
passed, a root cause (a module that failed to import stops all of its tests with that
error; a test that was never run says so). :func:`summarize` counts them per module, per
issue-13 group and per cause; :func:`print_summary` and :func:`markdown` show the result.

Examples
--------
>>> status = {"t::a": {"status": "passed", "cause": None, "group": None}}
>>> module_table({"duckdb": status})["t"]
{'duckdb': [1, 1]}
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from benchmarks.djsuite.alias_datajoint import PLACEHOLDER_MARK
from benchmarks.djsuite.causes import GROUPS, INTERNALS, cause, group_of, module_topic

__all__ = ["markdown", "module_table", "outcomes", "print_summary", "summarize"]

Outcome = dict[str, Any]
_EXAMPLES = 3


def outcomes(
    applicable: list[str], raw: dict[str, Any] | None, log_tail: str
) -> dict[str, Outcome]:
    """Status, first error, root cause and group of each applicable test on one backend."""
    results = (raw or {}).get("results", {})
    broken = (raw or {}).get("collect_errors", {})
    whole_run = None if raw else _run_error(log_tail)
    table: dict[str, Outcome] = {}
    for nodeid in applicable:
        record = results.get(nodeid)
        if record is not None:
            status, error = record["outcome"], record["error"]
            if status in ("skipped", "xfailed"):
                error = {"type": status.capitalize(), "message": record.get("reason", "")}
        else:
            error = broken.get(nodeid.split("::")[0]) or whole_run or _NOT_RUN
            status = "error"
        table[nodeid] = _with_cause(nodeid, status, error)
    return table


_NOT_RUN = {"type": "NotRun", "message": "collected with DataJoint, not with djframe"}


def _run_error(log_tail: str) -> dict[str, str]:
    """The error that stopped pytest before any test ran (a conftest that fails to import)."""
    lines = [line[1:].strip() for line in log_tail.splitlines() if line.startswith("E ")]
    last = lines[-1] if lines else (log_tail.strip().splitlines() or ["no output"])[-1]
    kind, _, message = last.partition(": ")
    return {"type": kind.split(".")[-1] or "RunError", "message": message, "where": "conftest"}


def _with_cause(nodeid: str, status: str, error: dict[str, str] | None) -> Outcome:
    if status == "passed" or error is None:
        return {"status": status, "cause": None, "group": None, "error": error}
    root = cause(error["type"], error.get("message", ""))
    group = group_of(root, nodeid, at_import=error.get("when") == "import")
    return {"status": status, "cause": root, "group": group, "error": error}


def module_table(per_backend: dict[str, dict[str, Outcome]]) -> dict[str, dict[str, list[int]]]:
    """``{module: {backend: [passed, applicable]}}``."""
    modules: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for backend, table in per_backend.items():
        for nodeid, outcome in table.items():
            counts = modules[nodeid.split("::")[0]].setdefault(backend, [0, 0])
            counts[0] += outcome["status"] == "passed"
            counts[1] += 1
    return dict(sorted(modules.items()))


def summarize(per_backend: dict[str, dict[str, Outcome]], meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON summary: totals, modules, groups and root causes per backend, and each test."""
    backends = {name: _backend_summary(table) for name, table in per_backend.items()}
    tests = {
        nodeid: {name: _short(table[nodeid]) for name, table in per_backend.items()}
        for nodeid in next(iter(per_backend.values()), {})
    }
    return {**meta, "backends": backends, "modules": module_table(per_backend), "tests": tests}


def _short(outcome: Outcome) -> dict[str, Any]:
    error = outcome["error"] or {}
    return {
        "status": outcome["status"],
        "cause": outcome["cause"],
        "group": outcome["group"],
        "where": error.get("where", ""),
        "djframe": error.get("djframe", ""),
    }


def _backend_summary(table: dict[str, Outcome]) -> dict[str, Any]:
    statuses = Counter(outcome["status"] for outcome in table.values())
    failing = {nodeid: o for nodeid, o in table.items() if o["status"] != "passed"}
    groups = Counter(o["group"] for o in failing.values())
    topics = Counter(module_topic(n) for n, o in failing.items() if o["group"] == INTERNALS)
    shared = Counter(o["cause"] for o in failing.values() if _in_shared_fixture(o))
    placeholders = sum(
        PLACEHOLDER_MARK in (o["error"] or {}).get("message", "") for o in failing.values()
    )
    return {
        "on_placeholders": placeholders,
        "passed": statuses["passed"],
        "applicable": len(table),
        "statuses": dict(statuses),
        "groups": {group: groups[group] for group in sorted(groups, key=_group_order)},
        "private_names_by_topic": {t: topics[t] for t in sorted(topics, key=_group_order)},
        "in_shared_fixtures": dict(shared.most_common()),
        "causes": _causes(failing),
    }


def _in_shared_fixture(outcome: Outcome) -> bool:
    """Stopped in the suite's own tests/conftest.py: one fix there unblocks many tests."""
    return str((outcome["error"] or {}).get("where", "")).startswith("tests/conftest.py:")


def _group_order(group: str) -> tuple[int, str]:
    return (GROUPS.index(group), "") if group in GROUPS else (len(GROUPS), group)


def _causes(failing: dict[str, Outcome]) -> list[dict[str, Any]]:
    by_cause: dict[str, list[str]] = defaultdict(list)
    for nodeid, outcome in failing.items():
        by_cause[outcome["cause"]].append(nodeid)
    ranked = sorted(by_cause.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        {
            "cause": root,
            "group": failing[ids[0]]["group"],
            "tests": len(ids),
            "examples": ids[:_EXAMPLES],
            "where": (failing[ids[0]]["error"] or {}).get("where", ""),
            "djframe": (failing[ids[0]]["error"] or {}).get("djframe", ""),
        }
        for root, ids in ranked
    ]


def print_summary(summary: dict[str, Any], top: int = 15) -> None:
    names = list(summary["backends"])
    print(f"\n{'module':<52}" + "".join(f"{name:>14}" for name in names))
    for module, counts in summary["modules"].items():
        cells = "".join(f"{'{}/{}'.format(*counts.get(n, [0, 0])):>14}" for n in names)
        print(f"{module.removeprefix('tests/'):<52}{cells}")
    for name, backend in summary["backends"].items():
        share = backend["passed"] / max(backend["applicable"], 1)
        print(
            f"\n{name}: {backend['passed']}/{backend['applicable']} passed ({share:.1%});"
            f" {backend['statuses']}"
        )
        print("  failing tests by group (first error):")
        for group, count in backend["groups"].items():
            print(f"    {count:4d}  {group}")
        print(f"  {backend['on_placeholders']} failed on a deferred DataJoint-private name")
        shared = sum(backend["in_shared_fixtures"].values())
        print(f"  {shared} stopped in the suite's shared fixtures (tests/conftest.py)")
        print("  stopped by DataJoint-private names, by topic:")
        for topic, count in backend["private_names_by_topic"].items():
            print(f"    {count:4d}  {topic}")
        print(f"  top {top} root causes:")
        for entry in backend["causes"][:top]:
            print(f"    {entry['tests']:4d}  [{entry['group']}] {entry['cause']}")


def markdown(summary: dict[str, Any], top: int = 15) -> str:
    """The report as Markdown: totals, groups side by side, the top causes with examples."""
    names = list(summary["backends"])
    lines = ["| backend | passed | applicable | share |", "|---|---:|---:|---:|"]
    for name, b in summary["backends"].items():
        lines.append(
            f"| {name} | {b['passed']} | {b['applicable']} | "
            f"{b['passed'] / max(b['applicable'], 1):.1%} |"
        )
    lines += ["", "| group | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += _count_rows(summary, "groups")
    lines += ["", f"Of the tests in *{INTERNALS}*, by topic:", ""]
    lines += ["| topic | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += _count_rows(summary, "private_names_by_topic")
    shown: list[tuple[str, list[Any]]] = []
    for name, b in summary["backends"].items():
        causes = b["causes"][:top]
        same = [other for other, listed in shown if _same_counts(listed, causes)]
        if same:
            lines += ["", f"Top {top} root causes on {name}: as on {same[0]}."]
            continue
        shown.append((name, causes))
        lines += ["", f"Top {top} root causes on {name}:", ""]
        lines += [_cause_item(rank, entry) for rank, entry in enumerate(causes, 1)]
    header = "| module | " + " | ".join(names) + " |"
    lines += ["", "Passed/applicable per test module:", "", header]
    lines += ["|---|" + "---:|" * len(names)]
    for module, counts in summary["modules"].items():
        cells = " | ".join("{}/{}".format(*counts.get(name, [0, 0])) for name in names)
        lines.append(f"| {module.removeprefix('tests/')} | {cells} |")
    return "\n".join(lines) + "\n"


def _same_counts(one: list[dict[str, Any]], other: list[dict[str, Any]]) -> bool:
    return [(e["cause"], e["tests"]) for e in one] == [(e["cause"], e["tests"]) for e in other]


def _count_rows(summary: dict[str, Any], key: str) -> list[str]:
    backends = list(summary["backends"].values())
    rows = sorted({row for b in backends for row in b[key]}, key=_group_order)
    return [
        f"| {row} | " + " | ".join(str(b[key].get(row, 0)) for b in backends) + " |" for row in rows
    ]


def _cause_item(rank: int, entry: dict[str, Any]) -> str:
    examples = ", ".join(f"`{e.split('::', 1)[-1]}`" for e in entry["examples"])
    where = f"\n   at `{entry['where']}`" if entry["where"] else ""
    inside = f"\n   in `{entry['djframe']}`" if entry["djframe"] else ""
    return (
        f"{rank}. **{entry['tests']} tests** [{entry['group']}] `{entry['cause']}`"
        f"\n   e.g. {examples}{where}{inside}"
    )
