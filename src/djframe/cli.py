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
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from djframe.catalog import class_label
from djframe.compute.populate import auto_tables, populate_pipeline
from djframe.demo import run_demo
from djframe.diagram import Diagram
from djframe.errors import ConfigError, DjframeError
from djframe.errors import ConnectionError as UnreachableError
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


def table_name(owner: Any, full_name: str, args: argparse.Namespace) -> str:
    """How the commands name a table of ``owner`` (a schema or a table): its class name
    (``Master.Part`` for a part), or its SQL name (``schema.table``) with ``--sql-names``."""
    return full_name if args.sql_names else class_label(owner.connection.tables, full_name)


# -- commands --------------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    schemas = schemas_of(load_pipeline(args.pipeline))
    states = [describe_schema(s) for s in schemas]
    rows = []
    for schema, state in zip(schemas, states, strict=True):
        for t in state["tables"]:
            t.pop("definition")
            rows.append(
                {
                    "schema": state["schema"],
                    "table": table_name(schema, f"{schema.name}.{t['name']}", args),
                    "tier": t["tier"],
                    "rows": t["rows"],
                    "remaining": t.get("remaining", ""),
                    "errors": t["jobs"]["error"] if "jobs" in t else "",
                }
            )
    columns = ["schema", "table", "tier", "rows", "remaining", "errors"]
    emit(states if args.json else rows, args.json, text_table(rows, columns))
    return 0


def cmd_populate(args: argparse.Namespace) -> int:
    schemas = schemas_of(load_pipeline(args.pipeline))
    restrictions = [json.loads(r) for r in args.restrict]
    targets = schemas if not args.table else [pick_table(schemas, name) for name in args.table]
    results: dict[str, Any] = {}
    failure: DjframeError | None = None
    try:
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
    except DjframeError as exc:  # not a make's error (those are recorded): the run itself failed
        failure = exc
    names = {type(t).__name__: table_name(t, t.full_name, args) for t in auto_tables(targets)}
    rows = [
        {
            "table": names.get(name, name),
            "computed": r["success_count"],
            "errors": len(r["error_list"]),
        }
        for name, r in results.items()
    ]
    report = {
        names.get(name, name): {"success_count": r["success_count"], "error_list": r["error_list"]}
        for name, r in results.items()
    }
    text = text_table(rows, ["table", "computed", "errors"])
    text += skipped_note(args.pipeline, skipped_errors(schemas, results, names))
    emit(report, args.json, text)
    if failure is not None:
        print(f"djframe populate: stopped: {type(failure).__name__}: {failure}", file=sys.stderr)
        return 1
    return 1 if any(r["error_list"] for r in results.values()) else 0


def skipped_errors(
    schemas: list[Any], results: dict[str, Any], names: dict[str, str]
) -> dict[str, int]:
    """Per populated table, its keys still in error from earlier runs (populate skips them)."""
    skipped: dict[str, int] = {}
    for schema in schemas:
        for info in schema.user_tables():
            if info.class_name in results:
                errors = jobs_summary(schema, info)["error"]
                count = errors - len(results[info.class_name]["error_list"])
                if count > 0:
                    skipped[names.get(info.class_name, info.class_name)] = count
    return skipped


def skipped_note(pipeline: str, skipped: dict[str, int]) -> str:
    """What the populate summary says of the keys it skipped, and how to retry them."""
    if not skipped:
        return ""
    detail = ", ".join(f"{name}: {count}" for name, count in skipped.items())
    return (
        f"\n\nskipped {sum(skipped.values())} key(s) whose job is in error from an earlier run "
        f"({detail}).\nSee why: djframe jobs {pipeline} --errors\n"
        f"Retry them: djframe jobs {pipeline} --clear-errors, then populate again."
    )


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


def error_rows(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The text view of error jobs: table, key, when and the whole message."""
    return [
        {
            "table": e["table"],
            "key": key_text(e["key"]),
            "when": str(e["_completed_time"] or e["_created_time"])[:19],
            "error_message": e["_error_message"],
        }
        for e in errors
    ]


def key_text(key: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in key.items())


def error_stacks(errors: list[dict[str, Any]]) -> str:
    """Each error job's traceback under a line naming its table and key (``--stack``)."""
    return "".join(
        f"\n\n{e['table']} {key_text(e['key'])}:\n{str(e['_error_stack'] or '').rstrip()}"
        for e in errors
    )


def cmd_jobs(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    listing = args.errors or args.clear_errors
    for schema in schemas_of(load_pipeline(args.pipeline)):
        for info in schema.user_tables():
            if info.tier not in {"imported", "computed"}:
                continue
            name = table_name(schema, info.full_name, args)
            summary = jobs_summary(schema, info)
            rows.append({"table": name, **summary})
            if summary["error"] and listing:
                jobs = table_class(schema.connection, info.full_name)().jobs
                key = info.heading.primary_key
                errors += [error_entry(name, key, e) for e in jobs.errors.to_dicts()]
                if args.clear_errors:
                    jobs.errors.delete(prompt=False)
    columns = ["table", "pending", "reserved", "success", "error", "ignore", "total"]
    text = text_table(rows, columns)
    if errors:
        text += "\n\n" + text_table(error_rows(errors), ["table", "key", "when", "error_message"])
        text += error_stacks(errors) if args.stack else ""
    document: dict[str, Any] = {"jobs": rows}
    if listing:
        document["errors"] = errors
    if args.clear_errors:
        text += f"\n\ncleared {len(errors)} error job(s): populate will try them again."
        document["cleared"] = len(errors)
    emit(document, args.json, text)
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
        report = schema.gc(dry_run=not args.apply, min_age_seconds=args.min_age).to_dicts()
        if args.sql_names:  # the report names tables by class; these are the schema's
            full = {class_label(schema.connection.tables, n): n for n in schema_tables(schema)}
            report = [row | {"table": full.get(row["table"], row["table"])} for row in report]
        reports[schema.name] = report
    rows = [{"schema": name, **row} for name, report in reports.items() for row in report]
    text = text_table(rows, list(rows[0])) + gc_note(rows, args) if rows else ""
    emit(reports, args.json, text or "no stored objects")
    return 0


def gc_note(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """Both numbers of unreferenced objects: those removed (or to remove), those spared."""
    unreferenced = sum(r["unreferenced"] for r in rows)
    spared = sum(r["spared"] for r in rows)
    done = (
        f"removed {sum(r['removed'] for r in rows)}"
        if args.apply
        else f"--apply would remove {unreferenced - spared} (a dry run)"
    )
    return (
        f"\n\n{unreferenced} unreferenced object(s): {done}; {spared} younger than "
        f"{args.min_age:g} s are spared, as their transaction may still be running."
    )


def schema_tables(schema: Any) -> list[str]:
    return [info.full_name for info in schema.user_tables()]


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
            sub.add_argument(
                "--sql-names",
                action="store_true",
                help="name tables by their SQL names (schema.table), not their classes",
            )
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
    jobs.add_argument("--stack", action="store_true", help="with --errors: show each stack")
    diagram = command("diagram", "draw the pipeline (Mermaid or SVG)", cmd_diagram, False)
    diagram.add_argument("--format", choices=["mermaid", "svg"], default="mermaid")
    diagram.add_argument("--output", "-o", help="file to write (default: standard output)")
    gc = command("gc", "find (and with --apply remove) unreferenced stored objects", cmd_gc)
    gc.add_argument("--apply", action="store_true", help="remove them (default: dry run)")
    gc.add_argument(
        "--min-age",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="spare objects younger than this (default 3600: a transaction may still run)",
    )
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
    try:
        code = int(args.run(args))
        sys.stdout.flush()
    except (UnreachableError, ConfigError) as exc:  # a shell wants one line, not a traceback
        raise SystemExit(f"djframe: {' '.join(str(exc).split())}") from None
    except BrokenPipeError:  # the reader left (djframe status --json | head): stop quietly
        quiet_stdout()
        return SIGPIPE_EXIT
    return code


SIGPIPE_EXIT = 141
"""The exit status of a command whose reader closed the pipe (128 + SIGPIPE, as for cat)."""


def quiet_stdout() -> None:
    """Point standard output at /dev/null, so that flushing it at exit raises nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    raise SystemExit(main())
