"""``<npy@>``: a numpy array in a store; :class:`NpyRef`, the lazy reference to one.

The array is kept as its raw C-order bytes with its dtype and shape (meta). A fetch gives
the array itself (djframe's default: a read-only view of the fetched bytes, ``.copy()`` to
change it); ``lazy=True`` gives an :class:`NpyRef` instead, DataJoint 2.x's default: shape
and dtype without reading the bytes, which are read on ``load()`` or by numpy
(``np.asarray(ref)``, ``np.mean(ref)``, ``ref[0:10]``).

Examples
--------
>>> import numpy as np
>>> codec = NpyCodec()
>>> codec.decode(codec.encode(np.arange(6).reshape(2, 3))).shape
(2, 3)
"""

from __future__ import annotations

import hashlib
import io
import math
import tempfile
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from djframe.builtin_codecs.schema import SchemaCodec
from djframe.codecs import Payload
from djframe.errors import DataError

__all__ = ["NpyCodec", "NpyRef", "array_of"]

MmapMode = Literal["r", "r+", "w+", "c"]

NPY_MAGIC = b"\x93NUMPY"


class Buffers(Protocol):
    """Where an :class:`NpyRef` reads its bytes: ``get_buffer(path)``."""

    def get_buffer(self, path: str) -> Any: ...


def array_of(data: Any, meta: dict[str, Any]) -> np.ndarray:
    """The array held by ``data``: a ``.npy`` file's bytes, or raw bytes of ``meta``'s dtype
    and shape (a read-only view, no copy)."""
    if bytes(memoryview(data)[: len(NPY_MAGIC)]) == NPY_MAGIC:
        return np.load(io.BytesIO(bytes(data)), allow_pickle=False)
    dtype = dtype_of(meta["dtype"])
    array = np.frombuffer(data, dtype=dtype) if len(data) else np.empty(0, dtype)
    return array.reshape(meta["shape"])


def dtype_text(dtype: np.dtype) -> Any:
    """A dtype as JSON: its text (``"<f8"``), or its field list for a structured one."""
    return np.lib.format.dtype_to_descr(dtype) if dtype.fields is not None else dtype.str


def dtype_of(text: Any) -> np.dtype:
    """The dtype :func:`dtype_text` gave (JSON turned the field tuples into lists)."""
    if isinstance(text, list):
        return np.lib.format.descr_to_dtype([tuple(field) for field in text])
    return np.dtype(text)


class NpyRef:
    """A stored array, read on first use (``load()``, numpy functions, indexing).

    ``metadata`` holds ``path``, ``store``, ``dtype`` and ``shape``; ``backend`` has
    ``get_buffer(path)`` returning the bytes (a ``.npy`` file's or raw ones), and for local
    ``.npy`` files may have ``protocol = "file"`` and ``_full_path(path)`` (then
    ``load(mmap_mode=...)`` maps the file itself).
    """

    __slots__ = ("_backend", "_cached", "_meta")

    def __init__(self, metadata: dict[str, Any], backend: Buffers) -> None:
        self._meta, self._backend = metadata, backend
        self._cached: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._meta["shape"])

    @property
    def dtype(self) -> np.dtype:
        return dtype_of(self._meta["dtype"])

    @property
    def ndim(self) -> int:
        return len(self._meta["shape"])

    @property
    def size(self) -> int:
        return math.prod(self._meta["shape"])

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def path(self) -> str:
        return str(self._meta["path"])

    @property
    def store(self) -> str | None:
        return self._meta.get("store")

    @property
    def is_loaded(self) -> bool:
        return self._cached is not None

    def load(self, mmap_mode: MmapMode | None = None) -> np.ndarray:
        """The array (read once, then cached); ``mmap_mode`` (``"r"``, ``"r+"``, ``"c"``):
        a ``np.memmap`` of it instead, from a local cache file unless the store's file
        itself is a ``.npy`` file on this machine."""
        if mmap_mode is None:
            if self._cached is None:
                self._cached = array_of(self._backend.get_buffer(self.path), self._meta)
            return self._cached
        if getattr(self._backend, "protocol", None) == "file":
            local = self._backend._full_path(self.path)  # type: ignore[attr-defined]
            return np.load(local, mmap_mode=mmap_mode, allow_pickle=False)
        return np.load(self._cache_file(), mmap_mode=mmap_mode, allow_pickle=False)

    def _cache_file(self) -> Path:
        folder = Path(tempfile.gettempdir()) / "djframe_mmap"
        folder.mkdir(exist_ok=True)
        name = hashlib.md5(f"{self.store}:{self.path}".encode()).hexdigest()[:16]
        target = folder / f"{name}.npy"
        if not target.exists():
            np.save(target, self.load(), allow_pickle=False)
        return target

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = self.load()
        return array if dtype is None else array.astype(dtype)

    def __getitem__(self, key: Any) -> Any:
        return self.load()[key]

    def __len__(self) -> int:
        if not self._meta["shape"]:
            raise TypeError("len() of a 0-dimensional array")
        return int(self._meta["shape"][0])

    def __repr__(self) -> str:
        status = "loaded" if self.is_loaded else "not loaded"
        return f"NpyRef(shape={self.shape}, dtype={self.dtype}, {status})"


class NpyCodec(SchemaCodec):
    """``<npy@>``: a numpy array of numbers, booleans, bytes, text or times, or a structured
    array of those."""

    name = "npy"

    def validate(self, value: Any) -> None:
        if not isinstance(value, np.ndarray):
            raise DataError(f"<npy@> requires numpy.ndarray values; got a {type(value).__name__}.")
        if value.dtype.hasobject:
            raise DataError(
                f"<npy@> does not store object dtype arrays (this one has dtype {value.dtype}); "
                "use <blob@> for arrays of Python objects."
            )

    def encode(
        self, value: np.ndarray, *, context: dict[str, Any] | None = None, **_: Any
    ) -> Payload:
        data = np.ascontiguousarray(value)
        return Payload(data, {"dtype": dtype_text(data.dtype), "shape": list(data.shape)})

    def decode(
        self, stored: Payload, *, context: dict[str, Any] | None = None, **_: Any
    ) -> np.ndarray:
        return array_of(stored.data, stored.meta)

    def reference(self, meta: dict[str, Any], backend: Buffers) -> NpyRef:
        """The lazy reference to a stored array (``meta``: its path, store, dtype, shape)."""
        return NpyRef(meta, backend)
