"""``ObjectRef``: a file or a folder fetched from an ``<object@>`` attribute.

Its metadata (``path``, ``size``, ``ext``, ``is_dir``, ``item_count``, ``hash``,
``timestamp``) is DataJoint 2.x's; so are its methods (``read``, ``open``, ``listdir``,
``walk``, ``download``, ``exists``, ``verify``) and ``from_json``/``to_json``. A fetched
reference holds the object's bytes (a folder as a tar archive), read with the rest of the
result in one scan of the store; one made from metadata alone (:meth:`ObjectRef.from_json`)
has none and says so when asked for content. ``path`` is the object's id in the table's
object index (plus the file's extension), the same in every fetch of the row.

Examples
--------
>>> ref = ObjectRef.of_file(b"hello", "notes.txt", path="0190-ab.txt")
>>> ref.read(), ref.name, ref.ext, ref.is_dir, ref.size
(b'hello', 'notes.txt', '.txt', False, 5)
>>> str(ref)
'0190-ab.txt'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from djframe.errors import DataError, StoreError

__all__ = ["ObjectRef"]

FOLDER, FILE = "folder", "file"


class ObjectRef:
    """A stored file or folder: metadata without I/O, and its content."""

    def __init__(
        self,
        path: str,
        size: int | None,
        hash: str | None,
        ext: str | None,
        is_dir: bool,
        timestamp: dt.datetime | None,
        url: str | None = None,
        store: str | None = None,
        mime_type: str | None = None,
        item_count: int | None = None,
        *,
        name: str | None = None,
        data: Any = None,
    ) -> None:
        self.path, self.size, self.hash, self.ext = path, size, hash, ext
        self.is_dir, self.timestamp, self.url, self.store = is_dir, timestamp, url, store
        self.mime_type, self.item_count = mime_type, item_count
        self.name = name or PurePosixPath(path).name
        self._data = data

    # -- making ----------------------------------------------------------------------------
    @classmethod
    def of_file(cls, data: Any, name: str, *, path: str = "", **meta: Any) -> ObjectRef:
        """A file's reference holding its bytes (``meta``: the other metadata)."""
        return cls(
            path or name,
            memoryview(data).nbytes,
            meta.pop("hash", None),
            meta.pop("ext", None) or PurePosixPath(name).suffix or None,
            False,
            meta.pop("timestamp", None),
            name=name,
            data=data,
            **meta,
        )

    @classmethod
    def from_json(cls, json_data: dict[str, Any] | str, data: Any = None) -> ObjectRef:
        """A reference from its metadata (a dict or its JSON text), as :meth:`to_json` gives;
        ``data``: its bytes (a folder's as a tar archive), if at hand."""
        meta = json.loads(json_data) if isinstance(json_data, str) else dict(json_data)
        stamp = meta.get("timestamp")
        if isinstance(stamp, str):
            stamp = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        return cls(
            meta["path"],
            meta.get("size"),
            meta.get("hash"),
            meta.get("ext"),
            bool(meta.get("is_dir", False)),
            stamp,
            meta.get("url"),
            meta.get("store"),
            meta.get("mime_type"),
            meta.get("item_count"),
            name=meta.get("name"),
            data=data,
        )

    def to_json(self) -> dict[str, Any]:
        """The metadata as a JSON-able dict (optional keys only when set)."""
        meta: dict[str, Any] = {
            "path": self.path,
            "size": self.size,
            "hash": self.hash,
            "ext": self.ext,
            "is_dir": self.is_dir,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
        }
        optional = {"url": self.url, "store": self.store, "mime_type": self.mime_type}
        meta.update({k: v for k, v in optional.items() if v})
        if self.item_count is not None:
            meta["item_count"] = self.item_count
        return meta

    # -- content ---------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return FOLDER if self.is_dir else FILE

    def read(self, member: str | None = None) -> bytes:
        """The file's bytes, or those of ``member`` (a relative path) of a folder."""
        if member is not None:
            return self._member(member)
        if self.is_dir:
            raise DataError(
                f"Cannot read() the folder {self.name}: use listdir() or walk(), or "
                "read(member) / open(member) for a file in it."
            )
        return bytes(self._content())

    def open(self, subpath: str | None = None, mode: str = "rb") -> IO[Any]:
        """A file object reading the file, or the file ``subpath`` of a folder; ``mode``
        ``"rb"`` (bytes) or ``"r"`` (text)."""
        if mode not in ("rb", "r"):
            raise DataError(f"ObjectRef.open reads only: mode 'rb' or 'r', not {mode!r}.")
        if subpath and not self.is_dir:
            raise DataError(f"Cannot use a subpath ({subpath!r}) on the file {self.name}.")
        data = self._member(subpath) if subpath else self.read()
        stream = io.BytesIO(data)
        return io.TextIOWrapper(stream, encoding="utf-8") if mode == "r" else stream

    def listdir(self, subpath: str = "") -> list[str]:
        """The names of the files and folders in the folder (or in its folder ``subpath``)."""
        if not self.is_dir:
            raise DataError(f"Cannot listdir() the file {self.name}: use read() or open().")
        prefix = PurePosixPath(subpath.strip("/")) if subpath.strip("/") else None
        names = set()
        for member in self._files():
            path = PurePosixPath(member)
            if prefix and (path == prefix or not path.is_relative_to(prefix)):
                continue
            names.add((path.relative_to(prefix) if prefix else path).parts[0])
        return sorted(names)

    def walk(self) -> Iterator[tuple[str, list[str], list[str]]]:
        """``(folder, subfolders, files)`` for each folder, top-down, as ``os.walk`` does;
        folders relative to the object's root (``""``)."""
        if not self.is_dir:
            raise DataError(f"Cannot walk() the file {self.name}.")
        tree: dict[str, tuple[set[str], set[str]]] = {"": (set(), set())}
        for member in self._files():
            parts = PurePosixPath(member).parts
            for depth in range(len(parts)):
                folder = "/".join(parts[:depth])
                subfolders, files = tree.setdefault(folder, (set(), set()))
                (files if depth == len(parts) - 1 else subfolders).add(parts[depth])
        for folder in sorted(tree):
            subfolders, files = tree[folder]
            yield folder, sorted(subfolders), sorted(files)

    def download(self, destination: str | Path = ".", subpath: str | None = None) -> Path:
        """Write the file or folder (or its file ``subpath``) into the folder
        ``destination``; returns its path there."""
        if subpath:
            target = Path(destination) / PurePosixPath(subpath).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self._member(subpath))
            return target
        target = Path(destination) / self.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not self.is_dir:
            target.write_bytes(self.read())
            return target
        with self._tar() as archive:
            archive.extractall(target, filter="data")
        return target

    def exists(self, subpath: str | None = None) -> bool:
        """Whether the content was read (and holds the file ``subpath``, for a folder)."""
        if self._data is None:
            return False
        return not subpath or subpath.strip("/") in self._files()

    def verify(self) -> bool:
        """True if the content matches the recorded size and MD5 digest; raises
        ``StoreError`` otherwise."""
        if self.is_dir:
            count = len(self._files())
            if self.item_count is not None and count != self.item_count:
                raise StoreError(f"{self.path}: {count} files, {self.item_count} recorded.")
            return True
        data = bytes(self._content())
        if self.size is not None and len(data) != self.size:
            raise StoreError(f"{self.path}: {len(data)} bytes, {self.size} recorded.")
        if self.hash and hashlib.md5(data).hexdigest() != self.hash.removeprefix("md5:"):
            raise StoreError(f"{self.path}: the content does not match its recorded MD5.")
        return True

    def _content(self) -> Any:
        if self._data is None:
            raise StoreError(
                f"ObjectRef {self.path} holds metadata only (made by from_json, without data): "
                "fetch the row to read its content."
            )
        return self._data

    def _tar(self) -> tarfile.TarFile:
        return tarfile.open(fileobj=io.BytesIO(bytes(self._content())), mode="r:")

    def _files(self) -> list[str]:
        with self._tar() as archive:
            return sorted(m.name for m in archive.getmembers() if m.isfile())

    def _member(self, member: str) -> bytes:
        if not self.is_dir:
            raise DataError(f"{self.name} is a file; {member!r} names a file in a folder.")
        with self._tar() as archive:
            try:
                extracted = archive.extractfile(member.strip("/"))
            except KeyError:
                extracted = None
            if extracted is None:
                raise DataError(f"{member!r} is not a file in {self.name}.")
            return extracted.read()

    def __repr__(self) -> str:
        return f"ObjectRef({self.kind}: {self.path}, size={self.size})"

    def __str__(self) -> str:
        return self.path
