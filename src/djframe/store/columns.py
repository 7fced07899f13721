"""Codecs applied to whole columns: encoding the rows of an insert, decoding fetched results.

On insert, :func:`encode_rows` takes the codec columns out of the input (whatever its form),
encodes each value (``<blob>`` to bytes kept in the row, store types to a :class:`Payload`
with a new object id kept in the row) and hands back Arrow data plus the
:class:`PendingObjects` that the insert sends to the store with the rows' records
(:mod:`djframe.versioning`), one Delta commit per store, before the SQL transaction commits. On fetch, :func:`decode_columns` reads every
stored object of a result in one scan per Delta table and decodes the values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from djframe.codecs import CodecSpec, Payload, located, parse_codec
from djframe.codecs.arrays import column_values
from djframe.errors import DataError, DjframeError
from djframe.frames import columns_to_arrow, frame_kind, row_columns, to_arrow
from djframe.settings import config
from djframe.store import object_table
from djframe.store.delta import new_object_ids, read_metas, read_objects

if TYPE_CHECKING:
    from djframe.catalog import TableInfo
    from djframe.connection import Connection
    from djframe.heading import Attribute, Heading
    from djframe.store import ObjectTable

__all__ = [
    "LazyValue",
    "PendingObjects",
    "StoredBuffers",
    "decode_columns",
    "encode_rows",
    "has_codecs",
]


def has_codecs(heading: Heading) -> bool:
    return any(a.codec for a in heading)


# -- insert ------------------------------------------------------------------------------


@dataclass
class PendingObjects:
    """Encoded store values of one insert, by object id, waiting to be written."""

    info: TableInfo
    payloads: dict[str, Payload] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.payloads)

    @classmethod
    def joined(cls, info: TableInfo, parts: Iterable[PendingObjects | None]) -> PendingObjects:
        """The objects of several inserts into one table, to be written together."""
        joined = cls(info)
        for part in parts:
            if part:
                joined.payloads.update(part.payloads)
        return joined


def take_columns(rows: Any, names: list[str], heading: Heading) -> tuple[Any, dict[str, list[Any]]]:
    """Split the codec columns (as Python values) from the rest of the input."""
    kind = frame_kind(rows)
    if kind == "records":
        rows = {name: list(rows[name]) for name in rows.dtype.names}
    elif kind == "rows":
        rows = row_columns(rows, heading, optional=names)
    if isinstance(rows, dict):  # columns by name
        values = {n: rows.pop(n) for n in names if n in rows}
        return columns_to_arrow(rows, heading), values
    if kind == "arrow":
        present = [n for n in names if n in rows.column_names]
        values = {n: column_values(rows.column(n)) for n in present}
        rest = rows.select([n for n in rows.column_names if n not in present])
        return rest, values
    if kind == "polars":
        frame = rows.lazy().collect() if hasattr(rows, "lazy") else rows
        present = [n for n in names if n in frame.columns]
        values = {n: series_values(frame.get_column(n)) for n in present}
        return frame.drop(present), values
    if kind == "pandas":
        present = [n for n in names if n in rows.columns]
        return rows.drop(columns=present), {n: rows[n].tolist() for n in present}
    return rows, {}


def series_values(series: Any) -> list[Any]:
    """A Polars column as Python values; array and list columns as numpy arrays per row (as
    ``to_polars`` gives them back, see :mod:`djframe.codecs.arrays`)."""
    if isinstance(series.dtype, pl.Array | pl.List):
        return column_values(series.to_arrow())
    return list(series.to_list())


def encode_values(
    spec: CodecSpec,
    values: list[Any],
    where: str,
    context: dict[str, Any] | None = None,
    keys: list[dict[str, Any]] | None = None,
) -> list[Any]:
    """``values`` encoded (``keys``: each row's primary key, for codecs that declare
    ``key``)."""
    encoded: list[Any] = []
    for position, value in enumerate(values):
        if value is None:
            encoded.append(None)
            continue
        try:
            key = keys[position] if keys is not None else None
            encoded.append(spec.encode(value, key=key, context=context))
        except DjframeError as exc:
            raise DataError(f"{where}: {exc}") from None
    return encoded


def column_array(encoded: list[Any], attr: Attribute) -> pa.Array:
    assert attr.type is not None
    if attr.type.name == "json":
        encoded = [v if v is None or isinstance(v, str) else json.dumps(v) for v in encoded]
    try:
        return pa.array(encoded, type=attr.type.arrow)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(
            f"{attr.codec} of {attr.name!r} gave values that are not {attr.type}: {exc}"
        ) from None


def encode_rows(rows: Any, info: TableInfo) -> tuple[Any, PendingObjects]:
    """Encode the codec columns of insert input; returns Arrow data and the pending objects.

    Input without codec columns is returned as it is.
    """
    pending = PendingObjects(info)
    names = [a.name for a in info.heading if a.codec]
    if not names:
        return rows, pending
    rest, values = take_columns(rows, names, info.heading)
    if not values:
        return rest, pending
    data = to_arrow(rest, info.heading)
    keys: list[dict[str, Any]] | None = None
    for name, column in values.items():
        attr = info.heading[name]
        assert attr.codec is not None
        spec = parse_codec(attr.codec)
        if keys is None and spec.wants_key():
            keys = row_keys(data, info, len(column))
        context = {"schema": info.schema, "table": info.class_name, "field": name}
        where = f"{info.class_name}.{name} ({attr.codec})"
        encoded = encode_values(spec, column, where, {**context, "config": config}, keys)
        if spec.in_store:
            ids = iter(new_object_ids(sum(v is not None for v in encoded)))
            refs = [None if v is None else next(ids) for v in encoded]
            pending.payloads.update({r: v for r, v in zip(refs, encoded, strict=True) if r})
            encoded = refs
        array = column_array(encoded, attr)
        data = data.append_column(name, array) if data.num_columns else pa.table({name: array})
    return data, pending


def row_keys(data: pa.Table, info: TableInfo, rows: int) -> list[dict[str, Any]]:
    """Each row's primary key as a dict (empty where the input lacks key attributes)."""
    names = [n for n in info.heading.primary_key if n in data.column_names]
    if not names:
        return [{} for _ in range(rows)]
    return data.select(names).to_pylist()


# -- fetch -------------------------------------------------------------------------------


class LazyValue:
    """A stored value that is read from its store when :meth:`load` is called.

    Examples
    --------
    >>> value = Table.to_dicts(lazy=True)[0]["spectrum"]  # doctest: +SKIP
    >>> value.load()  # doctest: +SKIP
    array([...], dtype=float32)
    """

    def __init__(self, spec: CodecSpec, target: ObjectTable, oid: str) -> None:
        self.spec, self.target, self.oid = spec, target, oid

    def load(self) -> Any:
        payload = read_objects(self.target, [self.oid])[self.oid]
        return self.spec.decode(located(payload, self.oid, self.spec.store))

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return np.asarray(self.load(), dtype=dtype)

    def __repr__(self) -> str:
        return f"LazyValue({self.spec.text} {self.oid} in {self.target.uri})"


class StoredBuffers:
    """The bytes of one table's stored objects by id (``get_buffer``): what an
    :class:`~djframe.builtin_codecs.npy.NpyRef` reads when loaded."""

    def __init__(self, target: ObjectTable) -> None:
        self.target = target

    def get_buffer(self, path: str) -> Any:
        return read_objects(self.target, [path])[path].data


def decode_columns(
    connection: Connection, heading: Heading, data: pa.Table, *, lazy: bool = False
) -> dict[str, list[Any]]:
    """The decoded values of every codec column of ``data``, as Python lists.

    Store values are read in one scan per Delta table for all the rows; with ``lazy=True``
    they come back as references instead: an ``NpyRef`` for ``<npy@>`` (its dtype and shape
    read, not its bytes), a :class:`LazyValue` for the others. The decoding codec finds the
    object's id and store in the payload's meta (``oid``, ``store``).
    """
    decoded: dict[str, list[Any]] = {}
    for attr in heading:
        if not attr.codec or attr.name not in data.column_names:
            continue
        spec = parse_codec(attr.codec)
        stored = data.column(attr.name).to_pylist()
        if spec.in_store:
            decoded[attr.name] = decode_stored(connection, attr, spec, stored, lazy)
        else:
            context = {"config": config}
            decoded[attr.name] = [
                None if v is None else spec.decode(v, context=context) for v in stored
            ]
    return decoded


def decode_stored(
    connection: Connection, attr: Attribute, spec: CodecSpec, oids: list[Any], lazy: bool
) -> list[Any]:
    if attr.object_table is None:
        raise DataError(f"{attr.name} ({attr.codec}) does not say which table stores its objects.")
    target = object_table(connection, attr.object_table, spec.store or "")
    present = [o for o in oids if o is not None]
    if lazy:
        return lazy_values(spec, target, oids, present)
    payloads = read_objects(target, present)
    context = {"config": config}
    return [
        None if o is None else spec.decode(located(payloads[o], o, spec.store), context=context)
        for o in oids
    ]


def lazy_values(
    spec: CodecSpec, target: ObjectTable, oids: list[Any], present: list[Any]
) -> list[Any]:
    codec = spec.chain[0]
    reference = getattr(codec, "reference", None)
    if len(spec.chain) != 1 or reference is None:
        return [None if o is None else LazyValue(spec, target, o) for o in oids]
    metas, source = read_metas(target, present), StoredBuffers(target)
    return [
        None if o is None else reference({**metas[o], "path": o, "store": spec.store}, source)
        for o in oids
    ]
