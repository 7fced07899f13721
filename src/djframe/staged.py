"""``staged_insert1``: write a row's ``<object@>`` values as files, then insert the row.

DataJoint 2.3.5's idiom for outputs too large to hold in memory::

    with Recording.staged_insert1 as staged:
        staged.rec["recording_id"] = 7
        with staged.open("raw", ".dat") as f:
            f.write(payload)
    # the row is inserted here, its objects in the store

Files are written to a local staging folder (one per staged row), and on leaving the block
the row is inserted with each staged file or folder as the value of its attribute, so the
objects reach the store as one Delta commit with the row. An exception inside the block
inserts nothing and removes the staging folder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from djframe.errors import DataError, MissingAttributeError

__all__ = ["StagedInsert"]


class StagedInsert:
    """One row being staged: ``rec`` holds its values, :meth:`open` and :meth:`store` give
    places to write its ``<object@>`` attributes."""

    def __init__(self, table: Any) -> None:
        self.table = table  # the Table (a higher floor, handed in)
        self.rec: dict[str, Any] = {}
        self._folder: Path | None = None
        self._staged: dict[str, Path] = {}

    def __enter__(self) -> StagedInsert:
        self._folder = Path(tempfile.mkdtemp(prefix="djframe-staged-"))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                self.table.insert1({**self.rec, **{k: str(p) for k, p in self._staged.items()}})
        finally:
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)

    def path(self, field: str, ext: str = "") -> Path:
        """The local path that becomes the value of ``field`` (an ``<object@>`` attribute)."""
        heading = self.table.heading
        if field not in heading or not str(heading[field].codec or "").startswith("<object"):
            raise MissingAttributeError(
                f"staged_insert1: {type(self.table).__name__} has no <object@> attribute {field!r}."
            )
        missing = [k for k in heading.primary_key if k not in self.rec]
        if missing:
            raise DataError(
                f"staged_insert1: Primary key attribute(s) {missing} not set; set them in "
                "staged.rec before store() or open()."
            )
        if self._folder is None:
            raise DataError(
                "staged_insert1 is used as a context manager: `with T.staged_insert1 as s:`."
            )
        self._staged[field] = self._folder / f"{field}{ext}"
        return self._staged[field]

    def open(self, field: str, ext: str = "", mode: str = "wb") -> IO[Any]:
        """A file to write the value of ``field`` into (the row's object on insert)."""
        return self.path(field, ext).open(mode)

    def store(self, field: str, ext: str = "") -> Any:
        """A key-value mapping (fsspec's ``FSMap``) over a folder that becomes ``field``'s
        value, for writers such as zarr."""
        folder = self.path(field, ext)
        folder.mkdir(parents=True, exist_ok=True)
        return self.fs.get_mapper(str(folder))

    @property
    def fs(self) -> Any:
        """The filesystem the staged files are written to (fsspec's local filesystem)."""
        try:
            import fsspec
        except ImportError:
            raise DataError(
                "staged.store() and staged.fs need fsspec (pip install fsspec); "
                "staged.open() does not."
            ) from None
        return fsspec.filesystem("file")
