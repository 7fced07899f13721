"""Schemas: a namespace of tables in one database, and the decorator that declares them.

``@schema`` above a table class parses its definition, resolves its parents in the module
that declares it, and creates the table together with its catalog entry in one transaction;
declaring a table that exists already just binds the class to it. A schema can also be opened
without the classes that made it (:func:`virtual_schema`): its tables come back as classes
built from the catalog. Each schema has an identity and records where its objects are
(:mod:`djframe.store.identity`), so that it is found with no ``store=`` and its objects are
never taken for another database's.
"""

from __future__ import annotations

import html
import json
import re
import sys
import types
import warnings
import weakref
from collections.abc import Iterator, Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from djframe import registry
from djframe._sql import quote
from djframe._typing import DescribeFormat
from djframe.catalog import (
    CATALOG,
    JOBS_PREFIX,
    PROPERTIES,
    VERSIONS,
    TableInfo,
    companion_name,
    create_catalog_sql,
    create_versions_sql,
    delete_catalog_sql,
    insert_catalog_sql,
    is_hidden,
    own_tables_sql,
)
from djframe.connection import Connection, default_connection
from djframe.declare.alter import alter_sql
from djframe.declare.ddl import create_table_sql
from djframe.declare.parser import parse_definition
from djframe.declare.resolve import resolve_definition
from djframe.delete import confirm
from djframe.errors import (
    ConfigError,
    DefinitionError,
    DjframeError,
    IntegrityError,
    MissingDefinitionError,
    MissingTableError,
)
from djframe.frames import frame_kind
from djframe.graph import topological
from djframe.session import refuse_in_make
from djframe.settings import config
from djframe.store import default_store, recorded_location
from djframe.store.gc import collect
from djframe.store.identity import (
    SchemaIdentity,
    adopt_ancestor,
    bind_identity,
    creation_sql,
    new_identity,
    read_identity,
    record_store,
)
from djframe.table import Lookup, Part, Table

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Schema", "VirtualModule", "create_virtual_module", "list_schemas", "virtual_schema"]


_contexts: weakref.WeakKeyDictionary[type, dict[str, Any]] = weakref.WeakKeyDictionary()
"""The namespace each class was declared in, for ``alter`` (kept off the class, so that a
class sent to worker processes by value does not carry it)."""


class Schema:
    """A database schema, and the decorator that declares tables in it.

    Examples
    --------
    >>> import djframe as dj
    >>> schema = dj.Schema("doc_lab", connection=dj.connect("duckdb://"))
    >>> @schema
    ... class Subject(dj.Manual):
    ...     definition = '''
    ...     subject_id : int32
    ...     ---
    ...     species = 'mouse' : varchar(30)
    ...     '''
    >>> Subject.insert1({"subject_id": 1})
    >>> Subject.fetch1("species")
    'mouse'
    """

    def __init__(
        self,
        name: str | None = None,
        context: Mapping[str, Any] | None = None,
        *,
        connection: Connection | None = None,
        store: Any = None,
        create_schema: bool = True,
        create_tables: bool | None = None,
        add_objects: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = ""
        self.context = dict(context or {})
        self.create_schema = create_schema
        self.create_tables = create_tables
        self.add_objects = dict(add_objects or {})
        self._connection = connection
        self._store_given = store
        self.store: Any = store if store is not None else default_store()
        self.identity: SchemaIdentity
        self._waiting: list[tuple[type[Table], dict[str, Any]]] = []
        if name is not None:  # dj.Schema() waits for activate(name); a name is checked there
            self.activate(name)

    def __repr__(self) -> str:
        where = repr(self._connection) if self._connection is not None else "(no connection)"
        return f"<djframe.Schema {self.name or '(not activated)'!r} on {where}>"

    @property
    def connection(self) -> Connection:
        """The schema's connection (the configured one unless given)."""
        if self._connection is None:
            self._connection = default_connection()
        return self._connection

    @connection.setter
    def connection(self, value: Connection) -> None:
        self._connection = value

    @property
    def database(self) -> str | None:
        """The schema's name in the database (DataJoint's name), None before ``activate``."""
        return self.name or None

    def is_activated(self) -> bool:
        """True once the schema has a name (given to ``Schema`` or to :meth:`activate`)."""
        return bool(self.name)

    def activate(
        self,
        name: str | None = None,
        *,
        connection: Connection | None = None,
        create_schema: bool | None = None,
        create_tables: bool | None = None,
        add_objects: Mapping[str, Any] | None = None,
        store: Any = None,
    ) -> None:
        """Open (or create) the schema ``name`` and declare the classes decorated before, as
        DataJoint's ``schema.activate``: ``dj.Schema()`` first, the name later.

        Examples
        --------
        >>> schema = dj.Schema()  # doctest: +SKIP
        >>> schema.activate("lab", connection=conn, create_tables=True)  # doctest: +SKIP
        """
        if name is None or self.name:
            self._check_activation(name)
            return
        self.name = checked_schema_name(name)
        if connection is not None:
            self._connection = connection
        if create_schema is not None:
            self.create_schema = create_schema
        if create_tables is not None:
            self.create_tables = create_tables
        if store is not None:
            self._store_given, self.store = store, store
        self.add_objects.update(add_objects or {})
        self.open(self.create_schema)
        self.settle_store(self._store_given)
        waiting, self._waiting = self._waiting, []
        for cls, context in waiting:
            self.declare_master(cls, {**context, **self.add_objects})

    def _check_activation(self, name: str | None) -> None:
        if not self.name:
            raise DefinitionError(
                "This schema has no name yet: call schema.activate('name') with the name of "
                "the database schema."
            )
        if name is not None and name != self.name:
            raise DefinitionError(
                f"This schema is activated already for {self.name!r}; make another dj.Schema "
                f"for {name!r}."
            )

    def open(self, create: bool) -> None:
        """Create the schema (with its catalog and identity) if asked, and load it."""
        conn = self.connection
        own = {str(v) for v in conn.fetch_arrow(own_tables_sql(self.name)).column(0).to_pylist()}
        if CATALOG in own:
            conn.load_schema(self.name)
            self.identity = bind_identity(conn, self.name, PROPERTIES in own)
            if VERSIONS not in own:  # a schema made before row versions
                with suppress(DjframeError), conn.transaction:  # read-only, or made meanwhile
                    conn.execute(create_versions_sql(self.name), action="recording versions")
            return
        if not create:
            raise MissingTableError(
                f"Schema {self.name!r} does not exist in {conn!r}. Known schemas: "
                f"{', '.join(conn.list_schemas()) or '(none)'}. Pass create_schema=True to "
                "create it."
            )
        self.identity = new_identity(
            self.name, conn.backend.location(), recorded_location(self.store, conn)
        )
        with conn.transaction:
            conn.execute(
                f"CREATE SCHEMA IF NOT EXISTS {quote(self.name)}",
                action=f"creating schema {self.name}",
            )
            made = [create_catalog_sql(self.name), create_versions_sql(self.name)]
            for sql in [*made, *creation_sql(self.identity)]:
                conn.execute(sql, action=f"creating schema {self.name}")
        conn.load_schema(self.name)
        self.identity = read_identity(conn, self.name) or self.identity  # a concurrent creator's

    def settle_store(self, given: Any) -> None:
        """The default store: ``store=`` as given, else the configured one, else the one the
        database records for the schema. The store given (or, where none is recorded, the
        one used) is recorded, so that whoever opens the schema without it finds the objects.
        Only the location is recorded, never storage options."""
        recorded = self.identity.store
        if given is None and not config.is_set("store") and recorded is not None:
            self.store = recorded
            return
        location = recorded_location(self.store, self.connection)
        if location != recorded and (given is not None or recorded is None):
            self.identity = record_store(self.connection, self.identity, location)

    def adopt_objects(self) -> None:
        """Take over the objects of the database this one is a copy of, when that database
        is gone: it was moved or restored elsewhere, not copied. (A DuckDB file that moved
        is recognized by itself; a PostgreSQL database restored on another server is not.)

        Examples
        --------
        >>> schema.adopt_objects()  # doctest: +SKIP
        """
        self.identity = adopt_ancestor(self.connection, self.identity)

    @property
    def tables(self) -> dict[str, TableInfo]:
        """The schema's tables by SQL name, as the connection knows them (drops included)."""
        return {i.name: i for i in self.connection.tables.values() if i.schema == self.name}

    @property
    def exists(self) -> bool:
        """True when the schema exists in the database."""
        return self.name in self.connection.list_schemas()

    # -- declaring -----------------------------------------------------------------------
    def __call__(
        self, cls: type[Table], *, context: Mapping[str, Any] | None = None
    ) -> type[Table]:
        """Declare ``cls`` (and its nested parts) in this schema: ``@schema`` above the class,
        or ``schema(cls, context=...)``. Before :meth:`activate`, the class waits for it."""
        if issubclass(cls, Part):
            raise DefinitionError(
                f"{cls.__name__} is a Part: nest it inside its master's class and decorate the master."
            )
        refuse_in_make(f"declare {cls.__name__}")
        frame = sys._getframe(1)
        found = {**frame.f_globals, **frame.f_locals, **self.context, **(context or {})}
        if not self.name:
            self._waiting.append((cls, found))
            return cls
        self.declare_master(cls, {**found, **self.add_objects})
        return cls

    def declare_master(self, cls: type[Table], context: dict[str, Any]) -> None:
        """Declare a master class, then its parts, then insert a Lookup's contents, in one
        transaction: a bad part or row leaves nothing declared."""
        parts = parts_of(cls)
        try:
            with self.connection.transaction:
                self.declare(cls, context)
                if cls._info is None:  # not declared: create_tables=False
                    return
                for part in parts:
                    part.master = cls
                    self.declare(part, {**context, "master": cls, cls.__name__: cls}, master=cls)
                if issubclass(cls, Lookup):
                    insert_contents(cls)
        except BaseException:
            self.unbind_undeclared([cls, *parts])
            raise
        add_definition_to_doc(cls)

    def unbind_undeclared(self, classes: list[type[Table]]) -> None:
        """Unbind the classes whose tables a rolled-back declaration took away."""
        for cls in classes:
            info = cls.__dict__.get("_info")
            if info is not None and info.full_name not in self.connection.tables:
                registry.forget(self.connection, [info.full_name])
                cls._info = None

    def declare(
        self, cls: type[Table], context: dict[str, Any], master: type[Table] | None = None
    ) -> None:
        name = table_name(cls, master)
        existing = self.tables.get(name)
        if existing is None and not self.creates_tables():
            return  # DataJoint's create_tables=False: the class stays undeclared
        _contexts[cls] = context
        if existing is None:
            existing = self.create(cls, name, context, master)
        elif normalized(existing.definition) != normalized(cls.definition):
            warnings.warn(
                f"{cls.__name__} exists in schema {self.name!r} with a different definition; "
                "the existing table is used. Drop it to declare the new definition.",
                stacklevel=3,
            )
        self.bind(cls, existing)

    def create(
        self, cls: type[Table], name: str, context: dict[str, Any], master: type[Table] | None
    ) -> TableInfo:
        conn = self.connection
        info = self.resolve(
            cls, name, context, master._info.full_name if master and master._info else None
        )
        statements = create_table_sql(
            info, conn.backend.dialect, foreign_keys=conn.backend.enforces_foreign_keys
        )
        with conn.transaction:
            for sql in statements:
                conn.execute(sql, action=f"declaring {cls.__name__}")
            conn.execute(insert_catalog_sql(info))
            conn.add_table(info)
        return info

    def resolve(
        self, cls: type[Table], name: str, context: dict[str, Any], master: str | None
    ) -> TableInfo:
        """The table ``cls.definition`` declares, resolved in ``context`` (nothing is run)."""
        if not isinstance(cls.definition, str) or not cls.definition.strip():
            near = [n for n in vars(cls) if n.lower().startswith("defin") and n != "definition"]
            hint = f" (it sets {', '.join(near)}: a misspelling?)" if near else ""
            raise MissingDefinitionError(
                f"{cls.__name__} has no definition{hint}. Set its class attribute `definition` "
                "to the table's attributes, e.g. definition = 'id : int32'."
            )
        definition = parse_definition(cls.definition, cls.__name__, reserved=is_hidden(name))
        return resolve_definition(
            definition,
            schema=self.name,
            name=name,
            class_name=cls.__name__,
            tier=cls.tier,
            text=cls.definition,
            context=context,
            master=master,
        )

    def alter(
        self, cls: type[Table], *, prompt: bool | None = None, context: dict[str, Any] | None = None
    ) -> None:
        """Alter the table of ``cls`` to its class's current definition (secondary attributes
        added, dropped or changed, the rows kept); see :mod:`djframe.declare.alter`."""
        conn = self.connection
        info = cls._info
        assert info is not None
        if normalized(info.definition) == normalized(cls.definition):
            return
        if conn.in_transaction:
            raise DefinitionError(f"Cannot alter {cls.__name__} inside a transaction (or a make).")
        found = context if context is not None else _contexts.get(cls, {})
        master = self.connection.tables.get(info.master) if info.master else None
        scope = {
            **found,
            **({"master": registry.table_class(conn, master.full_name)} if master else {}),
        }
        new = self.resolve(cls, info.name, scope, info.master)
        statements = alter_sql(info, new, conn.backend.dialect)
        if not confirm(
            f"Alter {cls.__name__}: {'; '.join(statements) or 'comments only'}?", prompt
        ):
            return
        with conn.transaction:
            for sql in statements:
                conn.execute(sql, action=f"altering {cls.__name__}")
            conn.execute(delete_catalog_sql(self.name, info.name))
            conn.execute(insert_catalog_sql(new))
        conn.load_schema(self.name)
        self.bind(cls, conn.tables[new.full_name])

    def bind(self, cls: type[Table], info: TableInfo, *, replace: bool = True) -> None:
        """Bind ``cls`` to its table; ``replace=False`` leaves a class bound already as the
        one the connection finds (a spawned class must not shadow a declared one)."""
        cls._info = info
        cls._schema = self
        if replace or info.full_name not in registry.classes_of(self.connection):
            registry.bind(self.connection, info.full_name, cls)

    def spawn(self, info: TableInfo) -> type[Table]:
        """A class for a table declared elsewhere, built from the catalog and bound to this
        schema (so its objects are read from this schema's store)."""
        base = registry.TIERS[info.tier]
        cls = type(
            info.class_name,
            (base,),
            {"definition": info.definition, "__module__": f"djframe.virtual.{self.name}"},
        )
        self.bind(cls, info, replace=False)
        return cls

    def class_for(self, info: TableInfo) -> type[Table]:
        """The class bound to a table of this schema if it reads the same store, else a new
        one bound to this schema."""
        known = registry.classes_of(self.connection).get(info.full_name)
        if known is not None and known._schema is not None and known._schema.store == self.store:
            return known
        return self.spawn(info)

    def creates_tables(self) -> bool:
        """Whether decorating a class of a missing table creates it (``create_tables``,
        else ``dj.config["database.create_tables"]``)."""
        if self.create_tables is not None:
            return self.create_tables
        return bool(config["database.create_tables"])

    # -- introspection -------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        """The schema's tables (SQL names), parents before children."""
        self.connection.load_schema(self.name)
        names = [t.full_name for t in self.user_tables()]
        return [n.split(".", 1)[1] for n in topological(self.connection.graph, names)]

    def user_tables(self) -> list[TableInfo]:
        """The declared tables, without the hidden job queues and provenance tables (``~``)."""
        return [t for t in self.tables.values() if not is_hidden(t.name)]

    def find_table(self, name: str) -> TableInfo | None:
        """A table of the schema by SQL name or class name, with or without its tier prefix."""
        self.connection.load_schema(self.name)
        infos = self.user_tables()
        for info in infos:
            if name in (info.class_name, info.name):
                return info
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() if name[:1].isupper() else name
        for prefix in ("", "#", "_", "__"):
            for info in infos:
                if info.name == prefix + snake:
                    return info
        return None

    def get_table(self, name: str) -> Table:
        """A table of the schema by name (``"session"``, ``"Session"``, ``"#lookup"``), as an
        instance of its class: the one declared, else one built from the catalog.

        Examples
        --------
        >>> schema.get_table("Subject").to_polars()  # doctest: +SKIP
        >>> schema["subject"] is not None, "Subject" in schema  # doctest: +SKIP
        """
        info = self.find_table(name)
        if info is None:
            raise MissingTableError(
                f"Table {name!r} does not exist in schema {self.name!r}. Its tables: "
                f"{', '.join(self.list_tables()) or '(none)'}."
            )
        return self.class_for(info)()

    def __getitem__(self, name: str) -> Table:
        return self.get_table(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(name) and self.find_table(name) is not None

    def __iter__(self) -> Iterator[Table]:
        """The schema's tables, parents first."""
        for name in self.list_tables():
            yield self.get_table(name)

    @property
    def jobs(self) -> list[Table]:
        """The job queues of the schema's Imported and Computed tables that have one."""
        self.connection.load_schema(self.name)
        auto = [i for i in self.user_tables() if i.tier in ("imported", "computed")]
        return [
            self.class_for(i)().jobs  # type: ignore[attr-defined]
            for i in auto
            if companion_name(i.full_name, JOBS_PREFIX) in self.connection.tables
        ]

    def spawn_missing_classes(self, context: dict[str, Any] | None = None) -> None:
        """Put a class for each table of the schema into ``context`` (by default the caller's
        namespace) that has none there yet, parts nested in their masters (DataJoint's
        ``spawn_missing_classes``)."""
        into = context if context is not None else sys._getframe(1).f_locals
        self.connection.load_schema(self.name)
        fill_namespace(self, into)

    def make_classes(self, into: dict[str, Any] | None = None) -> None:
        """DataJoint 2.x's name for :meth:`spawn_missing_classes` (``into``: the namespace)."""
        self.spawn_missing_classes(into if into is not None else sys._getframe(1).f_locals)

    @property
    def graph(self) -> Any:
        """The schema's dependency graph (a networkx MultiDiGraph, parent to child)."""
        names = [t.full_name for t in self.user_tables()]
        return self.connection.graph.subgraph(names).copy()

    def gc(
        self,
        *,
        dry_run: bool = True,
        retention_hours: float | None = None,
        min_age_seconds: float = 3600.0,
    ) -> pl.DataFrame:
        """Remove stored objects that no row references (after deletes, replacements and
        failed transactions); a dry run (the default) only reports them.

        ``retention_hours`` also vacuums: files of Delta versions older than that are deleted
        (time travel to them ends). Objects younger than ``min_age_seconds`` are kept, as
        their transaction may still be running. Returns one row per object table: its
        ``objects``, the ``unreferenced`` ones, of those the ``spared`` (too young) ones, and
        how many were ``removed`` (see :func:`djframe.store.gc.collect`).

        Examples
        --------
        >>> schema.gc()  # doctest: +SKIP
        >>> schema.gc(dry_run=False, retention_hours=24 * 7)  # doctest: +SKIP
        """
        return collect(
            self, dry_run=dry_run, retention_hours=retention_hours, min_age_seconds=min_age_seconds
        )

    def describe(self, format: DescribeFormat = "text") -> SourceText:
        """The schema's table classes as Python (``"text"``), or the whole pipeline as JSON
        (``"json"``): tables, tiers, attributes with types and lineage, foreign keys, codecs,
        row counts, remaining work and jobs, for tools and automated agents.

        The text declares every table again, parents first, with each part class nested in
        its master: run it where ``schema`` is a :class:`Schema` (``make`` methods and
        ``contents`` are not part of it). Either is a ``str`` that notebooks show as code.

        Examples
        --------
        >>> import json
        >>> state = json.loads(schema.describe(format="json"))  # doctest: +SKIP
        >>> [t["name"] for t in state["tables"]]  # doctest: +SKIP
        >>> exec(schema.describe(), {"schema": dj.Schema("copy")})  # doctest: +SKIP
        """
        from djframe.status import describe_schema

        if format == "json":
            return SourceText(json.dumps(describe_schema(self), indent=2, default=str), "json")
        if format != "text":
            raise ValueError(f"describe(format=...) takes 'text' or 'json', not {format!r}.")
        return SourceText(tables_source(self))

    def populate(self, **options: Any) -> dict[str, Any]:
        """Bring every Imported and Computed table of the schema up to date, parents first.

        See :func:`djframe.compute.populate.populate_pipeline` for the options.
        """
        from djframe.compute.populate import populate_pipeline

        return populate_pipeline(self, **options)

    def drop(self, *, prompt: bool | None = None) -> None:
        """Drop the schema with all its tables and rows."""
        refuse_in_make(f"drop schema {self.name!r}")
        if not self.exists:
            return
        if not confirm(f"Drop schema {self.name!r} with all its tables?", prompt):
            return
        conn = self.connection
        self._refuse_outside_dependents()
        conn.execute(
            f"DROP SCHEMA {quote(self.name)} CASCADE", action=f"dropping schema {self.name}"
        )
        prefix = self.name + "."
        doomed = [name for name in registry.classes_of(conn) if name.startswith(prefix)]
        conn.forget_schema(self.name)
        registry.forget(conn, doomed)

    def _refuse_outside_dependents(self) -> None:
        """Refuse to drop a schema that tables of another schema still reference."""
        conn = self.connection
        conn.load_all_schemas()
        prefix = self.name + "."
        graph = conn.graph
        ours = [node for node in graph if node.startswith(prefix)]
        outside = sorted({child for node in ours for child in graph.successors(node)} - set(ours))
        if outside:
            raise IntegrityError(
                f"Cannot drop schema {self.name!r}: tables of other schemas depend on it "
                f"({', '.join(outside)}). Drop those tables (or their schemas) first."
            )


SYSTEM_SCHEMAS = frozenset(
    {"public", "main", "information_schema", "temp", "system", "memory", "djframe_db"}
)
"""Schemas of the engines themselves (and ``public``/``main``, where every session's tables
go): a pipeline taking one could drop the engine's own tables. ``pg_*`` too. ``memory`` and
``djframe_db`` are DuckDB's catalog names (in memory; a file, attached under that name): a
schema named like its catalog is an ambiguous reference there, refused on every backend so
that a pipeline moves between them."""

LONGEST_SCHEMA_NAME = 63
"""PostgreSQL cuts longer names (in bytes) silently; the limit holds on every backend."""


def checked_schema_name(name: str) -> str:
    """``name`` if a pipeline may own a schema of that name, else a ``ConfigError`` saying why.

    Examples
    --------
    >>> checked_schema_name("lab")
    'lab'
    """
    problem = None
    if not isinstance(name, str) or not name.strip():
        problem = "a schema needs a name"
    elif name != name.strip() or any(not c.isprintable() for c in name):
        problem = "a schema name has no leading or trailing spaces and no control characters"
    elif name.lower() in SYSTEM_SCHEMAS or name.lower().startswith(("pg_", "~")):
        problem = "it is a schema of the database engine itself (or reserved for it)"
    elif len(name.encode()) > LONGEST_SCHEMA_NAME:
        problem = (
            f"it is {len(name.encode())} bytes long, and PostgreSQL keeps only the first "
            f"{LONGEST_SCHEMA_NAME}"
        )
    if problem is not None:
        raise ConfigError(f"Cannot use the schema name {name!r}: {problem}. Choose another name.")
    return name


def indented(text: str, prefix: str = "    ") -> str:
    lines = [line.strip() for line in text.strip().splitlines()]
    return "\n".join(prefix + line for line in lines)


class SourceText(str):
    """Source text (Python, JSON) that a notebook shows as highlighted code; still a ``str``.

    Examples
    --------
    >>> SourceText("x = 1")._repr_markdown_()
    '```python\\nx = 1\\n```'
    """

    language: str

    def __new__(cls, text: str, language: str = "python") -> SourceText:
        made = super().__new__(cls, text)
        made.language = language
        return made

    def _repr_markdown_(self) -> str:
        return f"```{self.language}\n{self}\n```"

    def _repr_html_(self) -> str:
        code = html.escape(str(self))
        return f'<pre><code class="language-{self.language}">{code}</code></pre>'

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))  # IPython's plain text: the code, not an escaped line


def tables_source(schema: Schema) -> str:
    """Python that declares ``schema``'s tables again: masters in dependency order, each part
    class nested in its master, ``import djframe as dj`` first."""
    infos = {i.name: i for i in schema.user_tables()}
    order = [infos[n] for n in schema.list_tables() if n in infos]
    parts: dict[str, list[TableInfo]] = {}
    for info in order:
        if info.master:
            parts.setdefault(info.master, []).append(info)
    blocks = ["import djframe as dj"]
    for info in order:
        if not info.master:
            nested = parts.get(info.full_name, [])
            blocks.append("@schema\n" + class_source(info, nested))
    return "\n\n\n".join(blocks) + "\n"


def class_source(info: TableInfo, parts: list[TableInfo], depth: int = 0) -> str:
    pad = "    " * depth
    text = info.definition.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = [
        f"{pad}class {info.class_name}(dj.{info.tier.title()}):",
        f'{pad}    definition = """',
        indented(text, pad + "    "),
        f'{pad}    """',
    ]
    return "\n".join(lines + ["\n" + class_source(p, [], depth + 1) for p in parts])


def table_name(cls: type[Table], master: type[Table] | None) -> str:
    if master is not None:
        assert master._info is not None
        return f"{master._info.name}__{cls.table_name_for(cls.__name__).lstrip('#_')}"
    return cls.table_name_for(cls.__name__)


def normalized(definition: str) -> list[str]:
    """A definition's lines without blank lines or layout, to compare two definitions."""
    return [" ".join(line.split()) for line in definition.splitlines() if line.strip()]


def parts_of(cls: type[Table]) -> list[type[Part]]:
    return [v for v in vars(cls).values() if isinstance(v, type) and issubclass(v, Part)]


def insert_contents(cls: type[Lookup]) -> None:
    """Insert a Lookup's ``contents`` (any rows ``insert`` takes; a property too) when the
    table has fewer rows, skipping those it has, as DataJoint does."""
    table = cls()
    contents = table.contents
    if frame_kind(contents) == "rows":
        contents = list(contents)  # a generator or zip is read once
    if len(table) >= len(contents):
        return
    if any(a.auto_increment for a in table.heading):
        warnings.warn(
            f"The contents of {cls.__name__} have rows the table lacks, but they are not "
            "inserted: the table numbers its rows itself (auto_increment), so rows already "
            "there cannot be recognized.",
            stacklevel=3,
        )
        return
    table.insert(contents, skip_duplicates=True)


class VirtualModule(types.ModuleType):
    """A module whose attributes are the table classes of an existing schema, as
    DataJoint's ``dj.VirtualModule(module_name, schema_name)``; ``.schema`` is the schema.

    Examples
    --------
    >>> lab = dj.VirtualModule("lab", "doc_lab", connection=conn)  # doctest: +SKIP
    >>> lab.Subject.to_polars()  # doctest: +SKIP
    """

    def __init__(
        self,
        module_name: str,
        schema_name: str,
        *,
        create_schema: bool = False,
        create_tables: bool = False,
        connection: Connection | None = None,
        add_objects: Mapping[str, Any] | None = None,
        store: Any = None,
    ) -> None:
        super().__init__(module_name)
        schema = Schema(
            schema_name,
            connection=connection,
            store=store,
            create_schema=create_schema,
            create_tables=create_tables,
        )
        self.__dict__.update(add_objects or {})
        self.__dict__["schema"] = schema
        fill_namespace(schema, self.__dict__)


def fill_namespace(schema: Schema, into: dict[str, Any]) -> None:
    """Add a class for each table of ``schema`` to ``into`` where it has none, parts as
    attributes of their masters."""
    infos = sorted(schema.tables.values(), key=lambda i: i.master is not None)
    classes: dict[str, type[Table]] = {}
    for info in infos:
        if is_hidden(info.name):
            continue
        if info.master is None and isinstance(into.get(info.class_name), type):
            classes[info.full_name] = into[info.class_name]
            continue
        cls = classes[info.full_name] = schema.class_for(info)
        if info.master:
            if info.master in classes and not hasattr(classes[info.master], info.class_name):
                setattr(classes[info.master], info.class_name, cls)
        else:
            into[info.class_name] = cls


def virtual_schema(
    name: str,
    *,
    connection: Connection | None = None,
    store: Any = None,
    create_schema: bool = False,
    create_tables: bool = False,
    add_objects: Mapping[str, Any] | None = None,
) -> VirtualModule:
    """Open an existing schema without its Python classes; every table is queryable.

    Stored objects are read from ``store`` (as given to ``dj.Schema``), else from the
    configured default store (``dj.config["store"]``, ``DJFRAME_STORE``).

    Examples
    --------
    >>> lab = dj.virtual_schema("doc_lab", connection=conn)  # doctest: +SKIP
    >>> lab.Subject.to_polars()  # doctest: +SKIP
    """
    return VirtualModule(
        name,
        name,
        connection=connection,
        store=store,
        create_schema=create_schema,
        create_tables=create_tables,
        add_objects=add_objects,
    )


def create_virtual_module(
    module_name: str,
    schema_name: str,
    *,
    create_schema: bool = False,
    create_tables: bool = False,
    connection: Connection | None = None,
    add_objects: Mapping[str, Any] | None = None,
) -> VirtualModule:
    """DataJoint 0.14's name for :class:`VirtualModule` (``dj.create_virtual_module``)."""
    return VirtualModule(
        module_name,
        schema_name,
        create_schema=create_schema,
        create_tables=create_tables,
        connection=connection,
        add_objects=add_objects,
    )


def add_definition_to_doc(cls: type[Table]) -> None:
    """Append the definition to the class docstring, so that ``help(Table)`` shows it."""
    doc = cls.__doc__ or ""
    if isinstance(cls.definition, str) and "Table definition:" not in doc:
        cls.__doc__ = f"{doc}\nTable definition:\n\n{cls.definition}"
        for part in parts_of(cls):
            add_definition_to_doc(part)


def spawn_from_catalog(conn: Connection, info: TableInfo) -> type[Table]:
    """The class of a table no loaded module declared, bound to its schema opened as is."""
    return Schema(info.schema, connection=conn, create_schema=False).spawn(info)


registry.set_spawner(spawn_from_catalog)


def list_schemas(connection: Connection | None = None) -> list[str]:
    """The schemas of a database that hold djframe tables."""
    return (connection or default_connection()).list_schemas()
