"""Deleting and dropping: cascades through every dependent table, in one transaction.

A delete walks the dependency graph from the restricted table to every descendant in every
loaded schema, restricting each child by its parents' doomed rows (through renamed foreign
keys too), and deletes leaves first. Master-part integrity follows DataJoint 2.x: a delete
may not remove part rows while leaving their master (``part_integrity="enforce"``), may
(``"ignore"``), or widens to the whole master entity (``"cascade"``).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from djframe._sql import quote
from djframe._typing import PartIntegrity
from djframe.catalog import (
    JOBS_PREFIX,
    PROVENANCE_PREFIX,
    TableInfo,
    companion_name,
    delete_catalog_sql,
    is_hidden,
)
from djframe.compile.lower import LowerContext, Relation, TableRelation
from djframe.compile.sql import sql_of
from djframe.declare.ddl import drop_table_sql
from djframe.errors import AccessError, IntegrityError, QueryError
from djframe.graph import dependents_first
from djframe.registry import forget, table_class
from djframe.results import running
from djframe.session import refuse_in_make
from djframe.settings import config
from djframe.versioning import record_deleted

if TYPE_CHECKING:
    from djframe.connection import Connection

__all__ = ["cascade", "confirm", "delete", "delete_quick", "delete_rows", "drop"]

_snapshot_names = itertools.count()


def table_of(conn: Connection, full_name: str) -> TableRelation:
    return table_class(conn, full_name)()


def confirm(question: str, prompt: bool | None) -> bool:
    """Ask before destructive work only in an interactive session with safe mode on."""
    ask = config["safemode"] and sys.stdin.isatty() if prompt is None else prompt
    if not ask:
        return True
    return input(f"{question} [yes/No]: ").strip().lower() in {"yes", "y"}


def restrict_child(child: TableRelation, conditions: list[Relation]) -> Relation:
    """Rows of ``child`` that match any of the conditions (OR over the edges and roots)."""
    return child.restrict(conditions, semantic_check=False)


def edge_condition(parent: Relation, attr_map: dict[str, str]) -> Relation:
    """The parent's doomed rows, renamed to the child's foreign-key attributes."""
    return parent.proj(**{c: p for c, p in attr_map.items() if c != p})


def cascade(conn: Connection, roots: dict[str, list[Relation]]) -> dict[str, Relation]:
    """The rows to delete in each affected table, by full name, leaves first.

    ``roots`` gives, per table, the expressions whose rows are doomed outright; every
    descendant is restricted by its doomed parents, OR-ed over all its foreign keys.
    """
    graph = conn.graph
    order = list(reversed(dependents_first(graph, roots)))
    doomed: dict[str, Relation] = {}
    for name in order:
        own = roots.get(name, [])
        edges = [
            edge_condition(doomed[parent], data["attr_map"])
            for parent, _, data in graph.in_edges(name, data=True)
            if parent in doomed
        ]
        if len(own) == 1 and not edges:
            doomed[name] = own[0]
        else:
            conditions = [*(expr.proj() for expr in own), *edges]
            doomed[name] = restrict_child(table_of(conn, name), conditions)
    return {name: doomed[name] for name in reversed(order)}


PART_INTEGRITY = ("enforce", "ignore", "cascade")


def check_mode(
    mode: object, allowed: tuple[str, ...] = PART_INTEGRITY, what: str = "delete"
) -> None:
    """Refuse a ``part_integrity`` that is not one of ``allowed`` (a typo is not "ignore")."""
    if mode not in allowed:
        raise QueryError(
            f"part_integrity must be {', '.join(map(repr, allowed[:-1]))} or {allowed[-1]!r} "
            f"for {what}, not {mode!r}."
        )


def plan_delete(expr: Relation, mode: PartIntegrity) -> dict[str, Relation]:
    """The cascade of ``expr``; with ``mode="cascade"`` widened to the masters of doomed parts."""
    check_mode(mode)
    conn = expr.connection
    conn.load_all_schemas()
    roots: dict[str, list[Relation]] = {root_table(expr).full_name: [expr]}
    plan = cascade(conn, roots)
    widened: set[tuple[str, str]] = set()
    while mode == "cascade":
        added = [
            (conn.tables[name].master, name)
            for name in plan
            if conn.tables[name].master and (conn.tables[name].master, name) not in widened
        ]
        if not added:
            break
        for master, part in added:
            widened.add((master, part))
            whole = table_of(conn, master).restrict(plan[part].proj(), semantic_check=False)
            roots.setdefault(master, []).append(whole)
        plan = cascade(conn, roots)
    return plan


def root_table(expr: Relation) -> TableInfo:
    table = expr._restricted_table()
    if table is None:
        raise QueryError(
            "Only a table, or a restriction of one (Table & condition), can be deleted from; "
            "this expression joins or projects."
        )
    return table.info


def check_part_integrity(
    conn: Connection, counts: dict[str, int], mode: PartIntegrity, root: TableInfo
) -> None:
    if mode != "enforce":
        return
    if root.master:
        raise AccessError(
            f"Cannot delete from the part table {root.class_name} directly: parts are deleted with "
            "their master. Delete from the master, or pass part_integrity='ignore' (only the "
            "part rows) or 'cascade' (the whole master entities)."
        )
    for name, count in counts.items():
        info = conn.tables[name]
        if info.master and count and not counts.get(info.master):
            raise IntegrityError(
                f"This delete would remove {count} row(s) of the part table {info.class_name} but "
                f"none of its master {conn.tables[info.master].class_name}, breaking master-part "
                "integrity. Nothing was deleted. Delete the master rows, or pass "
                "part_integrity='cascade' (also delete the masters) or 'ignore'."
            )


class Cancelled(Exception):
    """The user answered no: roll the delete back."""


@contextmanager
def snapshots(conn: Connection, plan: dict[str, Relation]) -> Iterator[dict[str, str]]:
    """Fix the doomed keys of every table in temporary tables, before anything is deleted.

    A restriction may read a table the cascade deletes from first (``Subject & Pairing``), so
    each table's rows are computed up front rather than while deleting.
    """
    names: dict[str, str] = {}
    try:
        for table, rows in plan.items():
            names[table] = snapshot(conn, conn.tables[table], rows)
        yield names
    finally:
        for name in names.values():
            with suppress(Exception):  # a failed PostgreSQL transaction drops them on rollback
                conn.execute(f"DROP TABLE IF EXISTS {quote(name)}")


def snapshot(conn: Connection, info: TableInfo, rows: Relation) -> str:
    name = f"_djframe_doomed_{next(_snapshot_names)}"
    keep = info.heading.primary_key or info.heading.names
    ctx = LowerContext()
    sql = sql_of(rows, rows.lower(ctx).select(*keep).distinct())
    with running(rows, sql, ctx):
        conn.execute(
            f"CREATE TEMPORARY TABLE {quote(name)} AS {sql}",
            action=f"finding the rows of {info.class_name} to delete",
        )
    return name


def count_rows(conn: Connection, source: str) -> int:
    count = conn.fetch_scalar(f"SELECT count(*) FROM {quote(source)}")
    assert isinstance(count, int)
    return count


def delete_rows(conn: Connection, info: TableInfo, source: str) -> None:
    """Delete the rows of ``info`` whose key is in the relation ``source``."""
    keep = info.heading.primary_key or info.heading.names
    columns = ", ".join(quote(k) for k in keep)
    conn.execute(
        f"DELETE FROM {info.sql_name} WHERE ({columns}) IN (SELECT {columns} FROM {quote(source)})",
        action=f"deleting from {info.class_name}",
    )


def delete(
    expr: Relation,
    *,
    prompt: bool | None,
    part_integrity: PartIntegrity,
) -> int:
    """Delete ``expr``'s rows and everything that depends on them; returns the root's count."""
    conn = expr.connection
    root = root_table(expr)
    plan = plan_delete(expr, part_integrity)
    try:
        with conn.transaction, snapshots(conn, plan) as doomed:
            counts = {name: count_rows(conn, source) for name, source in doomed.items()}
            check_part_integrity(conn, counts, part_integrity, root)
            if not counts[root.full_name]:
                return 0
            summary = ", ".join(f"{conn.tables[n].class_name}: {c}" for n, c in counts.items() if c)
            if not confirm(f"Delete {summary}?", prompt):
                raise Cancelled
            for name, source in doomed.items():
                if counts[name]:
                    record_deleted(conn, conn.tables[name], source)
                    delete_rows(conn, conn.tables[name], source)
    except Cancelled:
        return 0
    return counts[root.full_name]


def delete_quick(expr: Relation) -> int:
    """Delete without cascading; refused where another table still references the rows."""
    conn = expr.connection
    info = root_table(expr)
    if not conn.backend.enforces_foreign_keys:
        conn.load_all_schemas()
    with conn.transaction, snapshots(conn, {info.full_name: expr}) as doomed:
        count = count_rows(conn, doomed[info.full_name])
        provenance = conn.tables.get(companion_name(info.full_name, PROVENANCE_PREFIX))
        if provenance is not None:  # the rows' own record of how they were made goes too
            delete_rows(conn, provenance, doomed[info.full_name])
        if not conn.backend.enforces_foreign_keys:
            check_unreferenced(conn, info, expr)
        if count:
            record_deleted(conn, info, doomed[info.full_name])
        try:
            delete_rows(conn, info, doomed[info.full_name])
        except IntegrityError as exc:  # the engine's foreign key: worded as djframe's check
            raise IntegrityError(referenced_message(conn, info, str(exc))) from exc.__cause__
    return count


def check_unreferenced(conn: Connection, info: TableInfo, expr: Relation) -> None:
    """Where the engine does not enforce foreign keys, refuse to orphan child rows."""
    for _, child, data in conn.graph.out_edges(info.full_name, data=True):
        rows = restrict_child(table_of(conn, child), [edge_condition(expr, data["attr_map"])])
        if len(rows):
            raise IntegrityError(referenced_message(conn, info, child))


def referenced_message(conn: Connection, info: TableInfo, child: str) -> str:
    """Why rows of ``info`` cannot go: ``child`` (a table's full name, or an engine's message
    that names its SQL table) still references them."""
    children = [c for _, c in conn.graph.out_edges(info.full_name) if c in conn.tables]
    named = [c for c in children if c == child or f'on table "{conn.tables[c].name}"' in child]
    names = " or ".join(conn.tables[c].class_name for c in (named[:1] or children)) or "a table"
    return (
        f"Cannot delete from {info.class_name} without cascading: {names} still references "
        "the rows. Use delete()."
    )


def job_queues(conn: Connection, names: list[str]) -> list[str]:
    """The job queues (``~~table``) of the given tables: dropped with them."""
    queues = [companion_name(name, JOBS_PREFIX) for name in names]
    return [q for q in queues if q in conn.tables]


def drop(table: TableRelation, *, prompt: bool | None, part_integrity: str = "enforce") -> None:
    """Drop a table and every table downstream of it, leaves first, in one transaction.

    ``part_integrity="enforce"`` refuses to drop a part table without its master (which
    would leave masters whose parts are gone); ``"ignore"`` drops it anyway.
    """
    check_mode(part_integrity, ("enforce", "ignore"), "drop ('cascade' applies to delete only)")
    refuse_in_make(f"drop {type(table).__name__}")
    conn = table.connection
    conn.load_all_schemas()
    names = dependents_first(conn.graph, [table.full_name])
    if part_integrity == "enforce":
        check_parts_dropped(conn, table, names)
    names += job_queues(conn, names)
    listing = ", ".join(conn.tables[n].class_name for n in names)
    if not confirm(f"Drop {listing} and all their rows?", prompt):
        return
    drop_tables(conn, names)


def check_parts_dropped(conn: Connection, table: TableRelation, names: list[str]) -> None:
    for name in names:
        master = conn.tables[name].master
        if master and master not in names:
            tables = conn.tables
            raise AccessError(
                f"Dropping {tables[table.full_name].class_name} would drop the part table "
                f"{tables[name].class_name} before its master {tables[master].class_name}: drop "
                "the master first, or pass part_integrity='ignore'."
            )


def drop_quick(table: TableRelation) -> None:
    """Drop one table (with its job queue) without asking; refused while tables depend on
    it, as DataJoint's ``drop_quick`` fails on their foreign keys."""
    conn = table.connection
    conn.load_all_schemas()
    children = set(conn.graph.successors(table.full_name))
    hidden = [n for n in children if is_hidden(n.split(".", 1)[1])]
    names = [*hidden, *job_queues(conn, [table.full_name]), table.full_name]
    dependents = sorted(children - set(names))
    if dependents:
        raise IntegrityError(
            f"Cannot drop_quick {conn.tables[table.full_name].class_name}: "
            f"{', '.join(dependents)} depend on it. Drop them first, or use drop()."
        )
    drop_tables(conn, names)


def drop_tables(conn: Connection, names: list[str]) -> None:
    """Drop the tables ``names`` (dependents first) and their catalog entries, together."""
    with conn.transaction:
        for name in names:
            info = conn.tables[name]
            for sql in drop_table_sql(info):
                conn.execute(sql, action=f"dropping {info.class_name}")
            conn.execute(delete_catalog_sql(info.schema, info.name))
    for name in names:
        conn.tables.pop(name, None)
    conn._graph = None

    forget(conn, names)
