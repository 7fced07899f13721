"""The built-in codecs: ``<blob>``, ``<npy@>``, ``<frame@>``, ``<object@>`` and ``<attach@>``.

``<blob>`` keeps a Python value in the row (or, as ``<blob@>``, in a store) in the format of
:mod:`djframe.codecs.blob`. The others keep their values in an object store only:

- ``<npy@>``: a numpy array, stored as its raw C-order bytes with dtype and shape; fetched
  as a read-only array that views the fetched bytes (no copy; ``.copy()`` to change it).
- ``<frame@>``: a Polars DataFrame, stored as an Arrow IPC stream; fetched as a DataFrame.
- ``<object@>``: bytes, a file or a folder (given as a path). Bytes come back as bytes; a file
  or a folder comes back as an :class:`ObjectRef` (``read()``, ``listdir()``, ``download()``).
- ``<attach@>``: a file with its name; fetched as the path of a copy written to
  ``dj.config["download_path"]``.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from djframe.codecs import Codec, Payload, djblob
from djframe.codecs.blob import pack, unpack
from djframe.errors import DataError
from djframe.settings import config

__all__ = [
    "AttachCodec",
    "BlobCodec",
    "FileRef",
    "FilepathCodec",
    "FrameCodec",
    "HashCodec",
    "NpyCodec",
    "ObjectCodec",
    "ObjectRef",
]


class BlobCodec(Codec):
    """``<blob>``: any Python value of the blob format (numbers, text, containers, arrays)."""

    name = "blob"

    def get_dtype(self, is_store: bool) -> str:
        return "bytes"

    def encode(self, value: Any, *, key: dict[str, Any] | None = None) -> bytes:
        """DataJoint's format, so that DataJoint reads the value; djframe's own format for
        the values DataJoint's cannot hold (a timedelta, say)."""
        try:
            return djblob.pack(value)
        except DataError:
            return pack(value)

    def decode(self, stored: Any, *, key: dict[str, Any] | None = None) -> Any:
        """Either format: DataJoint's (``mYm``/``dj0``, MATLAB's too) or djframe's."""
        if djblob.is_dj_blob(stored):
            return djblob.unpack(stored)
        return unpack(stored)


class NpyCodec(Codec):
    """``<npy@>``: a numpy array, kept as raw bytes plus dtype and shape."""

    name = "npy"
    store_only = True

    def validate(self, value: Any) -> None:
        if not isinstance(value, np.ndarray):
            raise DataError(f"<npy@> stores numpy arrays; got a {type(value).__name__}.")
        if value.dtype.hasobject or value.dtype.fields is not None:
            raise DataError(
                "<npy@> stores arrays of numbers, booleans, bytes or text; this array has "
                f"dtype {value.dtype}. Use <blob@> for arrays of Python objects."
            )

    def encode(self, value: np.ndarray, *, key: dict[str, Any] | None = None) -> Payload:
        data = np.ascontiguousarray(value)
        return Payload(data, {"dtype": data.dtype.str, "shape": list(data.shape)})

    def decode(self, stored: Payload, *, key: dict[str, Any] | None = None) -> np.ndarray:
        dtype = np.dtype(stored.meta["dtype"])
        array = np.frombuffer(stored.data, dtype=dtype) if len(stored.data) else np.empty(0, dtype)
        return array.reshape(stored.meta["shape"])


class FrameCodec(Codec):
    """``<frame@>``: a Polars DataFrame, kept as an Arrow IPC stream."""

    name = "frame"
    store_only = True

    def validate(self, value: Any) -> None:
        if not isinstance(value, pl.DataFrame):
            raise DataError(f"<frame@> stores Polars DataFrames; got a {type(value).__name__}.")

    def encode(self, value: Any, *, key: dict[str, Any] | None = None) -> Payload:
        sink = pa.BufferOutputStream()
        table = value.to_arrow()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return Payload(sink.getvalue(), {"rows": value.height})

    def decode(self, stored: Payload, *, key: dict[str, Any] | None = None) -> Any:
        table = pa.ipc.open_stream(pa.py_buffer(stored.data)).read_all()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame


class ObjectRef:
    """A file or a folder fetched from an ``<object@>`` attribute.

    Examples
    --------
    >>> ref = ObjectRef("notes.txt", "file", b"hello")
    >>> ref.read(), ref.name, ref.is_dir
    (b'hello', 'notes.txt', False)
    """

    def __init__(self, name: str, kind: str, data: Any) -> None:
        self.name, self.kind, self._data = name, kind, data

    @property
    def is_dir(self) -> bool:
        return self.kind == "folder"

    @property
    def size(self) -> int:
        return len(self._data)

    def read(self, member: str | None = None) -> bytes:
        """The file's bytes, or those of ``member`` (a relative path) of a folder."""
        if not self.is_dir:
            return bytes(self._data)
        if member is None:
            raise DataError(f"{self.name} is a folder; read(member) names a file in it.")
        with self._tar() as archive:
            extracted = archive.extractfile(member)
            if extracted is None:
                raise DataError(f"{member!r} is not a file in {self.name}.")
            return extracted.read()

    def listdir(self) -> list[str]:
        """The relative paths of the files in a folder."""
        if not self.is_dir:
            return [self.name]
        with self._tar() as archive:
            return sorted(m.name for m in archive.getmembers() if m.isfile())

    def download(self, destination: str | Path = ".") -> Path:
        """Write the file or folder into ``destination`` and return its path."""
        target = Path(destination) / self.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not self.is_dir:
            target.write_bytes(bytes(self._data))
            return target
        with self._tar() as archive:
            archive.extractall(target, filter="data")
        return target

    def _tar(self) -> tarfile.TarFile:
        return tarfile.open(fileobj=io.BytesIO(bytes(self._data)), mode="r:")

    def __repr__(self) -> str:
        return f"ObjectRef({self.name!r}, {self.kind}, {self.size} bytes)"


def pack_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.add(path, arcname=path.relative_to(folder).as_posix())
    return buffer.getvalue()


def existing_path(value: Any, codec: str) -> Path:
    path = Path(value)
    if not path.exists():
        raise DataError(f"{codec} was given the path {str(value)!r}, which does not exist.")
    return path


class ObjectCodec(Codec):
    """``<object@>``: bytes, or a file or folder given by its path."""

    name = "object"
    store_only = True

    def validate(self, value: Any) -> None:
        if not isinstance(value, bytes | bytearray | memoryview | str | Path):
            raise DataError(
                f"<object@> stores bytes or the path of a file or folder; got a {type(value).__name__}."
            )

    def encode(self, value: Any, *, key: dict[str, Any] | None = None) -> Payload:
        if isinstance(value, bytes | bytearray | memoryview):
            return Payload(value, {"kind": "bytes"})
        path = existing_path(value, "<object@>")
        if path.is_dir():
            return Payload(pack_folder(path), {"kind": "folder", "name": path.name})
        return Payload(path.read_bytes(), {"kind": "file", "name": path.name})

    def decode(self, stored: Payload, *, key: dict[str, Any] | None = None) -> Any:
        kind = stored.meta.get("kind", "bytes")
        if kind == "bytes":
            return bytes(stored.data)
        return ObjectRef(stored.meta["name"], kind, stored.data)


class AttachCodec(Codec):
    """``<attach@>``: a file with its name, written back under ``download_path`` on fetch;
    ``<attach>`` keeps it in the row (small files), as in DataJoint."""

    name = "attach"
    takes_payload = True

    def validate(self, value: Any) -> None:
        if not isinstance(value, str | Path):
            raise DataError(
                f"<attach@> stores a file given by its path; got a {type(value).__name__}."
            )
        if not Path(value).is_file():
            raise DataError(f"<attach@> was given {str(value)!r}, which is not a file.")

    def encode(self, value: Any, *, key: dict[str, Any] | None = None) -> Payload:
        path = Path(value)
        return Payload(path.read_bytes(), {"name": path.name})

    def decode(self, stored: Payload, *, key: dict[str, Any] | None = None) -> Path:
        target = Path(config["download_path"]) / stored.meta["name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        data = bytes(stored.data)
        if not (target.is_file() and target.read_bytes() == data):
            target.write_bytes(data)
        return target


class HashCodec(Codec):
    """``<hash@>``: raw bytes in the store, with their MD5 digest recorded (DataJoint's
    ``<hash@>``); djframe indexes them per row in the table's Delta table, so equal contents
    are not shared between rows."""

    name = "hash"
    store_only = True

    def validate(self, value: Any) -> None:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise DataError(
                f"<hash@> stores bytes; got a {type(value).__name__}. Use <blob@> for Python values."
            )

    def encode(self, value: Any, *, key: dict[str, Any] | None = None) -> Payload:
        data = bytes(value)
        return Payload(data, {"md5": hashlib.md5(data).hexdigest(), "size": len(data)})

    def decode(self, stored: Payload, *, key: dict[str, Any] | None = None) -> bytes:
        return bytes(stored.data)


class FileRef:
    """A file (or folder) a ``<filepath@store>`` attribute refers to, in its store."""

    def __init__(self, path: str, store: str, location: str) -> None:
        self.path, self.store = path, store
        self.location = f"{location.rstrip('/')}/{path}"

    @property
    def local(self) -> Path:
        if "://" in self.location:
            raise DataError(
                f"{self.location} is in a remote store: djframe reads <filepath@> files from "
                "local stores only (yet)."
            )
        return Path(self.location)

    def read(self) -> bytes:
        """The file's bytes."""
        return self.local.read_bytes()

    def download(self, destination: str | Path = ".") -> Path:
        """Copy the file into the folder ``destination``; returns its path there."""
        target = Path(destination) / Path(self.path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.read())
        return target

    def __fspath__(self) -> str:
        return str(self.local)

    def __repr__(self) -> str:
        return f"FileRef({self.path!r} in store {self.store or '(default)'!r})"


class FilepathCodec(Codec):
    """``<filepath@store>``: a file that is in the store already, kept by its path relative
    to the store's location (DataJoint's ``<filepath@>``): nothing is copied."""

    name = "filepath"
    references_store = True

    def get_dtype(self, is_store: bool) -> str:
        return "json"

    def location(self) -> str:
        from djframe.store import as_store, named_store

        store = named_store(self.store_name) if self.store_name else as_store(None)
        return store.location

    def validate(self, value: Any) -> None:
        if not isinstance(value, str | Path):
            raise DataError(
                f"<filepath@> takes a path relative to the store; got a {type(value).__name__}."
            )

    def encode(self, value: Any, *, key: dict[str, Any] | None = None) -> dict[str, Any]:
        path = str(value).lstrip("/")
        location = self.location()
        meta: dict[str, Any] = {"path": path, "store": self.store_name, "size": None}
        if "://" not in location:
            full = Path(location) / path
            if not full.exists():
                raise DataError(
                    f"<filepath@{self.store_name}>: {path!r} is not in the store ({full} does "
                    "not exist). Put the file there first: the row refers to it, nothing is copied."
                )
            meta["size"] = full.stat().st_size if full.is_file() else None
            meta["is_dir"] = full.is_dir()
        return meta

    def decode(self, stored: Any, *, key: dict[str, Any] | None = None) -> FileRef:
        meta = json.loads(stored) if isinstance(stored, str | bytes) else dict(stored)
        return FileRef(meta["path"], meta.get("store", ""), self.location())
