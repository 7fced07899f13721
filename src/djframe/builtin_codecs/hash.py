"""``<hash@>``: bytes in a store, with their MD5 digest and size recorded.

DataJoint 2.x shares equal contents between rows under their digest; djframe indexes them
per row in the table's Delta table, so equal contents are not shared (each row's value can be
versioned and removed on its own).

Examples
--------
>>> HashCodec().encode(b"abc").meta
{'md5': '900150983cd24fb0d6963f7d28e17f72', 'size': 3}
"""

from __future__ import annotations

import hashlib
from typing import Any

from djframe.builtin_codecs.schema import SchemaCodec
from djframe.codecs import Payload
from djframe.errors import DataError

__all__ = ["HashCodec"]


class HashCodec(SchemaCodec):
    """``<hash@>``: raw bytes in the store."""

    name = "hash"

    def validate(self, value: Any) -> None:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise DataError(
                f"<hash@> stores bytes; got a {type(value).__name__}. Use <blob@> for Python values."
            )

    def encode(self, value: Any, *, context: dict[str, Any] | None = None, **_: Any) -> Payload:
        data = bytes(value)
        return Payload(data, {"md5": hashlib.md5(data).hexdigest(), "size": len(data)})

    def decode(self, stored: Payload, *, context: dict[str, Any] | None = None, **_: Any) -> bytes:
        return bytes(stored.data)
