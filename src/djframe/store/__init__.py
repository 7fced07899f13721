"""Object stores: where the values of store-typed attributes (``<npy@>``, ``<frame@>``, ...) live.

A store is a root location, a local folder or an ``s3://bucket/prefix`` URI with its storage
options. Each djframe table with store-typed attributes has one Delta Lake table per store,
at ``{store}/{schema}/{table}`` (see :mod:`djframe.store.delta`). ``@`` in a codec type names the
schema's store (``dj.Schema(..., store=...)``, else ``dj.config["store"]`` / ``DJFRAME_STORE``;
on an embedded DuckDB file with nothing configured, a ``djframe-store`` folder next to the
file); ``@name`` names a store of ``dj.config["stores"]``::

    dj.config["stores"] = {
        "cold": {"location": "s3://bucket/lab", "options": {"AWS_REGION": "eu-west-1"}},
        "scratch": "/scratch/lab",
    }

or, in ``djframe.toml``, ``[stores.cold]`` with ``location = ...`` and ``[stores.cold.options]``.
DataJoint's store specs are read too (:func:`dj_store`): ``{"protocol": "file", "location":
...}`` and ``{"protocol": "s3", "endpoint": ..., "bucket": ..., "location": ..., "access_key":
..., "secret_key": ..., "secure": False}``; ``stores["default"] = "name"`` makes a named store
the default one (``@``).

Every Delta commit carries metadata naming the djframe table and the values of
:data:`djframe.session.commit_context` (populate sets ``job_id`` and ``code_version`` there).

Each Delta table records the identity of the schema that owns it, and a database uses as its
own only the tables its schema owns (:mod:`djframe.store.identity`, :mod:`djframe.store.owner`):
an :class:`ObjectTable` is a Delta table together with the identity that wants to use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from djframe.errors import StoreError
from djframe.registry import table_class
from djframe.settings import DEFAULTS, config, hide_secrets

if TYPE_CHECKING:
    from djframe.catalog import TableInfo
    from djframe.connection import Connection
    from djframe.heading import Heading
    from djframe.store.identity import SchemaIdentity

__all__ = [
    "ObjectTable",
    "Store",
    "StoredSchema",
    "StoredTable",
    "as_store",
    "named_store",
    "object_table",
    "recorded_location",
    "store_for",
]


class StoredTable(Protocol):
    """A table as the store sees it (a :class:`djframe.Table`)."""

    connection: Connection

    @property
    def info(self) -> TableInfo: ...

    @property
    def heading(self) -> Heading: ...

    @property
    def full_name(self) -> str: ...

    def proj(self, *attributes: Any, **named: str) -> Any: ...


class StoredSchema(Protocol):
    """A schema as the store sees it (a :class:`djframe.Schema`)."""

    connection: Connection
    store: Any
    identity: SchemaIdentity

    @property
    def tables(self) -> Mapping[str, TableInfo]: ...


class Store:
    """An object store root: a local folder or an ``s3://`` URI, with storage options.

    Examples
    --------
    >>> store = Store("s3://lab/objects", {"AWS_REGION": "us-east-1", "AWS_SECRET_ACCESS_KEY": "x"})
    >>> store.table_uri("university", "__features")
    's3://lab/objects/university/__features'
    >>> store
    Store('s3://lab/objects', storage_options={'AWS_REGION': 'us-east-1', 'AWS_SECRET_ACCESS_KEY': '***'})
    """

    def __init__(
        self, location: str | Path, storage_options: Mapping[str, str] | None = None
    ) -> None:
        text = str(location)
        self.remote = "://" in text
        self.location = text.rstrip("/") if self.remote else str(Path(text).expanduser().resolve())
        self.storage_options = {str(k): str(v) for k, v in (storage_options or {}).items()}

    def table_uri(self, schema: str, table: str) -> str:
        """Where the Delta table of a djframe table lives (``#`` of lookup tables is spelled out)."""
        folder = table.replace("#", "lookup.")
        return f"{self.location}/{schema}/{folder}"

    def __repr__(self) -> str:
        options = (
            f", storage_options={hide_secrets(self.storage_options)}"
            if self.storage_options
            else ""
        )
        return f"Store({self.location!r}{options})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Store) and (self.location, self.storage_options) == (
            other.location,
            other.storage_options,
        )

    def __hash__(self) -> int:
        return hash(self.location)


def beside_file(value: Any, connection: Connection | None) -> Path | None:
    """The folder next to the DuckDB file that the unconfigured default store stands for."""
    if isinstance(value, Store) or str(value) != DEFAULTS["store"] or config.is_set("store"):
        return None
    database = connection.backend.path if connection is not None else None
    if not database or database == ":memory:":
        return None
    return Path(database).resolve().parent / DEFAULTS["store"]


def default_store() -> Any:
    """The configured default store: ``dj.config["store"]``, unless only DataJoint's
    ``stores["default"]`` names one."""
    stores = config["stores"] or {}
    chosen = stores.get("default")
    if not config.is_set("store") and isinstance(chosen, str) and chosen in stores:
        return named_store(chosen)
    return config["store"]


def as_store(value: Any, connection: Connection | None = None) -> Store:
    """A :class:`Store` from a schema's ``store`` argument (a Store, a path or a URI)."""
    if value is None:
        value = default_store()
    if isinstance(value, Store):
        return value
    folder = beside_file(value, connection)
    return Store(str(folder or value), config["store.options"])


def recorded_location(value: Any, connection: Connection | None) -> str:
    """How a schema records its default store: the location, without storage options; the
    default folder beside a DuckDB file as the default, so that it moves with the file.

    Examples
    --------
    >>> recorded_location(Store("s3://lab/objects", {"AWS_SECRET_ACCESS_KEY": "x"}), None)
    's3://lab/objects'
    """
    if value is None:
        value = default_store()
    if beside_file(value, connection) is not None:
        return DEFAULTS["store"]
    return as_store(value, connection).location


def named_store(name: str) -> Store:
    """The store ``<codec@name>`` refers to, from ``dj.config["stores"]``."""
    stores = config["stores"] or {}
    entry = stores.get(name)
    if entry is None:
        known = ", ".join(sorted(stores)) or "none are configured"
        raise StoreError(
            f"Store {name!r} is not configured ({known}). Configure it, e.g. "
            f"dj.config['stores'] = {{'{name}': {{'location': 's3://bucket/prefix', 'options': {{...}}}}}} "
            f"or [stores.{name}] in djframe.toml."
        )
    if isinstance(entry, Mapping) and "protocol" in entry:
        return dj_store(name, entry)
    if isinstance(entry, Mapping):
        if "location" not in entry:
            raise StoreError(f"Store {name!r} has no 'location' in dj.config['stores'].")
        return Store(entry["location"], entry.get("options") or {})
    return Store(str(entry))


def dj_store(name: str, spec: Mapping[str, Any]) -> Store:
    """A :class:`Store` from a DataJoint store spec (``protocol`` ``file`` or ``s3``).

    Examples
    --------
    >>> dj_store("raw", {"protocol": "s3", "endpoint": "minio:9000", "bucket": "lab",
    ...     "location": "dj/raw", "access_key": "k", "secret_key": "s", "secure": False})
    Store('s3://lab/dj/raw', storage_options={'AWS_ENDPOINT_URL': 'http://minio:9000', 'AWS_ACCESS_KEY_ID': '***', 'AWS_SECRET_ACCESS_KEY': '***', 'AWS_REGION': 'us-east-1', 'AWS_ALLOW_HTTP': 'true'})
    """
    protocol = str(spec["protocol"]).lower()
    location = (
        str(spec.get("location") or "").strip("/") if protocol == "s3" else spec.get("location")
    )
    if protocol == "file" and location:
        return Store(str(location))
    if protocol != "s3" or not spec.get("bucket"):
        raise StoreError(
            f"Store {name!r}: DataJoint store specs give protocol 'file' with a location, or "
            f"'s3' with endpoint, bucket and location; got {hide_secrets(dict(spec))!r}."
        )
    secure = bool(spec.get("secure", True))
    options = {
        "AWS_ENDPOINT_URL": f"{'https' if secure else 'http'}://{spec['endpoint']}",
        "AWS_ACCESS_KEY_ID": str(spec.get("access_key") or ""),
        "AWS_SECRET_ACCESS_KEY": str(spec.get("secret_key") or ""),
        "AWS_REGION": str(spec.get("region") or "us-east-1"),
    } if spec.get("endpoint") else {}  # fmt: skip
    if not secure:
        options["AWS_ALLOW_HTTP"] = "true"
    return Store(f"s3://{spec['bucket']}/{location}".rstrip("/"), options)


def store_for(
    connection: Connection, full_name: str, store_name: str, default: Any = None
) -> Store:
    """The store holding the objects of table ``full_name`` for ``<codec@store_name>``.

    The default store (``store_name == ""``) is ``default`` when given, else the store of
    the schema that declared (or opened) the table's class.
    """
    if store_name:
        return named_store(store_name)
    if default is not None:
        return as_store(default, connection)
    schema = schema_of(connection, full_name)
    return as_store(schema.store if schema is not None else None, connection)


def schema_of(connection: Connection, full_name: str) -> StoredSchema | None:
    """The schema object that declared (or opened) the class of table ``full_name``."""

    return table_class(connection, full_name)._schema


@dataclass(frozen=True)
class ObjectTable:
    """The Delta table that holds a djframe table's objects in one store, and the identity
    of the schema that uses it (see :mod:`djframe.store.owner` for what it may do)."""

    store: Store
    uri: str
    full_name: str
    """The djframe table, ``schema.table``."""
    identity: SchemaIdentity


def object_table(
    connection: Connection, full_name: str, store_name: str, schema: StoredSchema | None = None
) -> ObjectTable:
    """The object table of ``full_name`` for ``<codec@store_name>``, used by ``schema`` (by
    default, the schema of the table's class)."""
    schema = schema or schema_of(connection, full_name)
    if schema is None:
        raise StoreError(f"The objects of {full_name} are read through its schema; none opened it.")
    store = store_for(connection, full_name, store_name, schema.store)
    schema_name, table = full_name.split(".", 1)
    return ObjectTable(store, store.table_uri(schema_name, table), full_name, schema.identity)
