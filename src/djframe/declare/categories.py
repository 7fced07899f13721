"""What kind of type a definition names: DataJoint's type categories, read by djframe's parser.

DataJoint 2.3.5 sorts every attribute type into a category (``datajoint.declare.match_type``):
a core type is its own name in capitals (``INT32``, ``VARCHAR``, ``DECIMAL``), a codec type
``<...>`` is ``CODEC``, and a native SQL type is its family (``INTEGER``, ``FLOAT``,
``NUMERIC``, ``TEMPORAL``, ``NATIVE_BLOB``, ``NATIVE_TEXT``). djframe answers with the parser
that declares tables (:func:`djframe.types.parse_type`, :func:`djframe.types.native_type`), so
a type classifies here exactly when a definition may use it.
"""

from __future__ import annotations

import re

from djframe.types import CORE_TYPES, native_type, parse_type

__all__ = ["CORE_TYPES", "CORE_TYPE_SQL", "NATIVE_TYPES", "SPECIAL_TYPES", "match_type"]

_CODEC = re.compile(r"<.+>", re.S)

SPECIAL_TYPES = frozenset(name.upper() for name in CORE_TYPES) | {"CODEC"}
"""The portable categories: the core types and the codec types."""

NATIVE_TYPES = frozenset({"INTEGER", "FLOAT", "NUMERIC", "TEMPORAL", "NATIVE_BLOB", "NATIVE_TEXT"})
"""The categories of native SQL types, each stored as a core type with a portability warning."""

_EXAMPLES = {"char": "char(1)", "varchar": "varchar(1)", "decimal": "decimal(1,0)"}
_EXAMPLES["enum"] = "enum('a')"
CORE_TYPE_SQL: dict[str, dict[str, str]] = {
    name: {
        dialect: parse_type(_EXAMPLES.get(name, name)).sql(dialect).split("(")[0]
        for dialect in ("duckdb", "postgres")
    }
    for name in CORE_TYPES
}
"""The SQL type each core type is stored as, per backend (sizes left out: ``varchar`` is
``VARCHAR``). DataJoint's table of the same name gives the MySQL type."""


def match_type(attribute_type: str) -> str:
    """The category of a type as a definition writes it; raises if no definition may use it.

    Raises
    ------
    UnknownTypeError
        ``attribute_type`` is neither a core, a codec nor a native type (``int24``, ``uint8``),
        or is one with arguments out of range (``varchar(0)``); the message says what to write.

    Examples
    --------
    >>> match_type("float32"), match_type("varchar(255)"), match_type("<blob@cold>")
    ('FLOAT32', 'VARCHAR', 'CODEC')
    >>> match_type("int unsigned"), match_type("decimal(5)"), match_type("longtext")
    ('INTEGER', 'NUMERIC', 'NATIVE_TEXT')
    """
    text = " ".join(attribute_type.split())
    if _CODEC.fullmatch(text):
        return "CODEC"
    native = native_type(text)
    if native is not None:
        return native.family
    return parse_type(text).name.upper()
