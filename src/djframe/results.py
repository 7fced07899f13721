"""Materialization: run an expression and hand its rows back as Arrow, Polars, pandas or dicts.

The data path is Arrow from end to end: DuckDB exports Arrow natively, PostgreSQL through
ADBC. The final SELECT casts what an engine cannot export cleanly (uuid, json, PostgreSQL
numeric) to text, and :func:`conform` casts every column to its core type's Arrow type, so a
query gives the same Polars types on every backend. No Python object is made per row unless
``to_dicts`` or iteration asks for them.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import polars as pl
import pyarrow as pa

from djframe import fetch as fetching
from djframe.codecs.arrays import values_series
from djframe.compile.cache import query_sql
from djframe.compile.lower import LowerContext
from djframe.compile.sql import TEXT_ON_EXPORT, OrderBy, compile_sql, final_relation, sql_of
from djframe.errors import DjframeError, QueryError
from djframe.session import flush_held, read_ahead
from djframe.settings import config
from djframe.store.columns import decode_columns
from djframe.types import python_value

if TYPE_CHECKING:
    import pandas as pd

    from djframe._typing import ArrayColumns
    from djframe.compile.lower import Relation
    from djframe.heading import Heading

__all__ = ["ResultsMixin", "conform", "frame_html", "frame_text", "running"]

VIEW_OF = {pa.string(): pa.string_view(), pa.binary(): pa.binary_view()}


def conform(data: pa.Table, heading: Heading, *, views: bool = False) -> pa.Table:
    """Cast each column to its core type's Arrow type (int16 -> int8 on PostgreSQL, ...).

    With ``views``, a string_view (binary_view) column passes for a string (binary) one:
    Polars stores strings as views, so they then cross into Polars without a copy.
    """
    arrays, changed = [], False
    for name, given in zip(data.column_names, data.columns, strict=True):
        column = unwrap_opaque(given)
        attr = heading[name] if name in heading else None  # noqa: SIM401 (no Heading.get)
        target = attr.type.arrow if attr is not None and attr.type is not None else None
        keep = target is None or column.type in (target, VIEW_OF.get(target) if views else None)
        arrays.append(column if keep else column.cast(target))
        changed = changed or not keep or column is not given
    return pa.table(arrays, names=data.column_names) if changed else data


def unwrap_opaque(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """PostgreSQL types ADBC does not map arrive as opaque text: a computed ``numeric`` (an
    ``avg`` of integers, a ``sum`` of bigints) becomes float64, as DuckDB gives; others text."""
    kind = column.type
    if not isinstance(kind, pa.OpaqueType):
        return column
    storage = pa.chunked_array([chunk.storage for chunk in column.chunks], type=kind.storage_type)
    if kind.type_name == "numeric":
        return storage.cast(pa.float64())
    return storage.cast(pa.string())


def polars_frame(data: pa.Table, heading: Heading) -> pl.DataFrame:
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    enums = {
        a.name: pl.col(a.name).cast(a.type.polars)
        for a in heading
        if a.type is not None and a.type.name == "enum" and a.name in frame.columns
    }
    return frame.with_columns(**enums) if enums else frame


@contextmanager
def running(expr: Relation, sql: str, ctx: LowerContext) -> Iterator[Any]:
    """The connection, ready to run ``sql`` (lowered from ``expr`` with ``ctx``): a make's held
    rows that the query reads are written first, and the local frames it restricts by are
    uploaded for the duration of the block."""
    conn = expr.connection
    flush_held(conn, sql)
    with conn.registered(ctx.frames):
        yield conn


class ResultsMixin:
    """Result methods shared by tables and expressions (each of which is a
    :class:`~djframe.compile.lower.Relation`; the declarations below say what they provide)."""

    if TYPE_CHECKING:
        connection: Any

        @property
        def heading(self) -> Heading: ...

        @property
        def default_order(self) -> list[str] | None: ...

        def lower(self, ctx: LowerContext) -> ir.Table: ...

        def restriction_chain(self) -> Any: ...

        def shape(self, values: list[Any]) -> Any: ...

        def with_values(self, values: Iterator[Any]) -> Relation: ...

        def proj(self, *attributes: Any, **named: str) -> Any: ...

        def restrict(self, condition: Any, *, semantic_check: bool = True) -> Relation: ...

        def _restricted_table(self) -> Any: ...

    def _run(self, *, views: bool = False, **kwargs: Any) -> pa.Table:
        """Run the query; ``views``: the Arrow goes to Polars, so string views may stay."""
        ahead = read_ahead.get()  # a make's point query, answered for its whole group
        data = ahead.serve(self, kwargs) if ahead is not None else None
        if data is None:
            ctx = LowerContext()
            sql = query_sql(self, ctx, **kwargs)  # final_relation's SQL, cached by shape
            with running(self, sql, ctx) as conn, conn.translated("running a query"):
                backend = conn.backend
                data = backend.fetch_arrow_views(sql) if views else backend.fetch_arrow(sql)
        return conform(data, self.heading, views=views)

    # -- frames --------------------------------------------------------------------------
    def to_arrow(
        self, *, order_by: OrderBy = None, limit: int | None = None, offset: int | None = None
    ) -> pa.Table:
        """The result as a PyArrow table."""
        return self._run(order_by=order_by, limit=limit, offset=offset)

    def to_polars(
        self,
        *,
        order_by: OrderBy = None,
        limit: int | None = None,
        offset: int | None = None,
        lazy: bool = False,
        arrays: ArrayColumns | None = None,
    ) -> pl.DataFrame:
        """The result as a Polars DataFrame.

        Codec attributes come back decoded. Numeric (or text) arrays of one shape are a
        ``pl.Array(dtype, shape)`` column, arrays whose shapes differ a ``pl.List`` column
        (nested per dimension), numbers and bytes a plain column; other values (frames,
        files, arrays of differing dimensionality) a ``pl.Object`` column. ``arrays="object"``
        (or ``dj.config["results.arrays"] = "object"``) keeps every decoded value as a Python
        object, as earlier versions did. ``lazy=True``: references to stored values that load
        on ``.load()``, in Object columns.

        Examples
        --------
        >>> Student.to_polars(order_by="KEY", limit=10)  # doctest: +SKIP
        >>> Features.to_polars()["spectrum"].dtype  # doctest: +SKIP
        Array(Float32, shape=(64,))
        """
        typed = typed_arrays(arrays)
        data = self._run(views=True, order_by=order_by, limit=limit, offset=offset)
        frame = polars_frame(data, self.heading)
        return decoded_frame(self, data, frame, lazy=lazy, typed=typed)

    def to_pandas(
        self, *, order_by: OrderBy = None, limit: int | None = None, offset: int | None = None
    ) -> pd.DataFrame:
        """The result as a pandas DataFrame indexed by the primary key."""
        data = self.to_arrow(order_by=order_by, limit=limit, offset=offset)
        frame = data.to_pandas()
        for name, values in decoded_columns(self, data, lazy=False).items():
            frame[name] = values
        key = self.heading.primary_key
        return frame.set_index(key) if key else frame

    def to_arrow_batches(self, batch_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Stream the result in record batches of at most ``batch_size`` rows."""
        ctx = LowerContext()
        sql = sql_of(self, final_relation(self, ctx))
        with running(self, sql, ctx) as conn:
            for batch in conn.fetch_batches(sql, batch_size, action="running a query"):
                yield (
                    conform(pa.Table.from_batches([batch]), self.heading).to_batches()[0]
                    if batch.num_rows
                    else batch
                )

    def to_dicts(
        self,
        *,
        order_by: OrderBy = None,
        limit: int | None = None,
        offset: int | None = None,
        lazy: bool = False,
    ) -> list[dict[str, Any]]:
        """The result as a list of dicts, one per row (uuid and json as Python values, codec
        attributes decoded; ``lazy=True``: stored values as references that load on access)."""
        data = self.to_arrow(order_by=order_by, limit=limit, offset=offset)
        heading = self.heading
        special = {
            a.name: a.type.name
            for a in heading
            if a.type is not None and a.type.name in TEXT_ON_EXPORT
        }
        rows = data.to_pylist()
        if special:
            for row in rows:
                for name, kind in special.items():
                    row[name] = python_value(row[name], kind)
        for name, values in decoded_columns(self, data, lazy=lazy).items():
            for row, value in zip(rows, values, strict=True):
                row[name] = value
        return rows

    def keys(self, **kwargs: Any) -> list[dict[str, Any]]:
        """The primary-key values of the result, as dicts; ``order_by`` may name any
        attribute (a secondary one too), as in DataJoint."""
        order = kwargs.get("order_by")
        if order is None or order == "KEY":
            return self.proj().to_dicts(**kwargs)
        key = self.heading.primary_key
        rows = self.proj(*[*key, *sort_names(order, self.heading.names)]).to_dicts(**kwargs)
        return [{name: row[name] for name in key} for row in rows]

    # -- DataJoint's fetch surface (djframe.fetch) ------------------------------------------
    def fetch1(self, *attributes: fetching.Name, squeeze: bool = False, lazy: bool = False) -> Any:
        """The one row of the result: a dict, or the values of ``attributes`` (``"KEY"`` or
        ``dj.key`` for the primary key as a dict).

        Raises :class:`~djframe.errors.QueryError` unless exactly one row matches.

        Examples
        --------
        >>> (Student & {"student_id": 1}).fetch1("first_name")  # doctest: +SKIP
        'Ann'
        """
        return fetching.fetch1(self, *attributes, squeeze=squeeze, lazy=lazy)

    def fetch(self, *attributes: fetching.Name, **options: Any) -> Any:
        """DataJoint 2.x's deprecated ``fetch`` (it warns): a numpy structured array, an array
        per attribute named, ``as_dict=True`` dicts, ``format="frame"`` a pandas frame; with
        ``order_by``, ``limit``, ``offset``, ``squeeze``. Prefer :meth:`to_polars`."""
        return fetching.fetch(self, *attributes, **options)

    def to_arrays(self, *attributes: str, **options: Any) -> Any:
        """The result as numpy, as DataJoint gives it: a structured array of every attribute,
        or one array per attribute named (``include_key=True``: the keys as dicts first);
        with ``order_by``, ``limit``, ``offset``, ``squeeze``.

        Examples
        --------
        >>> names, born = Student.to_arrays("first_name", "date_of_birth")  # doctest: +SKIP
        """
        return fetching.to_arrays(self, *attributes, **options)

    def head(self, limit: int = 25) -> list[dict[str, Any]]:
        """The first ``limit`` rows by primary key, as dicts (DataJoint's ``head``); for a
        frame, ``to_polars(order_by="KEY", limit=n)``."""
        return self.to_dicts(order_by="KEY", limit=limit)

    def tail(self, limit: int = 25) -> list[dict[str, Any]]:
        """The last ``limit`` rows by primary key, as dicts, in key order (DataJoint's ``tail``)."""
        key = self.heading.primary_key
        last = self.to_dicts(order_by=[f"{k} DESC" for k in key] or None, limit=limit)
        return last[::-1]

    # -- size and membership -------------------------------------------------------------
    def __len__(self) -> int:
        ctx = LowerContext()
        sql = sql_of(self, self.lower(ctx).count())
        with running(self, sql, ctx) as conn:
            return int(conn.fetch_count(sql, action="counting rows"))

    def __bool__(self) -> bool:
        return len(self.to_arrow(limit=1)) > 0

    def __contains__(self, item: Any) -> bool:
        return bool(self & item)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The rows as dicts, from a generator (DataJoint's iteration); the query runs on the
        first ``next``, once."""
        yield from self.to_dicts()

    # -- SQL -----------------------------------------------------------------------------
    def to_ibis(self) -> ir.Table:
        """The Ibis expression this query lowers to (over unbound tables)."""
        return self.lower(LowerContext())

    def sql(self) -> str:
        """The SQL this query compiles to on its connection's backend."""
        relation = self.lower(LowerContext())
        return compile_sql(relation, dialect=self.connection.backend.dialect, pretty=True)

    # -- display -------------------------------------------------------------------------
    def _preview(self) -> tuple[pl.DataFrame, int]:
        """The rows a repr shows (the first ``display.limit``) and the number of rows."""
        limit = int(config["display.limit"])
        return self.to_polars(order_by="KEY", limit=limit), len(self)

    def _cell_width(self) -> int:
        """The most characters a repr shows of a cell (views of long text show it all)."""
        return int(config["display.width"])

    def __repr__(self) -> str:
        try:
            frame, count = self._preview()
        except DjframeError as exc:
            return f"<{type(self).__name__}: cannot be shown: {exc}>"
        return frame_text(frame, count, self.heading.primary_key, self._cell_width())

    def _repr_html_(self) -> str:
        frame, count = self._preview()
        return frame_html(frame, count, self.heading.primary_key, self._cell_width())


def frame_text(frame: pl.DataFrame, count: int, primary_key: list[str], width: int) -> str:
    """The first rows of a result of ``count`` rows, as text (``repr``); cells of at most
    ``width`` characters."""
    key = ", ".join(primary_key)
    with pl.Config(tbl_rows=frame.height, tbl_hide_dataframe_shape=True, fmt_str_lengths=width):
        return f"{frame}\n{count} rows; primary key: ({key})"


def frame_html(frame: pl.DataFrame, count: int, primary_key: list[str], width: int) -> str:
    """The first rows of a result of ``count`` rows, as a notebook shows them (the primary
    key underlined, arrays summarized, cells of at most ``width`` characters)."""
    frame = frame.with_columns(array_summaries(frame))
    key = set(primary_key)
    head = "".join(
        f"<th>{'<u>' + html.escape(c) + '</u>' if c in key else html.escape(c)}</th>"
        for c in frame.columns
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(shortened(v, width))}</td>" for v in row) + "</tr>"
        for row in frame.iter_rows()
    )
    more = "<tr><td colspan='99'>…</td></tr>" if count > frame.height else ""
    return (
        f"<div class='djframe'><table><thead><tr>{head}</tr></thead><tbody>{body}{more}</tbody></table>"
        f"<p>{count} rows; primary key underlined</p></div>"
    )


def typed_arrays(arrays: str | None) -> bool:
    """Whether decoded arrays become typed columns: ``arrays``, else ``results.arrays``."""
    mode = arrays if arrays is not None else config["results.arrays"]
    if mode not in ("typed", "object"):
        where = "to_polars(arrays=...)" if arrays is not None else 'dj.config["results.arrays"]'
        raise QueryError(f"{where} is 'typed' or 'object', not {mode!r}.")
    return bool(mode == "typed")


def array_summaries(frame: pl.DataFrame) -> list[pl.Expr]:
    """Array and list columns as one short text per cell, their shape and element type
    (``8x8 Float64``; ``12 Int32`` for a list of 12), computed in Polars without the values."""
    summaries: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        if not isinstance(dtype, pl.Array | pl.List):
            continue
        inner: Any = dtype
        dims: list[str] = []
        while isinstance(inner, pl.Array | pl.List):
            dims.append(str(inner.size) if isinstance(inner, pl.Array) else "…")
            inner = inner.inner
        column = pl.col(name)
        first = pl.lit(dims[0]) if isinstance(dtype, pl.Array) else column.list.len().cast(str)
        text = pl.concat_str([first, pl.lit("".join(f"x{d}" for d in dims[1:]) + f" {inner}")])
        summaries.append(pl.when(column.is_not_null()).then(text).alias(name))
    return summaries


def shortened(value: Any, width: int) -> str:
    """A cell as notebooks show it: at most ``width`` characters."""
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


# -- codec decoding (see djframe.store.columns) ----------------------------------------------


def decoded_columns(expr: Any, data: pa.Table, *, lazy: bool) -> dict[str, list[Any]]:
    """Decoded values of the codec columns of a result (none when it has no codec column)."""
    heading = expr.heading
    if not any(a.codec for a in heading):
        return {}

    return decode_columns(expr.connection, heading, data, lazy=lazy)


def decoded_frame(
    expr: Any, data: pa.Table, frame: pl.DataFrame, *, lazy: bool, typed: bool = True
) -> pl.DataFrame:
    """``frame`` with its codec columns replaced by their decoded values: typed columns where
    :func:`~djframe.codecs.arrays.values_column` can build one (and ``typed``), else Object."""
    decoded = decoded_columns(expr, data, lazy=lazy)
    if not decoded:
        return frame
    return frame.with_columns(
        values_series(name, values, typed=typed) for name, values in decoded.items()
    )


def sort_names(order: Any, names: list[str]) -> list[str]:
    """The attributes an ``order_by`` names (``"a DESC"``, ``["a", "b"]``), among ``names``."""
    items = [order] if isinstance(order, str) else list(order)
    named = [str(item).split()[0] for item in items if str(item).split()]
    return [name for name in dict.fromkeys(named) if name in names]
