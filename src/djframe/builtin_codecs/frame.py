"""``<frame@>``: a Polars DataFrame, kept as an Arrow IPC stream (djframe's own codec).

Examples
--------
>>> import polars as pl
>>> codec = FrameCodec()
>>> codec.decode(codec.encode(pl.DataFrame({"a": [1, 2]}))).shape
(2, 1)
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa

from djframe.builtin_codecs.schema import SchemaCodec
from djframe.codecs import Payload
from djframe.errors import DataError

__all__ = ["FrameCodec"]


class FrameCodec(SchemaCodec):
    """``<frame@>``: a Polars DataFrame."""

    name = "frame"

    def validate(self, value: Any) -> None:
        if not isinstance(value, pl.DataFrame):
            raise DataError(f"<frame@> stores Polars DataFrames; got a {type(value).__name__}.")

    def encode(self, value: Any, *, context: dict[str, Any] | None = None, **_: Any) -> Payload:
        sink = pa.BufferOutputStream()
        table = value.to_arrow()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return Payload(sink.getvalue(), {"rows": value.height})

    def decode(self, stored: Payload, *, context: dict[str, Any] | None = None, **_: Any) -> Any:
        table = pa.ipc.open_stream(pa.py_buffer(stored.data)).read_all()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame
