"""``<filepath@store>``: a file that is in a store already, kept by its path.

The row keeps the path relative to the store's location (and its size) as JSON, as
DataJoint 2.x's ``<filepath@>`` does: nothing is copied. Fetched as a :class:`FileRef`.

Examples
--------
>>> FilepathCodec().get_dtype(is_store=True)
'json'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from djframe.codecs import Codec
from djframe.errors import DataError

__all__ = ["FileRef", "FilepathCodec"]


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

    def encode(
        self, value: Any, *, context: dict[str, Any] | None = None, **_: Any
    ) -> dict[str, Any]:
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

    def decode(self, stored: Any, *, context: dict[str, Any] | None = None, **_: Any) -> FileRef:
        meta = json.loads(stored) if isinstance(stored, str | bytes) else dict(stored)
        return FileRef(meta["path"], meta.get("store", ""), self.location())
