"""The ``<blob>`` format: Python and numpy values as compact bytes, without pickle.

A blob is the magic ``b"DJB1"`` followed by one tagged value. Each value starts with a one-byte
tag; sizes are unsigned 64-bit little-endian. Containers hold their items recursively; numpy
arrays hold their dtype, shape and raw C-order bytes, so they decode without a copy per element.
Nothing here executes code on decoding (unlike pickle), so a blob from an untrusted database is
safe to read. Values of other types are refused with a clear error.

===  ==========================================  ==========================================
tag  value                                       body
===  ==========================================  ==========================================
N    None                                        -
T F  True, False                                 -
i    int that fits in 64 bits                    8 bytes
I    any other int                               size + signed big-endian bytes
f    float                                       8 bytes
c    complex                                     16 bytes
s    str                                         size + UTF-8
b    bytes, bytearray                            size + raw
l t  list, tuple                                 count + items
S    set, frozenset                              count + items
d    dict                                        count + (key, value) items
a    numpy array (not object dtype)              dtype text, ndim, shape, raw bytes
o    numpy array of objects                      ndim, shape, items
g    numpy scalar                                dtype text, raw bytes
D    date                                        ISO text
W    datetime                                    ISO text (keeps the timezone offset)
Y    time                                        ISO text
Z    timedelta                                   days, seconds, microseconds (3 x 8 bytes)
U    uuid.UUID                                   16 bytes
M    decimal.Decimal                             text
===  ==========================================  ==========================================

Examples
--------
>>> import numpy as np
>>> value = {"trace": np.arange(3, dtype="int16"), "n": 3, "tags": ("a", None)}
>>> back = unpack(pack(value))
>>> back["trace"].tolist(), back["n"], back["tags"]
([0, 1, 2], 3, ('a', None))
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from djframe.errors import DataError

__all__ = ["MAGIC", "pack", "unpack"]

MAGIC = b"DJB1"
_SIZE = struct.Struct("<Q")
_INT = struct.Struct("<q")
_FLOAT = struct.Struct("<d")
_COMPLEX = struct.Struct("<dd")
_DELTA = struct.Struct("<qqq")


def pack(value: Any) -> bytes:
    """Serialize a value to blob bytes."""
    parts: list[Any] = [MAGIC]
    _write(value, parts)
    return b"".join(parts)


def _size(n: int) -> bytes:
    return _SIZE.pack(n)


def _text(tag: bytes, text: str, parts: list[Any]) -> None:
    raw = text.encode()
    parts += [tag, _size(len(raw)), raw]


def _write(value: Any, parts: list[Any]) -> None:
    if value is None:
        parts.append(b"N")
    elif value is True or value is False:
        parts.append(b"T" if value else b"F")
    elif isinstance(value, np.ndarray):
        _write_array(value, parts)
    elif isinstance(value, np.generic):
        scalar: Any = np.asarray(value)
        if scalar.dtype.hasobject:
            _write(value.item(), parts)
            return
        _text(b"g", scalar.dtype.str, parts)
        parts += [_size(scalar.nbytes), scalar.tobytes()]
    elif isinstance(value, int):
        if -(2**63) <= value < 2**63:
            parts += [b"i", _INT.pack(value)]
        else:
            big = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
            parts += [b"I", _size(len(big)), big]
    elif isinstance(value, float):
        parts += [b"f", _FLOAT.pack(value)]
    elif isinstance(value, complex):
        parts += [b"c", _COMPLEX.pack(value.real, value.imag)]
    elif isinstance(value, str):
        _text(b"s", value, parts)
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        parts += [b"b", _size(len(data)), data]
    elif isinstance(value, list | tuple | set | frozenset):
        tag = b"l" if isinstance(value, list) else b"t" if isinstance(value, tuple) else b"S"
        parts += [tag, _size(len(value))]
        for item in value:
            _write(item, parts)
    elif isinstance(value, dict):
        parts += [b"d", _size(len(value))]
        for key, item in value.items():
            _write(key, parts)
            _write(item, parts)
    else:
        _write_scalar(value, parts)


def _write_scalar(value: Any, parts: list[Any]) -> None:
    if isinstance(value, dt.datetime):
        _text(b"W", value.isoformat(), parts)
    elif isinstance(value, dt.date):
        _text(b"D", value.isoformat(), parts)
    elif isinstance(value, dt.time):
        _text(b"Y", value.isoformat(), parts)
    elif isinstance(value, dt.timedelta):
        parts += [b"Z", _DELTA.pack(value.days, value.seconds, value.microseconds)]
    elif isinstance(value, uuid.UUID):
        parts += [b"U", value.bytes]
    elif isinstance(value, decimal.Decimal):
        _text(b"M", str(value), parts)
    else:
        raise DataError(
            f"<blob> cannot store a {type(value).__module__}.{type(value).__qualname__}. It stores "
            "None, bool, int, float, complex, str, bytes, lists, tuples, sets, dicts, numpy arrays "
            "and scalars, dates, datetimes, times, timedeltas, UUIDs and Decimals; convert the "
            "value to one of them, or declare a codec of your own (dj.Codec)."
        )


def _write_array(array: np.ndarray, parts: list[Any]) -> None:
    shape = b"".join(_size(n) for n in array.shape)
    if array.dtype.hasobject:
        parts += [b"o", bytes([array.ndim]), shape]
        for item in array.ravel(order="C"):
            _write(item, parts)
        return
    if array.dtype.fields is not None:
        raise DataError("<blob> does not store structured numpy arrays; store a dict of arrays.")
    _text(b"a", array.dtype.str, parts)
    contiguous: Any = np.ascontiguousarray(array)
    parts += [bytes([array.ndim]), shape, _size(contiguous.nbytes)]
    parts.append(memoryview(contiguous).cast("B") if contiguous.nbytes else b"")


class _Reader:
    def __init__(self, data: bytes | memoryview) -> None:
        self.data = memoryview(data)
        self.at = 0

    def take(self, n: int) -> memoryview:
        if self.at + n > len(self.data):
            raise DataError(
                "This <blob> is truncated or corrupt: it ends in the middle of a value."
            )
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def size(self) -> int:
        return int(_SIZE.unpack(self.take(8))[0])

    def text(self) -> str:
        return bytes(self.take(self.size())).decode()

    def shape(self) -> tuple[int, ...]:
        ndim = self.take(1)[0]
        return tuple(self.size() for _ in range(ndim))


def unpack(data: bytes | memoryview) -> Any:
    """Read blob bytes back into the value :func:`pack` was given."""
    reader = _Reader(data)
    if bytes(reader.take(4)) != MAGIC:
        raise DataError("These bytes are not a djframe <blob> (the header is missing).")
    return _read(reader)


def _read_array(r: _Reader) -> np.ndarray:
    dtype = np.dtype(r.text())
    shape = r.shape()
    raw = r.take(r.size())
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _read_objects(r: _Reader) -> np.ndarray:
    shape = r.shape()
    count = int(np.prod(shape)) if shape else 1
    out = np.empty(count, dtype=object)
    for i in range(count):
        out[i] = _read(r)
    return out.reshape(shape)


def _read_generic(r: _Reader) -> Any:
    dtype = np.dtype(r.text())
    return np.frombuffer(r.take(r.size()), dtype=dtype)[0]


def _read_big_int(r: _Reader) -> int:
    return int.from_bytes(r.take(r.size()), "big", signed=True)


def _items(r: _Reader) -> list[Any]:
    return [_read(r) for _ in range(r.size())]


def _read_dict(r: _Reader) -> dict[Any, Any]:
    count = r.size()
    out = {}
    for _ in range(count):
        key = _read(r)
        out[key] = _read(r)
    return out


READERS: dict[bytes, Callable[[_Reader], Any]] = {
    b"N": lambda r: None,
    b"T": lambda r: True,
    b"F": lambda r: False,
    b"i": lambda r: _INT.unpack(r.take(8))[0],
    b"I": _read_big_int,
    b"f": lambda r: _FLOAT.unpack(r.take(8))[0],
    b"c": lambda r: complex(*_COMPLEX.unpack(r.take(16))),
    b"s": lambda r: r.text(),
    b"b": lambda r: bytes(r.take(r.size())),
    b"l": _items,
    b"t": lambda r: tuple(_items(r)),
    b"S": lambda r: set(_items(r)),
    b"d": _read_dict,
    b"a": _read_array,
    b"o": _read_objects,
    b"g": _read_generic,
    b"D": lambda r: dt.date.fromisoformat(r.text()),
    b"W": lambda r: dt.datetime.fromisoformat(r.text()),
    b"Y": lambda r: dt.time.fromisoformat(r.text()),
    b"Z": lambda r: dt.timedelta(*_DELTA.unpack(r.take(24))),
    b"U": lambda r: uuid.UUID(bytes=bytes(r.take(16))),
    b"M": lambda r: decimal.Decimal(r.text()),
}


def _read(r: _Reader) -> Any:
    tag = bytes(r.take(1))
    reader = READERS.get(tag)
    if reader is None:
        raise DataError(f"This <blob> is corrupt: unknown value tag {tag!r}.")
    return reader(r)
