"""The ``djframe`` command: look at a pipeline and run it from a shell, a scheduler or an agent.

A pipeline is named as an importable module (``djframe status mypkg.pipeline``) or a path to
a Python file; its schemas are the ``dj.Schema`` objects it defines. Every reporting command
takes ``--json`` and prints one JSON document; otherwise it prints aligned text tables.

Sub-commands: ``status``, ``populate``, ``jobs``, ``diagram``, ``gc``, ``demo`` and ``mcp``
(the pipeline served to agents, :mod:`djframe.mcp`); each has ``--help``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from djframe.compute.populate import auto_tables, populate_pipeline
from djframe.demo import run_demo
from djframe.diagram import Diagram
from djframe.pipelines import load_pipeline, schemas_of
from djframe.registry import table_class
from djframe.status import describe_schema, jobs_summary

__all__ = ["main"]


# -- output ----------------------------------------------------------------------------------------
def emit(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if as_json else text)


def text_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Rows as a table: drawn with rich in a terminal, aligned plain text when piped."""
    if sys.stdout.isatty():
        return rich_table(rows, columns)
    return plain_table(rows, columns)


def rich_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, header_style="bold")
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    console = Console(force_terminal=True)
    with console.capture() as captured:
        console.print(table)
    return captured.get().rstrip("\n")


def plain_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Rows as an aligned plain-text table."""
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


# -- commands --------------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    states = [describe_schema(s) for s in schemas_of(load_pipeline(args.pipeline))]
    for state in states:
        for table in state["tables"]:
            table.pop("definition")
    rows = [
        {
            "schema": state["schema"],
            "table": t["class"],
            "tier": t["tier"],
            "rows": t["rows"],
            "remaining": t.get("remaining", ""),
            "errors": t["jobs"]["error"] if "jobs" in t else "",
        }
        for state in states
        for t in state["tables"]
    ]
    columns = ["schema", "table", "tier", "rows", "remaining", "errors"]
    emit(states if args.json else rows, args.json, text_table(rows, columns))
    return 0


def cmd_populate(args: argparse.Namespace) -> int:
    schemas = schemas_of(load_pipeline(args.pipeline))
    restrictions = [json.loads(r) for r in args.restrict]
    targets = schemas if not args.table else [pick_table(schemas, name) for name in args.table]
    results: dict[str, Any] = {}
    for target in targets:
        options = dict(
            processes=args.workers,
            reserve_jobs=args.reserve_jobs,
            display_progress=None if not args.json else False,
            max_calls=args.max_calls,
        )
        if restrictions:
            for table in _auto(target):
                results[type(table).__name__] = table.populate(
                    *restrictions, suppress_errors=True, **options
                )
        else:
            results |= populate_pipeline(target, **options)
    rows = [
        {"table": name, "computed": r["success_count"], "errors": len(r["error_list"])}
        for name, r in results.items()
    ]
    report = {
        name: {"success_count": r["success_count"], "error_list": r["error_list"]}
        for name, r in results.items()
    }
    emit(report, args.json, text_table(rows, ["table", "computed", "errors"]))
    return 1 if any(r["error_list"] for r in results.values()) else 0


def _auto(target: Any) -> list[Any]:
    return auto_tables([target])


def pick_table(schemas: list[Any], name: str) -> Any:
    for schema in schemas:
        for info in schema.user_tables():
            if name in {info.class_name, info.name}:
                return table_class(schema.connection, info.full_name)
    raise SystemExit(f"djframe: no table named {name!r} in the pipeline.")


def error_entry(table: str, key: list[str], job: dict[str, Any]) -> dict[str, Any]:
    """An error job as the jobs command reports it: its table, its key, and the queue's own
    columns (``_error_message``, ...), which a key attribute never collides with."""
    own = {name: value for name, value in job.items() if name not in key}
    return {"table": table, "key": {name: job[name] for name in key}, **own}


def cmd_jobs(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for schema in schemas_of(load_pipeline(args.pipeline)):
        for info in schema.user_tables():
            if info.tier not in {"imported", "computed"}:
                continue
            summary = jobs_summary(schema, info)
            rows.append({"table": info.class_name, **summary})
            if summary["error"] and (args.errors or args.clear_errors):
                jobs = table_class(schema.connection, info.full_name)().jobs
                key = info.heading.primary_key
                errors += [error_entry(info.class_name, key, e) for e in jobs.errors.to_dicts()]
                if args.clear_errors:
                    jobs.errors.delete(prompt=False)
    columns = ["table", "pending", "reserved", "success", "error", "ignore", "total"]
    text = text_table(rows, columns)
    if errors:
        text += "\n\n" + text_table(
            [{"table": e["table"], "error_message": e["_error_message"][:100]} for e in errors],
            ["table", "error_message"],
        )
    if args.clear_errors:
        text += f"\n\ncleared {len(errors)} error job(s): populate will try them again."
    emit({"jobs": rows, "errors": errors, "cleared": args.clear_errors}, args.json, text)
    return 0


def cmd_diagram(args: argparse.Namespace) -> int:
    schemas = schemas_of(load_pipeline(args.pipeline))
    diagram = Diagram(schemas[0])
    for schema in schemas[1:]:
        diagram = diagram + Diagram(schema)
    text = diagram.mermaid() if args.format == "mermaid" else diagram.svg()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    reports = {}
    for schema in schemas_of(load_pipeline(args.pipeline)):
        if not hasattr(schema, "gc"):
            raise SystemExit("djframe: this version has no object store garbage collector.")
        reports[schema.name] = schema.gc(dry_run=not args.apply).to_dicts()
    rows = [{"schema": name, **row} for name, report in reports.items() for row in report]
    columns = list(rows[0]) if rows else ["schema"]
    emit(reports, args.json, text_table(rows, columns) if rows else "no stored objects")
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from djframe.mcp import serve

    serve(args.pipeline, allow_write=args.allow_write, max_rows=args.max_rows)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    run_demo(args.folder)
    return 0


# -- the parser ------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="djframe",
        description="Relational workflows on dataframes: inspect and run a pipeline.",
    )
    commands = top.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, run: Any, json_flag: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        if name != "demo":
            sub.add_argument("pipeline", help="module (mypkg.pipeline) or file (pipeline.py)")
        if json_flag:
            sub.add_argument("--json", action="store_true", help="print one JSON document")
        return sub

    command("status", "tables, rows, remaining work and errors, per schema", cmd_status)
    populate = command("populate", "compute what is missing, parents first", cmd_populate)
    populate.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    populate.add_argument(
        "--reserve-jobs", action="store_true", help="claim keys from the job queue (many hosts)"
    )
    populate.add_argument(
        "--restrict", action="append", default=[], metavar="JSON", help="e.g. '{\"subject\": 3}'"
    )
    populate.add_argument("--table", action="append", default=[], help="only this table")
    populate.add_argument("--max-calls", type=int, default=None, help="at most this many keys")
    jobs = command("jobs", "job queues: counts per status, errors", cmd_jobs)
    jobs.add_argument("--errors", action="store_true", help="list the error jobs")
    jobs.add_argument(
        "--clear-errors", action="store_true", help="delete error jobs so they are retried"
    )
    diagram = command("diagram", "draw the pipeline (Mermaid or SVG)", cmd_diagram, False)
    diagram.add_argument("--format", choices=["mermaid", "svg"], default="mermaid")
    diagram.add_argument("--output", "-o", help="file to write (default: standard output)")
    gc = command("gc", "find (and with --apply remove) unreferenced stored objects", cmd_gc)
    gc.add_argument("--apply", action="store_true", help="remove them (default: dry run)")
    mcp = command(
        "mcp", "serve the pipeline to agents (Model Context Protocol, stdio)", cmd_mcp, False
    )
    mcp.add_argument(
        "--allow-write",
        action="store_true",
        help="also insert, populate and delete (default: read-only)",
    )
    mcp.add_argument("--max-rows", type=int, default=10_000, help="most rows a query returns")
    demo = command("demo", "build and query the demo pipeline (DuckDB, embedded)", cmd_demo, False)
    demo.add_argument("--folder", default="djframe-demo", help="where the demo keeps its data")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
