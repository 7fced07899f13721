"""DataJoint 2.x's deprecated ``fetch()``, its ``fetch1()`` and ``to_arrays()``, on the Arrow path.

DataJoint 2.x keeps ``fetch`` for pipelines written for 0.14 and warns that it is deprecated;
its results are numpy: a structured array of every attribute, an array per attribute asked
for, or dicts (``as_dict=True``), with ``"KEY"`` (or ``dj.key``) standing for the primary key.
Here each is one query read as Arrow and turned into numpy column by column
(:func:`column_array`): numbers and strings go in bulk, and only what numpy keeps as objects
(dates, decimals, uuids, json, codec values, columns with nulls) becomes Python values, as it
is in DataJoint. Not here: frames (:mod:`djframe.results`).

Examples
--------
>>> Student.to_arrays("first_name", order_by="KEY")  # doctest: +SKIP
array(['Ann', 'Bo'], dtype='<U3')
>>> (Student & {"student_id": 1}).fetch1("KEY", "first_name")  # doctest: +SKIP
({'student_id': 1}, 'Ann')
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from djframe.compile.sql import TEXT_ON_EXPORT, OrderBy, parse_order
from djframe.errors import QueryError, warn_deprecated
from djframe.store.columns import decode_columns
from djframe.types import python_value

if TYPE_CHECKING:
    from djframe.heading import Attribute, Heading

__all__ = ["FETCH_DEPRECATED", "fetch", "fetch1", "key", "to_arrays"]

FETCH_DEPRECATED = (
    "fetch() is deprecated in DataJoint 2.0. Use to_dicts(), to_pandas(), to_arrays(), or "
    "keys() instead."
)
"""DataJoint 2.3.5's warning, word for word, so that code filtering it keeps working."""


class key:  # DataJoint's name
    """``dj.key``: asks ``fetch`` / ``fetch1`` for the primary key, as ``"KEY"`` does.

    Examples
    --------
    >>> Session.fetch(dj.key)  # doctest: +SKIP  (a list of key dicts)
    """


Name = str | type[key]


def is_key(name: Any) -> bool:
    return name is key or name == "KEY"


def expand(heading: Heading, names: Sequence[Any]) -> list[str]:
    """Attribute names with ``KEY`` replaced by the primary key, each once."""
    expanded: list[str] = []
    for name in names:
        expanded += heading.primary_key if is_key(name) else [name]
    return list(dict.fromkeys(expanded))


# -- reading columns ---------------------------------------------------------------------------
def read(
    expr: Any,
    names: Sequence[str] | None,
    *,
    order_by: OrderBy = None,
    limit: int | None = None,
    offset: int | None = None,
    squeeze: bool = False,
    lazy: bool = False,
) -> tuple[pa.Table, dict[str, list[Any]]]:
    """One query for ``names`` (all attributes if None): the Arrow result, and the columns
    whose values are Python objects (codecs decoded, uuid and json) as lists.

    The query is projected to ``names`` only when that leaves out codec attributes: plain
    columns cost less to carry than a second query shape (a make's point queries are read
    ahead and cached by shape, see :mod:`djframe.compute.readahead`).
    """
    wanted = set(expr.heading.names if names is None else names)
    for name in wanted:
        expr.heading[name]  # raises MissingAttributeError naming it
    ordered = [k.name for k in parse_order(expr.heading, order_by)]
    if any(a.codec and a.name not in wanted for a in expr.heading):
        expr = expr.proj(*dict.fromkeys([*wanted, *ordered]))
    data = expr.to_arrow(order_by=order_by, limit=limit, offset=offset)
    return data, python_columns(expr, data, wanted, squeeze=squeeze, lazy=lazy)


def python_columns(
    expr: Any, data: pa.Table, wanted: set[str], *, squeeze: bool, lazy: bool
) -> dict[str, list[Any]]:
    """Codec columns decoded (arrays squeezed if asked), uuid and json as Python values."""
    heading = expr.heading
    columns: dict[str, list[Any]] = {}
    if any(a.codec for a in heading):
        columns = decode_columns(expr.connection, heading, data, lazy=lazy)
    for attr in heading:
        kind = attr.type.name if attr.type is not None else None
        if attr.name in wanted and attr.name not in columns and kind in TEXT_ON_EXPORT:
            columns[attr.name] = [python_value(v, kind) for v in data.column(attr.name).to_pylist()]
    if squeeze:
        for name in [a.name for a in heading if a.codec and a.name in columns]:
            columns[name] = [
                np.squeeze(v) if isinstance(v, np.ndarray) else v for v in columns[name]
            ]
    return columns


# -- numpy -------------------------------------------------------------------------------------
def homogeneous(values: list[Any]) -> np.ndarray:
    """``np.array(values)`` as DataJoint makes it (equal-shape arrays stack), else objects."""
    try:
        return np.array(values)
    except ValueError:  # ragged: one object per value
        return np.fromiter(values, dtype=object, count=len(values))


def arrow_array(column: pa.ChunkedArray) -> np.ndarray:
    """A column as numpy, as ``np.array`` of its Python values would be, but in bulk."""
    kind = column.type
    if column.null_count == 0:
        if pa.types.is_integer(kind):
            return column.to_numpy().astype(np.int64, copy=False)
        if pa.types.is_floating(kind):
            return column.to_numpy().astype(np.float64, copy=False)
        if pa.types.is_boolean(kind):
            return column.to_numpy()
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return column.to_numpy(zero_copy_only=False).astype(str)
    return homogeneous(column.to_pylist())


def column_array(data: pa.Table, python: dict[str, list[Any]], name: str) -> np.ndarray:
    """One attribute of a result as numpy."""
    return homogeneous(python[name]) if name in python else arrow_array(data.column(name))


def record_format(attr: Attribute, first: Any) -> Any:
    """The field type DataJoint gives an attribute in a structured array: float64 for floats,
    int64 for integers that cannot be null, a blob's number type, else objects."""
    if attr.codec:
        return type(first) if isinstance(first, numbers.Number) else object
    return attr.dtype


def record_field(column: pa.ChunkedArray, python: list[Any] | None, fmt: Any) -> Any:
    if python is not None:
        return np.fromiter(python, dtype=object, count=len(python)) if fmt is object else python
    if fmt is object:
        return np.fromiter(column.to_pylist(), dtype=object, count=len(column))
    if fmt is np.float64:
        return pc.fill_null(column.cast(pa.float64()), np.nan).to_numpy()
    return column.to_numpy()


def uniform_number(values: list[Any]) -> Any:
    """The first of ``values`` if all are numbers of one type (a blob field of that type, as
    DataJoint gives it), else None (a field of objects)."""
    kinds = {type(v) for v in values}
    return values[0] if len(kinds) == 1 and isinstance(values[0], numbers.Number) else None


def record_array(heading: Heading, data: pa.Table, python: dict[str, list[Any]]) -> np.ndarray:
    """The whole result as a numpy structured array, one field per attribute."""
    firsts = {n: uniform_number(v) for n, v in python.items()}
    formats = [(a.name, record_format(a, firsts.get(a.name))) for a in heading]
    records = np.empty(data.num_rows, dtype=formats)
    for name, fmt in formats:
        records[name] = record_field(data.column(name), python.get(name), fmt)
    return records


# -- the API -----------------------------------------------------------------------------------
def to_arrays(
    expr: Any,
    *attributes: str,
    include_key: bool = False,
    order_by: OrderBy = None,
    limit: int | None = None,
    offset: int | None = None,
    squeeze: bool = False,
) -> Any:
    """All attributes as a structured array, or one array per attribute named (with the
    keys as dicts first if ``include_key``)."""
    if not attributes:
        data, python = read(
            expr, None, order_by=order_by, limit=limit, offset=offset, squeeze=squeeze
        )
        return record_array(expr.heading, data, python)
    key_names = expr.heading.primary_key if include_key else []
    names = list(dict.fromkeys([*key_names, *attributes]))
    data, python = read(expr, names, order_by=order_by, limit=limit, offset=offset, squeeze=squeeze)
    arrays = [column_array(data, python, name) for name in attributes]
    if include_key:
        return (data.select(key_names).to_pylist(), *arrays)
    return arrays[0] if len(arrays) == 1 else tuple(arrays)


def fetch(
    expr: Any,
    *attributes: Name,
    offset: int | None = None,
    limit: int | None = None,
    order_by: OrderBy = None,
    format: Literal["array", "frame"] | None = None,
    as_dict: bool | None = None,
    squeeze: bool = False,
) -> Any:
    """DataJoint 2.x's deprecated ``fetch`` (it warns, as DataJoint does)."""
    warn_deprecated(FETCH_DEPRECATED)
    window: dict[str, Any] = {"order_by": order_by, "limit": limit, "offset": offset}
    if format not in {None, "array", "frame"}:
        raise QueryError(f"fetch(format={format!r}): the formats are 'array' and 'frame'.")
    if format == "frame":
        if attributes or as_dict is not None:
            raise QueryError("fetch(format='frame') takes no attributes and no as_dict.")
        return expr.to_pandas(**window)
    if not attributes:
        if as_dict:
            return squeezed(expr, expr.to_dicts(**window), squeeze)
        return to_arrays(expr, **window, squeeze=squeeze)
    if len(attributes) == 1 and is_key(attributes[0]):
        return expr.keys(**window)
    if as_dict:
        return fetch_dicts(expr, expand(expr.heading, attributes), window, squeeze)
    return fetch_arrays(expr, attributes, window, squeeze)


def fetch_dicts(
    expr: Any, names: list[str], window: dict[str, Any], squeeze: bool
) -> list[dict[str, Any]]:
    """Rows of the attributes named, with the primary key (as DataJoint's projection keeps it)."""
    keep = list(dict.fromkeys([*expr.heading.primary_key, *names]))
    data, python = read(expr, names, squeeze=squeeze, **window)
    rows = data.select(keep).to_pylist()
    for name in set(python) & set(keep):
        for row, value in zip(rows, python[name], strict=True):
            row[name] = value
    return rows


def fetch_arrays(
    expr: Any, attributes: Sequence[Name], window: dict[str, Any], squeeze: bool
) -> Any:
    """An array per attribute named; ``KEY`` gives the keys as a list of dicts."""
    data, python = read(expr, expand(expr.heading, attributes), squeeze=squeeze, **window)
    key_names = expr.heading.primary_key
    results = [
        data.select(key_names).to_pylist()
        if is_key(name)
        else column_array(data, python, str(name))
        for name in attributes
    ]
    return results[0] if len(results) == 1 else tuple(results)


def squeezed(expr: Any, rows: list[dict[str, Any]], squeeze: bool) -> list[dict[str, Any]]:
    if squeeze:
        for name in [a.name for a in expr.heading if a.codec]:
            for row in rows:
                if isinstance(row[name], np.ndarray):
                    row[name] = np.squeeze(row[name])
    return rows


def fetch1(expr: Any, *attributes: Name, squeeze: bool = False, lazy: bool = False) -> Any:
    """The one row of the result: a dict, the value of one attribute, or a tuple of values
    (``KEY`` gives the key as a dict). Raises :class:`~djframe.errors.QueryError` unless
    exactly one row matches. DataJoint does not deprecate it."""
    names = expand(expr.heading, attributes) if attributes else None
    data, python = read(expr, names, limit=2, squeeze=squeeze, lazy=lazy)
    if data.num_rows != 1:
        raise QueryError(
            f"fetch1 expects exactly one row, but the query has "
            f"{'none' if not data.num_rows else 'more than one'}. Restrict it further, e.g. "
            "(Table & key).fetch1()."
        )
    row = data.to_pylist()[0] | {name: values[0] for name, values in python.items()}
    if not attributes:
        return row
    key_names = expr.heading.primary_key
    values = [{k: row[k] for k in key_names} if is_key(a) else row[a] for a in attributes]
    return values[0] if len(values) == 1 else tuple(values)
