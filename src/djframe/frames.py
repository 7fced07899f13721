"""What counts as a frame, and how any tabular input becomes Arrow.

Inserts, restrictions by local rows and codec encoding all take "a frame": a PyArrow table or
record batch, a Polars DataFrame or LazyFrame, a pandas DataFrame, a numpy record array, rows
(any iterable: a list, a generator, ``zip``) of dicts or of sequences in the heading's order
(DataJoint's positional rows, deprecated there), or a path to a CSV file. :func:`frame_kind`
names which one a value is (the one place that sniffs input), :func:`as_frame` turns the
frame kinds into Arrow with no copy where the source allows, :func:`row_columns` turns rows
into columns, and :func:`to_arrow` turns any insert input into Arrow typed by a heading.

Examples
--------
>>> import polars as pl
>>> frame_kind(pl.DataFrame({"a": [1]})), frame_kind([{"a": 1}]), frame_kind(3)
('polars', 'rows', 'other')
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pyarrow as pa

from djframe.errors import DataError, warn_deprecated
from djframe.heading import Attribute, Heading

__all__ = [
    "FrameKind",
    "as_frame",
    "chunks",
    "frame_kind",
    "indexed_rows",
    "plain",
    "row_columns",
    "to_arrow",
]

FrameKind = Literal["arrow", "polars", "pandas", "records", "path", "mapping", "rows", "other"]
"""``arrow``/``polars``/``pandas``/``records`` (a numpy record array): a frame; ``path``: a CSV
file; ``mapping``: one row; ``rows``: any other iterable (of dicts or sequences); ``other``:
none of these."""

FRAME_KINDS = frozenset({"arrow", "polars", "pandas", "records"})


def frame_kind(value: Any) -> FrameKind:
    """Which kind of tabular input ``value`` is."""
    if isinstance(value, pa.Table | pa.RecordBatch):
        return "arrow"
    module = type(value).__module__.split(".")[0]
    if module == "polars" and hasattr(value, "lazy"):
        return "polars"
    if module == "pandas" and hasattr(value, "columns"):
        return "pandas"
    if module == "numpy" and getattr(getattr(value, "dtype", None), "names", None):
        return "records"
    if isinstance(value, str | Path):
        return "path"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, Iterable) and not isinstance(value, bytes):
        return "rows"
    return "other"


def why(exc: Exception) -> str:
    """What a conversion error means, in words (Python's own are about C longs and codecs)."""
    if isinstance(exc, OverflowError):
        return "an integer is beyond 64 bits; no attribute type holds it."
    if isinstance(exc, UnicodeError):
        return "a string is not valid Unicode (it holds a lone surrogate such as '\\ud800')."
    return str(exc)


def as_frame(value: Any) -> pa.Table | None:
    """A frame (Arrow, Polars or pandas) as an Arrow table, or None if ``value`` is not one.

    Raises
    ------
    DataError
        The frame names a column twice, or its values do not convert to Arrow.
    """
    try:
        frame = frame_as_arrow(value)
    except (pa.ArrowException, OverflowError, ValueError, TypeError) as exc:
        raise DataError(
            f"Cannot read the {frame_kind(value)} frame as Arrow: {why(exc)} Give each column "
            "values of one type."
        ) from None
    if frame is not None and len(set(frame.column_names)) < frame.num_columns:
        twice = sorted({n for n in frame.column_names if frame.column_names.count(n) > 1})
        raise DataError(
            f"The frame names the column(s) {twice} more than once: give each attribute once."
        )
    return frame


def frame_as_arrow(value: Any) -> pa.Table | None:
    kind = frame_kind(value)
    if kind == "arrow":
        return value if isinstance(value, pa.Table) else pa.Table.from_batches([value])
    if kind == "polars":  # a LazyFrame is collected; a DataFrame converts with no query
        return (value.collect() if hasattr(value, "collect") else value).to_arrow()
    if kind == "pandas":
        frame = value.reset_index() if has_named_index(value) else value
        return pa.Table.from_pandas(frame, preserve_index=False)
    if kind == "records":  # a record array, or one record (numpy.void)
        import numpy as np

        records = np.atleast_1d(value).reshape(-1)
        return pa.table({name: record_column(records[name]) for name in records.dtype.names or ()})
    return None


def record_column(values: Any) -> pa.Array:
    """A field of a numpy record array as Arrow (object and sub-array fields go value by value)."""
    if values.dtype.kind == "O" or values.ndim > 1:
        return pa.array(list(values))
    return pa.array(values)


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
        return columns_to_arrow(row_columns(rows, heading), heading)
    raise DataError(
        f"Cannot insert a {type(rows).__name__}: give a Polars, Arrow or pandas frame, rows "
        "(dicts, or tuples in the order of the attributes), a path to a CSV file, or a query."
    )


def chunks(rows: Any, size: int, heading: Heading) -> Iterator[Any]:
    """Insert input in pieces of ``size`` rows: slices of a frame, lists of other rows.

    Examples
    --------
    >>> [len(c) for c in chunks([{"a": i} for i in range(5)], 2, Heading([]))]
    [2, 2, 1]
    >>> [c.num_rows for c in chunks(pa.table({"a": [1, 2, 3]}), 2, Heading([]))]
    [2, 1]
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise DataError(f"chunk_size must be a positive int, not {size!r}.")
    kind = frame_kind(rows)
    if kind == "path":
        rows, kind = read_csv(Path(rows), heading), "arrow"
    if kind == "polars":
        rows = rows.lazy().collect()
    if kind in FRAME_KINDS:
        total = rows.num_rows if kind == "arrow" else len(rows)
        for start in range(0, total, size):
            yield _frame_slice(rows, kind, start, size)
        return
    if kind != "rows":
        yield rows  # one row or no input at all: insert says what is wrong
        return
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _frame_slice(frame: Any, kind: FrameKind, start: int, size: int) -> Any:
    if kind == "pandas":
        return frame.iloc[start : start + size]
    if kind == "records":
        return frame[start : start + size]
    return frame.slice(start, size)  # Arrow and Polars


def indexed_rows(frame: Any, primary_key: Sequence[str], index_as_pk: bool | None) -> Any:
    """A pandas frame with its index made attributes (``index_as_pk``) or dropped.

    ``None`` takes the index as the primary key when its names are exactly the key's, as
    ``to_pandas`` gives it, and drops any other index (a RangeIndex, say).
    """
    if frame_kind(frame) != "pandas":
        raise DataError(
            f"insert_dataframe requires a pandas DataFrame, not a {type(frame).__name__}; "
            "insert takes the other kinds of rows."
        )
    names = [n for n in frame.index.names if n is not None]
    if index_as_pk is None:
        index_as_pk = bool(names) and set(names) == set(primary_key)
    if not index_as_pk:
        return frame.reset_index(drop=True)
    if set(names) != set(primary_key):
        raise DataError(
            f"The index names {names} do not match the primary key {list(primary_key)}: name "
            "the index after the key (frame.index.names = [...]) or pass index_as_pk=False."
        )
    return frame.reset_index()


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


def row_columns(
    rows: Iterable[Any], heading: Heading, *, optional: Collection[str] = ()
) -> dict[str, list[Any]]:
    """Rows (dicts, or sequences in the heading's order) as columns, by attribute name.

    Every dict names the same attributes, except that those in ``optional`` may be left out
    (None).

    Examples
    --------
    >>> from djframe.types import parse_type
    >>> h = Heading([Attribute("id", parse_type("int32"), in_key=True),
    ...              Attribute("name", parse_type("varchar(9)"))])
    >>> row_columns([{"id": 1, "name": "a"}], h)
    {'id': [1], 'name': ['a']}
    >>> row_columns(zip([1, 2], ["a", "b"]), h)  # doctest: +SKIP (deprecated: a warning)
    {'id': [1, 2], 'name': ['a', 'b']}
    """
    listed = rows if isinstance(rows, list) else list(rows)
    if listed and all(isinstance(row, Mapping) and not row for row in listed):
        return default_columns(len(listed), heading)
    if all(isinstance(row, Mapping) for row in listed):
        return dict_columns(listed, set(optional))
    if all(is_record(row) for row in listed):  # numpy records name their fields
        return {name: [row[name] for row in listed] for name in listed[0].dtype.names}
    if all(is_positional(row) for row in listed):
        return positional_columns(listed, heading)
    kinds = sorted({type(row).__name__ for row in listed})
    raise DataError(
        f"Rows must all be dicts or all be sequences in the order of the attributes "
        f"({', '.join(heading.names)}); these are {', '.join(kinds)}."
    )


def is_record(row: Any) -> bool:
    """A numpy record (a row of a record array), whose fields have names."""
    return type(row).__module__ == "numpy" and bool(getattr(row.dtype, "names", None))


def is_positional(row: Any) -> bool:
    """A sequence of values (a tuple, a list, a 1-d array, a numpy record), not a string."""
    if isinstance(row, str | bytes):
        return False
    return isinstance(row, Sequence) or type(row).__module__ == "numpy"


def default_columns(count: int, heading: Heading) -> dict[str, list[Any]]:
    """``count`` empty rows (``insert1({})``): every attribute takes its default, as in
    DataJoint; refused where an attribute has none."""
    required = [a.name for a in heading if not fills_itself(a)]
    if required:
        raise DataError(
            f"Cannot insert empty rows ({{}}): {required} have no default. Give them values, "
            "or declare defaults (name = value : type)."
        )
    columns = {a.name: [None] * count for a in heading if not a.auto_increment}
    if not columns:  # rows of numbers alone: nothing to say how many
        raise DataError(
            "Empty rows ({}) for a table of an auto_increment key alone: give the key's values."
        )
    return columns


def fills_itself(attr: Attribute) -> bool:
    """Whether an attribute left out of a row gets a value: a default, NULL or a number."""
    return attr.default is not None or attr.nullable or attr.auto_increment


def dict_columns(rows: list[Mapping[str, Any]], optional: set[str]) -> dict[str, list[Any]]:
    names = list(dict.fromkeys(name for row in rows for name in row))
    if len({frozenset(row) - optional for row in rows}) > 1:
        raise DataError(
            "All rows of one insert must name the same attributes; these rows differ. Insert "
            "them in groups, or give every row every attribute (None for a default)."
        )
    return {name: [row.get(name) for row in rows] for name in names}


def positional_columns(rows: list[Any], heading: Heading) -> dict[str, list[Any]]:
    """Rows of values in the heading's order, as DataJoint takes them (and warns about)."""
    warn_deprecated(
        "Positional inserts (rows given as tuples or lists) are deprecated in DataJoint 2.x; "
        "give dicts that name the attributes, or a frame."
    )
    lengths = {len(row) for row in rows}
    if lengths - {len(heading)}:
        given = " or ".join(str(n) for n in sorted(lengths))
        raise DataError(
            f"Incorrect number of attributes: positional rows give {given} values, but the table "
            f"has {len(heading)} attributes ({', '.join(heading.names)}); give one value per "
            "attribute, in that order, or give dicts."
        )
    if not rows:
        return {}
    columns = zip(*rows, strict=True)
    return {name: list(values) for name, values in zip(heading.names, columns, strict=True)}


def columns_to_arrow(columns: Mapping[str, list[Any]], heading: Heading) -> pa.Table:
    """Columns of Python values as Arrow, each of the type its values have (uuids and json of
    the heading's attributes as text); inserts then cast them to the attributes' types exactly
    as they cast a frame's columns."""
    arrays = {}
    for name, values in columns.items():
        if name in heading:
            attr = heading[name]
            arrays[name] = checked_array([python_cell(v, attr) for v in values], attr)
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays) if arrays else pa.table({})


def array_for(values: list[Any], attr: Attribute) -> pa.Array:
    """Python values as Arrow, typed as they are: the attribute's type is applied later by the
    same checked cast as a frame's columns (so ``1.5`` for an int is refused, not truncated).
    Values of mixed Python types (which Arrow would read as the first one's type: ``[date,
    5]`` as two dates) are built as the attribute's type and kept only where that changes
    none of them."""
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {dt.date, dt.datetime}:
        values = [as_datetime(v) for v in values] if dt.datetime in kinds else values
    elif len(kinds) > 1 and not kinds <= NUMBERS:
        return typed_array(values, attr)
    inferred = inferred_array(values)
    return inferred if inferred is not None else typed_array(values, attr)


NUMBERS = frozenset({int, float})
"""Python types Arrow reads together as numbers (``[1, 2.5]`` as float64), exactly."""


def inferred_array(values: list[Any]) -> pa.Array | None:
    """Values as the Arrow type they have, or None if they are of types Arrow cannot mix."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None


def as_datetime(value: Any) -> Any:
    """A date as the datetime of its midnight; any other value as it is."""
    if type(value) is dt.date:
        return dt.datetime.combine(value, dt.time())
    return value


def typed_array(values: list[Any], attr: Attribute) -> pa.Array:
    """Values of mixed types built as ``attr``'s Arrow type, refused where that changes one."""
    assert attr.type is not None
    try:
        array = pa.array(values, type=attr.type.arrow)
        stored_values = array.to_pylist()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, ValueError) as exc:
        raise DataError(
            f"Attribute {attr.name!r} ({attr.type}) cannot hold these values: {why(exc)}"
        ) from None
    for given, stored in zip(values, stored_values, strict=True):
        if given is not None and stored != given and given == given:  # NaN is not a change
            raise DataError(
                f"Attribute {attr.name!r} is {attr.type}, but the value {given!r} "
                f"({type(given).__name__}) would be stored as {stored!r}. Give values of the "
                "attribute's type."
            )
    return array


def checked_array(values: list[Any], attr: Attribute) -> pa.Array:
    """:func:`array_for`, with Python's conversion errors (an int beyond 64 bits, a lone
    surrogate) as DataErrors naming the attribute."""
    try:
        return array_for(values, attr)
    except (OverflowError, UnicodeError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(
            f"Attribute {attr.name!r} ({attr.type}) cannot hold these values: {why(exc)}"
        ) from None


def read_csv(path: Path, heading: Heading) -> pa.Table:
    overrides = {a.name: pl.String for a in heading if a.type is not None}
    try:
        return pl.read_csv(path, schema_overrides=overrides, try_parse_dates=False).to_arrow()
    except (OSError, pl.exceptions.PolarsError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"Cannot read {str(path)!r} as a CSV file ({first}). Give the path of a CSV file "
            "with a header row, a frame, or rows."
        ) from None


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
