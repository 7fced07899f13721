"""The pipeline a server serves: its module, loaded once, with its schemas and tables by name.

:func:`open_pipeline` sets ``dj.config["database.read_only"]`` *before* the pipeline module
connects, so that a read-only server's connections cannot write whatever the tools ask
(DuckDB opens the file read-only, PostgreSQL runs read-only transactions). It then names
every table as an expression writes it: ``Subject``, ``Features.Band`` for a part,
``lab.Subject`` for a table of schema ``lab`` (always accepted, needed where two schemas have
a table of the same name). Hidden tables (job queues, provenance) are not named.

Examples
--------
>>> pipeline = open_pipeline("pipeline.py", allow_write=False)  # doctest: +SKIP
>>> pipeline.table("Features.Band")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from types import ModuleType

import djframe as dj
from djframe.mcp.evaluate import Namespace
from djframe.pipelines import load_pipeline

__all__ = ["Pipeline", "PipelineError", "open_pipeline"]


class PipelineError(dj.DjframeError):
    """A table name the pipeline does not have, or an act the server does not allow."""


@dataclass
class Pipeline:
    """The schemas of one pipeline module, their tables by name, and the server's mode."""

    name: str
    schemas: list[dj.Schema]
    read_only: bool
    max_rows: int = 10_000
    tables: dict[str, type[dj.Table]] = field(default_factory=dict)
    """Every table by the name expressions use (see the module documentation)."""
    full_names: dict[str, str] = field(default_factory=dict)
    """Each table's ``schema.sql_name`` (as the library reports tables) -> its shortest name."""

    @property
    def namespace(self) -> Namespace:
        return Namespace(self.tables, tuple(s.name for s in self.schemas))

    def table(self, name: str) -> dj.Table:
        """The table ``name`` stands for, or a :class:`PipelineError` naming the tables."""
        found = self.tables.get(name)
        if found is None:
            known = ", ".join(self.names()) or "(none)"
            raise PipelineError(
                f"{name!r} is not a table of this pipeline; the tables are {known}."
            )
        return found()

    def names(self) -> list[str]:
        """The tables' shortest names, in the order the schemas list them."""
        shortest: dict[type[dj.Table], str] = {}
        for name, cls in self.tables.items():
            if cls not in shortest or len(name) < len(shortest[cls]):
                shortest[cls] = name
        return list(shortest.values())

    def name_of(self, table: dj.Table) -> str:
        """The shortest name of a table."""
        return min((n for n, c in self.tables.items() if c is type(table)), key=len)

    def auto_tables(self) -> list[dj.Table]:
        """The Imported and Computed tables, in the pipeline's order."""
        tables = [self.table(n) for n in self.names()]
        return [t for t in tables if t.tier in {"imported", "computed"}]


def open_pipeline(name: str, *, allow_write: bool, max_rows: int = 10_000) -> Pipeline:
    """Load the pipeline module ``name`` (as ``djframe status`` does) for serving."""
    dj.config["database.read_only"] = not allow_write
    with contextlib.redirect_stdout(sys.stderr):  # stdout will carry the protocol
        module = load_pipeline(name)
    schemas = schemas_of(module)
    pipeline = Pipeline(name, schemas, read_only=not allow_write, max_rows=max_rows)
    per_schema = {schema.name: tables_of(schema) for schema in schemas}
    pipeline.tables = named_tables(per_schema)
    pipeline.full_names = {
        f"{schema}.{cls().table_name}": pipeline.name_of(cls())
        for schema, tables in per_schema.items()
        for cls in tables.values()
    }
    return pipeline


def schemas_of(module: ModuleType) -> list[dj.Schema]:
    found = {v.name: v for v in vars(module).values() if isinstance(v, dj.Schema)}
    if not found:
        raise PipelineError(
            f"{module.__name__} defines no dj.Schema at its top level; name a module that does."
        )
    return list(found.values())


def named_tables(per_schema: dict[str, dict[str, type[dj.Table]]]) -> dict[str, type[dj.Table]]:
    """Every visible table by ``schema.Name``, and by ``Name`` where that is unambiguous."""
    qualified = {
        f"{schema}.{name}": cls
        for schema, tables in per_schema.items()
        for name, cls in tables.items()
    }
    short = Counter(n.split(".", 1)[1] for n in qualified)
    plain = {n.split(".", 1)[1]: c for n, c in qualified.items() if short[n.split(".", 1)[1]] == 1}
    return plain | qualified


def tables_of(schema: dj.Schema) -> dict[str, type[dj.Table]]:
    """The schema's tables by class name, parts as ``Master.Part``, parents first."""
    classes = vars(dj.virtual_schema(schema.name, connection=schema.connection, store=schema.store))
    order = {name: i for i, name in enumerate(schema.list_tables())}
    masters = [
        c
        for c in classes.values()
        if isinstance(c, type) and issubclass(c, dj.Table) and c().table_name in order
    ]
    named: dict[str, type[dj.Table]] = {}
    for master in sorted(masters, key=lambda c: order[c().table_name]):
        named[master.__name__] = master
        for part in parts_of(master):
            named[f"{master.__name__}.{part.__name__}"] = part
    return named


def parts_of(cls: type[dj.Table]) -> list[type[dj.Table]]:
    return [v for v in vars(cls).values() if isinstance(v, type) and issubclass(v, dj.Part)]
