"""Attributes and headings: the names, types, keys and lineage of a table or an expression.

A :class:`Heading` is immutable. Tables get theirs from the catalog; every operator of the
algebra derives its result's heading from its operands', carrying each attribute's lineage
along, so semantic matching can be checked before any SQL is built.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from djframe.errors import MissingAttributeError
from djframe.types import CoreType, NativeType, native_type, parse_type

__all__ = ["Attribute", "Heading"]

STRINGS = frozenset({"char", "varchar", "enum"})


@dataclass(frozen=True)
class Attribute:
    """One column of a table or expression.

    ``lineage`` is ``"schema.table.attribute"`` where the values originate, or None for
    native secondary and computed attributes. ``codec`` is the codec type as declared
    (``"<npy@>"``), whose SQL column has type ``type``; ``object_table`` (``schema.table``)
    names the table whose object store keeps the values of a store-typed attribute.
    ``native`` is the native SQL type a definition wrote (``int unsigned``), which ``type``
    holds (see :func:`djframe.types.native_type`).
    """

    name: str
    type: CoreType | None
    in_key: bool = False
    nullable: bool = False
    default: str | None = None
    comment: str = ""
    lineage: str | None = None
    codec: str | None = None
    object_table: str | None = None
    native: str | None = None

    @property
    def native_type(self) -> NativeType | None:
        return native_type(self.native) if self.native else None

    @property
    def auto_increment(self) -> bool:
        """Whether the table numbers this attribute itself when a row leaves it out."""
        native = self.native_type
        return native is not None and native.auto_increment

    @property
    def dtype(self) -> Any:
        """The numpy type of the attribute's field in a structured array, as DataJoint gives
        it: float64 for floats, int64 for integers that cannot be null, bool for booleans that
        cannot be null, else object (a codec's values, strings, dates ...)."""
        kind = self.type.name if self.type is not None and self.codec is None else None
        if kind in {"float32", "float64"}:
            return np.float64
        if kind in {"int8", "int16", "int32", "int64"} and not self.nullable:
            return np.int64
        if kind == "bool" and not self.nullable:
            return np.bool_
        return object

    @property
    def is_blob(self) -> bool:
        """Whether the column holds bytes (``bytes``, ``longblob``, or a codec kept in the row
        as bytes, such as ``<blob>``), as DataJoint's ``Attribute.is_blob``."""
        return self.type is not None and self.type.name == "bytes"

    @property
    def original_type(self) -> str:
        """The type as the definition wrote it: the codec (``<blob>``), the native type
        (``int unsigned``) or the core type (``uuid``)."""
        return self.codec or self.native or self.type_name

    @property
    def numeric(self) -> bool:
        """Whether the values are numbers (an integer, float or decimal type), as DataJoint's
        ``Attribute.numeric``."""
        return self.codec is None and self.type is not None and self.type.is_numeric

    @property
    def string(self) -> bool:
        """Whether the values are strings (``char``, ``varchar``, ``enum``, native texts)."""
        return self.codec is None and self.type is not None and self.type.name in STRINGS

    @property
    def type_name(self) -> str:
        if self.codec:
            return self.codec
        return str(self.type) if self.type is not None else "computed"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = str(self.type) if self.type is not None else None
        if self.native is None:
            del data["native"]  # catalogs without native types stay readable by older djframe
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Attribute:
        fields = dict(data)
        fields["type"] = parse_type(fields["type"]) if fields.get("type") else None
        return cls(**fields)


class Heading:
    """The ordered attributes of a relation, primary key first.

    Examples
    --------
    >>> from djframe.types import parse_type
    >>> h = Heading([Attribute("id", parse_type("int32"), in_key=True),
    ...              Attribute("name", parse_type("varchar(20)"))])
    >>> h.primary_key, h.secondary_attributes
    (['id'], ['name'])
    """

    def __init__(self, attributes: Iterable[Attribute]) -> None:
        attrs = list(attributes)
        ordered = [a for a in attrs if a.in_key] + [a for a in attrs if not a.in_key]
        self._attributes: dict[str, Attribute] = {a.name: a for a in ordered}

    @property
    def attributes(self) -> dict[str, Attribute]:
        return dict(self._attributes)

    @property
    def names(self) -> list[str]:
        return list(self._attributes)

    @property
    def as_dtype(self) -> np.dtype:
        """The numpy structured dtype of rows of this heading (see :attr:`Attribute.dtype`)."""
        return np.dtype([(a.name, a.dtype) for a in self])

    @property
    def primary_key(self) -> list[str]:
        return [n for n, a in self._attributes.items() if a.in_key]

    @property
    def secondary_attributes(self) -> list[str]:
        return [n for n, a in self._attributes.items() if not a.in_key]

    def __getitem__(self, name: str) -> Attribute:
        try:
            return self._attributes[name]
        except KeyError:
            raise MissingAttributeError(
                f"Attribute {name!r} is not in the heading; the attributes are "
                f"{', '.join(self.names) or '(none)'}."
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._attributes

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self._attributes.values())

    def __len__(self) -> int:
        return len(self._attributes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Heading) and list(self) == list(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def determines(self, other: Heading) -> bool:
        """True when every primary-key attribute of ``other`` is an attribute here."""
        return all(name in self for name in other.primary_key)

    def with_key(self, key: Iterable[str]) -> Heading:
        keys = list(key)
        rest = [replace(a, in_key=False) for a in self if a.name not in keys]
        return Heading([replace(self[k], in_key=True) for k in keys] + rest)

    def __repr__(self) -> str:
        lines = []
        for attr in self:
            comment = f"  # {attr.comment}" if attr.comment else ""
            default = "" if attr.default is None else f" = {attr.default}"
            lines.append(f"{attr.name + default:<20} : {attr.type_name}{comment}")
        lines.insert(len(self.primary_key), "---")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>"
            f"<td>{'<b>' + html.escape(a.name) + '</b>' if a.in_key else html.escape(a.name)}</td>"
            f"<td>{html.escape(a.type_name)}</td>"
            f"<td>{'' if a.default is None else html.escape(a.default)}</td>"
            f"<td>{html.escape(a.lineage or '')}</td>"
            f"<td>{html.escape(a.comment)}</td></tr>"
            for a in self
        )
        head = "<tr><th>attribute</th><th>type</th><th>default</th><th>lineage</th><th>comment</th></tr>"
        return f"<table>{head}{rows}</table>"
