"""How to write SQL by hand for a connection's backend: DataJoint's ``conn.adapter``.

djframe builds its own SQL through Ibis and sqlglot; :meth:`Connection.query
<djframe.connection.Connection.query>` runs a user's SQL as it is. :class:`SqlAdapter` tells
such SQL what the backend expects: its name (DataJoint's spelling, ``"postgresql"`` or
``"duckdb"``), how identifiers and strings are quoted, the argument placeholder of
``conn.query``, full table names, and the SQL type each core type is stored as. Both backends
quote identifiers in double quotes, as SQL does.

Examples
--------
>>> adapter = SqlAdapter("postgres")
>>> adapter.backend, adapter.quote_identifier('odd"name'), adapter.quote_string("it's")
('postgresql', '"odd""name"', "'it''s'")
>>> adapter.make_full_table_name("lab", "session"), adapter.core_type_to_sql("varchar(12)")
('"lab"."session"', 'VARCHAR(12)')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from djframe._sql import literal, quote
from djframe._typing import BackendName
from djframe.errors import QueryError
from djframe.types import parse_type

__all__ = ["SqlAdapter"]

DATAJOINT_NAMES: dict[BackendName, str] = {"postgres": "postgresql", "duckdb": "duckdb"}
_QUOTED_NAME = re.compile(r'^"((?:[^"]|"")*)"\."((?:[^"]|"")*)"$')


@dataclass(frozen=True)
class SqlAdapter:
    """The SQL conventions of one backend (see the module docstring)."""

    name: BackendName

    @property
    def backend(self) -> str:
        """The backend as DataJoint names it: ``"postgresql"`` or ``"duckdb"``."""
        return DATAJOINT_NAMES[self.name]

    @property
    def parameter_placeholder(self) -> str:
        """What stands for an argument in ``conn.query(sql, args)``: ``%s`` on every backend."""
        return "%s"

    def quote_identifier(self, name: str) -> str:
        """``name`` as a quoted SQL identifier (inner quotes doubled)."""
        return quote(name)

    def quote_string(self, value: str) -> str:
        """``value`` as a SQL string literal (inner single quotes doubled)."""
        return literal(value)

    def make_full_table_name(self, database: str, table_name: str) -> str:
        """The quoted ``schema.table`` name, as :attr:`Table.full_table_name` gives it."""
        return quote(database, table_name)

    def split_full_table_name(self, full_table_name: str) -> tuple[str, str]:
        """The schema and table of a quoted full name (the inverse of
        :meth:`make_full_table_name`)."""
        match = _QUOTED_NAME.match(full_table_name)
        if match is None:
            raise QueryError(
                f"{full_table_name!r} is not a quoted full table name; write it as "
                '"schema"."table", as Table.full_table_name gives it.'
            )
        schema, table = (part.replace('""', '"') for part in match.groups())
        return schema, table

    def core_type_to_sql(self, core_type: str) -> str:
        """The SQL column type a core type (``int32``, ``varchar(12)`` ...) is stored as here;
        an unknown type raises :class:`~djframe.errors.UnknownTypeError`."""
        return parse_type(core_type).sql(self.name)
