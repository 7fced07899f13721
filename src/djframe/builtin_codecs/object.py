"""``<object@>``: bytes, or a file, a stream or a folder, kept in a store.

Insert bytes, the path of a file or folder, or ``(ext, stream)`` (a file-like object read to
its end, kept as a file with that extension), as DataJoint 2.x takes them. Bytes come back as
bytes; files and folders as an :class:`~djframe.objectref.ObjectRef` holding their content
(a folder as a tar archive) and DataJoint's metadata (size, extension, item count, MD5,
upload time).

Examples
--------
>>> codec = ObjectCodec()
>>> ref = codec.decode(codec.encode((".txt", __import__("io").BytesIO(b"hi"))))
>>> ref.read(), ref.ext, ref.size
(b'hi', '.txt', 2)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

from djframe.builtin_codecs.schema import SchemaCodec
from djframe.codecs import Payload
from djframe.errors import DataError
from djframe.objectref import FILE, FOLDER, ObjectRef

__all__ = ["ObjectCodec"]


def pack_folder(folder: Path) -> tuple[bytes, int, int]:
    """A folder's files as a tar archive, with their count and total size."""
    buffer = io.BytesIO()
    count = size = 0
    with tarfile.open(fileobj=buffer, mode="w:") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.add(path, arcname=path.relative_to(folder).as_posix())
                count, size = count + 1, size + path.stat().st_size
    return buffer.getvalue(), count, size


def existing_path(value: Any, codec: str) -> Path:
    path = Path(value)
    if not path.exists():
        raise DataError(f"{codec}: the file or folder {str(value)!r} was not found.")
    return path


def file_meta(data: bytes, name: str | None, ext: str | None) -> dict[str, Any]:
    return {
        "kind": FILE,
        "name": name,
        "ext": ext,
        "size": len(data),
        "hash": hashlib.md5(data).hexdigest(),
        "timestamp": now(),
    }


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def is_stream_pair(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and hasattr(value[1], "read")


class ObjectCodec(SchemaCodec):
    """``<object@>``: bytes, a file, a stream or a folder."""

    name = "object"

    def validate(self, value: Any) -> None:
        if is_stream_pair(value):
            if not isinstance(value[0], str):
                raise DataError("<object@> takes a stream as (ext, stream), e.g. ('.txt', f).")
            return
        if not isinstance(value, bytes | bytearray | memoryview | str | Path):
            raise DataError(
                "<object@> stores bytes, the path of a file or folder, or (ext, stream); got a "
                f"{type(value).__name__}."
            )

    def encode(self, value: Any, *, context: dict[str, Any] | None = None, **_: Any) -> Payload:
        if isinstance(value, bytes | bytearray | memoryview):
            return Payload(value, {"kind": "bytes"})
        if is_stream_pair(value):
            ext, stream = value
            data = stream.read()
            data = data.encode() if isinstance(data, str) else bytes(data)
            return Payload(data, file_meta(data, None, ext or None))
        path = existing_path(value, "<object@>")
        if path.is_dir():
            data, count, size = pack_folder(path)
            meta = {"kind": FOLDER, "name": path.name, "ext": path.suffix or None}
            return Payload(data, {**meta, "item_count": count, "size": size, "timestamp": now()})
        data = path.read_bytes()
        return Payload(data, file_meta(data, path.name, path.suffix or None))

    def decode(self, stored: Payload, *, context: dict[str, Any] | None = None, **_: Any) -> Any:
        meta = stored.meta
        kind = meta.get("kind", "bytes")
        if kind == "bytes":
            return bytes(stored.data)
        oid, ext = meta.get("oid", ""), meta.get("ext") or ""
        name = meta.get("name") or f"{oid or 'object'}{ext}"
        return ObjectRef.from_json(
            {
                "path": f"{oid}{ext}" if oid else name,
                "store": meta.get("store") or None,
                "size": meta.get("size", len(stored.data) if kind == FILE else None),
                "hash": meta.get("hash"),
                "ext": meta.get("ext") or PurePosixPath(name).suffix or None,
                "is_dir": kind == FOLDER,
                "timestamp": meta.get("timestamp"),
                "item_count": meta.get("item_count"),
                "name": name,
            },
            data=stored.data,
        )
