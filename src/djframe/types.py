"""The core types of the definition language and how each one maps to SQL, Arrow and Polars.

A :class:`CoreType` is what a definition line names (``varchar(40)``, ``decimal(6,2)``,
``enum('F','M')``). It is portable: the same name declares the same column on DuckDB and
PostgreSQL, and comes back as the same Polars type. Codec types (``<blob>``, ``<npy@>``) are
not core types; they live in :mod:`djframe.codecs`.

DataJoint 2.3.5 also passes native SQL types through (``int unsigned``, ``double``,
``longblob``, ``timestamp``, ``int auto_increment`` ...). :func:`native_type` reads each of
them as the core type that holds its values (a :class:`NativeType`), with the range the
native type allows and whether it counts by itself; :func:`read_type` reads either kind.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import polars as pl
import pyarrow as pa

from djframe._sql import literal
from djframe.errors import UnknownTypeError

__all__ = [
    "CORE_TYPES",
    "CoreType",
    "NativeType",
    "default_problem",
    "native_type",
    "parse_type",
    "python_value",
    "read_type",
    "unquote",
]

SIMPLE = {
    "int8": (pa.int8(), pl.Int8, "TINYINT", "SMALLINT"),
    "int16": (pa.int16(), pl.Int16, "SMALLINT", "SMALLINT"),
    "int32": (pa.int32(), pl.Int32, "INTEGER", "INTEGER"),
    "int64": (pa.int64(), pl.Int64, "BIGINT", "BIGINT"),
    "float32": (pa.float32(), pl.Float32, "REAL", "REAL"),
    "float64": (pa.float64(), pl.Float64, "DOUBLE", "DOUBLE PRECISION"),
    "bool": (pa.bool_(), pl.Boolean, "BOOLEAN", "BOOLEAN"),
    "uuid": (pa.string(), pl.String, "UUID", "UUID"),
    "json": (pa.string(), pl.String, "JSON", "JSONB"),
    "bytes": (pa.binary(), pl.Binary, "BLOB", "BYTEA"),
    "date": (pa.date32(), pl.Date, "DATE", "DATE"),
    "time": (pa.time64("us"), pl.Time, "TIME", "TIME"),
}
"""``time`` has no core spelling in DataJoint: it is declared as the native ``time``."""

IBIS_NAMES = {
    "bool": "boolean",
    "bytes": "binary",
    "datetime": "timestamp",
    "char": "string",
    "varchar": "string",
    "enum": "string",
}

# What people coming from MySQL, PostgreSQL or DataJoint 0.x write, and what to write instead.
SUGGESTIONS = {
    "int": "int32",
    "integer": "int32",
    "bigint": "int64",
    "smallint": "int16",
    "tinyint": "int8",
    "float": "float32 or float64",
    "double": "float64",
    "real": "float64",
    "boolean": "bool",
    "text": "varchar(n)",
    "string": "varchar(n)",
    "str": "varchar(n)",
    "timestamp": "datetime",
    "blob": "bytes or <blob>",
    "longblob": "bytes or <blob>",
    "numeric": "decimal(p,s)",
    "jsonb": "json",
    "uint8": "int16 (or the native tinyint unsigned)",
    "uint16": "int32 (or the native smallint unsigned)",
    "uint32": "int64 (or the native int unsigned)",
    "uint64": "int64 or decimal(20,0)",
}

_SIZED = re.compile(r"^(?P<name>char|varchar)\s*\(\s*(?P<n>\d+)\s*\)$", re.I)
_DECIMAL = re.compile(r"^decimal\s*\(\s*(?P<p>\d+)\s*,\s*(?P<s>\d+)\s*\)$", re.I)
_DATETIME = re.compile(r"^datetime\s*(\(\s*(?P<n>\d)\s*\))?$", re.I)
_ENUM = re.compile(r"^enum\s*\((?P<body>.*)\)$", re.I | re.S)
_ENUM_VALUE = re.compile(r"\s*'((?:[^']|'')*)'\s*(,|$)")

CORE_TYPES: dict[str, str] = {
    **{name: name for name in SIMPLE if name != "time"},
    "datetime": "datetime",
    "char": "char(n)",
    "varchar": "varchar(n)",
    "decimal": "decimal(p,s)",
    "enum": "enum(...)",
}
"""DataJoint's core types (``time`` is not one), each name with how a definition spells it."""

INT_RANGES = {"int8": 7, "int16": 15, "int32": 31, "int64": 63}
BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False}
SQL_CLOCKS = {"CURRENT_TIMESTAMP", "CURRENT_DATE"}
POSTGRES_VARCHAR = 10_485_760
"""PostgreSQL's longest VARCHAR(n); longer strings (``longtext``) are TEXT, checked by djframe."""


@dataclass(frozen=True)
class CoreType:
    """A portable column type: a name and its arguments (length, precision, enum values)."""

    name: str
    args: tuple[int | str, ...] = ()

    def __str__(self) -> str:
        if self.name == "enum":
            return "enum(" + ", ".join(literal(str(v)) for v in self.args) + ")"
        if self.args:
            return f"{self.name}({','.join(str(a) for a in self.args)})"
        return self.name

    @property
    def is_numeric(self) -> bool:
        return self.name in INT_RANGES or self.name in {"float32", "float64", "decimal"}

    @property
    def is_string(self) -> bool:
        return self.name in {"char", "varchar", "enum", "uuid", "json"}

    @property
    def max_length(self) -> int | None:
        return int(self.args[0]) if self.name in {"char", "varchar"} else None

    @cached_property
    def arrow(self) -> pa.DataType:
        """The Arrow type values travel as, in and out of the engine."""
        if self.name in SIMPLE:
            return SIMPLE[self.name][0]
        if self.name == "decimal":
            return pa.decimal128(int(self.args[0]), int(self.args[1]))
        if self.name == "datetime":
            return pa.timestamp("us")
        return pa.string()

    @cached_property
    def polars(self) -> pl.DataType:
        """The Polars type a fetched column has."""
        if self.name in SIMPLE:
            return SIMPLE[self.name][1]()
        if self.name == "decimal":
            return pl.Decimal(int(self.args[0]), int(self.args[1]))
        if self.name == "datetime":
            return pl.Datetime("us")
        if self.name == "enum":
            return pl.Enum([str(v) for v in self.args])
        return pl.String()

    @property
    def ibis(self) -> str:
        """The Ibis type name for unbound tables."""
        if self.name == "decimal":
            return f"decimal({self.args[0]}, {self.args[1]})"
        return IBIS_NAMES.get(self.name, self.name)

    def sql(self, dialect: str) -> str:
        """The column type in a backend's DDL."""
        postgres = dialect == "postgres"
        if self.name in SIMPLE:
            return str(SIMPLE[self.name][3 if postgres else 2])
        if self.name == "decimal":
            return f"{'NUMERIC' if postgres else 'DECIMAL'}({self.args[0]},{self.args[1]})"
        if self.name == "datetime":
            precision = f"({self.args[0]})" if postgres and self.args else ""
            return f"TIMESTAMP{precision}"
        if self.name in {"char", "varchar"} and postgres:
            length = int(self.args[0])
            return f"VARCHAR({length})" if length <= POSTGRES_VARCHAR else "TEXT"
        return "VARCHAR"

    def check(self, column: str, dialect: str) -> str | None:
        """A CHECK constraint for what the SQL type alone does not enforce, if any."""
        if self.name == "enum":
            values = ", ".join(literal(str(v)) for v in self.args)
            return f"{column} IN ({values})"
        if self.name == "int8" and dialect == "postgres":
            return f"{column} BETWEEN -128 AND 127"
        return None


def parse_enum_values(body: str, text: str) -> tuple[str, ...]:
    values: list[str] = []
    position = 0
    while position < len(body):
        match = _ENUM_VALUE.match(body, position)
        if not match:
            raise UnknownTypeError(
                f"Cannot read the values of {text!r}: write them quoted and separated by "
                "commas, as in enum('F', 'M', 'U')."
            )
        values.append(match.group(1).replace("''", "'"))
        position = match.end()
    if not values:
        raise UnknownTypeError(f"{text!r} lists no values; an enum needs at least one.")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise UnknownTypeError(
            f"{text!r} lists {', '.join(map(repr, repeated))} more than once; list each value "
            "once (an engine refuses an enum with repeated values)."
        )
    return tuple(values)


def parse_type(text: str) -> CoreType:
    """Read a core type from definition text.

    Examples
    --------
    >>> parse_type("varchar(40)")
    CoreType(name='varchar', args=(40,))
    >>> str(parse_type("ENUM('F','M')"))
    "enum('F', 'M')"
    """
    clean = text.strip()
    lower = clean.lower()
    if lower in SIMPLE:
        return CoreType(lower)
    if lower == "jsonb":  # DataJoint's json pattern takes PostgreSQL's spelling too
        return CoreType("json")
    if match := _SIZED.match(clean):
        if int(match["n"]) < 1:
            raise UnknownTypeError(
                f"{text!r}: a {match['name'].lower()}(n) holds at least one character; give "
                "n >= 1 (DuckDB and PostgreSQL read a length of 0 differently)."
            )
        return CoreType(match["name"].lower(), (int(match["n"]),))
    if match := _DECIMAL.match(clean):
        precision, scale = int(match["p"]), int(match["s"])
        if not 0 < precision <= 38 or scale > precision:
            raise UnknownTypeError(
                f"{text!r}: decimal(p,s) needs 1 <= p <= 38 and s <= p on every backend."
            )
        return CoreType("decimal", (precision, scale))
    if match := _DATETIME.match(clean):
        if match["n"] and int(match["n"]) > 6:
            raise UnknownTypeError(
                f"{text!r}: datetime(n) keeps at most 6 digits of a second (microseconds)."
            )
        return CoreType("datetime", (int(match["n"]),) if match["n"] else ())
    if match := _ENUM.match(clean):
        return CoreType("enum", parse_enum_values(match["body"], clean))
    raise UnknownTypeError(unknown_type_message(clean))


@dataclass(frozen=True)
class NativeType:
    """A native SQL type as DataJoint 2.3.5 accepts it, read as the core type holding its values.

    ``low``/``high`` bound the values where the native type allows fewer than its core type
    (``tinyint unsigned`` is int16 from 0 to 255); ``auto_increment`` columns number their
    rows themselves; ``raw_bytes`` marks the native blobs, which hold bytes, not Python values.
    ``family`` is DataJoint's name for the kind of native type (``INTEGER``, ``FLOAT``,
    ``NUMERIC``, ``TEMPORAL``, ``NATIVE_BLOB``, ``NATIVE_TEXT``).
    """

    text: str
    core: CoreType
    family: str
    low: int | None = None
    high: int | None = None
    auto_increment: bool = False
    raw_bytes: bool = False

    def check(self, column: str) -> str | None:
        """The CHECK constraint for the native range, if it is narrower than the core type's."""
        if self.low is not None and self.high is not None:
            return f"{column} BETWEEN {self.low} AND {self.high}"
        if self.low is not None:
            return f"{column} >= {self.low}"
        return None

    def warning(self, attribute: str) -> str:
        """The portability warning DataJoint gives for native types, with the core type used."""
        said = f"Native type {self.text!r} is used in attribute {attribute!r}; djframe stores it as {self.core}"
        if self.raw_bytes:
            return (
                f"{said}. It holds raw bytes only: values are not serialized on insert nor "
                "deserialized on fetch. Use '<blob>' for arrays and other Python values, or "
                "'bytes' for raw binary data."
            )
        bounds = f" ({self.low} to {self.high})" if self.high is not None else ""
        if self.core.name == "time":
            return f"{said}; no core type holds times of day, so it is not portable to DataJoint's other backends."
        core = "varchar(n)" if self.core.name == "varchar" else str(self.core)
        return f"{said}{bounds}. Consider the core type {core} for portability."


# (core type, unsigned core type, unsigned maximum, signed minimum where narrower than core)
_NATIVE_INTS: dict[str, tuple[str, str, int, int | None]] = {
    "tinyint": ("int8", "int16", 2**8 - 1, None),
    "smallint": ("int16", "int32", 2**16 - 1, None),
    "mediumint": ("int32", "int32", 2**24 - 1, -(2**23)),
    "int": ("int32", "int64", 2**32 - 1, None),
    "integer": ("int32", "int64", 2**32 - 1, None),
    "bigint": ("int64", "int64", 2**63 - 1, None),
}
_NATIVE_TEXT = {"tiny": 2**8 - 1, "small": 2**16 - 1, "": 2**16 - 1, "medium": 2**24 - 1}
_NATIVE_TEXT["long"] = 2**32 - 1

_INTEGER = re.compile(
    r"(?P<base>(tiny|small|medium|big|)int|integer)(\s*\(.+\))?(?P<unsigned>\s+unsigned)?"
    r"(?P<auto>\s+auto_increment)?",
    re.I,
)
_FLOAT = re.compile(
    r"(?P<base>double|float|real)(\s*\((?P<args>.+)\))?(?P<unsigned>\s+unsigned)?", re.I
)
_NUMERIC = re.compile(
    r"(?P<base>decimal|numeric|dec|fixed)(\s*\((?P<args>.+)\))?(?P<unsigned>\s+unsigned)?"
    r"(\s+zerofill)?",
    re.I,
)
_TEMPORAL = re.compile(r"(?P<base>time|timestamp|year)(\s*\(\s*(?P<n>\d+)\s*\))?", re.I)
_BLOB = re.compile(r"(tiny|small|medium|long)?blob", re.I)
_TEXT = re.compile(r"(?P<size>tiny|small|medium|long)?text", re.I)


def _native_int(text: str, match: re.Match[str]) -> NativeType:
    core, wider, maximum, minimum = _NATIVE_INTS[match["base"].lower()]
    auto = bool(match["auto"])
    if match["unsigned"]:
        return NativeType(text, CoreType(wider), "INTEGER", 0, maximum, auto_increment=auto)
    if minimum is not None:
        return NativeType(
            text, CoreType(core), "INTEGER", minimum, -minimum - 1, auto_increment=auto
        )
    return NativeType(text, CoreType(core), "INTEGER", auto_increment=auto)


def _arguments(args: str | None, text: str) -> list[int]:
    try:
        return [int(a) for a in args.split(",")] if args else []
    except ValueError:
        raise UnknownTypeError(f"Cannot read the size of {text!r}: write whole numbers.") from None


def _native_float(text: str, match: re.Match[str]) -> NativeType:
    base, args = match["base"].lower(), _arguments(match["args"], text)
    single = base == "float" and not (len(args) == 1 and args[0] > 24)  # float(p > 24) is double
    low = 0 if match["unsigned"] else None
    return NativeType(text, CoreType("float32" if single else "float64"), "FLOAT", low)


def _native_decimal(text: str, match: re.Match[str]) -> NativeType:
    args = _arguments(match["args"], text) or [10]  # MySQL's default precision
    precision, scale = args[0], args[1] if len(args) > 1 else 0
    core = parse_type(f"decimal({precision},{scale})")
    return NativeType(text, core, "NUMERIC", 0 if match["unsigned"] else None)


def _native_temporal(text: str, match: re.Match[str]) -> NativeType:
    base, digits = match["base"].lower(), match["n"]
    if base == "timestamp":
        datetime = parse_type(f"datetime({digits})" if digits else "datetime")
        return NativeType(text, datetime, "TEMPORAL")
    if base == "year":
        return NativeType(text, CoreType("int16"), "TEMPORAL", 1901, 2155)
    return NativeType(text, CoreType("time"), "TEMPORAL")


def _is_core(text: str) -> bool:
    """Whether ``text`` is a core type as DataJoint spells it (its native ``time`` is not)."""
    try:
        return parse_type(text).name != "time"
    except UnknownTypeError:
        return False


@cache
def native_type(text: str) -> NativeType | None:
    """The native SQL type ``text`` names, read as a core type; None if it is not one.

    Examples
    --------
    >>> native = native_type("int unsigned")
    >>> str(native.core), native.low, native.high
    ('int64', 0, 4294967295)
    >>> native_type("int32") is None, str(native_type("longblob").core)
    (True, 'bytes')
    """
    clean = " ".join(text.split())
    if _is_core(clean):
        return None
    if clean.lower() == "serial":  # MySQL: bigint unsigned not null auto_increment unique
        return NativeType(clean, CoreType("int64"), "INTEGER", 0, 2**63 - 1, auto_increment=True)
    if match := _INTEGER.fullmatch(clean):
        return _native_int(clean, match)
    if match := _FLOAT.fullmatch(clean):
        return _native_float(clean, match)
    if match := _NUMERIC.fullmatch(clean):
        return _native_decimal(clean, match)
    if match := _TEMPORAL.fullmatch(clean):
        return _native_temporal(clean, match)
    if _BLOB.fullmatch(clean):
        return NativeType(clean, CoreType("bytes"), "NATIVE_BLOB", raw_bytes=True)
    if match := _TEXT.fullmatch(clean):
        length = _NATIVE_TEXT[(match["size"] or "").lower()]
        return NativeType(clean, CoreType("varchar", (length,)), "NATIVE_TEXT")
    return None


def read_type(text: str) -> tuple[CoreType, NativeType | None]:
    """The core type of a definition's type text, and the native type it was written as.

    Examples
    --------
    >>> read_type("varchar(40)")
    (CoreType(name='varchar', args=(40,)), None)
    >>> str(read_type("double")[0])
    'float64'
    """
    native = native_type(text)
    return (native.core, native) if native is not None else (parse_type(text), None)


def unknown_type_message(text: str) -> str:
    base = re.split(r"[\s(]", text.lower(), maxsplit=1)[0]
    hint = SUGGESTIONS.get(base)
    core = " ".join(CORE_TYPES.values())
    advice = f"Did you mean {hint}? " if hint else ""
    return (
        f"Unsupported attribute type {text!r}. {advice}The portable core types are: {core}; "
        "codec types are written <name>."
    )


def python_value(value: Any, type_name: str | None) -> Any:
    """A value of a column exported as text (uuid, json) as the Python value it stands for.

    Examples
    --------
    >>> python_value('{"a": 1}', "json"), python_value(None, "uuid")
    ({'a': 1}, None)
    """
    if value is None:
        return None
    if type_name == "uuid":
        return uuid.UUID(value)
    if type_name == "json":
        return json.loads(value)
    return value


def unquote(text: str) -> str:
    """A default as written, without the quotes around a string literal."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        quote = text[0]
        return text[1:-1].replace(quote * 2, quote)  # 'it''s' is SQL's way to write it's
    return text


def _parses(read: Callable[[str], object], what: str) -> Callable[[CoreType, str], str | None]:
    def check(core: CoreType, value: str) -> str | None:
        try:
            read(value)
        except (ValueError, ArithmeticError):
            return f"it is not {what}"
        return None

    return check


PORTABLE_WRITING = {
    "int": re.compile(r"\s*[+-]?\d+\s*"),
    "number": re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*"),
    "date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "datetime": re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?"),
}
"""How a default is written so that every engine reads it alike: Python also reads ``1_000``,
``20240101`` and ``2024-01-01 05:00+02:00``, which one engine refuses, or takes and then
fails on every insert, or reads dropping the offset."""


def _portable(kind: str, what: str) -> Callable[[CoreType, str], str | None]:
    """A default check: written as :data:`PORTABLE_WRITING` ``[kind]`` says, else ``what``."""

    def check(core: CoreType, value: str) -> str | None:
        return None if PORTABLE_WRITING[kind].fullmatch(value) else f"write {what}"

    return check


def _both(*checks: Callable[[CoreType, str], str | None]) -> Callable[[CoreType, str], str | None]:
    def check(core: CoreType, value: str) -> str | None:
        return next((p for p in (c(core, value) for c in checks) if p is not None), None)

    return check


def _int_problem(core: CoreType, value: str) -> str | None:
    if not PORTABLE_WRITING["int"].fullmatch(value):
        return "it is not a whole number written with digits only"
    number = int(value)
    bits = INT_RANGES[core.name]
    if not -(2**bits) <= number < 2**bits:
        return f"it is outside the range of {core.name} ({-(2**bits)} to {2**bits - 1})"
    return None


FLOAT_LIMITS = {"float32": 3.4028234663852886e38, "float64": sys.float_info.max}


def _float_problem(core: CoreType, value: str) -> str | None:
    """A float default must be a finite number the type holds (``1e999``, ``inf`` and ``nan``
    are read differently by each engine)."""
    if not PORTABLE_WRITING["number"].fullmatch(value):
        return "it is not a finite number written with digits (and an exponent)"
    number = float(value)
    if not math.isfinite(number) or abs(number) > FLOAT_LIMITS[core.name]:
        return f"it is not a finite number that {core.name} holds"
    return None


def _decimal_problem(core: CoreType, value: str) -> str | None:
    if not PORTABLE_WRITING["number"].fullmatch(value):
        return "it is not a number written with digits"
    try:
        number = decimal.Decimal(value)
    except decimal.InvalidOperation:
        return "it is not a number"
    precision, scale = int(core.args[0]), int(core.args[1])
    if not number.is_finite() or abs(number) >= decimal.Decimal(10) ** (precision - scale):
        return f"it does not fit {core} ({precision - scale} digit(s) before the point)"
    return None


def _length_problem(core: CoreType, value: str) -> str | None:
    limit = core.max_length or 0
    return f"it is longer than {limit} characters" if len(value) > limit else None


def _enum_problem(core: CoreType, value: str) -> str | None:
    return None if value in core.args else f"it is not one of {', '.join(map(str, core.args))}"


def _bool_problem(core: CoreType, value: str) -> str | None:
    return None if value.lower() in BOOL_WORDS else "write true or false"


DEFAULT_CHECKS: dict[str, Callable[[CoreType, str], str | None]] = {
    **dict.fromkeys(INT_RANGES, _int_problem),
    "float32": _float_problem,
    "float64": _float_problem,
    "decimal": _decimal_problem,
    "bool": _bool_problem,
    "uuid": _parses(uuid.UUID, "a UUID such as '12345678-1234-5678-1234-567812345678'"),
    "json": _parses(json.loads, "valid JSON"),
    "date": _both(
        _portable("date", "a date as YYYY-MM-DD, such as '2024-01-31'"),
        _parses(dt.date.fromisoformat, "a date such as '2024-01-31'"),
    ),
    "datetime": _both(
        _portable("datetime", "a datetime as YYYY-MM-DD HH:MM:SS, with no time zone"),
        _parses(dt.datetime.fromisoformat, "a datetime such as '2024-01-31 12:00:00'"),
    ),
    "time": _parses(dt.time.fromisoformat, "a time such as '12:30:00'"),
    "char": _length_problem,
    "varchar": _length_problem,
    "enum": _enum_problem,
}


def default_problem(core: CoreType, text: str) -> str | None:
    """Why a written default cannot be a value of ``core``, or None when it can.

    Examples
    --------
    >>> default_problem(parse_type("int8"), "300")
    'it is outside the range of int8 (-128 to 127)'
    >>> default_problem(parse_type("enum('F','M')"), "'F'") is None
    True
    """
    written = text.strip()
    if written.lower() == "null":
        return None
    if written.upper() in SQL_CLOCKS:
        if core.name in {"date", "datetime"}:
            return None
        return f"{written.upper()} is a default for date and datetime attributes only"
    if core.name == "bytes":
        return "a bytes attribute can only default to null"
    check = DEFAULT_CHECKS.get(core.name)
    return check(core, unquote(written)) if check else None
