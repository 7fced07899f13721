"""DataJoint's own blob serialization (``mYm``/``dj0``), read and written without pickle.

A ``<blob>`` written by DataJoint (or by MATLAB's mYm) starts with ``mYm\\0`` or ``dj0\\0``,
possibly behind ``ZL123\\0`` + the uncompressed size (zlib). Values are tagged: ``A`` numeric,
char and object arrays (column-major, MATLAB's layout), ``S`` MATLAB structs, ``C`` cells,
``F`` record arrays, and dj0's Python values (``\\x01``-``\\x06`` tuple, list, set, dict, str,
bytes; ``\\x0a``-``\\x0d`` int, bool, complex, float; ``d`` Decimal, ``t`` date/time, ``u``
UUID, ``\\xff`` None). Sizes are unsigned 64-bit little-endian. djframe writes this format, so
that DataJoint reads djframe's blobs, and reads it, so that a DataJoint database's blobs decode;
nothing executes code on decoding. MATLAB structs and cells come back as :class:`MatStruct` and
:class:`MatCell` (numpy subclasses, as in DataJoint) and are written back as such.

Examples
--------
>>> import numpy as np
>>> back = unpack(pack({"x": np.arange(3.0), "n": 3, "s": "a"}))
>>> back["x"].tolist(), back["n"], back["s"]
([0.0, 1.0, 2.0], 3, 'a')
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import uuid
import zlib
from decimal import Decimal
from typing import Any

import numpy as np

from djframe.errors import DataError

__all__ = ["MatCell", "MatStruct", "is_dj_blob", "pack", "unpack"]

PROTOCOLS = (b"mYm\0", b"dj0\0")
ZLIB = b"ZL123\0"
_CLASS_IDS: dict[int, str] = {1: "CELL", 2: "STRUCT", 4: "CHAR", 5: "VOID"}
_DTYPES: dict[int, np.dtype[Any]] = {
    3: np.dtype("bool"),
    4: np.dtype("c"),
    6: np.dtype("float64"),
    7: np.dtype("float32"),
    8: np.dtype("int8"),
    9: np.dtype("uint8"),
    10: np.dtype("int16"),
    11: np.dtype("uint16"),
    12: np.dtype("int32"),
    13: np.dtype("uint32"),
    14: np.dtype("int64"),
    15: np.dtype("uint64"),
}
_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")
_DTYPES.update({65_536 + i: np.dtype(f"datetime64[{unit}]") for i, unit in enumerate(_UNITS)})
_IDS = {dtype: number for number, dtype in _DTYPES.items() if number != 4}
_OBJECT_ID = 5


class MatCell(np.ndarray):
    """A MATLAB cell array: an object array that is written back as a cell."""


class MatStruct(np.recarray):
    """A MATLAB struct array: a record array of objects written back as a struct."""


def is_dj_blob(data: bytes | memoryview) -> bool:
    """True for bytes in DataJoint's format (compressed or not)."""
    head = bytes(data[:6])
    return head.startswith(PROTOCOLS) or head == ZLIB


# -- writing -------------------------------------------------------------------------------
def _u64(n: int) -> bytes:
    return np.uint64(n).tobytes()


def _sized(item: bytes) -> bytes:
    return _u64(len(item)) + item


class _Writer:
    def __init__(self) -> None:
        self.dj0 = False  # mYm (MATLAB-readable) unless a value needs dj0

    def value(self, obj: Any) -> bytes:
        if isinstance(obj, MatCell):
            return self.cell(obj)
        if isinstance(obj, MatStruct):
            return self.struct(obj)
        if isinstance(obj, np.ndarray) and obj.dtype.fields is None:
            return self.array(obj)
        self.dj0 = True
        return self.python(obj)

    def python(self, obj: Any) -> bytes:
        if isinstance(obj, np.number | np.bool_ | np.datetime64):
            return self.array(np.array(obj))
        if obj is None:
            return b"\xff"
        if isinstance(obj, bool):
            return b"\x0b" + np.bool_(obj).tobytes()
        if isinstance(obj, int):
            width = obj.bit_length() // 8 + 1
            return b"\x0a" + np.uint16(width).tobytes() + obj.to_bytes(width, "little", signed=True)
        if isinstance(obj, float):
            return b"\x0d" + np.float64(obj).tobytes()
        if isinstance(obj, complex):
            return b"\x0c" + np.complex128(obj).tobytes()
        if isinstance(obj, np.ndarray):
            return self.records(obj)
        return self.other(obj)

    def other(self, obj: Any) -> bytes:
        if isinstance(obj, dt.date | dt.time):
            return b"t" + _datetime(obj)
        if isinstance(obj, Decimal):
            return b"d" + _sized(str(obj).encode())
        if isinstance(obj, uuid.UUID):
            return b"u" + obj.bytes
        if isinstance(obj, collections.abc.Mapping):
            pairs = b"".join(_sized(self.value(k)) + _sized(self.value(v)) for k, v in obj.items())
            return b"\x04" + _u64(len(obj)) + pairs
        if isinstance(obj, str):
            return b"\x05" + _sized(obj.encode())
        if isinstance(obj, bytes | bytearray | memoryview):
            return b"\x06" + _sized(bytes(obj))
        for tag, kind in ((b"\x02", collections.abc.MutableSequence), (b"\x01", collections.abc.Sequence), (b"\x03", collections.abc.Set)):  # fmt: skip
            if isinstance(obj, kind):
                return tag + _u64(len(obj)) + b"".join(_sized(self.value(i)) for i in obj)
        raise DataError(
            f"<blob> cannot hold a {type(obj).__name__}: give numbers, strings, bytes, numpy "
            "arrays, dates, UUIDs, Decimals, or lists, tuples, sets and dicts of them."
        )

    def array(self, array: np.ndarray) -> bytes:
        head = b"A" + _u64(array.ndim) + np.asarray(array.shape, dtype=np.uint64).tobytes()
        imaginary = None
        if np.iscomplexobj(array):
            array, imaginary = np.real(array), np.imag(array)
        if array.dtype.char in "UO":
            self.dj0 = True
            items = b"".join(_sized(self.value(e)) for e in array.flatten(order="F"))
            return head + np.array([_OBJECT_ID, 0], dtype=np.uint32).tobytes() + items
        if array.dtype.char == "S" and array.dtype.itemsize == 1:
            chars = array.view(np.uint8).astype(np.uint16).tobytes()
            return head + np.array([4, 0], dtype=np.uint32).tobytes() + chars
        if array.dtype not in _IDS:
            raise DataError(f"<blob> cannot hold a numpy array of dtype {array.dtype}.")
        if array.ndim == 0 or array.dtype.kind == "M":
            self.dj0 = True
        flags = np.array([_IDS[array.dtype], imaginary is not None], dtype=np.uint32).tobytes()
        body = array.tobytes(order="F") + (b"" if imaginary is None else imaginary.tobytes("F"))
        return head + flags + body

    def records(self, array: np.ndarray) -> bytes:
        names = array.dtype.names or ()
        fields = b"".join(
            self.records(array[f]) if array[f].dtype.fields else self.array(array[f]) for f in names
        )
        return b"F" + np.uint32(len(names)).tobytes() + "\0".join(names).encode() + b"\0" + fields

    def struct(self, array: np.ndarray) -> bytes:
        names = array.dtype.names or ()
        shape = np.array((array.ndim, *array.shape), dtype=np.uint64).tobytes()
        values = b"".join(_sized(self.value(e)) for rec in array.flatten(order="F") for e in rec)
        return (
            b"S"
            + shape
            + np.uint32(len(names)).tobytes()
            + "\0".join(names).encode()
            + b"\0"
            + values
        )

    def cell(self, array: np.ndarray) -> bytes:
        shape = np.array((array.ndim, *array.shape), dtype=np.uint64).tobytes()
        return b"C" + shape + b"".join(_sized(self.value(e)) for e in array.flatten(order="F"))


def _datetime(value: dt.date | dt.time) -> bytes:
    day = (
        value.date()
        if isinstance(value, dt.datetime)
        else value
        if isinstance(value, dt.date)
        else None
    )
    clock = (
        value.time()
        if isinstance(value, dt.datetime)
        else value
        if isinstance(value, dt.time)
        else None
    )
    date_part = -1 if day is None else (day.year * 100 + day.month) * 100 + day.day
    time_part = -1 if clock is None else (
        ((clock.hour * 100 + clock.minute) * 100 + clock.second) * 1_000_000 + clock.microsecond
    )  # fmt: skip
    return np.int32(date_part).tobytes() + np.int64(time_part).tobytes()


def pack(obj: Any, *, compress: bool = True) -> bytes:
    """``obj`` in DataJoint's blob format (``mYm`` where MATLAB can read it, else ``dj0``),
    zlib-compressed above 1000 bytes when that is smaller, as DataJoint writes it."""
    writer = _Writer()
    body = writer.value(obj)
    blob = (b"dj0\0" if writer.dj0 else b"mYm\0") + body
    if compress and len(blob) > 1000:
        packed = ZLIB + _u64(len(blob)) + zlib.compress(blob)
        if len(packed) < len(blob):
            return packed
    return blob


# -- reading -------------------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes) -> None:
        from djframe import blob  # its use_32bit_dims, set by the user

        self.data = data
        self.pos = 0
        self.size_type = "uint32" if blob.use_32bit_dims else "uint64"

    def values(self, dtype: str | np.dtype[Any], count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def one(self, dtype: str | None = None) -> Any:
        """One number: of ``dtype``, or a size (dimension, count, length)."""
        return self.values(dtype or self.size_type, 1)[0]

    def raw(self, n: int) -> bytes:
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def names(self, count: int) -> list[str]:
        found = []
        for _ in range(count):
            end = self.data.index(b"\0", self.pos)
            found.append(self.data[self.pos : end].decode())
            self.pos = end + 1
        return found

    def sized(self) -> Any:
        size = int(self.one())
        start = self.pos
        value = self.value()
        if self.pos - start != size:
            raise DataError("A DataJoint blob is damaged: an item's length does not match.")
        return value

    def items(self) -> list[Any]:
        return [self.sized() for _ in range(int(self.one()))]

    def value(self) -> Any:
        tag = self.raw(1)
        simple = {
            b"\xff": lambda: None,
            b"\x01": lambda: tuple(self.items()),
            b"\x02": self.items,
            b"\x03": lambda: set(self.items()),
            b"\x04": self.mapping,
            b"\x05": lambda: self.raw(int(self.one())).decode(),
            b"\x06": lambda: self.raw(int(self.one())),
            b"\x0a": lambda: int.from_bytes(
                self.raw(int(self.one("uint16"))), "little", signed=True
            ),
            b"\x0b": lambda: bool(self.one("bool")),
            b"\x0c": lambda: complex(self.one("complex128")),
            b"\x0d": lambda: float(self.one("float64")),
            b"d": lambda: Decimal(self.raw(int(self.one())).decode()),
            b"t": self.datetime,
            b"u": lambda: uuid.UUID(bytes=self.raw(16)),
            b"A": self.array,
            b"S": self.struct,
            b"C": self.cell,
            b"F": self.records,
        }
        if tag not in simple:
            raise DataError(
                f"A DataJoint blob holds a value of unknown kind {tag!r} (a sparse array?)."
            )
        return simple[tag]()

    def mapping(self) -> dict[Any, Any]:
        return {self.sized(): self.sized() for _ in range(int(self.one()))}

    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.values(self.size_type, int(self.one())))

    def array(self) -> Any:
        shape = self.shape()
        count = int(np.prod(shape, dtype=np.int64))
        kind, is_complex = (int(v) for v in self.values("uint32", 2))
        if _CLASS_IDS.get(kind) == "VOID":
            data = np.empty(count, dtype=object)
            data[:] = [self.sized() for _ in range(count)]
            return data.reshape(shape, order="F")
        if _CLASS_IDS.get(kind) == "CHAR":
            chars = self.values("uint16", count).astype(np.uint8).tobytes().decode("latin-1")
            if len(shape) == 1 or (len(shape) == 2 and shape[0] == 1):
                return chars
            return np.array(list(chars), dtype="U1").reshape(shape, order="F")
        if kind not in _DTYPES:
            raise DataError(f"A DataJoint blob holds an array of unknown type {kind}.")
        data = self.values(_DTYPES[kind], count)
        if is_complex:
            data = data + 1j * self.values(_DTYPES[kind], count)
        return data.reshape(shape, order="F").copy()

    def struct(self) -> Any:
        shape = self.shape()
        count = int(np.prod(shape, dtype=np.int64))
        fields = self.names(int(self.one("uint32")))
        if not fields:
            return np.array(None)
        rows = [tuple(self.sized() for _ in fields) for _ in range(count)]
        data = np.empty(count, dtype=[(name, object) for name in fields])
        data[:] = rows
        return data.reshape(shape, order="F").view(MatStruct)

    def cell(self) -> Any:
        shape = self.shape()
        count = int(np.prod(shape, dtype=np.int64))
        data = np.empty(count, dtype=object)
        data[:] = [self.sized() for _ in range(count)]
        return data.reshape(shape, order="F").view(MatCell)

    def records(self) -> Any:
        fields = self.names(int(self.one("uint32")))
        if not fields:
            return np.array(None)
        arrays = [self.value() for _ in fields]
        rec = np.empty(
            arrays[0].shape, np.dtype([(f, a.dtype) for f, a in zip(fields, arrays, strict=True)])
        )
        for name, array in zip(fields, arrays, strict=True):
            rec[name] = array
        return rec.view(np.recarray)

    def datetime(self) -> Any:
        day, clock = int(self.one("int32")), int(self.one("int64"))
        date = dt.date(day // 10000, (day // 100) % 100, day % 100) if day >= 0 else None
        time = dt.time(
            (clock // 10_000_000_000) % 100, (clock // 100_000_000) % 100,
            (clock // 1_000_000) % 100, clock % 1_000_000,
        ) if clock >= 0 else None  # fmt: skip
        if date is not None and time is not None:
            return dt.datetime.combine(date, time)
        return date if date is not None else time


def unpack(data: bytes | memoryview) -> Any:
    """The value of a blob in DataJoint's format (see :func:`is_dj_blob`)."""
    blob = bytes(data)
    if blob.startswith(ZLIB):
        size = int(np.frombuffer(blob, dtype="uint64", count=1, offset=len(ZLIB))[0])
        blob = zlib.decompress(blob[len(ZLIB) + 8 :])
        if len(blob) != size:
            raise DataError("A DataJoint blob is damaged: its size does not match.")
    if not blob.startswith(PROTOCOLS):
        raise DataError("Not a DataJoint blob: it starts with neither mYm nor dj0.")
    reader = _Reader(blob)
    reader.pos = 4
    try:
        value = reader.value()
    except DataError:
        raise
    except (ValueError, IndexError, OverflowError, MemoryError) as exc:
        raise DataError(
            f"A DataJoint blob is damaged ({exc}); if it was written with 32-bit sizes, set "
            "djframe.blob.use_32bit_dims = True to read it."
        ) from None
    if reader.pos != len(blob):
        raise DataError("A DataJoint blob is damaged: bytes are left after its value.")
    return value
