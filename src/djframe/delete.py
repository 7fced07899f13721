"""Deleting and dropping: cascades through every dependent table, in one transaction.

A delete walks the dependency graph from the restricted table to every descendant in every
loaded schema, restricting each child by its parents' doomed rows (through renamed foreign
keys too), and deletes leaves first. Master-part integrity follows DataJoint 2.x: a delete
may not remove part rows while leaving their master (``part_integrity="enforce"``), may
(``"ignore"``), or widens to the whole master entity (``"cascade"``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from djframe._typing import PartIntegrity
from djframe.catalog import TableInfo, delete_catalog_sql, quote
from djframe.errors import AccessError, IntegrityError, QueryError
from djframe.graph import dependents_first
from djframe.settings import config

if TYPE_CHECKING:
    from djframe.algebra.expression import QueryExpression
    from djframe.connection import Connection
    from djframe.table import Table

__all__ = ["cascade", "confirm", "delete", "delete_quick", "delete_rows", "drop"]


def table_of(conn: Connection, full_name: str) -> Table:
    from djframe.schema import table_class

    return table_class(conn, full_name)()


def confirm(question: str, prompt: bool | None) -> bool:
    """Ask before destructive work only in an interactive session with safe mode on."""
    ask = config["safemode"] and sys.stdin.isatty() if prompt is None else prompt
    if not ask:
        return True
    return input(f"{question} [yes/No]: ").strip().lower() in {"yes", "y"}


def restrict_child(
    child: Table, parents: list[tuple[QueryExpression, dict[str, str]]]
) -> QueryExpression:
    """Rows of ``child`` that reference any of the parents' rows (OR over the edges)."""
    conditions = [
        parent.proj(**{c: p for c, p in attr_map.items() if c != p}) for parent, attr_map in parents
    ]
    return child.restrict(conditions, semantic_check=False)


def cascade(root: QueryExpression) -> dict[str, QueryExpression]:
    """The rows to delete in each affected table, by full name, leaves first."""
    conn = root.connection
    conn.load_all_schemas()
    graph = conn.graph
    base = root_table(root)
    order = list(reversed(dependents_first(graph, [base.full_name])))
    doomed: dict[str, QueryExpression] = {base.full_name: root}
    for name in order[1:]:
        parents = [
            (doomed[parent], data["attr_map"])
            for parent, _, data in graph.in_edges(name, data=True)
            if parent in doomed
        ]
        doomed[name] = restrict_child(table_of(conn, name), parents)
    return {name: doomed[name] for name in reversed(order)}


def root_table(expr: QueryExpression) -> TableInfo:
    table = expr._restricted_table()
    if table is None:
        raise QueryError(
            "Only a table, or a restriction of one (Table & condition), can be deleted from; "
            "this expression joins or projects."
        )
    return table._info


def check_part_integrity(
    plan: dict[str, QueryExpression], counts: dict[str, int], mode: PartIntegrity, root: TableInfo
) -> None:
    if mode == "ignore":
        return
    conn_tables = next(iter(plan.values())).connection.tables
    if root.master and root.master not in plan and mode == "enforce":
        raise AccessError(
            f"Cannot delete from the part table {root.class_name} directly: parts are deleted with "
            "their master. Delete from the master, or pass part_integrity='ignore'."
        )
    for name, count in counts.items():
        info = conn_tables[name]
        if info.master and count and not counts.get(info.master):
            raise IntegrityError(
                f"This delete would remove {count} row(s) of the part table {info.class_name} but "
                f"none of its master {conn_tables[info.master].class_name}, breaking master-part "
                "integrity. Delete the master rows, or pass part_integrity='cascade' (also delete "
                "the masters) or 'ignore'."
            )


def masters_of_parts(plan: dict[str, QueryExpression]) -> list[QueryExpression]:
    """For part_integrity='cascade': the master rows of the part rows the plan would delete."""
    widened = []
    for name, expr in plan.items():
        info = expr.connection.tables[name]
        if info.master and info.master not in plan:
            widened.append(
                table_of(expr.connection, info.master).restrict(expr.proj(), semantic_check=False)
            )
    return widened


def delete_rows(conn: Connection, info: TableInfo, rows: QueryExpression) -> None:
    key = info.heading.primary_key
    if not key:
        conn.execute(f"DELETE FROM {info.sql_name}", action=f"deleting from {info.class_name}")
        return
    columns = ", ".join(quote(k) for k in key)
    subquery = rows.proj().sql()
    conn.execute(
        f"DELETE FROM {info.sql_name} WHERE ({columns}) IN (SELECT {columns} FROM ({subquery}) AS doomed)",
        action=f"deleting from {info.class_name}",
    )


def delete(
    expr: QueryExpression,
    *,
    prompt: bool | None,
    part_integrity: PartIntegrity,
) -> int:
    """Delete ``expr``'s rows and everything that depends on them; returns the root's count."""
    conn = expr.connection
    root = root_table(expr)
    plan = cascade(expr)
    counts = {name: len(rows) for name, rows in plan.items()}
    masters = masters_of_parts(plan) if part_integrity == "cascade" else []
    check_part_integrity(plan, counts, "ignore" if masters else part_integrity, root)
    if not counts[root.full_name]:
        return 0
    summary = ", ".join(f"{conn.tables[n].class_name}: {c}" for n, c in counts.items() if c)
    if not confirm(f"Delete {summary}?", prompt):
        return 0
    with conn.transaction:
        for master in masters:
            delete(master, prompt=False, part_integrity="cascade")
        for name, rows in plan.items():
            if counts[name]:
                delete_rows(conn, conn.tables[name], rows)
    return counts[root.full_name]


def delete_quick(expr: QueryExpression) -> int:
    """Delete without cascading; refused where another table still references the rows."""
    conn = expr.connection
    info = root_table(expr)
    count = len(expr)
    with conn.transaction:
        if not conn.backend.enforces_foreign_keys:
            for name, rows in cascade(expr).items():
                if name != info.full_name and len(rows):
                    raise IntegrityError(
                        f"Cannot delete from {info.class_name} without cascading: "
                        f"{conn.tables[name].class_name} still references the rows. Use delete()."
                    )
        delete_rows(conn, info, expr)
    return count


def drop(table: Table, *, prompt: bool | None) -> None:
    """Drop a table and every table downstream of it, leaves first, in one transaction."""
    conn = table.connection
    conn.load_all_schemas()
    names = dependents_first(conn.graph, [table.full_name])
    listing = ", ".join(conn.tables[n].class_name for n in names)
    if not confirm(f"Drop {listing} and all their rows?", prompt):
        return
    with conn.transaction:
        for name in names:
            info = conn.tables[name]
            conn.execute(f"DROP TABLE {info.sql_name}", action=f"dropping {info.class_name}")
            conn.execute(delete_catalog_sql(info.schema, info.name))
    for name in names:
        conn.tables.pop(name, None)
    conn._graph = None
