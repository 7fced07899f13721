"""Delta Lake tables of objects: the versioned index of a table's stored values.

Layout of the Delta table of a djframe table (one per store), readable with ``deltalake`` or
``polars.read_delta`` alone:

========================  ==================================================================
column                    meaning
========================  ==================================================================
primary-key columns       the row the object belongs to
``_attribute``            the attribute it is the value of
``_oid``                  the object id, also kept in the SQL row (time-ordered uuid text)
``_meta``                 JSON: what the codec needs besides the bytes (dtype, shape, name)
``_size``                 the size of the bytes
``_path``                 where a large value's bytes are, relative to the table (else null)
``_payload``              a small value's bytes (null when they are in ``_path``)
========================  ==================================================================

Values of up to :data:`INLINE_BYTES` are kept in ``_payload``; larger ones are written once,
before the commit that indexes them, to their own immutable file ``_objects/{_oid}``
(see :mod:`djframe.store.files`): writing loose files is as fast as ``np.save``, where pushing
hundreds of megabytes through the Parquet writer is several times slower. Index rows are only
ever appended (blind appends never conflict between writers); a rewritten value gets a new
``_oid`` and the old row stays until :mod:`djframe.store.gc` removes it, so earlier versions
remain readable (time travel). A payload file outlives its row's removal until no index file
that a retained version can read names it. Inline payloads are written uncompressed, without
dictionaries or statistics, and the object ids of one batch are consecutive, so the min/max
statistics of ``_oid`` let a read of a few objects skip the rest.

Every function here takes an :class:`~djframe.store.ObjectTable` and checks, on the Delta
table it opens, that the schema may do what is asked (:mod:`djframe.store.owner`); the commit
that creates a table records its owner.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlparse

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from djframe.codecs import Payload
from djframe.errors import StoreError
from djframe.session import commit_context
from djframe.store import ObjectTable, Store
from djframe.store.files import Files, payload_files, payload_path
from djframe.store.owner import check_own, check_read, check_write, owner_text

if TYPE_CHECKING:
    from deltalake import DeltaTable

__all__ = [
    "MAINTENANCE",
    "commit_rows",
    "delete_objects",
    "history",
    "list_objects",
    "new_object_ids",
    "object_time",
    "open_table",
    "owned",
    "read_metas",
    "read_objects",
    "snapshot",
    "snapshot_columns",
    "vacuum",
    "write_objects",
]

SYSTEM_COLUMNS = ("_attribute", "_oid", "_meta", "_size", "_path", "_payload", "_txn", "_op")
ROW_GROUP_BYTES = 16 * 2**20
RETRIES = 20
MAINTAIN_EVERY = 100
"""Versions between compactions and checkpoints of a Delta table (see :func:`maintain`)."""
MAINTENANCE = "maintenance"
"""The ``djframe.operation`` of commits that change no content (compaction, log retention)."""
LOG_RETENTION = "delta.logRetentionDuration"
INLINE_BYTES = 64 * 2**10
"""Values of up to this many bytes are kept in the index; larger ones in files of their own."""
T = TypeVar("T")

_sequence_lock = threading.Lock()
_sequence = [0]


def new_object_ids(count: int) -> list[str]:
    """``count`` new object ids: uuid text ordered by creation time (nanoseconds first).

    Examples
    --------
    >>> a, b = new_object_ids(2)
    >>> a < b and len(a) == 36
    True
    """
    with _sequence_lock:
        start = _sequence[0]
        _sequence[0] = (start + count) % 2**32
        now = time.time_ns()
    salt = int.from_bytes(os.urandom(4), "big")
    base = (now << 64) | (salt << 32)
    return [str(uuid.UUID(int=base | ((start + i) % 2**32))) for i in range(count)]


def object_time(oid: str) -> float:
    """When an object id was made, in seconds since the epoch."""
    return int(oid.replace("-", "")[:16], 16) / 1e9


def commit_metadata(target: ObjectTable, operation: str) -> dict[str, str]:
    metadata = {
        "djframe.table": target.full_name,
        "djframe.operation": operation,
        "djframe.identity": target.identity.identity,
    }
    metadata.update({f"djframe.{k}": str(v) for k, v in (commit_context.get() or {}).items()})
    return metadata


def retrying(action: Callable[[], T], what: str) -> T:
    """Run a Delta operation, retrying when a concurrent commit conflicts with it."""
    from deltalake.exceptions import CommitFailedError, DeltaError

    for attempt in range(RETRIES):
        try:
            return action()
        except StoreError:
            raise  # a refusal (see djframe.store.owner) says what it is already
        except (CommitFailedError, DeltaError) as exc:
            conflict = isinstance(exc, CommitFailedError) or "already exists" in str(exc)
            if not conflict or attempt == RETRIES - 1:
                raise StoreError(f"While {what}: {exc}") from exc
            time.sleep(0.01 * (attempt + 1) + 0.01 * np.random.random())
        except OSError as exc:
            raise StoreError(f"While {what}: {exc}") from exc
    raise AssertionError("unreachable")


def open_table(
    store: Store, uri: str, version: int | dt.datetime | None = None
) -> DeltaTable | None:
    """The Delta table at ``uri`` (at ``version``), or None when there is none yet."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    if version is None and not store.remote:
        return _opened.latest(uri)
    try:
        table = DeltaTable(uri, storage_options=store.storage_options or None)
    except TableNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"Cannot open the object table {uri}: {exc}") from exc
    if version is not None:
        try:
            table.load_as_version(version_at(table, version))
        except Exception as exc:
            raise StoreError(
                f"The object table {uri} has no version {version}: {exc}. See Table.history()."
            ) from exc
    return table


class OpenTables(threading.local):
    """Local Delta tables opened by this thread, kept open and brought up to date on each use.

    Opening a table replays its log from the last checkpoint, and the first append to a newly
    opened table loads its whole state: 50 ms per commit at 2,000 versions, against 12 ms for
    an append to a table kept open (``update_incremental`` reads only the new commits). A
    table is opened anew when the log file of the version it holds is no longer the one it
    read (the folder was deleted and a table made again in its place). Per thread, because a
    DeltaTable is not meant to be shared between threads; remote stores are opened each time
    (their folder cannot be checked as cheaply).
    """

    def __init__(self) -> None:
        self.tables: dict[str, tuple[DeltaTable, tuple[int, int, int]]] = {}

    def latest(self, uri: str) -> DeltaTable | None:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        cached = self.tables.pop(uri, None)
        table = cached[0] if cached is not None and stamp(uri, cached[1][0]) == cached[1] else None
        try:
            if table is None:
                table = DeltaTable(uri)
            else:
                table.update_incremental()
        except TableNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"Cannot open the object table {uri}: {exc}") from exc
        mark = stamp(uri, table.version())
        if mark is not None:
            if len(self.tables) >= OPEN_TABLES:
                self.tables.pop(next(iter(self.tables)))
            self.tables[uri] = (table, mark)
        return table


def stamp(uri: str, version: int) -> tuple[int, int, int] | None:
    """``version`` with the inode and modification time of its log file in table ``uri``."""
    folder = unquote(urlparse(uri).path) if uri.startswith("file://") else uri
    try:
        found = os.stat(os.path.join(folder, "_delta_log", f"{version:020d}.json"))
    except OSError:
        return None
    return version, found.st_ino, found.st_mtime_ns


_opened = OpenTables()
OPEN_TABLES = 64
"""At most this many tables are kept open per thread (the oldest is closed first)."""


def version_at(table: DeltaTable, when: int | dt.datetime) -> int:
    """The version number of ``when``: the last commit at or before a time, by the commit
    timestamps :func:`history` reports (deltalake would use the log files' modification
    times, which an object store sets later than the commit's own timestamp). A naive
    datetime is UTC, as in deltalake."""
    if isinstance(when, int):
        return when
    moment = when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)
    limit = moment.timestamp() * 1000
    earlier = [c["version"] for c in table.history() if c["timestamp"] <= limit]
    if not earlier:
        raise StoreError(f"no version was committed at or before {when.isoformat()}")
    return int(max(earlier))


def payload_column(payloads: Sequence[Payload | None]) -> pa.ChunkedArray:
    """Inline payloads as a large_binary column of one chunk each, viewing their bytes in
    place (no copy: the Parquet writer reads them straight from the caller's arrays); None
    (a value kept in a file) gives a null."""
    chunks = []
    for payload in payloads:
        if payload is None:
            chunks.append(pa.nulls(1, pa.large_binary()))
            continue
        data = pa.py_buffer(payload.data)
        offsets = pa.py_buffer(np.array([0, data.size], dtype=np.int64))
        chunks.append(pa.LargeBinaryArray.from_buffers(pa.large_binary(), 1, [None, offsets, data]))
    return pa.chunked_array(chunks, pa.large_binary())


def writer_properties(payload_bytes: int, rows: int) -> Any:
    from deltalake import ColumnProperties, WriterProperties

    per_row = max(1, payload_bytes // max(rows, 1))
    group = int(min(max(ROW_GROUP_BYTES // per_row, 1), 1_000_000))
    plain = ColumnProperties(dictionary_enabled=False, statistics_enabled="NONE")
    return WriterProperties(
        compression="UNCOMPRESSED",
        max_row_group_size=group,
        column_properties={"_payload": plain, "_meta": plain, "_path": plain},
    )


def byte_size(payload: Payload) -> int:
    return memoryview(payload.data).nbytes


def object_rows(
    keys: pa.Table,
    attributes: Sequence[str],
    oids: Sequence[str],
    payloads: Sequence[Payload],
    paths: Sequence[str | None],
) -> pa.Table:
    """The index rows of objects; ``paths`` names the file of each value kept in one."""
    metas = [json.dumps(p.meta, separators=(",", ":")) for p in payloads]
    inline = [None if path else p for p, path in zip(payloads, paths, strict=True)]
    columns = {
        **{name: keys.column(name) for name in keys.column_names},
        "_attribute": pa.array(attributes, pa.string()),
        "_oid": pa.array(oids, pa.string()),
        "_meta": pa.array(metas, pa.string()),
        "_size": pa.array([byte_size(p) for p in payloads], pa.int64()),
        "_path": pa.array(paths, pa.string()),
        "_payload": payload_column(inline),  # chunked differently: Arrow allows it
    }
    return pa.table(columns)


def write_objects(
    target: ObjectTable,
    keys: pa.Table,
    attributes: Sequence[str],
    oids: Sequence[str],
    payloads: Sequence[Payload],
    records: pa.Table | None = None,
    operation: str = "insert",
) -> tuple[str, int] | None:
    """Write objects: the files of large values, then their index rows in one commit, with
    the row ``records`` given (see :mod:`djframe.store.versions`); returns the commit's
    ``_txn`` and version (None: nothing to write).

    If anything fails, nothing is committed and the files written are removed (best effort:
    ``schema.gc()`` removes what a crash leaves).
    """
    if not oids and (records is None or records.num_rows == 0):
        return None
    paths = [
        payload_path(oid) if byte_size(p) > INLINE_BYTES else None
        for oid, p in zip(oids, payloads, strict=True)
    ]
    files = payload_files(target.store, target.uri)
    written = [(path, p.data) for path, p in zip(paths, payloads, strict=True) if path]
    files.write(written)
    txn = new_object_ids(1)[0]
    rows = object_rows(keys, attributes, oids, payloads, paths)
    if records is not None:
        rows = pa.concat_tables([rows, records], promote_options="permissive")
    rows = rows.append_column("_txn", pa.array([txn] * rows.num_rows, pa.string()))
    try:
        version = commit_rows(target, rows, keys.column_names, operation, txn)
    except BaseException:
        files.discard([path for path, _ in written])
        raise
    return txn, version


def commit_rows(
    target: ObjectTable,
    data: pa.Table,
    key: Sequence[str] | None = None,
    operation: str = "insert",
    txn: str | None = None,
) -> int:
    """Append index rows (and row records) in one Delta commit (retried when it conflicts),
    to a table the schema owns; the commit that creates the table records its owner.
    Returns the version committed. Columns the table lacks are added (row records bring the
    table's other attributes)."""
    from deltalake import CommitProperties, write_deltalake

    if key is None:
        key = [name for name in data.column_names if name not in SYSTEM_COLUMNS]
    properties = writer_properties(data.column("_payload").nbytes, data.num_rows)
    metadata = commit_metadata(target, operation)
    if txn is not None:
        metadata["djframe.txn"] = txn
    commit = CommitProperties(custom_metadata=metadata, max_commit_retries=RETRIES)
    options = target.store.storage_options or None

    def append() -> tuple[DeltaTable | None, int, int]:
        table = open_table(target.store, target.uri)
        if table is not None:
            check_write(table, target, "write objects to")
        before = -1 if table is None else table.version()
        write_deltalake(
            target.uri if table is None else table,
            data,
            mode="error" if table is None else "append",  # a concurrent creator: retried
            storage_options=options,
            writer_properties=properties,
            configuration={
                "delta.dataSkippingStatsColumns": ",".join([*key, "_attribute", "_oid"]),
                "delta.checkpointInterval": str(MAINTAIN_EVERY),
                "delta.enableExpiredLogCleanup": "false",  # gc's retention ends history
            },
            commit_properties=commit,
            name=target.full_name,
            description=owner_text(target),
            schema_mode="merge" if table is not None and is_object_table(table) else None,
        )
        return table, before, 0 if table is None else table.version()

    what = f"writing {data.num_rows} object(s) of {target.full_name} to {target.uri}"
    table, before, version = retrying(append, what)
    if table is not None:
        maintain(target, table, before, properties)
    return version


def is_object_table(table: DeltaTable) -> bool:
    """Whether a Delta table is laid out as djframe's (its columns may then be added to:
    row records bring a table's other attributes); anything else refuses an append."""
    return "_oid" in {field.name for field in table.schema().fields}


def maintain(target: ObjectTable, table: DeltaTable, before: int, properties: Any) -> None:
    """Every :data:`MAINTAIN_EVERY` versions, compact the table's small files and write a
    checkpoint, so that opening and appending to it cost the same at the thousandth commit
    as at the first (appends took 4 ms on a new table, 30 ms once it had 2,000 files).

    Compaction rewrites files into a new version and leaves the old ones for the versions
    before it (``as_of``) until a vacuum past their retention removes them; it changes no
    content, so :func:`djframe.store.history.table_history` leaves its commits out. A
    failure (a concurrent compaction, ...) leaves the table as it was, to be compacted at the
    next turn: the objects written are committed either way.
    """
    table.update_incremental()
    if table.version() // MAINTAIN_EVERY == before // MAINTAIN_EVERY:
        return
    from deltalake import CommitProperties
    from deltalake.exceptions import DeltaError

    commit = CommitProperties(custom_metadata=commit_metadata(target, MAINTENANCE))
    try:
        table.optimize.compact(writer_properties=properties, commit_properties=commit)
        table.create_checkpoint()
    except (DeltaError, OSError):
        pass  # compacted at the next turn


def payloads_of(
    files: Files, data: pa.Table, wanted: Sequence[str] | None = None
) -> dict[str, Payload]:
    """Object id -> Payload (of the ``wanted`` ids only): inline bytes viewed in place (no
    copy), the others read from their files (in parallel)."""
    keep = set(wanted) if wanted is not None else None
    out: dict[str, Payload] = {}
    metas: dict[str, dict[str, Any]] = {}
    in_files: list[tuple[str, str, int]] = []
    oids = data.column("_oid").to_pylist()
    meta_texts = data.column("_meta").to_pylist()
    paths = data.column("_path").to_pylist()
    sizes = data.column("_size").to_pylist()
    position = 0
    for chunk in data.column("_payload").chunks:
        large = pa.types.is_large_binary(chunk.type)
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if large else np.int32)
        offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
        values = chunk.buffers()[2]
        for i in range(len(chunk)):
            oid, text = oids[position], meta_texts[position]
            if keep is None or oid in keep:
                meta = metas.get(text) or metas.setdefault(text, json.loads(text))
                if paths[position] is not None:
                    in_files.append((oid, paths[position], sizes[position]))
                    out[oid] = Payload(b"", dict(meta))  # bytes read below
                else:
                    start, stop = int(offsets[i]), int(offsets[i + 1])
                    view = values.slice(start, stop - start) if values is not None else b""
                    out[oid] = Payload(view, dict(meta))
            position += 1
    loaded = files.read([(path, size) for _, path, size in in_files])
    for (oid, _, _), buffer in zip(in_files, loaded, strict=True):
        out[oid] = Payload(buffer, out[oid].meta)
    return out


def overlaps(wanted: Sequence[str], low: Any, high: Any) -> bool:
    """Whether sorted ``wanted`` has an id within [low, high] (unknown bounds overlap)."""
    if low is None or high is None:
        return True
    at = bisect.bisect_left(wanted, str(low))
    return at < len(wanted) and wanted[at] <= str(high)


PLAIN_TYPES = {
    "_oid": pa.string(),
    "_meta": pa.string(),
    "_size": pa.int64(),
    "_path": pa.string(),
    "_payload": pa.large_binary(),
}
READ_COLUMNS = list(PLAIN_TYPES)


def plain_columns(data: pa.Table) -> pa.Table:
    """Files rewritten by a Delta delete hold view types; cast those (only) to plain types."""
    views = (pa.string_view(), pa.binary_view())
    return pa.table(
        {
            name: data.column(name).cast(PLAIN_TYPES[name])
            if data.column(name).type in views
            else data.column(name)
            for name in data.column_names
        }
    )


def dataset(table: DeltaTable) -> Any:
    """The table's files as a pyarrow dataset; local files through pyarrow's own filesystem,
    which reads about twice as fast as deltalake's Python file handler."""
    uri = table.table_uri
    if uri.startswith("file://") or "://" not in uri:
        root = unquote(urlparse(uri).path) if uri.startswith("file://") else uri
        return table.to_pyarrow_dataset(
            filesystem=pafs.SubTreeFileSystem(root, pafs.LocalFileSystem())
        )
    return table.to_pyarrow_dataset()


def scan_objects(
    table: DeltaTable, wanted: Sequence[str], columns: Sequence[str] = READ_COLUMNS
) -> pa.Table:
    """The rows of these ids, reading only the files and row groups whose ``_oid`` statistics
    can hold them. Pruning is done here rather than by a dataset filter: files that a Delta
    delete rewrote hold ``_oid`` as string_view, which pyarrow filters cannot compare with
    the plain-string statistics of the others."""
    actions = pa.table(table.get_add_actions(flatten=True))
    bounds: dict[str, tuple[Any, Any]] = {}
    if "min._oid" in actions.column_names:
        for row in actions.select(["path", "min._oid", "max._oid"]).to_pylist():
            bounds[row["path"]] = (row["min._oid"], row["max._oid"])
    parts = []
    for fragment in dataset(table).get_fragments():
        if not overlaps(wanted, *bounds.get(fragment.path, (None, None))):
            continue
        fragment.ensure_complete_metadata()
        groups = [
            group.id
            for group in fragment.row_groups
            if overlaps(
                wanted, *_bounds(group.statistics.get("_oid") if group.statistics else None)
            )
        ]
        if groups:
            read = fragment.subset(row_group_ids=groups).to_table(columns=list(columns))
            parts.append(plain_columns(read))
    if not parts:
        return pa.table({n: pa.array([], PLAIN_TYPES[n]) for n in columns})
    # Row groups hold other ids too; payloads_of skips them (filtering would copy payloads).
    return pa.concat_tables(parts, promote_options="permissive")


def _bounds(stats: Mapping[str, Any] | None) -> tuple[Any, Any]:
    return (stats.get("min"), stats.get("max")) if stats else (None, None)


def opened(
    target: ObjectTable, check: Callable[[DeltaTable, ObjectTable], None], version: Any = None
) -> DeltaTable | None:
    """The Delta table of ``target`` (at ``version``) once ``check`` allows it, or None."""
    table = open_table(target.store, target.uri, version)
    if table is not None:
        check(table, target)
    return table


def read_objects(
    target: ObjectTable, oids: Sequence[str], version: int | dt.datetime | None = None
) -> dict[str, Payload]:
    """The objects with these ids, in one scan that skips files and row groups without them."""
    wanted = sorted(set(oids))
    if not wanted:
        return {}
    table = opened(target, check_read, version)
    uri = target.uri
    if table is None:
        raise StoreError(f"The object table {uri} does not exist; its objects cannot be read.")
    try:
        data = scan_objects(table, wanted)
    except OSError as exc:
        raise StoreError(f"Cannot read objects from {uri}: {exc}") from exc
    found = payloads_of(payload_files(target.store, uri), data, wanted)
    missing = [o for o in wanted if o not in found]
    if missing:
        raise StoreError(
            f"{len(missing)} object(s) are missing from {uri} (e.g. {missing[0]}); they were "
            "removed outside djframe, or the store location changed."
        )
    return found


def read_metas(target: ObjectTable, oids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The ``meta`` of the objects with these ids (dtype, shape, name...), without reading
    their bytes."""
    wanted = sorted(set(oids))
    if not wanted:
        return {}
    table = opened(target, check_read)
    if table is None:
        raise StoreError(
            f"The object table {target.uri} does not exist; its objects cannot be read."
        )
    data = scan_objects(table, wanted, ["_oid", "_meta"])
    keep = set(wanted)
    pairs = zip(data.column("_oid").to_pylist(), data.column("_meta").to_pylist(), strict=True)
    return {oid: json.loads(text) for oid, text in pairs if oid in keep}


def list_objects(target: ObjectTable, key: Sequence[str] = ()) -> pa.Table | None:
    """Key columns, ``_attribute`` and ``_oid`` of every object (no payloads read)."""
    table = opened(target, check_read)
    if table is None:
        return None
    found = without_views(table.to_pyarrow_dataset().to_table(columns=[*key, "_attribute", "_oid"]))
    return found.filter(pc.is_valid(found.column("_oid")))  # not the row records


def snapshot(target: ObjectTable, version: int | dt.datetime) -> DeltaTable | None:
    """The Delta table of ``target`` loaded at ``version`` (None: there is none)."""
    return opened(target, check_own, version)


def snapshot_columns(table: DeltaTable, wanted: Sequence[str]) -> pa.Table:
    """The columns of ``wanted`` the table has, every row of the version it holds loaded
    (view types cast to plain ones); no payloads."""
    present = {field.name for field in table.schema().fields}
    return without_views(dataset(table).to_table(columns=[c for c in wanted if c in present]))


def without_views(data: pa.Table) -> pa.Table:
    """``data`` with string_view and binary_view columns (files a Delta merge rewrote) cast
    to plain strings and bytes, which every Arrow kernel takes."""
    views = {pa.string_view(): pa.string(), pa.binary_view(): pa.binary()}
    return pa.table(
        {
            n: c.cast(views[c.type]) if c.type in views else c
            for n, c in zip(data.column_names, data.columns, strict=True)
        }
    )


def read_version_objects(
    target: ObjectTable, table: DeltaTable, oids: Sequence[str]
) -> dict[str, Payload]:
    """The objects with these ids in ``table`` (loaded at some version of ``target``)."""
    wanted = sorted(set(oids))
    if not wanted:
        return {}
    files = payload_files(target.store, target.uri)
    return payloads_of(files, scan_objects(table, wanted), wanted)


def owned(target: ObjectTable, action: str, *, claim: bool = True) -> DeltaTable | None:
    """The Delta table of ``target``, once the schema may ``action`` it (claimed if it may
    claim it, and ``claim``), or None when there is none."""
    return opened(target, lambda table, t: check_write(table, t, action, claim=claim))


def delete_objects(target: ObjectTable, oids: Sequence[str]) -> int:
    """Remove objects by id, in one commit (retried if it conflicts); returns how many."""
    from deltalake import CommitProperties

    if not oids:
        return 0
    doomed = pa.table({"_oid": pa.array(sorted(set(oids)), pa.string())})
    commit = CommitProperties(custom_metadata=commit_metadata(target, "gc"))

    def merge() -> int:
        table = owned(target, "remove objects from")
        if table is None:
            return 0
        metrics = (
            table.merge(
                doomed,
                predicate="t._oid = s._oid",
                source_alias="s",
                target_alias="t",
                commit_properties=commit,
            )
            .when_matched_delete()
            .execute()
        )
        return int(metrics.get("num_target_rows_deleted", len(doomed)))

    return retrying(merge, f"removing {len(doomed)} unreferenced object(s) from {target.uri}")


def vacuum(target: ObjectTable, retention_hours: float, dry_run: bool) -> list[str]:
    """Delete the files of versions older than ``retention_hours`` (ends time travel before it)."""
    table = owned(target, "vacuum")
    if table is None:
        return []
    hours = max(0, int(retention_hours))
    removed = retrying(
        lambda: list(
            table.vacuum(retention_hours=hours, dry_run=dry_run, enforce_retention_duration=False)
        ),
        f"vacuuming {target.uri}",
    )
    if not dry_run:
        retrying(lambda: trim_log(target, table, hours), f"trimming the log of {target.uri}")
    return removed


def trim_log(target: ObjectTable, table: DeltaTable, hours: int) -> None:
    """Delete the log of the versions older than ``hours`` (those before the last checkpoint
    older than that): versions since stay readable, and appends no longer pay for listing
    the whole log (18 ms per commit at 2,000 versions, 5 ms once trimmed). Tables are made
    with ``delta.enableExpiredLogCleanup`` off, so that only this ends their history."""
    from deltalake import CommitProperties

    wanted = f"interval {hours} hours"
    if table.metadata().configuration.get(LOG_RETENTION) != wanted:
        commit = CommitProperties(custom_metadata=commit_metadata(target, MAINTENANCE))
        table.alter.set_table_properties({LOG_RETENTION: wanted}, commit_properties=commit)
    table.cleanup_metadata()


def history(target: ObjectTable) -> list[Mapping[str, Any]]:
    """The commits of a Delta table, newest first."""
    table = opened(target, check_own)
    return [] if table is None else list(table.history())
