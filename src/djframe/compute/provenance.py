"""Provenance and staleness: what each computed row was made from, and whether that changed.

Every auto-populated table ``T`` has a hidden child table ``~p~T`` with one row per key of
``T``: the job id, the code version, when and how long ``make`` ran, who ran it where, and a
digest of the *upstream rows*: the rows of every ancestor reached through primary-key foreign
keys, restricted to the key (for ``Recording -> Session -> Subject``, the subject's, the
session's and the recording's row), and, a master and its parts being one entity, the rows of
those ancestors' parts with the part rows' own ancestors (docs/concepts/provenance.md lists
what is and is not tracked). The digest is computed by the database, in the same
transaction as the rows it describes, with the same SQL that :func:`stale_keys` uses later, so
checking a whole table for staleness is one query and needs no data in Python.

Because ``~p~T`` references ``T``, deleting rows of ``T`` deletes their provenance, and dropping
``T`` drops it. Its own columns start with ``_`` (``_job_id``, ``_version``, ...), as do those
of the job queue and the ``_cause`` of :func:`stale_keys`: no user's attribute may, so a key
named ``version`` or ``host`` never collides with them.
"""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from djframe._sql import literal, quote
from djframe._typing import Tier
from djframe.catalog import PROVENANCE_PREFIX
from djframe.compute.companions import Companion, companion_table
from djframe.errors import DjframeError
from djframe.table import Table

if TYPE_CHECKING:
    from djframe.catalog import TableInfo
    from djframe.connection import Connection

__all__ = ["ProvenanceTable", "code_version", "known_code_version", "provenance_of", "stale_keys"]

PROVENANCE_ATTRIBUTES = """
_job_id : varchar(36)               # the populate call (or worker) that made the row
_version : varchar(255)             # code version of make
_start_time : datetime              # when make started
_duration : float64                 # seconds in make (per key; a batch's time is shared)
_user : varchar(255)
_host : varchar(255)
_upstream_digest : varchar(32)      # md5 of the upstream rows, see djframe.provenance
"""
"""The provenance table's own columns: each starts with ``_``, which no user's attribute may,
so that they never collide with the key (``version``, ``host``, ``job_id``, ...)."""
PROVENANCE_COLUMNS = (
    "_job_id",
    "_version",
    "_start_time",
    "_duration",
    "_user",
    "_host",
    "_upstream_digest",
)


class ProvenanceTable(Companion):
    """The provenance rows of one auto-populated table (see the module documentation)."""

    tier: ClassVar[Tier] = "provenance"
    prefix = PROVENANCE_PREFIX


@dataclass(frozen=True)
class Upstream:
    """An ancestor table and how its key attributes map onto the target's key."""

    info: TableInfo
    mapping: tuple[tuple[str, str], ...]
    """(ancestor attribute, target key attribute) pairs."""


def upstream_tables(conn: Connection, target: TableInfo) -> list[Upstream]:
    """The target and every ancestor through primary-key foreign keys, with key mappings."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], Upstream] = {}
    start = Upstream(target, tuple((k, k) for k in target.heading.primary_key))
    todo = [start]
    while todo:
        node = todo.pop()
        mapping = dict(node.mapping)
        for fk in node.info.foreign_keys:
            if not all(child in mapping for child in fk.attr_map):
                continue  # a secondary reference: chosen by make, not given by the key
            parent = conn.table_info(fk.parent)
            pairs = tuple(sorted((p, mapping[c]) for c, p in fk.attr_map.items()))
            if (parent.full_name, pairs) not in found:
                found[(parent.full_name, pairs)] = Upstream(parent, pairs)
                todo.append(found[(parent.full_name, pairs)])
    return sorted(found.values(), key=lambda u: (u.info.full_name, u.mapping))


@dataclass(frozen=True)
class UpstreamParts:
    """The rows of a part of an upstream master, with their own ancestors: one entity with the
    master, digested per master key."""

    info: TableInfo
    columns: tuple[tuple[str, str], ...]
    """(part attribute, target key attribute) pairs: the master's key in the part."""
    above: tuple[Upstream, ...]
    """The part's ancestors through its primary key that its master's key does not determine
    (for ``Member(-> master, -> Digit)``, the digit)."""


def upstream_parts(conn: Connection, upstream: list[Upstream]) -> list[UpstreamParts]:
    """The parts of every master among ``upstream``, with their own ancestors."""
    found: list[UpstreamParts] = []
    for up in upstream:
        mapping = dict(up.mapping)
        parts = sorted(
            (t for t in conn.tables.values() if t.master == up.info.full_name),
            key=lambda t: t.full_name,
        )
        for part in parts:
            to_master = next(fk for fk in part.foreign_keys if fk.parent == up.info.full_name)
            columns = tuple(sorted((c, mapping[m]) for c, m in to_master.attr_map.items()))
            keyed = set(to_master.attr_map)
            above = tuple(
                a for a in upstream_tables(conn, part) if not {c for _, c in a.mapping} <= keyed
            )
            found.append(UpstreamParts(part, columns, above))
    return found


def has_upstream_parts(conn: Connection, target: TableInfo) -> bool:
    """Whether a master upstream of ``target`` has parts (then its digest has a legacy twin)."""
    return bool(upstream_parts(conn, upstream_tables(conn, target)))


def row_text(alias: str, info: TableInfo) -> list[str]:
    """Each attribute of ``alias`` (a row of ``info``) as text, NULL as ``~``."""
    return [f"COALESCE(CAST({alias}.{quote(a.name)} AS VARCHAR), '~')" for a in info.heading]


def parts_digest(parts: UpstreamParts, alias: str, keys_from: str) -> str:
    """A LEFT JOIN of the md5 of ``parts``' rows (each with its ancestors' rows), per key of
    ``keys_from`` (aliased ``k``): rows sorted by their text, so their order does not matter."""
    joins, terms = [], row_text("p", parts.info)
    for number, up in enumerate(parts.above):
        name = f"{alias}a{number}"
        on = " AND ".join(f"{name}.{quote(a)} = p.{quote(c)}" for a, c in up.mapping)
        joins.append(f"LEFT JOIN {up.info.sql_name} {name} ON {on}")
        terms += row_text(name, up.info)
    row = f"concat_ws('|', {', '.join(terms)})"
    group = ", ".join(f"p.{quote(c)}" for c, _ in parts.columns)
    wanted = ", ".join(f"w.{quote(t)}" for _, t in parts.columns)
    digest = (
        f"SELECT {group}, md5(string_agg({row}, '|' ORDER BY {row})) AS d "
        f"FROM {parts.info.sql_name} p {' '.join(joins)} "
        f"WHERE ({group}) IN (SELECT {wanted} FROM {keys_from} w) GROUP BY {group}"
    )
    on = " AND ".join(f"{alias}.{quote(c)} = k.{quote(t)}" for c, t in parts.columns)
    return f"LEFT JOIN ({digest}) {alias} ON {on}"


def digest_sql(conn: Connection, target: TableInfo, keys_from: str) -> str:
    """SELECT the target key and the md5 of its upstream rows, for the keys in ``keys_from``.

    ``keys_from`` is a table or a parenthesized subquery with the target's key columns. The
    upstream rows are those of every ancestor through primary-key foreign keys, and of every
    part of such an ancestor (with the part's own ancestors). Where there are parts,
    ``_legacy_digest`` is the md5 djframe recorded before it digested parts (the ancestors'
    rows only), so that rows recorded then are recognized (:func:`stale_keys`).
    """
    key = target.heading.primary_key
    terms: list[str] = []
    joins: list[str] = []
    upstream = upstream_tables(conn, target)
    for number, up in enumerate(upstream):
        alias = f"u{number}"
        on = " AND ".join(f"{alias}.{quote(a)} = k.{quote(t)}" for a, t in up.mapping)
        joins.append(f"LEFT JOIN {up.info.sql_name} {alias} ON {on}")
        terms += row_text(alias, up.info)
    legacy = f"md5(concat_ws('|', {', '.join(terms) or literal('')}))"
    parts = upstream_parts(conn, upstream)
    for number, part in enumerate(parts):
        joins.append(parts_digest(part, f"p{number}", keys_from))
        terms.append(f"COALESCE(p{number}.d, '~')")
    digest = f"md5(concat_ws('|', {', '.join(terms) or literal('')}))"
    names = ", ".join(f"k.{quote(k)}" for k in key)
    extra = f", {legacy} AS _legacy_digest" if parts else ""
    return (
        f"SELECT {names}, {digest} AS _upstream_digest{extra} FROM {keys_from} k {' '.join(joins)}"
    )


def record_provenance(
    conn: Connection,
    provenance: ProvenanceTable,
    keys_from: str,
    given: tuple[str, list[str]],
    *,
    job_id: str,
    version: str,
    started: str,
    duration: float,
    user: str,
    host: str,
) -> None:
    """Write the provenance of the keys in ``keys_from`` (inside the make's transaction):
    the rows made for ``given``, a relation of make keys and their attributes' names.

    The rows were just made, so where the database enforces the provenance table's foreign
    key (PostgreSQL) no provenance row can exist for them (their table's rows could not have
    been deleted while it did): a plain INSERT, a fifth cheaper than an upsert there. Where
    it does not (DuckDB), a row left by a delete outside djframe is deleted first: DELETE and
    INSERT cost DuckDB 40% less than ``INSERT ... ON CONFLICT DO UPDATE`` (5,000 keys: 5.9 ms
    against 9.5 ms of CPU). The DELETE goes by the make keys given, not by the rows made
    (which it would join the table for): no row of the table had one of them before make ran
    (or, recomputing, its rows were deleted with their provenance), so any provenance row
    with one is such a leftover.
    """
    target = conn.table_info(provenance.info.foreign_keys[0].parent)
    key = target.heading.primary_key
    names = ", ".join(quote(k) for k in key)
    constants = ", ".join(
        [
            literal(job_id),
            literal(version[:255]),
            f"CAST({literal(started)} AS TIMESTAMP)",
            repr(float(duration)),
            literal(user),
            literal(host),
        ]
    )
    columns = ", ".join(PROVENANCE_COLUMNS)
    sql = (
        f"INSERT INTO {provenance.info.sql_name} ({names}, {columns}) "
        f"SELECT {names}, {constants}, _upstream_digest FROM ({digest_sql(conn, target, keys_from)}) d"
    )
    action = f"recording the provenance of {target.class_name}"
    if not conn.backend.enforces_foreign_keys:
        relation, make_key = given
        columns = ", ".join(quote(k) for k in make_key)
        left = (
            f"DELETE FROM {provenance.info.sql_name} "
            f"WHERE ({columns}) IN (SELECT {columns} FROM {relation})"
        )
        conn.execute(left, action=action)
    conn.execute(sql, action=action)


def stale_sql(conn: Connection, provenance: ProvenanceTable, version: str | None) -> str:
    """One query: the keys whose upstream digest or code version changed, with the cause.

    A row whose digest is the one recorded before parts were digested is not stale for that
    (see :func:`rebaseline`). With ``version=None`` (the code is unknown) code is not compared.
    """
    target = conn.table_info(provenance.info.foreign_keys[0].parent)
    key = target.heading.primary_key
    digests = digest_sql(conn, target, provenance.info.sql_name)
    match = " AND ".join(f"p.{quote(k)} = d.{quote(k)}" for k in key)
    names = ", ".join(f"p.{quote(k)}" for k in key)
    changed_code = f"p._version <> {literal(version[:255])}" if version is not None else "FALSE"
    changed_rows = "p._upstream_digest <> d._upstream_digest"
    if has_upstream_parts(conn, target):
        changed_rows += " AND p._upstream_digest <> d._legacy_digest"
    return (
        f"SELECT {names}, CASE WHEN {changed_rows} AND {changed_code} "
        f"THEN 'upstream, code' WHEN {changed_rows} THEN 'upstream' "
        f"ELSE 'code' END AS _cause "
        f"FROM {provenance.info.sql_name} p JOIN ({digests}) d "
        f"ON {match} WHERE ({changed_rows}) OR {changed_code}"
    )


def rebaseline(conn: Connection, provenance: ProvenanceTable) -> int:
    """Give rows recorded before parts were digested the digest of today's upstream rows,
    parts included, where the rest of their upstream rows is unchanged; returns how many.

    Their parts were never recorded, so a change to them before now cannot be seen; from now
    on it is. Nothing is done where the connection may not write.
    """
    target = conn.table_info(provenance.info.foreign_keys[0].parent)
    if not has_upstream_parts(conn, target):
        return 0
    table = provenance.info.sql_name
    match = " AND ".join(f"t.{quote(k)} = d.{quote(k)}" for k in target.heading.primary_key)
    digests = f"({digest_sql(conn, target, table)}) d"
    recorded_before = (
        f"{match} AND t._upstream_digest = d._legacy_digest "
        "AND t._upstream_digest <> d._upstream_digest"
    )
    count = conn.fetch_count(f"SELECT count(*) FROM {table} t, {digests} WHERE {recorded_before}")
    if count:
        try:
            conn.execute(
                f"UPDATE {table} AS t SET _upstream_digest = d._upstream_digest "
                f"FROM {digests} WHERE {recorded_before}",
                action=f"recording the parts upstream of {target.class_name}",
            )
        except DjframeError:
            return 0  # a read-only connection: such rows stay as they were recorded
    return count


def stale_keys(target: Table, version: str | None) -> pl.DataFrame:
    """The keys of ``target`` whose upstream rows or code version changed, with a ``_cause``;
    with ``version=None`` (the code of make is unknown) code versions are not compared."""
    provenance = provenance_of(type(target), create=False)
    key = target.heading.primary_key
    if provenance is None:
        return pl.DataFrame(schema={k: pl.Null for k in key} | {"_cause": pl.String})
    conn = target.connection
    if count := rebaseline(conn, provenance):
        warnings.warn(
            f"{count} row(s) of {type(target).__name__} were recorded before djframe digested "
            "the parts of upstream masters: their digests now include those parts as they are "
            "now, so a later change to them makes the rows stale; an earlier change cannot be "
            "seen (populate(recompute_stale=True) does not recompute them for it).",
            stacklevel=3,
        )
    data = conn.fetch_arrow(stale_sql(conn, provenance, version), action="checking staleness")
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame.sort(key)


def provenance_definition(target: type[Table]) -> str:
    return f"# provenance of {target.__name__}\n-> {target.__name__}\n---\n{PROVENANCE_ATTRIBUTES}"


def provenance_of(target: type[Table], *, create: bool = True) -> ProvenanceTable | None:
    """The provenance table of ``target``, declared on first use when ``create``."""
    definition = provenance_definition(target)
    found = companion_table(
        target, ProvenanceTable, definition, {target.__name__: target}, create=create
    )
    return found  # type: ignore[return-value]


# -- code versions ---------------------------------------------------------------------------
def code_version(target: type[Table], setting: str | None) -> str:
    """The code version of ``target.make``: an explicit string, ``"git"``, or ``"source"``.

    ``"source"`` (the default) is a short hash of the source of the make methods, so editing
    make marks its rows stale; ``"git"`` is the commit of the repository holding the code.
    """
    if setting is None or setting == "source":
        return source_hash(target)
    if setting == "git":
        return git_commit(inspect.getsourcefile(target) or ".")
    return setting


def known_code_version(target: type[Table], setting: str | None) -> str | None:
    """The code version of ``target.make``, or None where it cannot be known: the version is
    derived from the code (``"source"``, ``"git"``) and no make is loaded (a class built from
    the catalog, as :func:`~djframe.schema.virtual_schema` builds them)."""
    derived = setting is None or setting in {"source", "git"}
    if derived and not any(callable(getattr(target, name, None)) for name in MAKE_METHODS):
        return None
    return code_version(target, setting)


MAKE_METHODS = ("make", "make_batch", "make_fetch", "make_compute", "make_insert")
"""The methods whose source is the code version ``"source"``."""


def source_hash(target: type[Table]) -> str:
    """A short hash of the source of ``target``'s make methods."""
    methods = tuple(getattr(target, name, None) for name in MAKE_METHODS)
    try:
        return methods_hash(methods)
    except TypeError:  # a make that is an unhashable callable: read every time
        return methods_hash.__wrapped__(methods)


@lru_cache(maxsize=256)
def methods_hash(methods: tuple[Any, ...]) -> str:
    """The hash of these method objects' source, read once per object (every populate call
    asks; a redefined make is another object): the version of the code that runs."""
    parts = []
    for name, method in zip(MAKE_METHODS, methods, strict=True):
        if method is None:
            continue
        try:
            parts.append(inspect.getsource(method))
        except (OSError, TypeError):
            parts.append(getattr(method, "__qualname__", name))
    return "src:" + hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


@cache
def git_commit(path: str) -> str:
    folder = Path(path).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "git:unknown"
    return "git:" + commit[:12]
