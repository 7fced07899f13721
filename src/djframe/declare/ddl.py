"""Compile a :class:`~djframe.catalog.TableInfo` into the SQL statements that create it.

One definition gives the same columns on every backend; what differs by dialect is spelled
by :meth:`CoreType.sql`. Foreign keys are declared only where the engine checks them inside
transactions (PostgreSQL); elsewhere djframe checks them itself (see :mod:`djframe.integrity`).
"""

from __future__ import annotations

import hashlib
import re

from djframe._sql import literal, quote
from djframe.catalog import TableInfo
from djframe.heading import Attribute
from djframe.types import (
    BOOL_WORDS,
    INT_RANGES,
    SQL_CLOCKS,
    CoreType,
    unquote,
)

__all__ = [
    "SINGLETON",
    "create_table_sql",
    "default_sql",
    "drop_table_sql",
    "sequence_name",
    "sequence_of",
]

SINGLETON = "_singleton"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
NUMERIC = {*INT_RANGES, "float32", "float64", "decimal"}


def default_sql(attr: Attribute, where: str) -> str:
    """The DEFAULT clause for an attribute's written default (checked when the definition is resolved)."""
    text = (attr.default or "").strip()
    value = unquote(text)
    core = attr.type
    if text.lower() == "null":
        return "DEFAULT NULL"
    if text.upper() in SQL_CLOCKS:
        return f"DEFAULT {text.upper()}"
    if core is not None and core.name == "bool" and value.lower() in BOOL_WORDS:
        return f"DEFAULT {'TRUE' if BOOL_WORDS[value.lower()] else 'FALSE'}"
    if core is not None and core.name in NUMERIC and _NUMBER.match(value):
        return f"DEFAULT {value}"
    return f"DEFAULT {literal(value)}"


def sequence_name(info: TableInfo, attr: Attribute) -> str:
    """The name (in the table's schema) of the sequence that numbers an auto_increment attribute."""
    return short_name(info.name, f"_{attr.name}_seq")


def sequence_of(info: TableInfo, attr: Attribute) -> str:
    """The quoted, schema-qualified name of that sequence."""
    return quote(info.schema, sequence_name(info, attr))


def column_sql(info: TableInfo, attr: Attribute, dialect: str) -> str:
    assert attr.type is not None
    parts = [quote(attr.name), attr.type.sql(dialect)]
    if attr.auto_increment:
        parts.append(f"DEFAULT nextval({literal(sequence_of(info, attr))})")
    elif attr.default is not None:
        parts.append(default_sql(attr, f"In the definition of {info.class_name}"))
    if not attr.nullable:
        parts.append("NOT NULL")
    return " ".join(parts)


def checks_sql(attr: Attribute, dialect: str) -> list[str]:
    core: CoreType | None = attr.type
    native = attr.native_type
    checks = [
        core.check(quote(attr.name), dialect) if core else None,
        native.check(quote(attr.name)) if native else None,
    ]
    return [f"CHECK ({check})" for check in checks if check]


def foreign_key_sql(info: TableInfo) -> list[str]:
    clauses = []
    for fk in info.foreign_keys:
        schema, table = fk.parent.split(".", 1)
        children = ", ".join(quote(c) for c in fk.attr_map)
        parents = ", ".join(quote(p) for p in fk.attr_map.values())
        clauses.append(
            f"FOREIGN KEY ({children}) REFERENCES {quote(schema, table)} ({parents}) "
            "ON UPDATE CASCADE ON DELETE RESTRICT"
        )
    return clauses


def short_name(table: str, suffix: str) -> str:
    """``table + suffix``; a long table name is shortened with a hash so names stay distinct."""
    if len(table) + len(suffix) <= 63:
        return table + suffix
    digest = hashlib.md5(table.encode()).hexdigest()[:8]
    return f"{table[: 63 - len(suffix) - 9]}_{digest}{suffix}"


def index_name(table: str, unique: bool, number: int) -> str:
    """``table_u0``, shortened as :func:`short_name` says."""
    return short_name(table, f"_{'u' if unique else 'i'}{number}")


def index_sql(info: TableInfo, dialect: str) -> list[str]:
    """Indexes: the declared ones, unique foreign keys, and (on PostgreSQL) referencing
    columns that no primary-key prefix covers, so cascades do not scan the child."""
    wanted: list[tuple[tuple[str, ...], bool]] = [(i.attributes, i.unique) for i in info.indexes]
    wanted += [(tuple(fk.attr_map), True) for fk in info.foreign_keys if fk.unique]
    if dialect == "postgres":
        key = info.heading.primary_key
        for fk in info.foreign_keys:
            columns = tuple(fk.attr_map)
            if list(columns) != key[: len(columns)]:
                wanted.append((columns, False))
    statements, seen = [], set()
    for number, (columns, unique) in enumerate(wanted):
        if (columns, unique) in seen:
            continue
        seen.add((columns, unique))
        name = index_name(info.name, unique, number)
        statements.append(
            f"CREATE {'UNIQUE ' if unique else ''}INDEX {quote(name)} ON {info.sql_name} "
            f"({', '.join(quote(c) for c in columns)})"
        )
    return statements


def create_table_sql(info: TableInfo, dialect: str, *, foreign_keys: bool) -> list[str]:
    """The statements that create the table and its indexes."""
    columns = [column_sql(info, a, dialect) for a in info.heading]
    key = [quote(k) for k in info.heading.primary_key]
    if info.singleton:
        columns.insert(
            0, f"{quote(SINGLETON)} BOOLEAN DEFAULT TRUE NOT NULL CHECK ({quote(SINGLETON)})"
        )
        key = [quote(SINGLETON)]
    constraints = [f"PRIMARY KEY ({', '.join(key)})"]
    for attr in info.heading:
        constraints += checks_sql(attr, dialect)
    if foreign_keys:
        constraints += foreign_key_sql(info)
    body = ",\n  ".join(columns + constraints)
    sequences = [
        f"CREATE SEQUENCE {sequence_of(info, a)}" for a in info.heading if a.auto_increment
    ]
    return [*sequences, f"CREATE TABLE {info.sql_name} (\n  {body}\n)", *index_sql(info, dialect)]


def drop_table_sql(info: TableInfo) -> list[str]:
    """The statements that drop the table and the sequences that number its rows."""
    sequences = [
        f"DROP SEQUENCE IF EXISTS {sequence_of(info, a)}" for a in info.heading if a.auto_increment
    ]
    return [f"DROP TABLE {info.sql_name}", *sequences]
