"""Owners of object tables: the schema identity each Delta table of objects records.

A Delta table of objects records who made it in its description (table metadata, written by
the commit that creates the table; deltalake refuses table properties it does not know), as
JSON ``{"djframe": {"identity": ..., "database": ..., "uri": ...}}``: the identity of the
schema (:mod:`djframe.store.identity`), where that database was, and where the table was.
Before a database writes to, collects or reads a table, it compares that owner with the
identity of its own schema:

==========================================  ==================================================
the table's owner is                        the database may
==========================================  ==================================================
its own identity                            do everything
a database it is a copy of                  read (the objects it inherited), change nothing;
                                            unless the table was copied too (it is not where
                                            it was made): then claim it
the database formerly at its own location   claim it (a DuckDB file deleted and made anew)
not recorded (an earlier djframe)           read it; claim it by writing or collecting
anyone else                                 nothing: a :class:`~djframe.errors.StoreError`
                                            says why and what to do
==========================================  ==================================================

Claiming a table records the new owner on it, in one Delta commit. ``Table.history()`` and
``as_of`` read only tables the schema owns (a copy's inherited table holds the original's
later versions too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from djframe.errors import StoreError

if TYPE_CHECKING:
    from deltalake import DeltaTable

    from djframe.store import ObjectTable

__all__ = ["Owner", "check_own", "check_read", "check_write", "owner_text", "standing"]

Standing = Literal["own", "inherited", "claim", "foreign"]


@dataclass(frozen=True)
class Owner:
    """The owner an object table records."""

    identity: str
    database: str
    uri: str


def owner_text(target: ObjectTable) -> str:
    """The description that makes ``target``'s schema the owner of its table.

    Examples
    --------
    >>> from djframe.store import ObjectTable, Store
    >>> from djframe.store.identity import SchemaIdentity
    >>> me = SchemaIdentity("lab", "a1", "duckdb:/x/a.duckdb")
    >>> owner_text(ObjectTable(Store("s3://b/p"), "s3://b/p/lab/t", "lab.t", me))
    '{"djframe": {"identity": "a1", "database": "duckdb:/x/a.duckdb", "uri": "s3://b/p/lab/t"}}'
    """
    me = target.identity
    owner = {"identity": me.identity, "database": me.database, "uri": target.uri}
    return json.dumps({"djframe": owner})


def owner_of(table: DeltaTable) -> Owner | None:
    """The owner a Delta table records, or None (a table of an earlier djframe)."""
    try:
        found = json.loads(table.metadata().description or "")["djframe"]
        return Owner(str(found["identity"]), str(found["database"]), str(found["uri"]))
    except (TypeError, ValueError, KeyError):
        return None


def standing(owner: Owner | None, target: ObjectTable) -> Standing:
    """What ``target``'s schema is to a table that ``owner`` owns (see the module docs).

    Examples
    --------
    >>> from djframe.store import ObjectTable, Store
    >>> from djframe.store.identity import SchemaIdentity
    >>> copy = SchemaIdentity("lab", "b1", "duckdb:/x/b.duckdb", ancestors=("a1",))
    >>> target = ObjectTable(Store("/s"), "/s/lab/t", "lab.t", copy)
    >>> standing(Owner("a1", "duckdb:/x/a.duckdb", "/s/lab/t"), target)
    'inherited'
    >>> standing(Owner("c1", "duckdb:/x/c.duckdb", "/s/lab/t"), target)
    'foreign'
    """
    me = target.identity
    if owner is None:
        return "claim"
    if owner.identity == me.identity:
        return "own"
    if owner.identity in me.ancestors:
        return "inherited" if owner.uri == target.uri else "claim"
    return "claim" if owner.database == me.database else "foreign"


def check_read(table: DeltaTable, target: ObjectTable) -> None:
    """Refuse to read objects from a table of another database (inherited ones are read)."""
    owner = owner_of(table)
    if owner is not None and not target.identity.reads(owner.identity):
        raise StoreError(refusal(owner, target, "read objects from"))


def check_own(table: DeltaTable, target: ObjectTable) -> None:
    """Refuse to read as the schema's own history a table it does not own."""
    owner = owner_of(table)
    if owner is not None and owner.identity != target.identity.identity:
        raise StoreError(refusal(owner, target, "read the versions of"))


def check_write(table: DeltaTable, target: ObjectTable, action: str, *, claim: bool = True) -> None:
    """Refuse to ``action`` (write to, collect) a table the schema does not own; claim one
    it may claim (see the module documentation), unless ``claim`` is False (a dry run)."""
    owner = owner_of(table)
    found = standing(owner, target)
    if found == "claim" and claim:
        table.alter.set_table_description(owner_text(target))
    elif found != "own":
        assert owner is not None
        raise StoreError(refusal(owner, target, action))


def refusal(owner: Owner, target: ObjectTable, action: str) -> str:
    """Why a table is refused, and what to do."""
    me = target.identity
    if me.reads(owner.identity):
        return (
            f"The object table {target.uri} holds the objects of the database this one is a "
            f"copy of ({owner.database}): the copy reads them but does not {action} it, so "
            "nothing was done. To store objects in the copy, give it a store of its own "
            f"holding a copy of the original's (copy the folder {target.store.location}, then "
            f"dj.Schema({me.schema!r}, store=<the copy>)). If the original is gone (this "
            "database was moved, not copied), call schema.adopt_objects() instead."
        )
    return (
        f"The object table {target.uri} belongs to another database: schema {me.schema!r} "
        f"of {owner.database} (identity {owner.identity}); this is {me.database} (identity "
        f"{me.identity}). Databases never share an object table, so djframe did not {action} "
        f"it and nothing was done. Give this schema a store of its own: "
        f"dj.Schema({me.schema!r}, store='...') or dj.config['store']."
    )
