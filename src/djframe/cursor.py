"""DataJoint's ``conn.query(sql, args)``: a SQL statement run as it is, rows as a cursor.

This is the escape hatch a DataJoint user reaches for (``conn.query("SELECT ...").fetchall()``).
Arguments are given DB-API style (``%s`` placeholders, ``%%`` for a literal ``%``) and are
written into the statement as SQL literals, so the same call works on DuckDB and PostgreSQL.
The statement is passed to the engine untranslated; queries of tables go through the algebra.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from djframe._sql import plain_literal
from djframe.errors import QueryError

__all__ = ["Cursor", "bind_arguments", "returns_rows"]

_PLACEHOLDER = re.compile(r"%%|%s|%\((\w+)\)s")
_ROWS = re.compile(r"^\s*(\(\s*)*(SELECT|WITH|SHOW|VALUES|EXPLAIN|TABLE|DESCRIBE|PRAGMA)\b", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)


def returns_rows(sql: str) -> bool:
    """True for a statement that gives rows (a query, or a change with ``RETURNING``)."""
    return bool(_ROWS.match(sql) or _RETURNING.search(sql))


def bind_arguments(sql: str, args: Sequence[Any] | dict[str, Any] | None) -> str:
    """``sql`` with its ``%s`` (or ``%(name)s``) placeholders replaced by literals of ``args``.

    Examples
    --------
    >>> bind_arguments("SELECT %s, %s, '100%%'", (1, "a'b"))
    "SELECT 1, 'a''b', '100%'"
    """
    if not args:
        return sql.replace("%%", "%")
    values = iter(args) if not isinstance(args, dict) else None

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        try:
            if values is None:
                return plain_literal(args[match.group(1)])  # type: ignore[index]
            return plain_literal(next(values))
        except (StopIteration, KeyError, TypeError):
            raise QueryError(
                f"conn.query: the statement has more placeholders than arguments ({args!r}): "
                f"{sql!r}."
            ) from None

    return _PLACEHOLDER.sub(substitute, sql)


class Cursor:
    """The rows of one statement, read like a DB-API cursor (``fetchall``, ``fetchone``)."""

    def __init__(self, data: pa.Table | None, *, as_dict: bool = False) -> None:
        self.description = (
            [(name, None, None, None, None, None, None) for name in data.column_names]
            if data is not None
            else None
        )
        columns = [data.column(i).to_pylist() for i in range(data.num_columns)] if data else []
        rows: list[Any] = list(zip(*columns, strict=True)) if columns else []
        if as_dict and data is not None:
            rows = [dict(zip(data.column_names, row, strict=True)) for row in rows]
        self._rows = rows
        self._next = 0

    @property
    def rowcount(self) -> int:
        return len(self._rows)

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchmany(self, size: int = 1) -> list[Any]:
        chunk = self._rows[self._next : self._next + size]
        self._next += len(chunk)
        return chunk

    def fetchall(self) -> list[Any]:
        rest = self._rows[self._next :]
        self._next = len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        while (row := self.fetchone()) is not None:
            yield row

    def close(self) -> None:
        """Nothing to release: the rows were read already."""
