"""What djframe knows about each declared table, and where it keeps it in the database.

Each schema holds a hidden table ``~catalog`` with one row per table: its tier, its class
name, its definition and a JSON document with the heading (types, defaults, comments,
lineage), foreign keys and indexes. It is written in the same transaction as the table's
``CREATE TABLE``, so a table is declared completely or not at all, and a schema can be
opened without the Python classes that made it (:func:`djframe.virtual_schema`).

Beside it, a hidden table ``~schema`` holds the schema's own properties as name/value rows
(its identity, where its objects are: see :mod:`djframe.store.identity`), written in the
transaction that creates the schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from djframe._sql import literal, quote
from djframe._typing import Tier
from djframe.heading import Attribute, Heading

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CATALOG",
    "JOBS_PREFIX",
    "PROPERTIES",
    "PROVENANCE_PREFIX",
    "VERSIONS",
    "ForeignKey",
    "IndexSpec",
    "TableInfo",
    "class_label",
    "companion_name",
    "create_versions_sql",
    "is_hidden",
    "own_tables_sql",
    "read_catalog",
    "read_properties",
]

CATALOG = "~catalog"
PROPERTIES = "~schema"
VERSIONS = "~versions"
"""The schema's record of the Delta commits of committed transactions (see
:mod:`djframe.store.versions`)."""
HIDDEN = "~"
"""SQL names of the tables djframe keeps for itself (catalog, job queues, provenance) start
with this."""
JOBS_PREFIX = "~~"
"""A table's job queue is named with this prefix and the table's name (``~~features``)."""
PROVENANCE_PREFIX = "~p~"
"""A table's provenance is named with this prefix and the table's name (``~p~features``)."""


def is_hidden(name: str) -> bool:
    """Whether a table (SQL or full name) is one of djframe's own, not the user's."""
    return name.rsplit(".", 1)[-1].startswith(HIDDEN)


def class_label(tables: Mapping[str, TableInfo], full_name: str) -> str:
    """The name a user writes for a table: its class name, ``Master.Part`` for a part.

    What every report of the library and the ``djframe`` command shows (``schema.table``, the
    SQL name, only where asked for). A name the catalog does not know (a dropped table) is
    returned as it is.
    """
    info = tables.get(full_name)
    if info is None:
        return full_name
    master = tables.get(info.master) if info.master else None
    return f"{master.class_name}.{info.class_name}" if master else info.class_name


def companion_name(full_name: str, prefix: str) -> str:
    """The full name of the hidden table that serves ``full_name`` (its job queue with
    :data:`JOBS_PREFIX`, its provenance with :data:`PROVENANCE_PREFIX`).

    Examples
    --------
    >>> companion_name("lab.__features", JOBS_PREFIX)
    'lab.~~__features'
    """
    schema, name = full_name.split(".", 1)
    return f"{schema}.{prefix}{name}"


@dataclass(frozen=True)
class IndexSpec:
    """An ``index(a, b)`` or ``unique index(a)`` line of a definition."""

    attributes: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class ForeignKey:
    """A reference from some attributes of a child to the primary key of a parent."""

    parent: str
    """The parent's full name, ``schema.table``."""
    attr_map: dict[str, str]
    """Child attribute -> parent attribute."""
    in_key: bool = False
    nullable: bool = False
    unique: bool = False

    @property
    def renamed(self) -> bool:
        return any(child != parent for child, parent in self.attr_map.items())


@dataclass
class TableInfo:
    """A declared table as the catalog stores it."""

    schema: str
    name: str
    class_name: str
    tier: Tier
    heading: Heading
    definition: str = ""
    comment: str = ""
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    indexes: list[IndexSpec] = field(default_factory=list)
    master: str | None = None
    singleton: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def sql_name(self) -> str:
        return quote(self.schema, self.name)

    def to_json(self) -> str:
        return json.dumps(
            {
                "comment": self.comment,
                "attributes": [a.to_json() for a in self.heading],
                "foreign_keys": [vars(fk) for fk in self.foreign_keys],
                "indexes": [
                    {"attributes": list(i.attributes), "unique": i.unique} for i in self.indexes
                ],
                "master": self.master,
                "singleton": self.singleton,
            }
        )

    @classmethod
    def from_row(cls, schema: str, row: dict[str, Any]) -> TableInfo:
        doc = json.loads(row["info"])
        return cls(
            schema=schema,
            name=row["table_name"],
            class_name=row["class_name"],
            tier=row["tier"],
            definition=row["definition"],
            comment=doc["comment"],
            heading=Heading(Attribute.from_json(a) for a in doc["attributes"]),
            foreign_keys=[ForeignKey(**fk) for fk in doc["foreign_keys"]],
            indexes=[IndexSpec(tuple(i["attributes"]), i["unique"]) for i in doc["indexes"]],
            master=doc["master"],
            singleton=doc["singleton"],
        )


def create_catalog_sql(schema: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {quote(schema, CATALOG)} ("
        "table_name VARCHAR PRIMARY KEY, tier VARCHAR NOT NULL, class_name VARCHAR NOT NULL, "
        "definition VARCHAR NOT NULL, info VARCHAR NOT NULL)"
    )


def insert_catalog_sql(info: TableInfo) -> str:
    values = ", ".join(
        literal(v) for v in (info.name, info.tier, info.class_name, info.definition, info.to_json())
    )
    return f"INSERT INTO {quote(info.schema, CATALOG)} VALUES ({values})"


def delete_catalog_sql(schema: str, table: str) -> str:
    return f"DELETE FROM {quote(schema, CATALOG)} WHERE table_name = {literal(table)}"


def read_catalog(fetch_arrow: Callable[[str], pa.Table], schema: str) -> dict[str, TableInfo]:
    """Every table of a schema, by SQL table name (``fetch_arrow`` runs the query)."""
    rows = fetch_arrow(f"SELECT * FROM {quote(schema, CATALOG)}").to_pylist()
    return {row["table_name"]: TableInfo.from_row(schema, row) for row in rows}


def list_schemas_sql() -> str:
    """The schemas that hold a djframe catalog (the same SQL on every backend)."""
    return (
        "SELECT DISTINCT table_schema FROM information_schema.tables "
        f"WHERE table_name = {literal(CATALOG)} ORDER BY 1"
    )


# -- the schema's own properties (``~schema``) ------------------------------------------------
def create_properties_sql(schema: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {quote(schema, PROPERTIES)} ("
        "name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"
    )


def insert_properties_sql(schema: str, properties: Mapping[str, str]) -> str:
    """Add properties; those a concurrent opener added first are left as they are."""
    rows = ", ".join(f"({literal(k)}, {literal(v)})" for k, v in properties.items())
    return f"INSERT INTO {quote(schema, PROPERTIES)} VALUES {rows} ON CONFLICT (name) DO NOTHING"


def update_property_sql(schema: str, name: str, value: str, *, was: str | None = None) -> str:
    """Set a property (only where it still holds ``was``, when given); returns its name."""
    condition = f"name = {literal(name)}"
    if was is not None:
        condition += f" AND value = {literal(was)}"
    return (
        f"UPDATE {quote(schema, PROPERTIES)} SET value = {literal(value)} "
        f"WHERE {condition} RETURNING name"
    )


def read_properties(fetch_arrow: Callable[[str], pa.Table], schema: str) -> dict[str, str]:
    """A schema's properties (its ``~schema`` table must exist: see :func:`own_tables_sql`)."""
    rows = fetch_arrow(f"SELECT name, value FROM {quote(schema, PROPERTIES)}").to_pylist()
    return {str(row["name"]): str(row["value"]) for row in rows}


def create_versions_sql(schema: str) -> str:
    """The table of committed Delta commits: one row per commit, written in the transaction
    whose rows and objects the commit holds, so only committed ones are ever seen."""
    return (
        f"CREATE TABLE IF NOT EXISTS {quote(schema, VERSIONS)} ("
        "txn VARCHAR PRIMARY KEY, table_name VARCHAR NOT NULL, store VARCHAR NOT NULL, "
        "version BIGINT NOT NULL)"
    )


def own_tables_sql(schema: str) -> str:
    """Which of djframe's catalog and properties tables a schema has, in one query (so that
    no statement on a missing table fails inside a transaction)."""
    names = f"{literal(CATALOG)}, {literal(PROPERTIES)}, {literal(VERSIONS)}"
    return (
        "SELECT table_name FROM information_schema.tables "
        f"WHERE table_schema = {literal(schema)} AND table_name IN ({names})"
    )
