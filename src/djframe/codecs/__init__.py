"""Codec types: Python values that a SQL column cannot hold, encoded on insert and decoded on fetch.

A codec type is written ``<name>`` in a definition. ``<name@>`` keeps the encoded value in
the schema's default object store and ``<name@store>`` in a named one (see
:mod:`djframe.store`); the SQL row then holds only the object's id. Codecs register
themselves by subclassing :class:`Codec`. This module holds the base class, the registry and
the reading of codec type text; the built-in codecs live in :mod:`djframe.builtin_codecs`,
and applying codecs to whole columns in :mod:`djframe.store.columns`.

Examples
--------
>>> import djframe as dj
>>> class Point(dj.Codec):
...     name = "doc_point"
...     def get_dtype(self, is_store: bool) -> str:
...         return "<blob>"
...     def encode(self, value, **_):
...         return [value.x, value.y]
...     def decode(self, stored, **_):
...         return tuple(stored)
>>> parse_codec("<doc_point>").chain[0].name
'doc_point'
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import metadata
from typing import Any, ClassVar, NamedTuple

from djframe.errors import DataError, DefinitionError, UnknownTypeError

__all__ = [
    "Codec",
    "CodecSpec",
    "Payload",
    "get_codec",
    "is_codec_registered",
    "is_codec_text",
    "list_codecs",
    "lookup_codec",
    "parse_codec",
    "parse_type_spec",
    "resolve_dtype",
    "unregister_codec",
]

_codec_registry: dict[str, Codec] = {}
"""The registered codecs by name: one instance of each class (DataJoint's registry, by the
same name). Deleting a name unregisters it, as :func:`unregister_codec` does."""
ENTRY_POINT_GROUPS = ("djframe.codecs", "datajoint.codecs")
"""Entry-point groups whose codecs are loaded when a codec name is not registered yet: a
package declares ``[project.entry-points."djframe.codecs"] zarr = "dj_zarr:ZarrCodec"``
(DataJoint's group ``datajoint.codecs`` is read too)."""
_entry_points_loaded: list[bool] = []
_CODEC_TEXT = re.compile(
    r"^<\s*(?P<name>[a-z][a-z0-9_]*)\s*(?P<at>@\s*(?P<store>[A-Za-z0-9_][A-Za-z0-9_-]*|))?\s*>$"
)
OBJECT_ID_TYPE = "uuid"
"""The SQL column type of a store-typed attribute: the id of its object in the store."""


class Payload(NamedTuple):
    """What a store codec keeps in the object store: bytes and a small JSON-able ``meta``."""

    data: Any
    """Anything with the buffer protocol (bytes, memoryview, a contiguous numpy array)."""
    meta: dict[str, Any]


class Codec:
    """Base class of codec types; subclassing registers ``<name>``.

    Subclasses set ``name`` and implement :meth:`get_dtype`, :meth:`encode` and
    :meth:`decode` (and may implement :meth:`validate`); a subclass without a ``name`` is an
    abstract base and is not registered. ``get_dtype`` returns a core type
    (``"bytes"``, ``"json"``) or another codec (``"<blob>"``), which then encodes the result.
    Codecs with ``store_only = True`` keep their values in an object store only: their
    ``encode`` returns a :class:`Payload` (or bytes), and ``decode`` receives a :class:`Payload`.
    Codecs with ``takes_payload = True`` work on a :class:`Payload` wherever the value is
    kept: in a row (``<attach>``), the payload is kept as bytes (its ``meta`` as JSON, then
    its data).
    ``class Base(dj.Codec, register=False)`` declares a base class that is not registered.

    As in DataJoint 2.x, ``encode`` and ``decode`` are given only the keywords they declare:
    ``key`` (``encode``: the row's primary key), ``context`` (``schema``, ``table``,
    ``field`` and ``config``; on ``decode``, ``config`` only) and ``store_name`` (``encode``:
    the store of ``<codec@store>``, ``""`` for the default one).
    """

    name: ClassVar[str] = ""
    store_only: ClassVar[bool] = False
    takes_payload: ClassVar[bool] = False
    references_store: ClassVar[bool] = False
    """``<codec@store>`` names the store a value lies in, and the row keeps a reference to
    it (``<filepath@>``): the codec instance gets ``store_name``."""
    store_name: str = ""

    def __init_subclass__(cls, *, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if register and not _deferred and cls.name:
            register_codec(cls)

    def get_dtype(self, is_store: bool) -> str:
        """The type the encoded value has: a core type or ``<codec>``; a codec that keeps
        its values in a store only refuses ``is_store=False``."""
        if self.store_only and not is_store:
            raise DefinitionError(needs_store(self.name))
        return "bytes"

    def validate(self, value: Any) -> None:
        """Raise ``DataError`` (or TypeError/ValueError) if ``value`` cannot be encoded."""

    def encode(self, value: Any, **_: Any) -> Any:
        raise NotImplementedError

    def decode(self, stored: Any, **_: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def _codec_config(
        key: dict[str, Any] | None = None, context: dict[str, Any] | None = None
    ) -> Any:
        """The configuration a codec was given: ``context["config"]``, else the ``_config``
        of ``key`` (DataJoint before 2.3.4 passed it there), else None."""
        if context and context.get("config") is not None:
            return context["config"]
        return (key or {}).get("_config")

    def __repr__(self) -> str:
        return f"<codec <{self.name}> {type(self).__qualname__}>"


_deferred: list[bool] = []
"""Non-empty while codec classes are rebuilt (unpickled) before their body is set."""


@contextmanager
def deferred_registration() -> Iterator[None]:
    """Codec classes made meanwhile are not registered (:func:`register_codec` them after):
    a class rebuilt by unpickling (a codec sent to a populate worker) has no ``name`` yet
    when it is created."""
    _deferred.append(True)
    try:
        yield
    finally:
        _deferred.pop()


def needs_store(name: str) -> str:
    return (
        f"<{name}> requires @: it keeps its values in an object store; write <{name}@> for "
        f"the default store or <{name}@name> for a named one."
    )


def register_codec(cls: type[Codec]) -> None:
    """Register ``cls`` as ``<cls.name>`` (subclassing :class:`Codec` does this). Defining a
    class of the same name and qualified name again (a re-run notebook cell) replaces it."""
    if not cls.name or not re.match(r"^[a-z][a-z0-9_]*$", cls.name):
        raise DefinitionError(
            f"Codec {cls.__name__} needs a name of lowercase letters, digits and underscores "
            "(class attribute `name`), e.g. name = 'graph' to be used as <graph>."
        )
    known = _codec_registry.get(cls.name)
    if known is not None and type(known).__qualname__ != cls.__qualname__:
        kind = type(known)
        raise DefinitionError(
            f"Codec <{cls.name}> is already registered by {kind.__module__}.{kind.__qualname__}; "
            f"choose another name for {cls.__qualname__}."
        )
    _codec_registry[cls.name] = cls()
    parse_codec.cache_clear()


def unregister_codec(name: str) -> None:
    """Remove the codec ``name`` (``"graph"`` or ``"<graph>"``) from the registry."""
    bare = parse_type_spec(name)[0]
    if bare not in _codec_registry:
        raise UnknownTypeError(f"Codec <{bare}> is not registered; nothing to unregister.")
    del _codec_registry[bare]
    parse_codec.cache_clear()


def registered_codecs() -> list[type[Codec]]:
    """The registered codec classes."""
    return [type(codec) for codec in _codec_registry.values()]


def load_entry_points() -> None:
    """Register the codecs that installed packages declare in :data:`ENTRY_POINT_GROUPS`
    (once per process); a codec that fails to load is skipped with a warning."""
    if _entry_points_loaded:
        return
    _entry_points_loaded.append(True)
    for group in ENTRY_POINT_GROUPS:
        for entry in metadata.entry_points(group=group):
            if entry.name in _codec_registry:
                continue
            try:
                loaded = entry.load()  # a Codec subclass registers itself on import
            except Exception as exc:
                warnings.warn(
                    f"The codec <{entry.name}> of entry point {entry.value!r} ({group}) does "
                    f"not load: {type(exc).__name__}: {exc}",
                    stacklevel=3,
                )
                continue
            named = isinstance(loaded, type) and issubclass(loaded, Codec) and loaded.name
            if named and loaded.name not in _codec_registry:
                register_codec(loaded)


def known(name: str) -> bool:
    """Whether the codec ``name`` is registered, loading, for a name not registered yet, the
    codecs of installed packages (the built-ins register as ``djframe`` is imported)."""
    if name not in _codec_registry:
        load_entry_points()
    return name in _codec_registry


def get_codec(name: str) -> Codec:
    """The registered codec ``name``: ``"blob"``, ``"<blob>"`` or ``"<blob@store>"`` (the
    store is ignored). The same instance every time.

    Examples
    --------
    >>> get_codec("<npy@>") is get_codec("npy")
    True
    """
    bare = parse_type_spec(name)[0]
    if known(bare):
        return _codec_registry[bare]
    raise UnknownTypeError(
        f"Unknown codec <{bare}>. Registered codecs: "
        f"{', '.join(f'<{n}>' for n in sorted(_codec_registry))}. Declare your own by "
        "subclassing dj.Codec with name = '" + bare + "'."
    )


def is_codec_registered(name: str) -> bool:
    """Whether a codec ``name`` (with or without brackets and store) is registered."""
    return known(parse_type_spec(name)[0])


def lookup_codec(text: str) -> tuple[Codec, str | None]:
    """The codec of ``<name@store>`` and its store (None without ``@``, ``""`` for ``@``)."""
    name, store = parse_type_spec(text)
    return get_codec(name), store


def list_codecs() -> list[str]:
    """The names of every registered codec (the codecs of installed packages too), sorted."""
    load_entry_points()
    return sorted(_codec_registry)


def parse_type_spec(text: str) -> tuple[str, str | None]:
    """``"<blob@cold>"`` -> ``("blob", "cold")``; ``"<blob@>"`` -> ``("blob", "")``;
    ``"blob"`` -> ``("blob", None)``. Brackets are optional.

    Examples
    --------
    >>> parse_type_spec("<npy@>"), parse_type_spec("graph")
    (('npy', ''), ('graph', None))
    """
    bare = text.strip().removeprefix("<").removesuffix(">").strip()
    name, at, store = bare.partition("@")
    return name.strip(), store.strip() if at else None


def resolve_dtype(dtype: str, store_name: str | None = None) -> tuple[str, list[Codec], str | None]:
    """The SQL column type of ``dtype``, its codecs (outermost first) and its store.

    A core type resolves to itself. ``store_name`` applies to a codec written without ``@``.
    A value kept in a store leaves its object's id in the row: the column type is ``uuid``
    (DataJoint keeps JSON metadata there), except for ``<filepath@>``, whose row keeps the
    path as JSON.

    Examples
    --------
    >>> final, chain, store = resolve_dtype("<blob@cold>")
    >>> final, [c.name for c in chain], store
    ('uuid', ['blob', 'hash'], 'cold')
    >>> resolve_dtype("float64")
    ('float64', [], None)
    """
    text = dtype.strip()
    if not is_codec_text(text):
        return text, [], store_name
    name, store = parse_type_spec(text)
    if store is None and store_name is not None:
        text, store = f"<{name}@{store_name}>", store_name
    spec = parse_codec(text)
    return spec.dtype, list(spec.chain), store


def is_codec_text(text: str) -> bool:
    return text.strip().startswith("<")


@dataclass(frozen=True)
class CodecSpec:
    """A resolved codec type: the codecs applied in order (outermost first) and the store.

    ``store`` is None for values kept in the row, ``""`` for the default store and a name
    for a named store. ``dtype`` is the core type of the SQL column.
    """

    text: str
    chain: tuple[Codec, ...]
    store: str | None
    dtype: str

    @property
    def in_store(self) -> bool:
        return self.store is not None

    @cached_property
    def encoders(self) -> tuple[tuple[Codec, tuple[str, ...]], ...]:
        """Each codec of the chain with the keywords its ``encode`` declares."""
        return tuple((c, declared_keywords(type(c).encode)) for c in self.chain)

    @cached_property
    def decoders(self) -> tuple[tuple[Codec, bool], ...]:
        """Each codec, innermost first, and whether its ``decode`` declares ``context``."""
        return tuple((c, "context" in declared_keywords(type(c).decode)) for c in self.chain[::-1])

    def wants_key(self) -> bool:
        """Whether a codec of the chain declares ``key`` (then :meth:`encode` needs it)."""
        return any("key" in names for _, names in self.encoders)

    def encode(
        self,
        value: Any,
        *,
        key: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> Any:
        """``value`` through the chain; ``key`` and ``context`` go to the codecs that
        declare them."""
        for codec, names in self.encoders:
            try:
                codec.validate(value)
                if not names:
                    value = codec.encode(value)
                elif names == CONTEXT_ONLY:  # the built-ins: no dict per value
                    value = codec.encode(value, context=context)
                else:
                    given = {"key": key, "context": context, "store_name": self.store}
                    value = codec.encode(value, **{name: given[name] for name in names})
            except DataError:
                raise
            except (TypeError, ValueError, OSError) as exc:
                raise DataError(
                    f"{self.text} cannot encode a {type(value).__name__}: {exc}"
                ) from None
        if self.in_store and not isinstance(value, Payload):
            value = Payload(as_buffer(value, self.text), {})
        if not self.in_store and isinstance(value, Payload):
            value = payload_bytes(value)
        return value

    def decode(self, stored: Any, *, context: dict[str, Any] | None = None) -> Any:
        """The stored value through the chain, innermost codec first."""
        value = stored
        for position, (codec, with_context) in enumerate(self.decoders):
            innermost = position == 0
            takes = codec.store_only or codec.takes_payload
            if innermost and isinstance(value, Payload) and not takes:
                value = bytes(value.data)
            elif innermost and codec.takes_payload and not isinstance(value, Payload):
                value = payload_of(value)
            value = codec.decode(value, context=context) if with_context else codec.decode(value)
        return value


CALL_KEYWORDS = ("key", "context", "store_name")
"""The keywords a codec's ``encode``/``decode`` is given if it declares them."""
CONTEXT_ONLY = ("context",)


@cache
def declared_keywords(function: Any) -> tuple[str, ...]:
    """Which of :data:`CALL_KEYWORDS` ``function`` declares (not through ``**kwargs``);
    cached per function, as it is asked for every value."""
    parameters = inspect.signature(function).parameters
    return tuple(name for name in CALL_KEYWORDS if name in parameters)


def located(payload: Payload, oid: str, store: str | None) -> Payload:
    """``payload`` with the object's id and store added to its meta (``oid``, ``store``),
    as decoding codecs get it: an ``ObjectRef`` names its object by them."""
    return Payload(payload.data, {**payload.meta, "oid": oid, "store": store})


def payload_bytes(payload: Payload) -> bytes:
    """A payload kept in a row: its meta as JSON, a NUL, then its data."""
    return json.dumps(payload.meta).encode() + b"\0" + bytes(payload.data)


def payload_of(stored: bytes | memoryview) -> Payload:
    """The payload :func:`payload_bytes` kept in a row."""
    data = bytes(stored)
    head, _, body = data.partition(b"\0")
    return Payload(body, json.loads(head))


def referencing_spec(text: str, codec: Codec, store: str | None) -> CodecSpec:
    """The spec of a codec whose ``@store`` says where its values lie (kept in the row)."""
    if store is None:
        raise DefinitionError(
            f"<{codec.name}> refers to files in a store: write <{codec.name}@> for the default "
            f"store or <{codec.name}@name> for a named one."
        )
    codec = copy.copy(codec)  # the registered instance is shared
    codec.store_name = store
    return CodecSpec(text.strip(), (codec,), None, codec.get_dtype(True).strip())


def as_buffer(value: Any, text: str) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return value
    raise DataError(
        f"{text}: the encoded value must be bytes to go to a store, not {type(value).__name__}."
    )


def parse_codec_text(text: str) -> tuple[str, str | None]:
    match = _CODEC_TEXT.match(text.strip())
    if not match:
        raise UnknownTypeError(
            f"Cannot read the codec type {text!r}: write <name>, <name@> (default store) or "
            "<name@store> (a named store), e.g. <blob> or <npy@>."
        )
    return match["name"], (match["store"] or "") if match["at"] else None


@lru_cache(maxsize=512)
def parse_codec(text: str) -> CodecSpec:
    """Resolve ``<name>``/``<name@>``/``<name@store>`` to its codec chain and column type.

    Examples
    --------
    >>> spec = parse_codec("<npy@>")
    >>> spec.store, spec.dtype
    ('', 'uuid')
    >>> parse_codec("<blob>").dtype
    'bytes'
    """
    name, store = parse_codec_text(text)
    chain: list[Codec] = []
    current = f"<{name}>"
    while True:
        codec = get_codec(parse_codec_text(current)[0])
        if any(c.name == codec.name for c in chain):
            names = " -> ".join(f"<{c.name}>" for c in [*chain, codec])
            raise DefinitionError(f"Circular codec reference in {text}: {names}.")
        if codec.references_store:
            return referencing_spec(text, codec, store)
        if codec.store_only and store is None:
            raise DefinitionError(needs_store(codec.name))
        chain.append(codec)
        current = codec.get_dtype(store is not None).strip()
        if not is_codec_text(current):
            break
    if store is not None:
        if current != "bytes":
            raise DefinitionError(
                f"{text}: only codecs that encode to bytes can use a store; <{chain[-1].name}> "
                f"encodes to {current}."
            )
        return CodecSpec(text.strip(), tuple(chain), store, OBJECT_ID_TYPE)
    return CodecSpec(text.strip(), tuple(chain), None, current)
