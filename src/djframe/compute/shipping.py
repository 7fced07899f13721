"""Table classes sent to populate's worker processes: by reference where they can be imported,
by value where they cannot.

A worker process is spawned, so it starts with none of the parent's classes. A class that a
fresh interpreter can import (a module on ``sys.path``, or a module loaded from a file, such as
the pipeline ``djframe populate pipeline.py`` names) is sent *by reference*: the worker imports
the module (or loads the file under the same name), which declares its schemas as usual. A class
defined anywhere else (a notebook cell, a REPL, a script's ``__main__``, a function, a test) is
sent *by value* with cloudpickle, as Dask and Ray send functions: its methods and whatever they
refer to (other classes of ``__main__``, helper functions, constants) go along, while modules and
importable objects are still sent by reference. The schema such a class is bound to travels as
its name, store and connection URL, and the worker opens it again (once per schema), so the
class is bound there to the same tables.

The connection URL, password included, is inside the shipped bytes, which reach the worker over
the pipe ``multiprocessing`` spawns it with: never in its command line or environment, and never
in a message (errors print the URL redacted).

Codecs (``dj.Codec`` subclasses) defined in ``__main__`` or a function are sent by value too,
and registered in the worker before the table is rebuilt, so that a notebook's own codecs work
there. What cannot be sent (an open file, a lock or a live connection that make's globals hold)
raises a :class:`~djframe.errors.JobError` that names the class and what to do, before any
worker starts.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import io
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import cloudpickle

from djframe.codecs import Codec, deferred_registration, register_codec, registered_codecs
from djframe.connection import Connection
from djframe.errors import JobError
from djframe.schema import Schema, parts_of
from djframe.table import Table

__all__ = ["Shipped", "receive_codecs", "ship", "ship_codecs", "unpack"]


@dataclass(frozen=True)
class Shipped:
    """A table class on its way to a worker process: where to import it, or the class itself."""

    name: str
    """The class's name, for messages."""
    module: str = ""
    qualname: str = ""
    file: str | None = None
    """Where to load ``module`` from, when a fresh interpreter cannot import it by name."""
    value: bytes | None = None
    """The class pickled by value (cloudpickle), when it cannot be imported at all."""

    @property
    def by_value(self) -> bool:
        return self.value is not None


def ship(cls: type[Table]) -> Shipped:
    """``cls`` ready for a worker: by reference when importable, else by value."""
    return by_reference(cls) or by_value(cls)


def unpack(shipped: Shipped) -> type[Table]:
    """In a worker: the class ``shipped`` stands for, bound to its table on this side."""
    if shipped.value is None:
        return import_class(shipped)
    try:
        cls = pickle.loads(shipped.value)
    except Exception as exc:
        raise JobError(
            f"A populate worker could not rebuild {shipped.name}, sent from the parent process "
            f"by value: {type(exc).__name__}: {exc}. Make what its make uses importable (e.g. "
            "a module on sys.path), or use processes=1."
        ) from exc
    for table in [cls, *parts_of(cls)]:
        schema = table._schema
        assert schema is not None and table._info is not None
        schema.bind(table, schema.connection.table_info(table._info.full_name))
    return cls


# -- by reference ----------------------------------------------------------------------------
def by_reference(cls: type[Table]) -> Shipped | None:
    """Where a fresh interpreter imports ``cls`` from, or None when it cannot."""
    module, qualname = cls.__module__, cls.__qualname__
    loaded = sys.modules.get(module)
    if module == "__main__" or "<locals>" in qualname or loaded is None:
        return None
    if lookup(loaded, qualname) is not cls:
        return None  # redefined or replaced since: what the module holds is another class
    if importable_by_name(module):
        return Shipped(cls.__name__, module, qualname)
    file = getattr(loaded, "__file__", None)
    return Shipped(cls.__name__, module, qualname, file=file) if file else None


def lookup(module: ModuleType, qualname: str) -> Any:
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found


def importable_by_name(module: str) -> bool:
    """True when ``import module`` in a process with this ``sys.path`` finds the module
    loaded here (a module loaded from a file under a name of its own is not found)."""
    top = module.split(".")[0]
    if top in sys.builtin_module_names:
        return True
    spec = importlib.machinery.PathFinder.find_spec(top, sys.path)
    if spec is None:
        return False
    here = getattr(sys.modules.get(top), "__file__", None)
    return spec.origin is None or here is None or same_file(spec.origin, here)


def same_file(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def import_class(shipped: Shipped) -> type[Table]:
    """Import the module of ``shipped`` (from its file, if it has one) and find the class."""
    try:
        if shipped.module not in sys.modules and shipped.file is not None:
            load_file(shipped.module, shipped.file)
        module = importlib.import_module(shipped.module)
    except Exception as exc:
        raise JobError(
            f"A populate worker could not import {shipped.module}"
            f"{f' from {shipped.file}' if shipped.file else ''} to find {shipped.name}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    found = lookup(module, shipped.qualname)
    if not (isinstance(found, type) and issubclass(found, Table)):
        raise JobError(
            f"A populate worker imported {shipped.module} but found no table class "
            f"{shipped.qualname} there; was the module changed since populate started?"
        )
    return found


def load_file(name: str, file: str) -> ModuleType:
    """Execute the Python file ``file`` as the module ``name``, as its parent process did."""
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise JobError(f"A populate worker cannot load {file} (module {name}).")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


# -- by value --------------------------------------------------------------------------------
def by_value(cls: type[Table]) -> Shipped:
    """``cls`` pickled by value; a JobError naming it when something it refers to cannot be."""
    buffer = io.BytesIO()
    try:
        ShippingPickler(buffer).dump(cls)
    except Exception as exc:
        raise JobError(
            f"populate(processes=...) sends {cls.__name__} (defined in {where(cls)}) to its "
            f"worker processes by value, but something it refers to cannot be sent: "
            f"{type(exc).__name__}: {exc}. Open such resources inside make instead of holding "
            f"them in globals, move {cls.__name__} to an importable module, or use processes=1."
        ) from exc
    return Shipped(cls.__name__, cls.__module__, cls.__qualname__, value=buffer.getvalue())


def where(cls: type[Table]) -> str:
    if "<locals>" in cls.__qualname__:
        return f"a function, {cls.__qualname__.split('.<locals>')[0]}()"
    if cls.__module__ == "__main__":
        return "__main__ (a notebook, a REPL or a script)"
    return f"module {cls.__module__}"


class ShippingPickler(cloudpickle.Pickler):
    """cloudpickle, with schemas and connections sent as what reopens them in the worker."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Schema):
            return reopen_schema, (obj.name, obj.connection._url, obj.store)
        if isinstance(obj, Connection):
            return reopen_connection, (obj._url,)
        return super().reducer_override(obj)


_connections: dict[str, Connection] = {}
_schemas: dict[tuple[str, str], Schema] = {}


def reopen_connection(url: str) -> Connection:
    """In a worker: one connection per database URL (on DuckDB, through the parent)."""
    if url not in _connections:
        _connections[url] = Connection(url)
    return _connections[url]


def reopen_schema(name: str, url: str, store: Any) -> Schema:
    """In a worker: the schema a shipped class is bound to, opened once (never created)."""
    if (url, name) not in _schemas:
        connection = reopen_connection(url)
        _schemas[(url, name)] = Schema(
            name, connection=connection, store=store, create_schema=False
        )
    return _schemas[(url, name)]


# -- codecs ----------------------------------------------------------------------------------
def ship_codecs() -> bytes | None:
    """The registered codecs defined where a fresh process cannot import them (``__main__``,
    a function), by value; None when there are none."""
    loose = [c for c in registered_codecs() if by_value_only(c)]
    if not loose:
        return None
    buffer = io.BytesIO()
    try:
        ShippingPickler(buffer).dump(loose)
    except Exception as exc:
        names = ", ".join(f"<{c.name}>" for c in loose)
        raise JobError(
            f"populate(processes=...) sends the codecs {names} (defined in a notebook, a script "
            f"or a function) to its worker processes by value, but one cannot be sent: "
            f"{type(exc).__name__}: {exc}. Move it to an importable module, or use processes=1."
        ) from exc
    return buffer.getvalue()


def by_value_only(cls: type) -> bool:
    return cls.__module__ == "__main__" or "<locals>" in cls.__qualname__


def receive_codecs(value: bytes | None) -> None:
    """In a worker: register the codecs :func:`ship_codecs` sent (their class body is set
    after the class is made, so they are registered once rebuilt)."""
    if value is None:
        return
    with deferred_registration():
        codecs: list[type[Codec]] = pickle.loads(value)
    for codec in codecs:
        register_codec(codec)
