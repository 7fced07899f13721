"""The core types of the definition language and how each one maps to SQL, Arrow and Polars.

A :class:`CoreType` is what a definition line names (``varchar(40)``, ``decimal(6,2)``,
``enum('F','M')``). It is portable: the same name declares the same column on DuckDB and
PostgreSQL, and comes back as the same Polars type. Codec types (``<blob>``, ``<npy@>``) are
not core types; they live in :mod:`djframe.codecs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import polars as pl
import pyarrow as pa

from djframe.errors import UnknownTypeError

__all__ = ["CoreType", "parse_type"]

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
}

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
    "real": "float32",
    "boolean": "bool",
    "text": "varchar(n)",
    "string": "varchar(n)",
    "str": "varchar(n)",
    "timestamp": "datetime",
    "blob": "bytes or <blob>",
    "longblob": "bytes or <blob>",
    "numeric": "decimal(p,s)",
    "jsonb": "json",
}

_SIZED = re.compile(r"^(?P<name>char|varchar)\s*\(\s*(?P<n>\d+)\s*\)$", re.I)
_DECIMAL = re.compile(r"^decimal\s*\(\s*(?P<p>\d+)\s*,\s*(?P<s>\d+)\s*\)$", re.I)
_DATETIME = re.compile(r"^datetime\s*(\(\s*(?P<n>\d)\s*\))?$", re.I)
_ENUM = re.compile(r"^enum\s*\((?P<body>.*)\)$", re.I | re.S)
_ENUM_VALUE = re.compile(r"\s*'((?:[^']|'')*)'\s*(,|$)")


@dataclass(frozen=True)
class CoreType:
    """A portable column type: a name and its arguments (length, precision, enum values)."""

    name: str
    args: tuple[int | str, ...] = ()

    def __str__(self) -> str:
        if self.name == "enum":
            return "enum(" + ", ".join(quote_literal(str(v)) for v in self.args) + ")"
        if self.args:
            return f"{self.name}({','.join(str(a) for a in self.args)})"
        return self.name

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
            return SIMPLE[self.name][3 if postgres else 2]
        if self.name == "decimal":
            return f"{'NUMERIC' if postgres else 'DECIMAL'}({self.args[0]},{self.args[1]})"
        if self.name == "datetime":
            precision = f"({self.args[0]})" if postgres and self.args else ""
            return f"TIMESTAMP{precision}"
        if self.name in {"char", "varchar"} and postgres:
            return f"VARCHAR({self.args[0]})"
        return "VARCHAR"

    def check(self, column: str, dialect: str) -> str | None:
        """A CHECK constraint for what the SQL type alone does not enforce, if any."""
        if self.name == "enum":
            values = ", ".join(quote_literal(str(v)) for v in self.args)
            return f"{column} IN ({values})"
        if self.name == "int8" and dialect == "postgres":
            return f"{column} BETWEEN -128 AND 127"
        return None


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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
    if match := _SIZED.match(clean):
        return CoreType(match["name"].lower(), (int(match["n"]),))
    if match := _DECIMAL.match(clean):
        precision, scale = int(match["p"]), int(match["s"])
        if not 0 < precision <= 38 or scale > precision:
            raise UnknownTypeError(
                f"{text!r}: decimal(p,s) needs 1 <= p <= 38 and s <= p on every backend."
            )
        return CoreType("decimal", (precision, scale))
    if match := _DATETIME.match(clean):
        return CoreType("datetime", (int(match["n"]),) if match["n"] else ())
    if match := _ENUM.match(clean):
        return CoreType("enum", parse_enum_values(match["body"], clean))
    raise UnknownTypeError(unknown_type_message(clean))


def unknown_type_message(text: str) -> str:
    base = re.split(r"[\s(]", text.lower(), maxsplit=1)[0]
    hint = SUGGESTIONS.get(base)
    core = "int8 int16 int32 int64 float32 float64 bool uuid json bytes date datetime "
    core += "char(n) varchar(n) decimal(p,s) enum(...)"
    advice = f"Did you mean {hint}? " if hint else ""
    return f"Unknown type {text!r}. {advice}The portable core types are: {core}; codec types are written <name>."
