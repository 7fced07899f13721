"""``<blob>``: a Python value (numbers, text, containers, arrays) as DataJoint's blob bytes.

``<blob>`` keeps the bytes in the row; ``<blob@>`` passes them on to ``<hash@>``, which
keeps them in a store with their MD5 digest, as DataJoint 2.x does.

Examples
--------
>>> codec = BlobCodec()
>>> codec.decode(codec.encode({"a": [1, 2]}))
{'a': [1, 2]}
>>> codec.get_dtype(is_store=True)
'<hash>'
"""

from __future__ import annotations

from typing import Any

from djframe.codecs import Codec, djblob
from djframe.codecs.blob import pack, unpack
from djframe.errors import DataError

__all__ = ["BlobCodec"]


class BlobCodec(Codec):
    """``<blob>``: any Python value of the blob format."""

    name = "blob"

    def get_dtype(self, is_store: bool) -> str:
        return "<hash>" if is_store else "bytes"

    def encode(self, value: Any, *, context: dict[str, Any] | None = None, **_: Any) -> bytes:
        """DataJoint's format, so that DataJoint reads the value; djframe's own format for
        the values DataJoint's cannot hold (a timedelta, say)."""
        try:
            return djblob.pack(value)
        except DataError:
            return pack(value)

    def decode(self, stored: Any, *, context: dict[str, Any] | None = None, **_: Any) -> Any:
        """Either format: DataJoint's (``mYm``/``dj0``, MATLAB's too) or djframe's."""
        if djblob.is_dj_blob(stored):
            return djblob.unpack(stored)
        return unpack(stored)
