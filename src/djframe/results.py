"""Materialization: run an expression and hand its rows back as Arrow, Polars, pandas or dicts.

The data path is Arrow from end to end: DuckDB exports Arrow natively, PostgreSQL through
ADBC. The final SELECT casts what an engine cannot export cleanly (uuid, json, PostgreSQL
numeric) to text, and :func:`conform` casts every column to its core type's Arrow type, so a
query gives the same Polars types on every backend. No Python object is made per row unless
``to_dicts`` or iteration asks for them.
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import ibis
import ibis.backends.sql.compilers as sc
import ibis.expr.types as ir
import polars as pl
import pyarrow as pa

from djframe.errors import DjframeError, QueryError
from djframe.settings import config

if TYPE_CHECKING:
    import pandas as pd

    from djframe.algebra.expression import LowerContext, QueryExpression
    from djframe.heading import Heading

__all__ = ["ResultsMixin", "compile_sql", "conform"]

OrderBy = str | Sequence[str] | None

TEXT_ON_EXPORT = {"uuid", "json"}


def compile_sql(relation: ir.Expr, dialect: str, *, pretty: bool = False) -> str:
    """The SQL text of an Ibis expression in a backend's dialect.

    Ibis' own compiler, called directly: :func:`ibis.to_sql` would first rebuild the graph to
    unbind its tables (lowered expressions hold unbound tables only) and indent the text.
    Queries run as one line; :meth:`ResultsMixin.sql` shows them indented. Ibis' pass that
    merges nested SELECTs is skipped for djframe's own queries (the engines flatten them the
    same way; the pass was a fifth of a compile), and the user's Ibis setting is restored.

    Examples
    --------
    >>> t = ibis.table({"x": "int64"}, name="t")
    >>> compile_sql(t.filter(t.x > 3), "duckdb")
    'SELECT * FROM "t" AS "t0" WHERE "t0"."x" > 3'
    """
    compiler = getattr(sc, dialect).compiler
    with selects_unfused():
        tree = compiler.to_sqlglot(relation)
    return str(tree.sql(dialect=compiler.dialect, pretty=pretty, copy=False))


@contextmanager
def selects_unfused() -> Iterator[None]:
    """Ibis compiles without merging nested SELECTs while the block runs."""
    options = ibis.options.sql
    fused, options.fuse_selects = options.fuse_selects, False
    try:
        yield
    finally:
        options.fuse_selects = fused


def order_terms(expr: QueryExpression, order_by: OrderBy) -> list[ir.Value | str]:
    """``"KEY"``, ``"KEY DESC"``, ``"name"``, ``"name DESC"`` or a list of them -> Ibis keys."""
    if order_by is None:
        return []
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    terms: list[Any] = []
    for item in items:
        name, _, direction = item.strip().partition(" ")
        descending = direction.strip().upper() == "DESC"
        names = expr.heading.primary_key if name == "KEY" else [name]
        for n in names:
            expr.heading[n]
            terms.append(ibis.desc(n) if descending else ibis.asc(n))
    return terms


def final_relation(
    expr: QueryExpression,
    ctx: LowerContext,
    *,
    order_by: OrderBy = None,
    limit: int | None = None,
    offset: int | None = None,
) -> ir.Table:
    table = expr.lower(ctx)
    terms = order_terms(expr, expr.default_order if order_by is None else order_by)
    if terms:
        table = table.order_by(terms)
    if limit is not None or offset:
        table = table.limit(limit, offset=offset or 0)
    postgres = expr.connection.backend.dialect == "postgres"
    columns = {}
    for attr in expr.heading:
        column = table[attr.name]
        name = attr.type.name if attr.type else None
        if name in TEXT_ON_EXPORT or (postgres and name == "decimal"):
            column = column.cast("string")
        columns[attr.name] = column
    return table.select(**columns)


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


def python_value(value: Any, type_name: str | None) -> Any:
    if value is None:
        return None
    if type_name == "uuid":
        return uuid.UUID(value)
    if type_name == "json":
        return json.loads(value)
    return value


class ResultsMixin:
    """Result methods shared by tables and expressions."""

    def _run(self, *, views: bool = False, **kwargs: Any) -> pa.Table:
        """Run the query; ``views``: the Arrow goes to Polars, so string views may stay."""
        expr: QueryExpression = self  # type: ignore[assignment]
        from djframe.algebra.compiled import query_sql
        from djframe.algebra.expression import LowerContext
        from djframe.pending import flush_pending
        from djframe.readahead import served

        data = served(expr, kwargs)  # a make's point query, answered for its whole group
        if data is not None:
            return conform(data, expr.heading, views=views)
        ctx = LowerContext()
        sql = query_sql(expr, ctx, **kwargs)  # final_relation's SQL, cached by shape
        conn = expr.connection
        flush_pending(conn, sql)  # a make's buffered rows, if the query reads their table
        # A backend may offer Arrow with view types, cheaper on the way to Polars.
        fetch = getattr(conn.backend, "fetch_arrow_views", None) if views else None
        with conn.translated("running a query"), uploaded(conn, ctx):
            data = (fetch or conn.backend.fetch_arrow)(sql)
        return conform(data, expr.heading, views=views)

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
    ) -> pl.DataFrame:
        """The result as a Polars DataFrame.

        Codec attributes come back decoded, in Object columns (``lazy=True``: as references
        to stored values that load on ``.load()``).

        Examples
        --------
        >>> Student.to_polars(order_by="KEY", limit=10)  # doctest: +SKIP
        """
        data = self._run(views=True, order_by=order_by, limit=limit, offset=offset)
        frame = polars_frame(data, self.heading)  # type: ignore[attr-defined]
        return decoded_frame(self, data, frame, lazy=lazy)

    def to_pandas(
        self, *, order_by: OrderBy = None, limit: int | None = None, offset: int | None = None
    ) -> pd.DataFrame:
        """The result as a pandas DataFrame indexed by the primary key."""
        data = self.to_arrow(order_by=order_by, limit=limit, offset=offset)
        frame = data.to_pandas()
        for name, values in decoded_columns(self, data, lazy=False).items():
            frame[name] = values
        key = self.heading.primary_key  # type: ignore[attr-defined]
        return frame.set_index(key) if key else frame

    def to_arrow_batches(self, batch_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Stream the result in record batches of at most ``batch_size`` rows."""
        expr: QueryExpression = self  # type: ignore[assignment]
        from djframe.algebra.expression import LowerContext

        ctx = LowerContext()
        sql = compile_sql(final_relation(expr, ctx), dialect=expr.connection.backend.dialect)
        from djframe.pending import flush_pending

        flush_pending(expr.connection, sql)
        with uploaded(expr.connection, ctx):
            for batch in expr.connection.fetch_batches(sql, batch_size, action="running a query"):
                yield (
                    conform(pa.Table.from_batches([batch]), expr.heading).to_batches()[0]
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
        heading = self.heading  # type: ignore[attr-defined]
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
        """The primary-key values of the result, as dicts."""
        return self.proj().to_dicts(**kwargs)  # type: ignore[attr-defined]

    def fetch1(self, *attributes: str, lazy: bool = False) -> Any:
        """The one row of the result: a dict, or the values of ``attributes``.

        Raises :class:`~djframe.errors.QueryError` unless exactly one row matches.
        """
        rows = self.to_dicts(limit=2, lazy=lazy)
        if len(rows) != 1:
            raise QueryError(
                f"fetch1 expects exactly one row, but the query has {'none' if not rows else 'more than one'}. "
                "Restrict it further, e.g. (Table & key).fetch1()."
            )
        row = rows[0]
        if not attributes:
            return row
        names = self.heading.primary_key if attributes == ("KEY",) else attributes  # type: ignore[attr-defined]
        values = tuple(row[a] if a in row else self.heading[a] for a in names)  # type: ignore[attr-defined]
        if attributes == ("KEY",):
            return dict(zip(names, values, strict=True))
        return values[0] if len(values) == 1 else values

    def head(self, n: int = 25) -> pl.DataFrame:
        """The first ``n`` rows, ordered by the primary key."""
        return self.to_polars(order_by="KEY", limit=n)

    # -- size and membership -------------------------------------------------------------
    def __len__(self) -> int:
        expr: QueryExpression = self  # type: ignore[assignment]
        from djframe.algebra.expression import LowerContext

        ctx = LowerContext()
        sql = compile_sql(expr.lower(ctx).count(), dialect=expr.connection.backend.dialect)
        from djframe.pending import flush_pending

        flush_pending(expr.connection, sql)
        with uploaded(expr.connection, ctx):
            count = expr.connection.fetch_scalar(sql, action="counting rows")
        assert isinstance(count, int)
        return count

    def __bool__(self) -> bool:
        return len(self.to_arrow(limit=1)) > 0

    def __contains__(self, item: Any) -> bool:
        return bool(self & item)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.to_dicts())

    # -- SQL -----------------------------------------------------------------------------
    def to_ibis(self) -> ir.Table:
        """The Ibis expression this query lowers to (over unbound tables)."""
        from djframe.algebra.expression import LowerContext

        return self.lower(LowerContext())  # type: ignore[attr-defined]

    def sql(self) -> str:
        """The SQL this query compiles to on its connection's backend."""
        expr: QueryExpression = self  # type: ignore[assignment]
        return compile_sql(self.to_ibis(), dialect=expr.connection.backend.dialect, pretty=True)

    # -- display -------------------------------------------------------------------------
    def _preview(self) -> tuple[pl.DataFrame, int]:
        limit = int(config["display.limit"])
        return self.to_polars(order_by="KEY", limit=limit), len(self)

    def __repr__(self) -> str:
        try:
            frame, count = self._preview()
        except DjframeError as exc:
            return f"<{type(self).__name__}: cannot be shown: {exc}>"
        key = ", ".join(self.heading.primary_key)  # type: ignore[attr-defined]
        width = int(config["display.width"])
        with pl.Config(tbl_rows=frame.height, tbl_hide_dataframe_shape=True, fmt_str_lengths=width):
            return f"{frame}\n{count} rows; primary key: ({key})"

    def _repr_html_(self) -> str:
        frame, count = self._preview()
        key = set(self.heading.primary_key)  # type: ignore[attr-defined]
        head = "".join(
            f"<th>{'<u>' + html.escape(c) + '</u>' if c in key else html.escape(c)}</th>"
            for c in frame.columns
        )
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(shortened(v))}</td>" for v in row) + "</tr>"
            for row in frame.iter_rows()
        )
        more = "<tr><td colspan='99'>…</td></tr>" if count > frame.height else ""
        return (
            f"<div class='djframe'><table><thead><tr>{head}</tr></thead><tbody>{body}{more}</tbody></table>"
            f"<p>{count} rows; primary key underlined</p></div>"
        )


def shortened(value: Any) -> str:
    """A cell as notebooks show it: at most ``display.width`` characters."""
    text = str(value)
    width = int(config["display.width"])
    return text if len(text) <= width else text[: width - 1] + "…"


class uploaded:
    """Upload the frames an expression restricts by for the duration of a query."""

    def __init__(self, connection: Any, ctx: LowerContext) -> None:
        self.connection, self.ctx = connection, ctx
        self.names: list[str] = []

    def __enter__(self) -> None:
        for name, data in self.ctx.frames.items():
            self.connection.backend.register_arrow(name, data)
            self.names.append(name)

    def __exit__(self, kind: object, *exc: object) -> None:
        for name in self.names:
            if kind is None:
                self.connection.backend.unregister(name)
            else:
                with suppress(Exception):  # see Connection.temporary
                    self.connection.backend.unregister(name)


# -- codec decoding (see djframe.codecs.columns) ----------------------------------------------


def decoded_columns(expr: Any, data: pa.Table, *, lazy: bool) -> dict[str, list[Any]]:
    """Decoded values of the codec columns of a result (none when it has no codec column)."""
    heading = expr.heading
    if not any(a.codec for a in heading):
        return {}
    from djframe.codecs.columns import decode_columns

    return decode_columns(expr.connection, heading, data, lazy=lazy)


def decoded_frame(expr: Any, data: pa.Table, frame: pl.DataFrame, *, lazy: bool) -> pl.DataFrame:
    """``frame`` with its codec columns replaced by their decoded values (Object columns)."""
    decoded = decoded_columns(expr, data, lazy=lazy)
    if not decoded:
        return frame
    return frame.with_columns(
        pl.Series(name, values, dtype=pl.Object) for name, values in decoded.items()
    )
