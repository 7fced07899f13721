"""Schema identities: which database the stored objects of a schema belong to.

Several databases can be given one store (two DuckDB files in one folder, a copy of a file, a
DuckDB and a PostgreSQL pipeline with one ``store=``), and the Delta tables there are named by
schema and table only. So each schema has an identity, recorded in its database and on each
object table it makes (:mod:`djframe.store.owner`), and a database deletes, changes and reads
as its own only the object tables its schema owns.

The schema's hidden table ``~schema`` (name/value rows, :mod:`djframe.catalog`) holds:

=============  ===============================================================================
``identity``   a random id, made in the transaction that creates the schema
``database``   where the database was when it got the identity (``Backend.location()``)
``ancestors``  the identities of the databases it is a copy of, nearest first
``store``      the location of its default store, never its storage options (``djframe-store``
               for the default folder beside a DuckDB file, which moves with the file)
=============  ===============================================================================

A database opened at another location than the one recorded was copied or moved. Where the
original is gone from its location (a DuckDB file moved), it is the same database and the new
location is recorded; otherwise it is a copy: it gets an identity of its own and keeps the old
one among its ``ancestors``, whose objects it reads but never changes.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from djframe.catalog import (
    create_properties_sql,
    insert_properties_sql,
    read_properties,
    update_property_sql,
)
from djframe.errors import DjframeError, StoreError

if TYPE_CHECKING:
    from djframe.connection import Connection

__all__ = [
    "SchemaIdentity",
    "adopt_ancestor",
    "bind_identity",
    "new_identity",
    "read_identity",
    "record_store",
]


@dataclass(frozen=True)
class SchemaIdentity:
    """Who a schema is: its identity, where its database is, what it was copied from.

    Examples
    --------
    >>> copy = SchemaIdentity("lab", "b1", "duckdb:/x/b.duckdb", ancestors=("a1",))
    >>> copy.reads("a1"), copy.reads("c3")
    (True, False)
    """

    schema: str
    identity: str
    database: str
    ancestors: tuple[str, ...] = ()
    store: str | None = None

    def reads(self, identity: str) -> bool:
        """Whether objects that ``identity`` owns are this schema's own or inherited ones."""
        return identity == self.identity or identity in self.ancestors

    def properties(self) -> dict[str, str]:
        """The rows of ``~schema``."""
        found = {
            "identity": self.identity,
            "database": self.database,
            "ancestors": " ".join(self.ancestors),
        }
        return found if self.store is None else found | {"store": self.store}

    @classmethod
    def from_properties(cls, schema: str, rows: Mapping[str, str]) -> SchemaIdentity | None:
        if "identity" not in rows:
            return None
        return cls(
            schema,
            rows["identity"],
            rows.get("database", ""),
            tuple(rows.get("ancestors", "").split()),
            rows.get("store"),
        )


def new_identity(schema: str, database: str, store: str | None = None) -> SchemaIdentity:
    """A fresh identity for ``schema`` in the database at ``database``."""
    return SchemaIdentity(schema, str(uuid.uuid4()), database, (), store)


def creation_sql(identity: SchemaIdentity) -> list[str]:
    """The statements that record a new schema's identity (in its creating transaction)."""
    return [
        create_properties_sql(identity.schema),
        insert_properties_sql(identity.schema, identity.properties()),
    ]


def read_identity(conn: Connection, schema: str) -> SchemaIdentity | None:
    """The identity recorded in the (existing) ``~schema`` table of ``schema``."""
    return SchemaIdentity.from_properties(schema, read_properties(conn.fetch_arrow, schema))


def bind_identity(conn: Connection, schema: str, recorded_here: bool) -> SchemaIdentity:
    """The identity of ``schema`` in this database, recording what changed (see the module
    documentation): a schema made before identities (``recorded_here`` False: it has no
    ``~schema`` table) gets one; a moved database its new location; a copy an identity of
    its own."""
    here = conn.backend.location()
    found = read_identity(conn, schema) if recorded_here else None
    if found is None:
        return recorded(conn, new_identity(schema, here), None)
    if found.database == here:
        return found
    if conn.backend.moved_from(found.database):
        return recorded(conn, replace(found, database=here), found)
    copy = replace(found, identity=str(uuid.uuid4()), database=here)
    copy = recorded(conn, replace(copy, ancestors=(found.identity, *found.ancestors)), found)
    if copy.identity != found.identity:
        warnings.warn(copy_notice(found, copy), stacklevel=4)
    return copy


def copy_notice(original: SchemaIdentity, copy: SchemaIdentity) -> str:
    return (
        f"Schema {copy.schema!r} in {copy.database} is a copy of the one in "
        f"{original.database}: it reads the objects the original stored before the copy "
        "but never changes or removes them, and the original's gc may remove those it no "
        "longer uses. Give the copy a store of its own (a copy of the original's store) "
        "to write objects. If the original is gone (this database was moved, not copied), "
        "call schema.adopt_objects()."
    )


def recorded(
    conn: Connection, identity: SchemaIdentity, was: SchemaIdentity | None
) -> SchemaIdentity:
    """Record ``identity`` in place of ``was`` (None: none is recorded), unless a concurrent
    opener changed it first; returns the identity recorded then. Where it cannot be recorded
    (a role that may not write), it holds for this session only."""
    try:
        with conn.transaction:
            write_identity(conn, identity, was)
    except DjframeError as exc:
        if conn.in_transaction:
            raise
        warnings.warn(
            f"The identity of schema {identity.schema!r} is not recorded: {exc}", stacklevel=3
        )
        return identity
    return read_identity(conn, identity.schema) or identity


def write_identity(conn: Connection, identity: SchemaIdentity, was: SchemaIdentity | None) -> None:
    schema = identity.schema
    if was is None:
        for sql in creation_sql(identity):
            conn.execute(sql, action=f"recording the identity of schema {schema}")
        return
    # Setting the identity row first, where it still holds the old value, serializes
    # concurrent openers: only one of them changes the rest.
    won = conn.fetch_arrow(
        update_property_sql(schema, "identity", identity.identity, was=was.identity),
        action=f"recording the identity of schema {schema}",
    )
    if not won.num_rows:
        return
    changed = {k: v for k, v in identity.properties().items() if was.properties().get(k) != v}
    conn.execute(insert_properties_sql(schema, changed))
    for name, value in changed.items():
        conn.execute(update_property_sql(schema, name, value))


def record_store(conn: Connection, identity: SchemaIdentity, location: str) -> SchemaIdentity:
    """Record ``location`` as the schema's default store; returns the identity with it."""
    return recorded(conn, replace(identity, store=location), identity)


def adopt_ancestor(conn: Connection, identity: SchemaIdentity) -> SchemaIdentity:
    """Take back the identity of the database this one is a copy of (when that one is gone)."""
    if not identity.ancestors:
        raise StoreError(
            f"Schema {identity.schema!r} is not a copy of another database: it owns its "
            "objects already."
        )
    parent, *older = identity.ancestors
    return recorded(conn, replace(identity, identity=parent, ancestors=tuple(older)), identity)
