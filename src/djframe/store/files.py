"""Payload files: the bytes of large stored values, one immutable file per object.

A value too large to keep inline in its Delta index (see :mod:`djframe.store.delta`) is
written once to ``{table}/_objects/{object id}`` and never rewritten; its index row names the
path. The folder is flat: spreading files over subfolders costs a directory creation each on
a fresh table (a third of a millisecond apiece here), and file systems index large folders. Delta
ignores folders starting with ``_``, so vacuum leaves them alone: only ``schema.gc()``
deletes payload files, once no index file that a retained version can read names them.

Local stores use plain file I/O; remote stores (``s3://`` ...) go through deltalake's object
store with the same storage options as the Delta table. Files are moved by a small shared
thread pool: file I/O and the object store release the GIL.

Examples
--------
>>> import tempfile, numpy as np
>>> from djframe.store import Store
>>> root = tempfile.mkdtemp()
>>> files = payload_files(Store(root), root)
>>> files.write([("_objects/a", np.arange(3, dtype="int8"))])
>>> bytes(files.read([("_objects/a", 3)])[0])
b'\\x00\\x01\\x02'
>>> files.listing("_objects")
['_objects/a']
>>> files.delete(["_objects/a"])
1
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
import pyarrow.fs as pafs

from djframe.errors import StoreError

if TYPE_CHECKING:
    from djframe.store import Store

__all__ = ["FOLDER", "LocalFiles", "RemoteFiles", "payload_files", "payload_path"]

FOLDER = "_objects"
"""The folder, inside a Delta index table, that holds its payload files."""
THREADS = 8
T = TypeVar("T")
R = TypeVar("R")

_pool_lock = threading.Lock()
_pool: list[tuple[int, ThreadPoolExecutor]] = []


def payload_path(oid: str) -> str:
    """The path of an object's payload file, relative to its Delta table.

    Examples
    --------
    >>> payload_path("0188d2f1-9c2e-4a51-8d3b-00000000002a")
    '_objects/0188d2f1-9c2e-4a51-8d3b-00000000002a'
    """
    return f"{FOLDER}/{oid}"


def pool() -> ThreadPoolExecutor:
    """The shared thread pool (made anew in a forked child, whose copy has no threads)."""
    with _pool_lock:
        if not _pool or _pool[0][0] != os.getpid():
            _pool[:] = [(os.getpid(), ThreadPoolExecutor(THREADS, "djframe-store"))]
        return _pool[0][1]


def run_all(action: Callable[[T], R], items: Sequence[T]) -> list[Future[R]]:
    """Run ``action`` on every item in the pool; wait for all, whether they fail or not."""
    if len(items) == 1:
        done: Future[R] = Future()
        try:
            done.set_result(action(items[0]))
        except Exception as exc:  # reported by the caller, like a pooled failure
            done.set_exception(exc)
        return [done]
    futures = [pool().submit(action, item) for item in items]
    for future in futures:
        future.exception()  # waits
    return futures


def first_error(futures: Iterable[Future[Any]]) -> BaseException | None:
    return next((f.exception() for f in futures if f.exception() is not None), None)


def as_bytes(data: Any) -> memoryview:
    """A flat byte view of anything with the buffer protocol (no copy)."""
    view = memoryview(data)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


class Files:
    """Payload files of one Delta table; subclasses move the bytes."""

    def __init__(self, root: str) -> None:
        self.root = root

    def write(self, items: Sequence[tuple[str, Any]]) -> None:
        """Write new files (relative path, bytes); on any failure, remove those written and
        raise :class:`StoreError`."""
        if not items:
            return
        self.prepare({path.rsplit("/", 1)[0] for path, _ in items})
        futures = run_all(lambda item: self.put(item[0], as_bytes(item[1])), items)
        error = first_error(futures)
        if error is not None:
            self.discard([path for path, _ in items])
            raise StoreError(f"Cannot write objects to {self.root}: {error}") from error

    def read(self, items: Sequence[tuple[str, int]]) -> list[pa.Buffer]:
        """The bytes of files (relative path, expected size), checked against the size."""
        futures = run_all(lambda item: self.get(*item), items)
        error = first_error(futures)
        if isinstance(error, StoreError):
            raise error
        if isinstance(error, FileNotFoundError):
            raise StoreError(
                f"An object file is missing from {self.root} ({error}); it was removed outside "
                "djframe, or the store location changed."
            ) from error
        if error is not None:
            raise StoreError(f"Cannot read objects from {self.root}: {error}") from error
        return [f.result() for f in futures]

    def delete(self, paths: Sequence[str]) -> int:
        """Delete files (missing ones are skipped); returns how many were deleted."""
        return sum(bool(f.result()) for f in run_all(self.remove, list(paths)))

    def discard(self, paths: Sequence[str]) -> None:
        """Delete files if possible (after a failure: ``schema.gc()`` catches what is left)."""
        with contextlib.suppress(Exception):  # the error that led here is what matters
            self.delete(paths)

    def prepare(self, folders: set[str]) -> None:
        """Make the folders files are about to be written to (where folders exist)."""

    def put(self, path: str, data: memoryview) -> None:
        raise NotImplementedError

    def get(self, path: str, size: int) -> pa.Buffer:
        raise NotImplementedError

    def remove(self, path: str) -> bool:
        raise NotImplementedError

    def listing(self, folder: str) -> list[str]:
        """Every file under ``folder`` (recursively), as paths relative to the table."""
        raise NotImplementedError

    def filesystem(self) -> Any:
        """A pyarrow filesystem rooted at the table (to read its Parquet files)."""
        raise NotImplementedError


def short_read(path: str, size: int, got: int) -> StoreError:
    return StoreError(
        f"The object file {path} holds {got} bytes where its index says {size}: it was "
        "truncated or changed outside djframe."
    )


class LocalFiles(Files):
    """Payload files in a local folder, with plain file I/O."""

    def prepare(self, folders: set[str]) -> None:
        for folder in folders:
            os.makedirs(os.path.join(self.root, folder), exist_ok=True)

    def put(self, path: str, data: memoryview) -> None:
        fd = os.open(os.path.join(self.root, path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
        finally:
            os.close(fd)

    def get(self, path: str, size: int) -> pa.Buffer:
        # Arrow's memory pool keeps freed memory for reuse: a read does not page-fault anew
        # into memory the last read released (about 3x faster than a bytearray here).
        buffer = pa.allocate_buffer(size)
        with open(os.path.join(self.root, path), "rb", buffering=0) as file:
            got = file.readinto(memoryview(buffer)) if size else 0
            if got != size or file.read(1):
                raise short_read(path, size, got or 0)
        return buffer

    def remove(self, path: str) -> bool:
        try:
            os.remove(os.path.join(self.root, path))
        except FileNotFoundError:
            return False
        return True

    def listing(self, folder: str) -> list[str]:
        base = Path(self.root)
        return sorted(
            p.relative_to(base).as_posix() for p in (base / folder).rglob("*") if p.is_file()
        )

    def filesystem(self) -> Any:
        return pafs.SubTreeFileSystem(self.root, pafs.LocalFileSystem())


class RemoteFiles(Files):
    """Payload files in an object store (S3 ...), through deltalake's object store."""

    def __init__(self, root: str, options: dict[str, str]) -> None:
        from deltalake._internal import DeltaFileSystemHandler

        super().__init__(root)
        self.options = options
        self.handler = DeltaFileSystemHandler(root, options or None)

    def put(self, path: str, data: memoryview) -> None:
        stream = self.handler.open_output_stream(path, None)
        try:
            stream.write(data.tobytes())
        finally:
            stream.close()  # type: ignore[attr-defined]  # (deltalake's stub omits it)

    def get(self, path: str, size: int) -> pa.Buffer:
        file = self.handler.open_input_file(path)
        data = file.read(file.size())
        if len(data) != size:
            raise short_read(path, size, len(data))
        return pa.py_buffer(data)

    def remove(self, path: str) -> bool:
        try:
            self.handler.delete_file(path)
        except FileNotFoundError:
            return False
        return True

    def listing(self, folder: str) -> list[str]:
        infos = self.handler.get_file_info_selector(folder, True, True)
        return sorted(i.path for i in infos if i.type == pafs.FileType.File)

    def filesystem(self) -> Any:
        from deltalake.fs import DeltaStorageHandler

        return pafs.PyFileSystem(DeltaStorageHandler(self.root, self.options or None))


def payload_files(store: Store, uri: str) -> Files:
    """The payload files of the Delta table at ``uri`` in ``store``."""
    if store.remote:
        return RemoteFiles(uri, store.storage_options)
    return LocalFiles(uri)
