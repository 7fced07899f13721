"""``SchemaCodec``: the base of codecs that keep their values in the schema's object store.

Their values live only in a store (``<name@>`` or ``<name@store>``), indexed per table and
row in the store's Delta table (:mod:`djframe.store.delta`); the SQL row keeps the object's
id. ``encode`` returns a :class:`~djframe.codecs.Payload` (bytes and a small JSON-able
``meta``) or bytes, and ``decode`` receives a Payload.

Examples
--------
>>> SchemaCodec.store_only
True
"""

from __future__ import annotations

from djframe.codecs import Codec

__all__ = ["SchemaCodec"]


class SchemaCodec(Codec, register=False):
    """Base class of store-only codecs: ``get_dtype(False)`` refuses, the rest is the
    subclass's (``name``, ``encode``, ``decode``)."""

    store_only = True
