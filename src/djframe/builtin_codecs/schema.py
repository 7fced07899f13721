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

import warnings
from typing import Any

from djframe.codecs import Codec

__all__ = ["SchemaCodec"]


class SchemaCodec(Codec, register=False):
    """Base class of store-only codecs: ``get_dtype(False)`` refuses, the rest is the
    subclass's (``name``, ``encode``, ``decode``)."""

    store_only = True

    def _extract_context(
        self, key: dict[str, Any] | None, context: dict[str, Any] | None = None
    ) -> tuple[str, str, str, dict[str, Any]]:
        """``(schema, table, field, primary_key)`` of the value being encoded, from the
        ``key`` and ``context`` that ``encode`` was given (declare both to get them).

        Without ``context``, the ``_schema``/``_table``/``_field`` entries of ``key`` are
        read instead (the convention of DataJoint before 2.3.4), with a
        ``DeprecationWarning``; what is missing is ``"unknown"`` (``"data"`` for the field).
        """
        rest = dict(key or {})
        if context is None and any(name.startswith("_") for name in rest):
            warnings.warn(
                f"<{self.name}> read the schema, table and field from `key` (DataJoint's "
                "convention before 2.3.4): declare `context` in encode() and pass it to "
                "_extract_context(key, context).",
                DeprecationWarning,
                stacklevel=2,
            )
        given = context or {}
        schema = given.get("schema", rest.pop("_schema", "unknown"))
        table = given.get("table", rest.pop("_table", "unknown"))
        field = given.get("field", rest.pop("_field", "data"))
        return schema, table, field, {k: v for k, v in rest.items() if not k.startswith("_")}
