"""What counts as a frame, and how any tabular input becomes Arrow.

Inserts, restrictions by local rows and codec encoding all take "a frame": a PyArrow table or
record batch, a Polars DataFrame or LazyFrame, a pandas DataFrame, rows as dicts, or a path
to a CSV file. :func:`frame_kind` names which one a value is (the one place that sniffs
input), :func:`as_frame` turns the frame kinds into Arrow with no copy where the source
allows, and :func:`to_arrow` turns any insert input into Arrow typed by a heading.

Examples
--------
>>> import polars as pl
>>> frame_kind(pl.DataFrame({"a": [1]})), frame_kind([{"a": 1}]), frame_kind(3)
('polars', 'rows', 'other')
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pyarrow as pa

from djframe.errors import DataError
from djframe.heading import Attribute, Heading

__all__ = ["FrameKind", "as_frame", "frame_kind", "plain", "to_arrow"]

FrameKind = Literal["arrow", "polars", "pandas", "path", "mapping", "rows", "other"]
"""``arrow``/``polars``/``pandas``: a frame; ``path``: a CSV file; ``mapping``: one row;
``rows``: any other iterable (of dicts); ``other``: none of these."""

FRAME_KINDS = frozenset({"arrow", "polars", "pandas"})


def frame_kind(value: Any) -> FrameKind:
    """Which kind of tabular input ``value`` is."""
    if isinstance(value, pa.Table | pa.RecordBatch):
        return "arrow"
    module = type(value).__module__.split(".")[0]
    if module == "polars" and hasattr(value, "lazy"):
        return "polars"
    if module == "pandas" and hasattr(value, "columns"):
        return "pandas"
    if isinstance(value, str | Path):
        return "path"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, Iterable) and not isinstance(value, bytes):
        return "rows"
    return "other"


def as_frame(value: Any) -> pa.Table | None:
    """A frame (Arrow, Polars or pandas) as an Arrow table, or None if ``value`` is not one."""
    kind = frame_kind(value)
    if kind == "arrow":
        return value if isinstance(value, pa.Table) else pa.Table.from_batches([value])
    if kind == "polars":
        return value.lazy().collect().to_arrow()
    if kind == "pandas":
        frame = value.reset_index() if has_named_index(value) else value
        return pa.Table.from_pandas(frame, preserve_index=False)
    return None


def to_arrow(rows: Any, heading: Heading) -> pa.Table:
    """Any supported insert input as an Arrow table (column names as given)."""
    frame = as_frame(rows)
    if frame is not None:
        return frame
    kind = frame_kind(rows)
    if kind == "path":
        return read_csv(Path(rows), heading)
    if kind == "mapping":
        raise DataError("insert takes many rows; for one dict use insert1(row) or insert([row]).")
    if kind == "rows":
        listed = list(rows)
        if all(isinstance(r, Mapping) for r in listed):
            return from_dicts(listed, heading)
    raise DataError(
        f"Cannot insert a {type(rows).__name__}: give a Polars, Arrow or pandas frame, a list of "
        "dicts, a path to a CSV file, or a query expression."
    )


def has_named_index(frame: Any) -> bool:
    """Whether a pandas frame's index holds attributes (``to_pandas`` indexes by the key)."""
    return any(name is not None for name in frame.index.names)


def python_cell(value: Any, attr: Attribute) -> Any:
    kind = attr.type.name if attr.type else None
    if kind == "uuid" and isinstance(value, uuid.UUID):
        return str(value)
    if kind == "json" and value is not None and not isinstance(value, str):
        return json.dumps(value)
    return value


def from_dicts(rows: list[Mapping[str, Any]], heading: Heading) -> pa.Table:
    names = list(dict.fromkeys(name for row in rows for name in row))
    fields = {frozenset(row) for row in rows}
    if len(fields) > 1:
        raise DataError(
            "All rows of one insert must name the same attributes; these rows differ. Insert "
            "them in groups, or give every row every attribute (None for a default)."
        )
    columns = {}
    for name in names:
        values = [row[name] for row in rows]
        if name in heading:
            attr = heading[name]
            values = [python_cell(v, attr) for v in values]
            columns[name] = array_for(values, attr)
        else:
            columns[name] = pa.array(values)
    return pa.table(columns) if columns else pa.table({})


def array_for(values: list[Any], attr: Attribute) -> pa.Array:
    assert attr.type is not None
    try:
        return pa.array(values, type=attr.type.arrow)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, ValueError):
        try:
            return pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(
                f"Attribute {attr.name!r} ({attr.type}) cannot hold these values: {exc}"
            ) from None


def read_csv(path: Path, heading: Heading) -> pa.Table:
    overrides = {a.name: pl.String for a in heading if a.type is not None}
    return pl.read_csv(path, schema_overrides=overrides, try_parse_dates=False).to_arrow()


def plain(data: pa.Table) -> pa.Table:
    """Cast view and large types to the plain ones every engine's Arrow path accepts."""
    swaps = {
        pa.string_view(): pa.string(),
        pa.large_string(): pa.string(),
        pa.large_binary(): pa.binary(),
        pa.binary_view(): pa.binary(),
    }
    schema = pa.schema([f.with_type(swaps.get(f.type, f.type)) for f in data.schema])
    return data.cast(schema) if schema != data.schema else data
