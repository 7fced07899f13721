"""What the tools send back: rows as JSON text or Arrow IPC, built from Arrow, not row by row.

Rows are fetched as Arrow and written out by Polars (``write_json``, ``write_ipc_stream``), so
no Python object is made per row, except for stored objects, which are Python values by nature
(``objects=``): left out (``"omit"``, the default for queries), described (``"summary"``:
``float32[1001]``) or sent (``"include"``: numeric arrays as lists).

Examples
--------
>>> import polars as pl
>>> document({"table": "Subject"}, pl.DataFrame({"subject_id": [1, 2]}))
'{"table": "Subject", "rows": [{"subject_id":1},{"subject_id":2}]}'
"""

from __future__ import annotations

import io
import json
from typing import Any, Literal

import numpy as np
import polars as pl

import djframe as dj
from djframe.codecs.arrays import column_values

__all__ = ["ObjectMode", "arrow_ipc", "attributes", "document", "fetch", "rows_json"]

ObjectMode = Literal["omit", "summary", "include"]


def attributes(heading: dj.Heading) -> list[dict[str, Any]]:
    """A heading's attributes as JSON-ready dicts (name, type, key, lineage, ...)."""
    return [
        {
            "name": a.name,
            "type": a.type_name,
            "in_key": a.in_key,
            "nullable": a.nullable,
            "default": a.default,
            "comment": a.comment,
            "lineage": a.lineage,
        }
        for a in heading.attributes.values()
    ]


def stored(heading: dj.Heading) -> list[str]:
    """The attributes whose values are Python objects once fetched (codec types)."""
    return [a.name for a in heading.attributes.values() if a.codec]


def fetch(
    expr: dj.QueryExpression, *, objects: ObjectMode = "omit", **window: Any
) -> tuple[pl.DataFrame, list[str]]:
    """The rows of ``expr`` (``window``: order_by, limit, offset) and the attributes left out."""
    codecs = stored(expr.heading)
    if codecs and objects != "omit":
        return plain_objects(expr.to_polars(**window), objects), []
    data = expr.to_arrow(**window)
    return pl.DataFrame(data.drop_columns(codecs)), codecs


def plain_objects(frame: pl.DataFrame, mode: ObjectMode) -> pl.DataFrame:
    """``frame`` with its Object columns (and the array columns of decoded arrays) described
    or made plain, so they can be written."""
    columns = [name for name, kind in frame.schema.items() if kind in OBJECT_KINDS]
    if mode == "omit":
        return frame.drop(columns)
    convert = summary if mode == "summary" else plain
    return frame.with_columns(
        [series(name, [convert(v) for v in object_values(frame[name])]) for name in columns]
    )


OBJECT_KINDS = (pl.Object, pl.Array, pl.List)


def object_values(column: pl.Series) -> list[Any]:
    """The values of an Object column; an array or list column's rows as numpy arrays."""
    if column.dtype == pl.Object:
        return column.to_list()
    return column_values(column.to_arrow())


def series(name: str, values: list[Any]) -> pl.Series:
    try:
        return pl.Series(name, values, strict=False)
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        return pl.Series(name, [json.dumps(v, default=str) for v in values])


def summary(value: Any) -> str | None:
    """A stored value in a few words: ``float32[1001]``, ``frame 3x2``, ``bytes[12]``."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return f"{value.dtype}{list(value.shape)}"
    if isinstance(value, pl.DataFrame):
        return f"frame {value.height}x{value.width}"
    if isinstance(value, bytes | str | list | dict | tuple):
        return f"{type(value).__name__}[{len(value)}]"
    return type(value).__name__


def plain(value: Any) -> Any:
    """A stored value as JSON can carry it: arrays as (nested) lists, frames as dicts."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pl.DataFrame):
        return value.to_dict(as_series=False)
    if isinstance(value, bytes):
        return value.hex()
    return value


def rows_json(frame: pl.DataFrame) -> str:
    """The rows as a JSON array of objects, written by Polars (bytes in base64)."""
    binary = [name for name, kind in frame.schema.items() if kind == pl.Binary]
    if binary:
        frame = frame.with_columns(pl.col(binary).bin.encode("base64"))
    return frame.write_json()


def document(meta: dict[str, Any], frame: pl.DataFrame | None = None) -> str:
    """``meta`` as a JSON object, with ``"rows"`` written from ``frame`` if given."""
    text = json.dumps(meta, default=str)
    if frame is None:
        return text
    separator = ", " if meta else ""
    return f'{text[:-1]}{separator}"rows": {rows_json(frame)}}}'


def arrow_ipc(frame: pl.DataFrame) -> bytes:
    """The rows as an Arrow IPC stream (readable by ``pyarrow.ipc.open_stream``)."""
    buffer = io.BytesIO()
    frame.write_ipc_stream(buffer, compat_level=pl.CompatLevel.oldest())
    return buffer.getvalue()
