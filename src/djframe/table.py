"""Tables: the leaves of every query, and the tiers a pipeline is built from.

A table class is declared by decorating it with a :class:`~djframe.schema.Schema`; the class,
its instances and every expression built from them take the same operators and result
methods (``Student & key``, ``Student.to_polars()``). The tiers say where rows come from:
:class:`Manual` and :class:`Lookup` from outside, :class:`Imported` and :class:`Computed` from
``make``, :class:`Part` together with its master.
"""

from __future__ import annotations

import re
import textwrap
import warnings
from collections.abc import Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import ibis
import ibis.expr.types as ir
import networkx as nx

from djframe._sql import NEW_ROWS, OLD_ROWS, quote
from djframe._typing import OnConflict, Tier
from djframe.algebra.expression import QueryExpression
from djframe.algebra.shape import Identity
from djframe.catalog import TableInfo, is_hidden
from djframe.compile.lower import LowerContext, TableRelation
from djframe.delete import drop, drop_quick
from djframe.errors import AccessError, DataError, DefinitionError, MissingAttributeError
from djframe.frames import chunks, indexed_rows, is_positional
from djframe.heading import Heading
from djframe.insert import cast_term, encode_rows, has_codecs, insert_rows, prepare
from djframe.registry import register_tier
from djframe.session import MakeScope, held_rows, make_scope
from djframe.settings import Role, role_to_prefix
from djframe.staged import StagedInsert
from djframe.store.history import table_history
from djframe.validation import ValidationResult, validate_rows
from djframe.versioning import AsOf, record_written

if TYPE_CHECKING:
    import datetime

    import polars as pl

    from djframe.adapters import SqlAdapter
    from djframe.connection import Connection
    from djframe.schema import Schema

__all__ = ["Lookup", "Manual", "Part", "Table"]

CLASS_LEVEL = {
    "heading",
    "primary_key",
    "insert",
    "insert1",
    "update1",
    "delete",
    "delete_quick",
    "drop",
    "drop_quick",
    "describe",
    "_repr_html_",  # notebooks show a table class as its rows, as they show an instance
    "to_arrow",
    "to_polars",
    "to_pandas",
    "to_dicts",
    "to_arrow_batches",
    "keys",
    "fetch",
    "fetch1",
    "to_arrays",
    "head",
    "tail",
    "alter",
    "staged_insert1",
    "proj",
    "aggr",
    "aggregate",
    "join",
    "extend",
    "restrict",
    "to_ibis",
    "sql",
    "parents",
    "children",
    "ancestors",
    "descendants",
    "parts",
    "full_table_name",
    "table_name",
    "database",
    "validate",
    "insert_dataframe",
    "history",
    "as_of",
    "populate",
    "progress",
    "jobs",
    "key_source",
    "provenance",
    "stale",
    "connection",
}


def visible(names: Iterable[str]) -> list[str]:
    """Table names without the hidden job queues and provenance tables (``~`` names), sorted."""
    return sorted(n for n in names if not is_hidden(n))


class TableMeta(type):
    """Lets a table class stand for its table: ``Student & key``, ``Student.insert(...)``."""

    def __getattribute__(cls, name: str) -> Any:
        if name in CLASS_LEVEL and type.__getattribute__(cls, "_info") is not None:
            return getattr(cls(), name)
        return type.__getattribute__(cls, name)

    def __and__(cls, condition: Any) -> QueryExpression:
        return cls() & condition

    def __sub__(cls, condition: Any) -> QueryExpression:
        return cls() - condition

    def __mul__(cls, other: Any) -> QueryExpression:
        return cls() * other

    def __add__(cls, other: Any) -> QueryExpression:
        return cls() + other

    def __rand__(cls, other: Any) -> QueryExpression:
        return other & cls()

    def __rmul__(cls, other: Any) -> QueryExpression:
        return other * cls()

    def __len__(cls) -> int:
        return len(cls())

    def __iter__(cls) -> Any:
        return iter(cls())

    def __contains__(cls, item: Any) -> bool:
        return item in cls()

    def __bool__(cls) -> bool:
        return True

    def _repr_pretty_(cls, printer: Any, cycle: bool) -> None:
        """IPython's text for a bare table class in a cell: its rows, as an instance shows
        them (``repr(cls)`` itself stays the class's name: it runs no query)."""
        if type.__getattribute__(cls, "_info") is None:
            printer.text(type.__repr__(cls))
        else:
            printer.text(repr(cls()))

    @property
    def is_declared(cls) -> bool:
        """True once a schema declared the class's table (``Table.is_declared``)."""
        return type.__getattribute__(cls, "_info") is not None


def snake_case(name: str) -> str:
    """``SessionTrial`` -> ``session_trial``; ``Session_Trial`` too, with a warning, as
    DataJoint 2.3.5 names it (underscores dropped, so the two classes name one table)."""
    if "_" in name:
        warnings.warn(
            f"Table class name {name!r} contains underscores: they are dropped, and its table "
            f"is named as {name.replace('_', '')!r}'s would be. Prefer CamelCase without them.",
            UserWarning,
            stacklevel=4,
        )
        name = name.replace("_", "")
    if not re.match(r"^[A-Z][A-Za-z0-9]*$", name):
        raise DefinitionError(
            f"Table class name {name!r} must be CamelCase (letters and digits, starting with a "
            "capital), e.g. SessionTrial."
        )
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Table(QueryExpression, metaclass=TableMeta):
    """The base of every table tier."""

    definition: ClassVar[str] = ""
    tier: ClassVar[Tier]
    prefix: ClassVar[str] = role_to_prefix[Role.manual]
    _info: ClassVar[TableInfo | None] = None
    _schema: ClassVar[Schema | None] = None
    connection: Connection

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A class that names its ``tier`` in its own body is that tier's base class."""
        super().__init_subclass__(**kwargs)
        if "tier" in vars(cls):
            register_tier(cls.tier, cls)

    def __init__(self) -> None:
        if self._info is None:
            raise DefinitionError(
                f"{type(self).__name__} is not declared yet: decorate it with a schema "
                "(@schema above the class) before using it."
            )
        self.connection = self._schema.connection  # type: ignore[union-attr]

    # -- identity ------------------------------------------------------------------------
    @classmethod
    def table_name_for(cls, class_name: str) -> str:
        return cls.prefix + snake_case(class_name)

    @property
    def info(self) -> TableInfo:
        assert self._info is not None
        return self._info

    @property
    def table_name(self) -> str:
        """The SQL name of the table in its schema, with the tier prefix (``__features``)."""
        return self.info.name

    @property
    def full_name(self) -> str:
        return self.info.full_name

    @property
    def database(self) -> str:
        """The name of the table's schema (DataJoint's ``Table.database``)."""
        return self.info.schema

    @property
    def full_table_name(self) -> str:
        """The quoted SQL name with its schema, as it appears in SQL (``"lab"."__features"``)."""
        return self.info.sql_name

    @property
    def adapter(self) -> SqlAdapter:
        """The connection's :class:`~djframe.adapters.SqlAdapter`, for SQL written by hand."""
        return self.connection.adapter

    @property
    def heading(self) -> Heading:
        """The table's attributes: types, key membership, defaults, comments and lineage."""
        return self.info.heading

    def lower(self, ctx: LowerContext) -> ir.Table:
        schema = {a.name: a.type.ibis for a in self.heading if a.type is not None}
        if not self.info.singleton:
            return ibis.table(schema, name=self.info.name, database=self.info.schema)
        # The hidden key column must be known to Ibis, or `SELECT *` would bring it back.
        hidden = ibis.table(
            {"_singleton": "boolean", **schema}, name=self.info.name, database=self.info.schema
        )
        return hidden.select(*schema)

    def _restricted_table(self) -> TableRelation:
        return self

    def restriction_chain(self) -> tuple[TableRelation, list[Any]]:
        return self, []

    def shape(self, values: list[Any]) -> Hashable:
        """A table is its catalog entry (a table altered or declared again is another)."""
        return ("table", Identity(self.info))

    def _foreign_key_source(self) -> tuple[TableInfo, dict[str, str]]:
        return self.info, {}

    # -- changing data -------------------------------------------------------------------
    def insert(
        self,
        rows: Any,
        *,
        skip_duplicates: bool = False,
        replace: bool = False,
        ignore_extra_fields: bool = False,
        allow_direct_insert: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        """Insert rows: a Polars, Arrow or pandas frame, a list of dicts, a CSV path, or a query.

        ``chunk_size=n`` inserts ``n`` rows at a time, each piece in a transaction of its own
        (DataJoint's option for inputs too large for one statement); a query is inserted whole.

        Examples
        --------
        >>> Student.insert(pl.DataFrame({"student_id": [1, 2], "first_name": ["Ann", "Bo"]}))  # doctest: +SKIP
        """
        if chunk_size is not None:
            if isinstance(rows, QueryExpression) or (
                isinstance(rows, type) and issubclass(rows, QueryExpression)
            ):
                raise DataError(
                    "chunk_size is not supported for inserts from a query: the engine copies "
                    "the rows in one statement; insert without chunk_size."
                )
            options = dict(skip_duplicates=skip_duplicates, replace=replace)
            options.update(ignore_extra_fields=ignore_extra_fields)
            for chunk in chunks(rows, chunk_size, self.heading):
                self.insert(chunk, allow_direct_insert=allow_direct_insert, **options)
            return
        self.check_direct_insert(allow_direct_insert)
        if skip_duplicates and replace:
            raise DataError("insert takes skip_duplicates or replace, not both.")
        on_conflict: OnConflict = "skip" if skip_duplicates else "replace" if replace else "error"
        scope = make_scope.get()
        quick = on_conflict == "error" and not ignore_extra_fields
        if quick and scope is not None and self.held_quickly(scope, rows):
            return
        if isinstance(rows, QueryExpression):
            rows = rows.to_polars() if has_codecs(rows.heading) else rows.to_arrow()
        rows, objects = encode_rows(rows, self.info)
        data = prepare(
            rows, self.info, ignore_extra_fields=ignore_extra_fields, on_conflict=on_conflict
        )
        if scope is not None:
            scope.check(self, data)
        insert_rows(self.connection, self.info, data, on_conflict, objects)

    def insert_dataframe(
        self, df: Any, index_as_pk: bool | None = None, **insert_options: Any
    ) -> None:
        """Insert a pandas frame, its index as the primary key (``True``) or dropped
        (``False``); by default the index is the key when it is named as the key, as
        ``to_pandas()`` gives it. ``insert_options`` go to :meth:`insert`."""
        self.insert(indexed_rows(df, self.primary_key, index_as_pk), **insert_options)

    def validate(self, rows: Any, *, ignore_extra_fields: bool = False) -> ValidationResult:
        """Check ``rows`` as :meth:`insert` would, writing nothing; true if they would insert.

        Examples
        --------
        >>> result = Student.validate(rows)  # doctest: +SKIP
        >>> Student.insert(rows) if result else print(result.summary())  # doctest: +SKIP
        """
        return validate_rows(rows, self.info, ignore_extra_fields=ignore_extra_fields)

    def held_quickly(self, scope: MakeScope, rows: Any) -> bool:
        """Within a make of a populate group: hold dict rows of given keys as they are."""
        held = held_rows.get()
        if held is None or not scope.admits(self, rows):
            return False
        return held.hold_dicts(self.connection, self.info, rows)

    def insert1(self, row: Any, **options: Any) -> None:
        """Insert one row: a dict, or (deprecated, as in DataJoint) a tuple of values in the
        order of the attributes; ``options`` are those of :meth:`insert`."""
        if not (isinstance(row, Mapping) or is_positional(row)):
            raise DataError(
                f"insert1 takes one row, a dict (or a tuple of values in the order of the "
                f"attributes); got a {type(row).__name__}."
            )
        self.insert([row], **options)

    def check_direct_insert(self, allowed: bool) -> None:
        auto = self.tier in {"imported", "computed"} or self.master_tier() in {
            "imported",
            "computed",
        }
        if auto and not (allowed or make_scope.get() is not None):
            raise AccessError(
                f"{type(self).__name__} is filled by populate(): its rows come from make(). "
                "Insert into it only inside make, or pass allow_direct_insert=True."
            )

    def master_tier(self) -> Tier | None:
        master = self.info.master
        return self.connection.tables[master].tier if master else None

    def update1(self, row: dict[str, Any]) -> None:
        """Change secondary attributes of one existing row, named by its full primary key.

        ``None`` restores an attribute's default. Meant for corrections: rows computed from
        the changed row become stale (see :meth:`AutoPopulate.stale`).

        Examples
        --------
        >>> Student.update1({"student_id": 2, "home_state": "NV"})  # doctest: +SKIP
        """
        key = self.heading.primary_key
        missing = [k for k in key if k not in row]
        if missing:
            raise DataError(f"update1 needs the full primary key; {missing} are missing.")
        unknown = [n for n in row if n not in self.heading]
        if unknown:
            raise MissingAttributeError(f"{type(self).__name__} has no attribute(s) {unknown}.")
        changes = [n for n in row if n not in key]
        if not changes:
            raise DataError("update1 was given only the key; name an attribute to change.")
        encoded, objects = encode_rows([row], self.info)  # codec values, as insert encodes them
        data = prepare(encoded, self.info, complete=False)
        conn = self.connection
        with conn.transaction, conn.temporary(data) as source:
            found = conn.fetch_count(
                f"SELECT count(*) FROM {self.info.sql_name} AS {OLD_ROWS} JOIN {quote(source)} AS {NEW_ROWS} "
                f"USING ({', '.join(quote(k) for k in key)})"
            )
            if found != 1:
                raise DataError(
                    f"update1 found no row of {type(self).__name__} with key { {k: row[k] for k in key} }."
                )
            # None restores an attribute's default, as in DataJoint.
            where = f"In {type(self).__name__}"
            sets = ", ".join(
                f"{quote(n)} = {cast_term(self.heading[n], f'{NEW_ROWS}.{quote(n)}', conn.backend.dialect, where)}"
                for n in changes
            )
            match = " AND ".join(f"{OLD_ROWS}.{quote(k)} = {NEW_ROWS}.{quote(k)}" for k in key)
            conn.execute(
                f"UPDATE {self.info.sql_name} AS {OLD_ROWS} SET {sets} FROM {quote(source)} AS {NEW_ROWS} "
                f"WHERE {match}",
                action=f"updating {type(self).__name__}",
            )
            record_written(conn, self.info, data, objects, operation="update")

    def drop(self, prompt: bool | None = None, part_integrity: str = "enforce") -> None:
        """Drop this table and every table that depends on it; a part table only with its
        master, unless ``part_integrity="ignore"``."""
        drop(self, prompt=prompt, part_integrity=part_integrity)

    def alter(self, prompt: bool | None = None, context: dict[str, Any] | None = None) -> None:
        """Alter the table to the class's current ``definition``: secondary attributes added
        (with a default, or nullable), dropped, or changed in type, default or nullability,
        the rows kept, as DataJoint's ``alter``. The key, foreign keys and indexes stay.

        Examples
        --------
        >>> Subject.definition += "weight = null : float32\n"  # doctest: +SKIP
        >>> Subject.alter(prompt=False)  # doctest: +SKIP
        """
        assert self._schema is not None
        self._schema.alter(type(self), prompt=prompt, context=context)

    @property
    def staged_insert1(self) -> StagedInsert:
        """``with T.staged_insert1 as staged:`` stages one row: ``staged.rec[...]`` its values,
        ``staged.open(field, ext)`` a file for an ``<object@>`` attribute; the row is inserted
        on leaving the block (see :mod:`djframe.staged`)."""
        return StagedInsert(self)

    def drop_quick(self) -> None:
        """Drop this table alone, without asking; refused while other tables depend on it."""
        drop_quick(self)

    @property
    def is_declared(self) -> bool:
        """True: an instance exists only for a declared table."""
        return self._info is not None

    # -- description ---------------------------------------------------------------------
    def describe(self) -> str:
        """The table's definition, as declared (dedented)."""
        return textwrap.dedent(self.info.definition.strip("\n")).strip()

    def parents(self, primary: bool | None = None) -> list[str]:
        """Full names (``schema.table``) of the tables this one references; ``primary=True``
        only through foreign keys in its primary key, ``False`` only through the others."""
        edges = self.connection.graph.in_edges(self.full_name, data="primary")
        return visible({p for p, _, in_key in edges if primary is None or in_key == primary})

    def children(self, primary: bool | None = None) -> list[str]:
        """Full names of the tables that reference this one; ``primary=True`` only those whose
        primary key holds the reference, ``False`` only the others."""
        edges = self.connection.graph.out_edges(self.full_name, data="primary")
        return visible({c for _, c, in_key in edges if primary is None or in_key == primary})

    def ancestors(self) -> list[str]:
        """Full names of every table this one depends on, directly or not."""
        return visible(nx.ancestors(self.connection.graph, self.full_name))

    def descendants(self) -> list[str]:
        """Full names of every table that depends on this one, directly or not."""
        return visible(nx.descendants(self.connection.graph, self.full_name))

    # -- stored objects: versions and time travel (djframe.store) ----------------------------
    def history(self) -> pl.DataFrame:
        """The versions of this table's stored objects, newest first: one row per Delta commit
        with ``store``, ``version``, ``timestamp``, ``operation`` (Delta's) and djframe's
        metadata (``table``, ``action``, ``job_id``, ``code_version``)."""
        return table_history(self)

    def as_of(self, version: int | datetime.datetime) -> AsOf:
        """The rows as they were committed at a version of :meth:`history` (or at a time: the
        last version committed at or before it), every attribute, read-only; never rows of
        a transaction that rolled back. Kept for tables with store-typed attributes. See
        :mod:`djframe.store.versions`.

        Examples
        --------
        >>> Features.as_of(0).to_polars()  # doctest: +SKIP
        >>> (Model.as_of(before_change) & {"model_id": 1}).fetch1("accuracy")  # doctest: +SKIP
        """
        return AsOf(self, version)

    def parts(self) -> list[str]:
        """Full names of this table's part tables."""
        return sorted(
            t.full_name for t in self.connection.tables.values() if t.master == self.full_name
        )


class Manual(Table):
    """Rows entered from outside the pipeline."""

    tier: ClassVar[Tier] = "manual"


class Lookup(Table):
    """Small reference tables; ``contents`` is inserted when the table is declared."""

    tier: ClassVar[Tier] = "lookup"
    prefix = role_to_prefix[Role.lookup]
    contents: ClassVar[Any] = ()


class Part(Table):
    """Rows that belong to one row of a master table; nested in the master's class."""

    tier: ClassVar[Tier] = "part"
    master: ClassVar[type[Table]]


class FreeTable(Table):
    """A table opened by its name, without its class: ``dj.FreeTable(conn, "lab.session")``
    (or its ``full_table_name``). It reads, restricts, inserts into and deletes from the table
    as its class would; what needs the class (``make``, ``populate``, ``alter``) does not apply.
    """

    def __init__(self, connection: Connection, full_table_name: str) -> None:
        connection.load_all_schemas()
        by_sql = {info.sql_name: name for name, info in connection.tables.items()}
        info = connection.table_info(by_sql.get(full_table_name, full_table_name))
        self._info = info  # type: ignore[misc]  # this instance's table, not the class's
        self.tier = info.tier  # type: ignore[misc]
        self.connection = connection

    def __repr__(self) -> str:
        return f"FreeTable({self.full_table_name})"
