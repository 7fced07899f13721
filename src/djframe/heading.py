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
from djframe.types import CoreType, NativeType, native_type, parse_type, read_type

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attribute:
        """An attribute from a DataJoint-style attribute dictionary (``name``, ``type``,
        ``in_key``, ``nullable``, ``default``, ``comment``, ``lineage``, ``codec``, and the
        declared ``original_type``). The type may be a core type (``int32``) or a native one
        (``int``); keys DataJoint derives from the type (``numeric``, ``is_blob``, ``dtype``
        ...) are derived here too, so they are not read.

        Examples
        --------
        >>> a = Attribute.from_dict({"name": "x", "type": "int", "in_key": True})
        >>> a.type_name, a.native, a.in_key, a.numeric
        ('int32', 'int', True, True)
        """
        declared = data.get("original_type") or data.get("type")
        core, native = read_type(declared) if declared else (None, None)
        codec = data.get("codec")
        return cls(
            name=data["name"],
            type=core,
            in_key=bool(data.get("in_key", False)),
            nullable=bool(data.get("nullable", False)),
            default=data.get("default"),
            comment=data.get("comment") or "",
            lineage=data.get("lineage"),
            codec=codec if codec is None or isinstance(codec, str) else f"<{codec.name}>",
            native=native.text if native is not None else None,
        )


class Heading:
    """The ordered attributes of a relation, primary key first.

    The attributes may be :class:`Attribute` s or DataJoint-style attribute dictionaries
    (see :meth:`Attribute.from_dict`).

    Examples
    --------
    >>> from djframe.types import parse_type
    >>> h = Heading([Attribute("id", parse_type("int32"), in_key=True),
    ...              Attribute("name", parse_type("varchar(20)"))])
    >>> h.primary_key, h.secondary_attributes
    (['id'], ['name'])
    """

    def __init__(self, attributes: Iterable[Attribute | Mapping[str, Any]]) -> None:
        attrs = [a if isinstance(a, Attribute) else Attribute.from_dict(a) for a in attributes]
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

    def join_key(self, other: Heading, nullable_pk: bool = False) -> list[str]:
        """The primary key of ``self * other`` (DataJoint 2.x): this key if this heading
        determines ``other``, ``other``'s if only ``other`` determines this one, else the
        union (this key first). ``nullable_pk`` asks for the union always, as for a join whose
        right operand's key may be null."""
        if not nullable_pk and self.determines(other):
            return self.primary_key
        if not nullable_pk and other.determines(self):
            return other.primary_key
        return self.primary_key + [k for k in other.primary_key if k not in self.primary_key]

    def join(self, other: Heading, nullable_pk: bool = False) -> Heading:
        """The heading of ``self * other``: this heading's attributes, then ``other``'s that
        are not namesakes, with the key of :meth:`join_key` first.

        Examples
        --------
        >>> session = Heading([{"name": "session", "type": "int32", "in_key": True}])
        >>> trial = Heading([{"name": "session", "type": "int32", "in_key": True},
        ...                  {"name": "trial", "type": "int32", "in_key": True}])
        >>> session.join(trial).primary_key
        ['session', 'trial']
        """
        extra = [attr for attr in other if attr.name not in self]
        return Heading(list(self) + extra).with_key(self.join_key(other, nullable_pk))

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
