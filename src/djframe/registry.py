"""The table classes: tiers by name, and the class bound to each declared table.

``Table.__init_subclass__`` registers every class that names a ``tier`` in its own body
(:data:`TIERS`), as codecs register themselves. A schema binds each class it declares to its
connection (:func:`bind`); :func:`table_class` finds the class of any table by its full
name, and builds one from the catalog for a table no loaded module declared, through the
spawner the schema module installs (:func:`set_spawner`): this floor owns the slot, the
schema fills it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from djframe.catalog import TableInfo
    from djframe.connection import Connection

__all__ = ["TIERS", "bind", "classes_of", "forget", "set_spawner", "table_class"]

TIERS: dict[str, type[Any]] = {}
"""The base class of each tier (``"manual"``, ``"computed"``, ``"jobs"``, ...)."""

Spawner = Callable[["Connection", "TableInfo"], type[Any]]

_classes: weakref.WeakKeyDictionary[Connection, dict[str, type[Any]]] = weakref.WeakKeyDictionary()
"""Bound classes per connection, by full table name, so cascades can restrict any table."""
_spawner: list[Spawner] = []


def register_tier(tier: str, cls: type[Any]) -> None:
    """Make ``cls`` the base of tables of ``tier`` (called by ``Table.__init_subclass__``)."""
    TIERS.setdefault(tier, cls)


def classes_of(conn: Connection) -> dict[str, type[Any]]:
    """The classes bound to tables of ``conn``, by full table name."""
    return _classes.setdefault(conn, {})


def bind(conn: Connection, full_name: str, cls: type[Any]) -> None:
    classes_of(conn)[full_name] = cls


def set_spawner(spawner: Spawner) -> None:
    """Install how a class is built for a table known only from the catalog."""
    _spawner[:] = [spawner]


def table_class(conn: Connection, full_name: str) -> type[Any]:
    """The class of a table: the one bound to it, else one built from the catalog."""
    found = classes_of(conn).get(full_name)
    if found is not None:
        return found
    info = conn.table_info(full_name)
    return _spawner[0](conn, info)


def forget(conn: Connection, full_names: list[str]) -> None:
    """Unbind the classes of dropped tables, so using them says they are not declared."""
    for name in full_names:
        cls = classes_of(conn).pop(name, None)
        if cls is not None:
            cls._info = None
