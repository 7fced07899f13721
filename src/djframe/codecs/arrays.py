"""Decoded codec values as one Arrow column, and Arrow list columns back as numpy arrays.

A fetched ``<npy@>`` (or ``<blob>``) attribute is a list of numpy arrays, one per row.
:func:`values_column` builds a single Arrow array from their buffers: the arrays are
concatenated into one flat buffer and wrapped in list levels, one per dimension, so no Python
object is made per element. A dimension whose length is the same in every row is a
fixed-size list (Polars ``pl.Array``), one whose length varies a list (``pl.List``); numbers,
booleans, text and bytes of one kind per column qualify. What cannot be held that way
(frames, files, arrays of differing dimensionality or of complex numbers) gives ``None``, and
the caller keeps Python objects. :func:`column_values` goes the other way, for inserts of
such columns. Not here: decoding itself (:mod:`djframe.store.columns`).

Examples
--------
>>> import numpy as np
>>> values_column([np.zeros((2, 3)), None]).type
FixedSizeListType(fixed_size_list<item: fixed_size_list<item: double>[3]>[2])
>>> values_column([np.zeros(2), np.zeros(3)]).type
LargeListType(large_list<item: double>)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

__all__ = ["column_values", "values_column", "values_series"]

ARRAY_KINDS = frozenset("biufUSMm")
"""numpy dtype kinds an Arrow column holds: bool, ints, floats, text, bytes, times."""
NUMBER_KINDS = frozenset("biuf")
SCALARS = (bool, int, float, str, bytes, np.bool_, np.number, np.str_, np.bytes_)


def values_column(values: list[Any]) -> pa.Array | None:
    """One Arrow array holding ``values`` (``None`` for nulls), or ``None`` if none can."""
    present = [v for v in values if v is not None]
    if not present:
        return pa.nulls(len(values))
    try:
        if all(isinstance(v, np.ndarray) for v in present):
            return ndarray_column(values, present)
        if all(isinstance(v, SCALARS) for v in present):
            return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        pass
    return None


def values_series(name: str, values: list[Any], *, typed: bool = True) -> pl.Series:
    """``values`` as a Polars column: typed where :func:`values_column` can build one (and
    ``typed``), else a ``pl.Object`` column of the values themselves."""
    array = values_column(values) if typed else None
    if array is None:
        return pl.Series(name, values, dtype=pl.Object)
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series.alias(name)


def common_dtype(arrays: list[np.ndarray]) -> np.dtype | None:
    """The dtype all ``arrays`` fit in, in native byte order (None if Arrow cannot hold it)."""
    dtypes = {a.dtype for a in arrays}
    kinds = {d.kind for d in dtypes}
    if len(kinds) > 1 and not kinds <= NUMBER_KINDS:  # numpy would turn numbers into text
        return None
    try:
        dtype = np.result_type(*dtypes)
    except TypeError:  # datetimes of different units with timedeltas, ...
        return None
    if dtype.kind not in ARRAY_KINDS:
        return None
    if dtype == np.float16:  # Polars has no float16
        dtype = np.dtype(np.float32)
    return dtype.newbyteorder("=")


def ndarray_column(values: list[Any], present: list[np.ndarray]) -> pa.Array | None:
    dtype = common_dtype(present)
    shapes = [a.shape for a in present]
    ndim = len(shapes[0])
    if dtype is None or any(len(s) != ndim for s in shapes):
        return None
    if ndim == 0:
        filled = np.array([np.zeros((), dtype) if v is None else v for v in values], dtype)
        return arrow_of(filled, None if len(present) == len(values) else null_flags(values))
    sizes = np.array(shapes, dtype=np.int64)  # one row per array, one column per dimension
    fixed = [bool(s[0] > 0 and (s == s[0]).all()) for s in sizes.T]
    if all(fixed):
        return fixed_column(values, present, dtype, shapes[0])
    return ragged_column(values, present, dtype, sizes, fixed)


def flat_values(arrays: list[np.ndarray], dtype: np.dtype) -> pa.Array:
    """The elements of ``arrays`` in C order, one after the other, in one Arrow array."""
    flat = np.concatenate([a.reshape(-1) for a in arrays]) if arrays else np.empty(0, dtype)
    return arrow_of(flat.astype(dtype, copy=False))


def arrow_of(flat: np.ndarray, nulls: np.ndarray | None = None) -> pa.Array:
    """A 1-d array as Arrow (``nulls``: where it is null), zero-copy for numbers (``pa.array``
    would import pandas)."""
    if flat.dtype.kind not in "iufb":
        return pa.array(flat, mask=nulls)
    validity = None if nulls is None else bits(~nulls)
    data = bits(flat) if flat.dtype.kind == "b" else pa.py_buffer(np.ascontiguousarray(flat))
    kind = pa.from_numpy_dtype(flat.dtype)
    return pa.Array.from_buffers(kind, len(flat), [validity, data])


def bits(flags: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(flags, bitorder="little"))


def fixed_column(
    values: list[Any], present: list[np.ndarray], dtype: np.dtype, shape: tuple[int, ...]
) -> pa.Array:
    """Arrays of one shape: nested fixed-size lists (null rows hold zeros, masked)."""
    filler = np.zeros(shape, dtype)
    array = flat_values([filler if v is None else v for v in values], dtype)
    for size in reversed(shape[1:]):
        array = pa.FixedSizeListArray.from_arrays(array, size)
    mask = null_mask(values, len(present))
    return pa.FixedSizeListArray.from_arrays(array, shape[0], mask=mask)


def ragged_column(
    values: list[Any],
    present: list[np.ndarray],
    dtype: np.dtype,
    sizes: np.ndarray,
    fixed: list[bool],
) -> pa.Array:
    """Arrays of differing shapes: lists for the outer dimension and each varying one."""
    array = flat_values(present, dtype)
    for level in range(sizes.shape[1] - 1, 0, -1):
        if fixed[level]:
            array = pa.FixedSizeListArray.from_arrays(array, int(sizes[0, level]))
            continue
        # each array holds prod(shape[:level]) lists of length shape[level] at this level
        counts = np.prod(sizes[:, :level], axis=1)
        array = pa.LargeListArray.from_arrays(offsets(np.repeat(sizes[:, level], counts)), array)
    lengths = np.zeros(len(values), np.int64)
    lengths[[i for i, v in enumerate(values) if v is not None]] = sizes[:, 0]
    mask = null_mask(values, len(present))
    return pa.LargeListArray.from_arrays(offsets(lengths), array, mask=mask)


def offsets(lengths: np.ndarray) -> pa.Array:
    return arrow_of(np.concatenate([np.zeros(1, np.int64), np.cumsum(lengths, dtype=np.int64)]))


def null_flags(values: list[Any]) -> np.ndarray:
    return np.fromiter((v is None for v in values), dtype=bool, count=len(values))


def null_mask(values: list[Any], present: int) -> pa.Array | None:
    return None if present == len(values) else arrow_of(null_flags(values))


# -- back to numpy -----------------------------------------------------------------------------
def column_values(column: pa.Array | pa.ChunkedArray) -> list[Any]:
    """A list or fixed-size-list column as one numpy array per row (views of one buffer);
    ``None`` for null rows. Other columns as Python values."""
    if isinstance(column, pa.ChunkedArray):
        column = pa.concat_arrays(column.chunks) if column.num_chunks else pa.array([], column.type)
    if not is_list(column.type):
        return column.to_pylist()
    outer = row_bounds(column)  # where each row's items start and end in column.values
    bounds, items, inner = outer, column.values, []
    while pa.types.is_fixed_size_list(items.type):
        size = items.type.list_size
        bounds, items = (bounds + items.offset) * size, items.values
        inner.append(size)
    if is_list(items.type) or items.null_count:  # ragged inside a row: per row, as numpy does
        return [None if v is None else np.array(v) for v in column.to_pylist()]
    elements = items.to_numpy(zero_copy_only=False)
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    counts = np.diff(outer)
    return [
        elements[bounds[i] : bounds[i + 1]].reshape(counts[i], *inner) if valid[i] else None
        for i in range(len(column))
    ]


def is_list(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )


def row_bounds(column: pa.Array) -> np.ndarray:
    """Where each row's items start in ``column.values`` (and where the last row's end)."""
    if pa.types.is_fixed_size_list(column.type):
        size = column.type.list_size
        return (np.arange(len(column) + 1, dtype=np.int64) + column.offset) * size
    return column.offsets.to_numpy().astype(np.int64)
