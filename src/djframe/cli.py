"""The ``djframe`` command.

Sub-commands: ``demo`` builds and queries the example pipeline on the embedded default.
Each sub-command has ``--help``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["main"]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="djframe", description="Relational workflows on dataframes.")
    commands = top.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="build and query the demo pipeline (DuckDB, embedded)")
    demo.add_argument("--folder", default="djframe-demo", help="where the demo keeps its data")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "demo":
        from djframe.demo import run_demo

        run_demo(args.folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
