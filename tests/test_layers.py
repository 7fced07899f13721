"""The package's floors import only downward (docs/design.md, "Layout").

An ``ast`` walk of src/djframe: every import of a djframe module, at module top, inside a
function or under ``TYPE_CHECKING``, must go to the same floor or a lower one, except the few
named in :data:`ALLOWED`, each with its reason. A new upward import fails here with the line
to look at; the fix is to hand the lower floor an object (the expression, the connection, a
context variable of ``session``, the ``registry``) rather than to import the higher one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "djframe"

FLOORS: list[set[str]] = [
    {"_typing", "errors", "settings", "_sql"},  # foundation
    {"types", "heading", "catalog", "graph", "frames"},  # model
    {"backends", "adapters"},  # engines (adapters: their SQL spelled for users)
    {"connection", "cursor", "dependencies", "session", "registry", "keyset"},  # a database session
    {"codecs", "builtin_codecs", "objectref", "store", "blob"},  # values and objects
    {"declare"},  # the definition language
    {"compile"},  # expressions -> Ibis -> SQL
    # services over Relation
    {"results", "fetch", "versioning", "insert", "delete", "staged", "validation", "trace"},
    {"algebra", "condition"},  # the expression nodes (condition: at DataJoint's path)
    {"table", "schema"},  # tables and schemas
    {"compute"},  # populate, jobs, provenance, workers
    {"layout", "diagram", "status", "demo", "pipelines", "cli", "mcp", "__init__"},  # faces
]

ALLOWED: dict[tuple[str, str], str] = {
    # The base class builds its operator nodes (restrict -> Top, aggr -> Aggregation, + ->
    # Union), which subclass it: sqlglot's expressions/core.py does the same.
    ("algebra.expression", "algebra"): "operator methods build their nodes",
    # Conveniences a DataJoint user expects on the schema object; they delegate upward.
    ("schema", "compute.populate"): "Schema.populate() runs the pipeline",
    ("schema", "status"): "Schema.describe(format='json') is the status document",
}

LOOP_LIMIT = 6


def floor_of(module: str) -> int:
    top = module.split(".")[0]
    for number, floor in enumerate(FLOORS):
        if top in floor:
            return number
    raise AssertionError(f"djframe.{module} is on no floor: add it to FLOORS in {__file__}")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def type_checking_lines(tree: ast.Module) -> set[int]:
    """Line numbers of the imports under ``if TYPE_CHECKING:`` (they never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            lines |= {
                n.lineno
                for stmt in node.body
                for n in ast.walk(stmt)
                if isinstance(n, ast.Import | ast.ImportFrom)
            }
    return lines


def imports(path: Path, *, at_run_time: bool = False) -> Iterator[tuple[str, int]]:
    """The djframe modules ``path`` imports, with line numbers (``at_run_time``: not those
    under ``TYPE_CHECKING``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = type_checking_lines(tree) if at_run_time else set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("djframe."):
                    yield alias.name.removeprefix("djframe."), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module or ""]).strip(".")
            elif node.module and (node.module == "djframe" or node.module.startswith("djframe.")):
                target = node.module.removeprefix("djframe").lstrip(".")
            else:
                continue
            if target:
                yield target, node.lineno
            else:  # from djframe import x: the submodule x
                yield from ((alias.name, node.lineno) for alias in node.names)


def allowed(source: str, target: str) -> bool:
    return any(
        (source == s or source.startswith(s + ".")) and (target == t or target.startswith(t + "."))
        for s, t in ALLOWED
    )


def edges(*, at_run_time: bool = False) -> Iterator[tuple[str, str, int]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        for target, line in imports(path, at_run_time=at_run_time):
            if target != source:
                yield source, target, line


def test_no_import_runs_up() -> None:
    upward = [
        f"djframe/{source.replace('.', '/')}.py:{line} imports djframe.{target} "
        f"(floor {floor_of(target)} above {floor_of(source)})"
        for source, target, line in edges()
        if floor_of(target) > floor_of(source) and not allowed(source, target)
    ]
    assert not upward, "imports that run up a floor:\n" + "\n".join(upward)


def test_import_loops_stay_small() -> None:
    """At run time (annotations aside), modules that import each other are few."""
    graph = nx.DiGraph([(s, t) for s, t, _ in edges(at_run_time=True) if s != "__init__"])
    largest = max(nx.strongly_connected_components(graph), key=len)
    assert len(largest) <= LOOP_LIMIT, f"an import loop of {len(largest)}: {sorted(largest)}"


def test_every_module_is_on_a_floor() -> None:
    for path in PACKAGE.rglob("*.py"):
        floor_of(module_name(path))
