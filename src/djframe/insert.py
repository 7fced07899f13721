"""Inserting rows: any tabular input -> one Arrow table checked against the heading -> one
bulk statement.

Input is normalized to Arrow (Polars and Arrow with no copy, pandas, dicts, CSV typed by the
heading), checked column by column with Arrow compute (unknown and missing attributes, nulls,
lengths, enum values, missing parents), and written with a single ``INSERT ... SELECT`` from
a registered view (DuckDB) or a COPY-filled temporary table (PostgreSQL), inside one
transaction. Rows that already have the table's column types, with no conflict option and
no null to replace by a default, go in as they are: a plain ``INSERT ... SELECT`` on DuckDB,
one COPY straight into the table on PostgreSQL. Duplicate keys are then the primary key's to
catch; the error names the key either way, and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from djframe._sql import inlinable, quote, typed_literal, values_relation
from djframe._typing import OnConflict
from djframe.catalog import ForeignKey, TableInfo
from djframe.declare.ddl import default_sql, sequence_name
from djframe.errors import (
    DataError,
    DjframeError,
    DuplicateError,
    IntegrityError,
    MissingAttributeError,
    MissingKeyError,
    MissingParentError,
)
from djframe.frames import plain, to_arrow
from djframe.heading import Attribute
from djframe.session import data_changing, held_rows
from djframe.store.columns import PendingObjects, encode_rows, has_codecs
from djframe.versioning import record_written

if TYPE_CHECKING:
    from djframe.connection import Connection

__all__ = ["cast_term", "encode_rows", "has_codecs", "insert_rows", "prepare"]

INLINE_ROWS = 64
"""Up to this many rows are written as literal VALUES, with no upload."""


def check_columns(
    data: pa.Table, info: TableInfo, ignore_extra_fields: bool, complete: bool
) -> pa.Table:
    heading = info.heading
    unknown = [n for n in data.column_names if n not in heading]
    if unknown and not ignore_extra_fields:
        raise MissingAttributeError(
            f"{info.class_name} has no attribute(s) {unknown}; its attributes are "
            f"{', '.join(heading.names)}. Pass ignore_extra_fields=True to drop extra columns."
        )
    data = data.select([n for n in data.column_names if n in heading])
    missing_key = [
        k
        for k in heading.primary_key
        if k not in data.column_names and not heading[k].auto_increment
    ]
    if missing_key:
        raise MissingKeyError(
            f"Rows for {info.class_name} lack primary-key attribute(s) {missing_key}."
        )
    required = [
        a.name
        for a in heading
        if a.default is None
        and not (a.nullable or a.auto_increment)
        and a.name not in data.column_names
    ]
    if required and complete:
        raise DataError(
            f"Rows for {info.class_name} lack {required}, which have no default. Give them values, "
            "or declare a default (name = value : type)."
        )
    return data


def cast_column(column: pa.ChunkedArray, attr: Attribute, table: str) -> pa.ChunkedArray:
    assert attr.type is not None
    target = attr.type.arrow
    if column.type == target:
        return column
    if pa.types.is_null(column.type):
        return pa.chunked_array([pa.nulls(len(column), type=target)])
    if attr.type.name == "json" and (
        pa.types.is_struct(column.type) or pa.types.is_list(column.type)
    ):
        return pa.chunked_array(
            [pa.array([json.dumps(v) for v in column.to_pylist()], pa.string())]
        )
    if attr.type.name == "bytes" and not is_binary(column.type):
        raise DataError(
            f"Attribute {attr.name!r} of {table} is {binary_kind(attr)}: it holds bytes, but the "
            f"values given are {column.type}. Give bytes, or declare the attribute '<blob>' for "
            "arrays, text and other Python values."
        )
    if crosses_time(column.type, target):
        raise DataError(
            f"Attribute {attr.name!r} of {table} is {attr.type}, but the values given are "
            f"{column.type} and do not convert: a number is not a point in time, nor a point "
            "in time a number. Give values of the attribute's type."
        )
    try:
        cast = column.cast(wide_decimal(column.type, target)).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise DataError(
            f"Attribute {attr.name!r} of {table} is {attr.type}, but the values given are "
            f"{column.type} and do not convert: {exc}"
        ) from None
    changed = changed_value(column, cast)
    if changed is not None:
        given, stored = changed
        raise DataError(
            f"Attribute {attr.name!r} of {table} is {attr.type}, but the values given are "
            f"{column.type} and do not convert: {given} would be stored as {stored}. Give "
            "values of the attribute's type."
        )
    return cast


def is_binary(arrow: pa.DataType) -> bool:
    return bool(pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow)) or bool(
        pa.types.is_fixed_size_binary(arrow) or pa.types.is_binary_view(arrow)
    )


def binary_kind(attr: Attribute) -> str:
    """``bytes``, or ``the native binary type longblob`` as DataJoint says it."""
    return f"the native binary type {attr.native}" if attr.native else "bytes"


def crosses_time(source: pa.DataType, target: pa.DataType) -> bool:
    """A cast between numbers (or bools) and dates or times, which Arrow makes by counting
    days or microseconds from 1970 (``5`` as a datetime: 1970-01-01 00:00:00.000005)."""

    def numeric(t: pa.DataType) -> bool:
        return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)

    def temporal(t: pa.DataType) -> bool:
        return pa.types.is_temporal(t)

    return (numeric(source) and temporal(target)) or (temporal(source) and numeric(target))


def wide_decimal(source: pa.DataType, target: pa.DataType) -> pa.DataType:
    """The type to cast through: integers reach a decimal through the widest decimal of its
    scale (Arrow refuses an int64 into fewer than 19 digits, even a value that fits)."""
    if pa.types.is_integer(source) and pa.types.is_decimal(target):
        return pa.decimal128(38, target.scale)
    return target


def lossy_cast(source: pa.DataType, target: pa.DataType) -> bool:
    """Casts that Arrow's safe cast lets change a value: a number to a bool (5 -> true), a
    timestamp to a date (the time is dropped), a float to a decimal (rounded) and a float64
    to a float32 (overflow to infinity)."""
    numeric = pa.types.is_integer(source) or pa.types.is_floating(source)
    return (
        (pa.types.is_boolean(target) and (numeric or pa.types.is_decimal(source)))
        or (pa.types.is_date(target) and pa.types.is_timestamp(source))
        or (pa.types.is_decimal(target) and pa.types.is_floating(source))
        or (target == pa.float32() and source == pa.float64())
    )


def changed_value(column: pa.ChunkedArray, cast: pa.ChunkedArray) -> tuple[Any, Any] | None:
    """The first value that a lossy cast (see :func:`lossy_cast`) changed, and what it became;
    None if it changed none."""
    if not lossy_cast(column.type, cast.type):
        return None
    back = cast.cast(column.type)
    if cast.type == pa.float32():  # rounding is what float32 means; overflow is not
        same = pc.or_kleene(pc.invert(pc.is_inf(back)), pc.is_inf(column))
    else:
        same = pc.equal(back, column)
    changed = pc.indices_nonzero(pc.invert(pc.fill_null(same, True)))
    if not len(changed):
        return None
    first = changed[0].as_py()
    return column[first].as_py(), cast[first].as_py()


def check_values(data: pa.Table, info: TableInfo) -> None:
    for name in data.column_names:
        attr = info.heading[name]
        column = data.column(name)
        if not attr.nullable and attr.default is None and column.null_count:
            raise DataError(
                f"{info.class_name}.{name} cannot be null, but {column.null_count} row(s) have no value."
            )
        assert attr.type is not None
        if attr.type.is_string:
            check_no_nul(column, info.class_name, name, json=attr.type.name == "json")
        if attr.type.max_length is not None:
            too_long = pc.sum(pc.greater(pc.utf8_length(column), attr.type.max_length)).as_py()
            if too_long:
                raise DataError(
                    f"{info.class_name}.{name} is {attr.type}, but {too_long} value(s) are longer than "
                    f"{attr.type.max_length} characters."
                )
        if attr.type.name == "uuid":
            check_uuids(column, info.class_name, name)
        if attr.type.name == "json":
            check_json(column, info.class_name, name)
        if attr.native is not None:
            check_native_range(column, attr, info.class_name)
        if attr.type.name == "enum":
            allowed = pa.array([str(v) for v in attr.type.args])
            # Nulls were judged above: a default or a nullable attribute takes them.
            valid = pc.or_kleene(pc.is_in(column, allowed), pc.is_null(column))
            bad = pc.filter(column, pc.invert(valid))
            if len(bad):
                raise DataError(
                    f"{info.class_name}.{name} must be one of {list(attr.type.args)}; got {bad[0].as_py()!r}."
                )


def check_no_nul(column: pa.ChunkedArray, table: str, name: str, *, json: bool = False) -> None:
    """Refuse text holding NUL, which PostgreSQL cannot store: the same on every backend and
    for any number of rows (DuckDB would store it, its SQL literals would not carry it)."""
    if pc.any(pc.match_substring(column, "\x00")).as_py():
        raise DataError(
            f"{table}.{name} is text, but a value holds a NUL character (\\x00), which "
            "PostgreSQL cannot store. Remove it, or declare the attribute as bytes."
        )
    if json and pc.any(pc.match_substring_regex(column, _JSON_NUL)).as_py():
        raise DataError(
            f"{table}.{name} holds JSON with a NUL character (\\u0000 in a string), which "
            "PostgreSQL cannot store. Remove it, or keep the data in a bytes or <blob> attribute."
        )


_JSON_NUL = r"(^|[^\\])(\\\\)*\\u0000"
r"""``\u0000`` in JSON text, not preceded by an escaped backslash (``\\u0000`` is text)."""


def check_native_range(column: pa.ChunkedArray, attr: Attribute, table: str) -> None:
    """Refuse values outside a native type's range (``tinyint unsigned``: 0 to 255)."""
    native = attr.native_type
    if native is None or native.low is None or not len(column) or column.null_count == len(column):
        return
    least, most = (v.as_py() for v in pc.min_max(column).values())
    high = native.high
    wrong = least if least < native.low else most if high is not None and most > high else None
    if wrong is not None:
        bounds = f"{native.low} to {high}" if high is not None else f"at least {native.low}"
        raise DataError(
            f"{table}.{attr.name} is {native.text}, whose values are {bounds}; got {wrong}."
        )


_UUID = r"^(urn:uuid:)?\{?[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}\}?$"


def check_uuids(column: pa.ChunkedArray, table: str, name: str) -> None:
    """Refuse malformed UUIDs here, where the attribute can be named, not in the engine."""
    valid = pc.fill_null(pc.match_substring_regex(column, _UUID), True)
    bad = pc.filter(column, pc.invert(valid))
    if len(bad):
        raise DataError(f"{table}.{name} is a uuid, but {bad[0].as_py()!r} is not a UUID.")


def check_json(column: pa.ChunkedArray, table: str, name: str) -> None:
    for value in column.to_pylist():
        if value is None:
            continue
        try:
            json.loads(value)
        except ValueError:
            raise DataError(
                f"{table}.{name} is json, but {value[:40]!r} is not valid JSON text; give a "
                "Python value (dict, list, number) or a JSON string."
            ) from None


def repeated_key(data: pa.Table, info: TableInfo) -> dict[str, Any] | None:
    """A primary key that two or more of the rows share, or None."""
    key = info.heading.primary_key
    if not key or data.num_rows < 2 or not set(key) <= set(data.column_names):
        return None  # keys the table numbers itself are distinct
    # "~" names: the count's own name is free whatever the key's attributes are named
    names = [f"~{i}" for i in range(len(key))]
    keys = data.select(key).rename_columns(names)
    counts = keys.group_by(names).aggregate([([], "count_all")])
    if counts.num_rows == data.num_rows:
        return None
    repeats = counts.filter(pc.greater(counts["count_all"], 1))
    first = repeats.slice(0, 1).select(names).to_pylist()[0]
    return dict(zip(key, first.values(), strict=True))


def check_duplicates(data: pa.Table, info: TableInfo, on_conflict: OnConflict) -> pa.Table:
    """Refuse rows that repeat a primary key (``"error"``), or keep the first (``"skip"``) or
    the last (``"replace"``) of each."""
    if on_conflict == "error":
        repeat = repeated_key(data, info)
        if repeat is not None:
            raise DuplicateError(
                f"The rows given for {info.class_name} repeat the primary key {repeat}."
            )
        return data
    key = info.heading.primary_key
    if not key or data.num_rows < 2 or not set(key) <= set(data.column_names):
        return data
    numbered = data.select(key).append_column("~i", pa.array(range(data.num_rows)))
    how = "min" if on_conflict == "skip" else "max"
    keep = numbered.group_by(key).aggregate([("~i", how)]).column(f"~i_{how}")
    if len(keep) == data.num_rows:
        return data
    return data.take(keep.take(pc.sort_indices(keep)))  # the rows kept, in the order given


def duplicate_message(info: TableInfo, data: pa.Table, exc: DuplicateError) -> str:
    """One wording, whatever the engine's, for a duplicate key the engine refused: a key
    repeated among the rows, or the key of an existing row (named when the engine named it)."""
    repeat = repeated_key(data, info)
    if repeat is not None:
        return (
            f"The rows given for {info.class_name} repeat the primary key {repeat}. Nothing was "
            "inserted. Pass skip_duplicates=True to keep the first of each, or replace=True to "
            "keep the last."
        )
    key = engine_key(info, exc)
    names = [name for name, _ in exc.key]
    if names and names != info.heading.primary_key:  # skip_duplicates and replace go by the key
        return (
            f"Cannot insert into {info.class_name}: a row with {key} already exists (a unique "
            "index). Nothing was inserted. Give another value, or change the existing row."
        )
    existing = f"a row with {key}" if key else "a row with the same key"
    return (
        f"Cannot insert into {info.class_name}: {existing} already exists. Nothing was inserted. "
        "Pass skip_duplicates=True to keep the existing rows, or replace=True to overwrite them."
    )


def engine_key(info: TableInfo, exc: IntegrityError) -> dict[str, Any] | None:
    """The key an engine's error named, its values read as the attributes' types."""
    if not exc.key:
        return None
    return {name: read_as(text, info, name) for name, text in exc.key}


def read_as(text: str, info: TableInfo, name: str) -> Any:
    """An engine's text for a value of attribute ``name`` as the Python value djframe's own
    checks would name (``1`` not ``'1'``, a date not ``'2024-05-01'``); else the text."""
    core = next((a.type for a in info.heading if a.name == name), None)
    if core is None or pa.types.is_string(core.arrow):
        return text
    try:
        return pa.array([text]).cast(core.arrow).to_pylist()[0]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return text


def engine_cause(exc: DjframeError) -> BaseException | None:
    """The engine's words behind a translated error (its one-line cause), or None."""
    cause = exc.__cause__
    return None if cause is None or isinstance(cause, DjframeError) else cause


PLAIN_TYPES = frozenset(
    {"int8", "int16", "int32", "int64", "float32", "float64", "bool", "date", "datetime"}
    | {"char", "varchar", "enum", "bytes"}
)
"""Core types whose Arrow values every engine stores as they are: no cast is needed
(uuid, json and decimal are converted by the engine)."""


def fills_default(attr: Attribute) -> bool:
    """Whether a null given for ``attr`` stands for its default (replaced on insert)."""
    return attr.default is not None and not attr.nullable


def castless(data: pa.Table, info: TableInfo) -> bool:
    """Whether the rows can go into the table as they are: every column already of its
    attribute's Arrow type, of a type the engine takes with no cast, with no null to fill."""
    for name in data.column_names:
        attr, column = info.heading[name], data.column(name)
        assert attr.type is not None
        if attr.type.name not in PLAIN_TYPES or column.type != attr.type.arrow:
            return False
        if fills_default(attr) and column.null_count:
            return False
    return True


def cast_term(attr: Attribute, column: str, dialect: str, where: str) -> str:
    """The SELECT term that reads a staged column into the target column type."""
    assert attr.type is not None
    term = f"CAST({column} AS {attr.type.sql(dialect)})"
    if fills_default(attr):
        default = default_sql(attr, where).removeprefix("DEFAULT ")
        term = f"COALESCE({term}, {default})"
    return term


def insert_sql(
    info: TableInfo,
    names: list[str],
    source: str,
    dialect: str,
    on_conflict: OnConflict,
    *,
    cast: bool = True,
    condition: str = "",
) -> str:
    """``INSERT ... SELECT`` from ``source`` (``WHERE condition``, if given); ``cast=False``
    when the columns already have the table's types (see :func:`castless`)."""
    where = f"In {info.class_name}"
    columns = ", ".join(quote(n) for n in names)
    values = (
        ", ".join(cast_term(info.heading[n], quote(n), dialect, where) for n in names)
        if cast
        else columns
    )
    sql = f"INSERT INTO {info.sql_name} ({columns}) SELECT {values} FROM {source} AS s"
    if condition:
        sql += f" WHERE {condition}"
    key = ", ".join(quote(k) for k in info.heading.primary_key) or quote("_singleton")
    if on_conflict == "skip":
        sql += f" ON CONFLICT ({key}) DO NOTHING"
    elif on_conflict == "replace":
        updates = [n for n in names if n not in info.heading.primary_key]
        sets = ", ".join(f"{quote(n)} = EXCLUDED.{quote(n)}" for n in updates)
        sql += (
            f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
            if sets
            else f" ON CONFLICT ({key}) DO NOTHING"
        )
    return sql


def missing_parent_sql(
    info: TableInfo, parent: TableInfo, attr_map: dict[str, str], source: str
) -> str:
    children = [quote(c) for c in attr_map]
    match = " AND ".join(f"p.{quote(p)} = s.{quote(c)}" for c, p in attr_map.items())
    not_null = " AND ".join(f"s.{c} IS NOT NULL" for c in children)
    return (
        f"SELECT {', '.join('s.' + c for c in children)} FROM {source} s WHERE {not_null} "
        f"AND NOT EXISTS (SELECT 1 FROM {parent.sql_name} p WHERE {match}) LIMIT 1"
    )


def references_given(info: TableInfo, names: list[str]) -> list[ForeignKey]:
    """The foreign keys whose attributes the rows give (the references to check)."""
    return [fk for fk in info.foreign_keys if set(fk.attr_map) <= set(names)]


def parents_found_sql(conn: Connection, info: TableInfo, source: str, names: list[str]) -> str:
    """A condition true when every row of ``source`` finds its parents ('' if it refers to
    none): :func:`write_staged` inserts on it, so that checking and inserting are one
    statement."""
    tests = []
    for fk in references_given(info, names):
        missing = missing_parent_sql(info, conn.table_info(fk.parent), fk.attr_map, source)
        tests.append(f"NOT EXISTS ({missing})")
    return " AND ".join(tests)


def check_parents(
    conn: Connection, info: TableInfo, source: str, names: list[str], data: pa.Table
) -> None:
    """Where the engine does not enforce foreign keys, refuse rows whose parent is missing."""
    references = references_given(info, names)
    if not references:
        return
    if data.num_rows <= INLINE_ROWS and all_parents_found(conn, data, references):
        return  # the common case, in one cheap statement
    for fk in references:
        parent = conn.table_info(fk.parent)
        rows = conn.fetch_arrow(missing_parent_sql(info, parent, fk.attr_map, source)).to_pylist()
        if rows:
            key = {fk.attr_map[k]: v for k, v in rows[0].items()}
            raise MissingParentError(missing_parent_message(info, parent.class_name, key))


def all_parents_found(conn: Connection, data: pa.Table, references: list[ForeignKey]) -> bool:
    """Whether every parent row a few rows refer to exists: each parent's matches are counted
    with literal keys (an index lookup), not joined."""
    counts, expected = [], []
    for fk in references:
        parent = conn.table_info(fk.parent)
        wanted = {
            row
            for row in zip(*(data.column(c).to_pylist() for c in fk.attr_map), strict=True)
            if None not in row
        }
        if not wanted:
            continue
        types = [parent.heading[p].type.sql(conn.backend.dialect) for p in fk.attr_map.values()]  # type: ignore[union-attr]
        terms = " OR ".join(
            "("
            + " AND ".join(
                f"{quote(p)} = {typed_literal(v, t)}"
                for p, v, t in zip(fk.attr_map.values(), row, types, strict=True)
            )
            + ")"
            for row in sorted(wanted, key=repr)
        )
        counts.append(f"(SELECT count(*) FROM {parent.sql_name} WHERE {terms})")
        expected.append(len(wanted))
    if not counts:
        return True
    found = conn.fetch_arrow(f"SELECT {', '.join(counts)}").to_pylist()[0]
    return list(found.values()) == expected


def prepare(
    rows: Any,
    info: TableInfo,
    *,
    ignore_extra_fields: bool = False,
    on_conflict: OnConflict = "error",
    complete: bool = True,
) -> pa.Table:
    """Normalize and check rows; raises before anything is written.

    ``complete=False`` (for updates) allows rows that name only some attributes.
    """
    data = plain(to_arrow(rows, info.heading))
    if data.num_rows == 0:
        return data  # nothing to insert, as in DataJoint
    data = check_columns(data, info, ignore_extra_fields, complete)
    columns = [
        cast_column(data.column(n), info.heading[n], info.class_name) for n in data.column_names
    ]
    data = pa.table(columns, names=data.column_names)
    check_values(data, info)
    if on_conflict == "error":
        return data  # the primary key refuses repeats (see duplicate_message)
    return check_duplicates(data, info, on_conflict)


def insert_rows(
    conn: Connection,
    info: TableInfo,
    data: pa.Table,
    on_conflict: OnConflict,
    objects: PendingObjects | None = None,
) -> None:
    """Write checked rows in one statement, inside a transaction.

    ``objects`` (from :func:`encode_rows`) go to their store after the SQL statement has
    passed and before the transaction commits: a row is never committed without its objects,
    and objects of a transaction that fails are left for ``schema.gc()``. Within a group of
    makes, rows and objects are held and written together when the group ends: one
    statement and one Delta commit per table for the whole group.
    """
    if data.num_rows == 0:
        return
    held = held_rows.get()
    if held is not None and held.takes(conn, info):
        if on_conflict == "error":
            check_duplicates(data, info, on_conflict)  # refused now, not when written
        held.hold(info, data, on_conflict, objects)  # written with its make's group
        return
    data_changing(conn)
    try:
        with conn.transaction:
            write_rows(conn, info, data, on_conflict, objects)
    except DuplicateError as exc:
        raise DuplicateError(duplicate_message(info, data, exc)) from engine_cause(exc)
    except MissingParentError as exc:
        error = MissingParentError(explain_missing_parent(conn, info, exc))
        raise error from engine_cause(exc)


def write_rows(
    conn: Connection,
    info: TableInfo,
    data: pa.Table,
    on_conflict: OnConflict,
    objects: PendingObjects | None,
) -> None:
    """The statements of :func:`insert_rows`, inside its transaction."""
    action = f"inserting into {info.class_name}"
    cast = on_conflict != "error" or not castless(data, info)
    if conn.backend.appends_arrow and not cast and data.num_rows > INLINE_ROWS:
        # The engine checks keys and parents itself: one bulk load, nothing staged.
        with conn.translated(action):
            conn.backend.append_arrow(info.schema, info.name, data)
        record_written(conn, info, data, objects)
    else:
        write_staged(conn, info, data, on_conflict, objects, cast=cast)
    advance_sequences(conn, info, data)


def write_staged(
    conn: Connection,
    info: TableInfo,
    data: pa.Table,
    on_conflict: OnConflict,
    objects: PendingObjects | None,
    *,
    cast: bool,
) -> None:
    """``INSERT ... SELECT`` from the rows staged as VALUES or as a temporary table.

    Where the engine does not enforce foreign keys, more than a few rows are inserted only
    if every parent is found, in the one statement: when it inserts none, the parents are
    looked for again, to name the missing one (or to find that every row was a duplicate
    skipped). A separate check first cost DuckDB a query (1-2 ms) per insert.
    """
    names = data.column_names
    action = f"inserting into {info.class_name}"
    dialect = conn.backend.dialect
    checked = not conn.backend.enforces_foreign_keys
    with staged(conn, info, data, inline=not objects) as source:
        many = checked and data.num_rows > INLINE_ROWS  # a few rows: check_parents' one lookup
        found = parents_found_sql(conn, info, source, names) if many else ""
        if found:
            sql = insert_sql(info, names, source, dialect, on_conflict, cast=cast, condition=found)
            if not conn.fetch_count(sql, action=action):
                check_parents(conn, info, source, names, data)
        else:
            if checked:
                check_parents(conn, info, source, names, data)
            conn.execute(
                insert_sql(info, names, source, dialect, on_conflict, cast=cast), action=action
            )
        skip = objects and on_conflict == "skip"
        kept = kept_objects(conn, info, source, names) if skip else None
        record_written(conn, info, data, objects, kept)


def advance_sequences(conn: Connection, info: TableInfo, data: pa.Table) -> None:
    """Where rows gave an auto_increment attribute its values, the next value numbered
    follows the largest of them (as MySQL does)."""
    for name in data.column_names:
        attr = info.heading[name]
        highest = pc.max(data.column(name)).as_py() if attr.auto_increment else None
        if highest is not None:
            sql = conn.backend.advance_sequence_sql(info.schema, sequence_name(info, attr), highest)
            conn.fetch_arrow(sql, action=f"numbering {info.class_name}")


@contextmanager
def staged(conn: Connection, info: TableInfo, data: pa.Table, *, inline: bool) -> Iterator[str]:
    """``data`` as a relation to insert from: a few rows as literal VALUES (one statement, no
    upload), more as a registered or uploaded temporary table."""
    if inline and data.num_rows <= INLINE_ROWS and inlinable(data):
        dialect = conn.backend.dialect
        types = [info.heading[n].type.sql(dialect) for n in data.column_names]  # type: ignore[union-attr]
        rows = list(zip(*(column.to_pylist() for column in data.columns), strict=True))
        relation = values_relation(rows, data.column_names, types, alias="v")
        yield f"(SELECT * FROM {relation})"
        return
    with conn.temporary(data) as name:
        yield quote(name)


def kept_objects(conn: Connection, info: TableInfo, source: str, names: list[str]) -> set[str]:
    """The object ids of staged rows that the table now holds (skip_duplicates drops some)."""
    kept: set[str] = set()
    for attr in info.heading:
        if attr.object_table is None or attr.name not in names:
            continue
        column = quote(attr.name)
        sql = (
            f"SELECT s.{column} FROM {source} s JOIN {info.sql_name} t "
            f"ON CAST(t.{column} AS VARCHAR) = s.{column}"
        )
        kept.update(str(v) for v in conn.fetch_arrow(sql).column(0).to_pylist())
    return kept


def explain_missing_parent(conn: Connection, info: TableInfo, exc: MissingParentError) -> str:
    """Name the parent table and key in an engine's foreign-key error (which names only SQL
    tables), worded as djframe's own check words it."""
    message = str(exc)
    if message.startswith(f"Cannot insert into {info.class_name}"):
        return message  # our own check wrote it
    known = [fk for fk in info.foreign_keys if fk.parent in conn.tables]
    named = [fk for fk in known if f'table "{conn.tables[fk.parent].name}"' in message]
    choices = named[:1] or known
    parent = " or ".join(conn.tables[fk.parent].class_name for fk in choices) or "a parent"
    key = engine_key(info, exc)
    if key is not None and len(choices) == 1:  # the parent's names, as djframe's check says
        key = {choices[0].attr_map.get(name, name): value for name, value in key.items()}
    return missing_parent_message(info, parent, key)


def missing_parent_message(info: TableInfo, parent: str, key: dict[str, Any] | None) -> str:
    has = f"has {key}" if key else "has the key a row refers to"
    return (
        f"Cannot insert into {info.class_name}: no row of {parent} {has}. Nothing was "
        "inserted. Insert the parent first."
    )
