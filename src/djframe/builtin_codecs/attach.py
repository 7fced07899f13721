"""``<attach>``/``<attach@>``: a file with its name, written back under ``download_path``.

On fetch the file is written to ``dj.config["download_path"]`` under its own name and its
path comes back as text, as in DataJoint 2.x: a file already there with the same content is
reused; one with other content (two rows attaching ``scan.img``) makes ``scan_1.img``,
``scan_2.img``, ... ``<attach>`` keeps small files in the row, ``<attach@>`` in a store.

Examples
--------
>>> AttachCodec().get_dtype(is_store=False)
'bytes'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from djframe.codecs import Codec, Payload
from djframe.errors import DataError
from djframe.settings import config

__all__ = ["AttachCodec"]


class AttachCodec(Codec):
    """``<attach>``: a file given by its path; fetched as the path of a copy."""

    name = "attach"
    takes_payload = True

    def validate(self, value: Any) -> None:
        if not isinstance(value, str | Path):
            raise DataError(
                f"<attach@> stores a file given by its path; got a {type(value).__name__}."
            )
        if not Path(value).is_file():
            raise DataError(f"<attach@> was given {str(value)!r}, which is not a file.")

    def encode(self, value: Any, *, context: dict[str, Any] | None = None, **_: Any) -> Payload:
        path = Path(value)
        return Payload(path.read_bytes(), {"name": path.name})

    def decode(self, stored: Payload, *, context: dict[str, Any] | None = None, **_: Any) -> str:
        folder = Path(config["download_path"])
        folder.mkdir(parents=True, exist_ok=True)
        return str(write_unique(folder / stored.meta["name"], bytes(stored.data)))


def write_unique(target: Path, data: bytes) -> Path:
    """``target``, or ``stem_1.ext``, ``stem_2.ext``, ...: the first that holds ``data``
    already or does not exist yet (then written)."""
    candidate, counter = target, 0
    while candidate.is_file() and candidate.read_bytes() != data:
        counter += 1
        candidate = target.with_name(f"{target.stem}_{counter}{target.suffix}")
    if not candidate.is_file():
        candidate.write_bytes(data)
    return candidate
