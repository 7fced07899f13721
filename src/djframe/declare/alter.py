"""``Table.alter()``: change a declared table's secondary attributes to its class's definition.

DataJoint 2.3.5's ``alter`` compares the class's ``definition`` with the declared one and
alters the table in place, rows kept: secondary attributes added (with their default, or NULL
where nullable), dropped, or changed (type, default, nullability, comment). The primary key,
the foreign keys and the indexes cannot change this way (drop and declare again), as in
DataJoint. This module compares two resolved tables and writes the statements; the schema
runs them with the new catalog entry in one transaction.
"""

from __future__ import annotations

import re
from dataclasses import replace

from djframe._sql import quote
from djframe.catalog import TableInfo
from djframe.declare.ddl import checks_sql, column_sql, default_sql
from djframe.errors import DefinitionError
from djframe.heading import Attribute

__all__ = ["alter_sql"]

RENAMED = re.compile(r"\s*\{\s*(?P<old>\w+)\s*\}")


def alter_sql(old: TableInfo, new: TableInfo, dialect: str) -> list[str]:
    """The statements that take table ``old`` to ``new``; an error for what alter cannot do."""
    check_alterable(old, new)
    before = {a.name: a for a in old.heading if not a.in_key}
    after = {a.name: a for a in new.heading if not a.in_key}
    table = old.sql_name
    statements = [
        f"ALTER TABLE {table} DROP COLUMN {quote(name)}" for name in before if name not in after
    ]
    for name, attr in after.items():
        if name not in before:
            statements.append(f"ALTER TABLE {table} ADD COLUMN {added_column(new, attr, dialect)}")
            if not attr.nullable:  # DuckDB adds no column with a constraint: set it after
                statements.append(f"ALTER TABLE {table} ALTER COLUMN {quote(name)} SET NOT NULL")
        else:
            statements += changed_column(table, before[name], attr, dialect, new.class_name)
    return statements


def check_alterable(old: TableInfo, new: TableInfo) -> None:
    where = f"Altering {old.class_name}"
    if [(a.name, a.type) for a in old.heading if a.in_key] != [
        (a.name, a.type) for a in new.heading if a.in_key
    ]:
        raise DefinitionError(
            f"{where}: the primary key cannot be altered ({old.heading.primary_key} -> "
            f"{new.heading.primary_key}). Drop the table and declare it again."
        )
    if fk_signature(old) != fk_signature(new):
        raise DefinitionError(
            f"{where}: foreign keys cannot be altered. Drop the table and declare it again."
        )
    if [(i.unique, tuple(i.attributes)) for i in old.indexes] != [
        (i.unique, tuple(i.attributes)) for i in new.indexes
    ]:
        raise DefinitionError(
            f"{where}: indexes cannot be altered. Drop the table and declare it again."
        )
    before = {a.name: a for a in old.heading}
    check_no_rename(where, before, {a.name: a for a in new.heading})
    for attr in new.heading:
        if attr.name in before and attr.codec != before[attr.name].codec:
            raise DefinitionError(
                f"{where}, attribute {attr.name!r}: a codec attribute's type cannot be altered."
            )


def check_no_rename(where: str, before: dict[str, Attribute], after: dict[str, Attribute]) -> None:
    """DataJoint marks a rename with a comment that opens with ``{old_name}``; alter refuses
    it (as DataJoint does on PostgreSQL) rather than drop the old attribute and its values."""
    for name, attr in after.items():
        match = RENAMED.match(attr.comment or "")
        if name not in before and match and match["old"] in before and match["old"] not in after:
            raise DefinitionError(
                f"{where}: Renaming attribute `{match['old']}` to `{name}` (the "
                f"{{{match['old']}}} comment) is not done by alter: it would drop "
                f"`{match['old']}` and its values. Copy the values to a new attribute, or drop "
                "the table and declare it again."
            )


def fk_signature(info: TableInfo) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    return [(fk.parent, tuple(sorted(fk.attr_map.items()))) for fk in info.foreign_keys]


def added_column(info: TableInfo, attr: Attribute, dialect: str) -> str:
    if not attr.nullable and attr.default is None:
        raise DefinitionError(
            f"Altering {info.class_name}: the new attribute {attr.name!r} needs a default "
            f"(or '= null') so that the existing rows get a value."
        )
    checks = checks_sql(attr, dialect) if dialect == "postgres" else []
    return " ".join([column_sql(info, replace(attr, nullable=True), dialect), *checks])


def changed_column(
    table: str, old: Attribute, new: Attribute, dialect: str, class_name: str
) -> list[str]:
    column = f"ALTER TABLE {table} ALTER COLUMN {quote(new.name)}"
    assert new.type is not None
    statements = []
    new_sql = new.type.sql(dialect)
    if old.type is None or old.type.sql(dialect) != new_sql:
        statements.append(f"{column} TYPE {new_sql} USING CAST({quote(new.name)} AS {new_sql})")
    if old.default != new.default:
        where = f"In the definition of {class_name}"
        statements.append(
            f"{column} SET {default_sql(new, where)}"
            if new.default is not None
            else f"{column} DROP DEFAULT"
        )
    if old.nullable != new.nullable:
        statements.append(f"{column} {'DROP' if new.nullable else 'SET'} NOT NULL")
    return statements
