"""Turn parsed definition specs into a :class:`~djframe.catalog.TableInfo`.

Here names are resolved: ``-> Parent`` is evaluated in the declaring module's namespace, its
primary key is inherited (renamed where ``.proj(new='old')`` says so) together with its
lineage, and the heading is checked for what the database alone would not catch.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping
from typing import Any

from djframe._typing import Tier
from djframe.catalog import JOBS_PREFIX, PROVENANCE_PREFIX, ForeignKey, TableInfo
from djframe.codecs import parse_codec
from djframe.declare.parser import AttributeSpec, Definition, ForeignKeySpec
from djframe.errors import DefinitionError, DjframeError
from djframe.heading import Attribute, Heading
from djframe.settings import config
from djframe.store import named_store
from djframe.types import default_problem, parse_type, read_type, unquote

__all__ = ["resolve_definition"]

MAX_NAME = 63
logger = logging.getLogger("djframe")
_BARE = re.compile(r"^[^\s'\"]+$")


def foreign_key_source(ref: str, value: Any, where: str) -> tuple[TableInfo, dict[str, str]]:
    """The parent table a ``->`` line names, and its renames (new name -> parent name)."""
    if isinstance(value, type) and hasattr(value, "_foreign_key_source"):
        value = value()  # a table class stands for its table
    source = getattr(value, "_foreign_key_source", None)
    result = source() if callable(source) else None
    if result is None:
        raise DefinitionError(
            f"{where}: '-> {ref}' must name a declared table or a renaming projection of one, "
            f"such as '-> Person.proj(parent=\"person_id\")'; it names {type(value).__name__}."
        )
    twice = sorted({old for old in result[1].values() if list(result[1].values()).count(old) > 1})
    if twice:
        raise DefinitionError(
            f"{where}: '-> {ref}' renames {', '.join(map(repr, twice))} more than once; a foreign "
            "key takes each attribute of the parent's key once. Reference the parent once per "
            "name instead (one '->' line each)."
        )
    return result


def evaluate_reference(ref: str, context: Mapping[str, Any], where: str) -> Any:
    try:
        return eval(ref, {}, dict(context))  # the definition language's `-> Expr` is Python
    except DjframeError as exc:
        raise DefinitionError(f"{where}: '-> {ref}' is not a valid reference: {exc}") from None
    except Exception as exc:
        raise DefinitionError(
            f"{where}: cannot resolve '-> {ref}' ({type(exc).__name__}: {exc}). Declare the "
            "parent first and make sure its name is visible in the module that declares this table."
        ) from None


def inherited_attributes(
    spec: ForeignKeySpec, parent: TableInfo, renames: dict[str, str], where: str
) -> tuple[list[Attribute], ForeignKey]:
    unknown = set(renames.values()) - set(parent.heading.primary_key)
    if unknown:
        raise DefinitionError(
            f"{where}: '-> {spec.ref}' renames {sorted(unknown)}, which are not primary-key "
            f"attributes of {parent.class_name} ({', '.join(parent.heading.primary_key)})."
        )
    new_name = {old: new for new, old in renames.items()}
    attributes, attr_map = [], {}
    for name in parent.heading.primary_key:
        origin = parent.heading[name]
        child_name = new_name.get(name, name)
        attr_map[child_name] = name
        attributes.append(
            Attribute(
                name=child_name,
                type=origin.type,
                in_key=spec.in_key,
                nullable=spec.nullable,
                default="null" if spec.nullable else None,
                comment=origin.comment,
                lineage=origin.lineage or f"{parent.full_name}.{name}",
            )
        )
    fk = ForeignKey(parent.full_name, attr_map, spec.in_key, spec.nullable, spec.unique)
    return attributes, fk


def codec_attribute(spec: AttributeSpec, schema: str, table: str, where: str) -> Attribute:
    """An attribute of a codec type: its SQL column has the codec's type (an object id for
    store types), and it remembers the codec and the table whose store keeps its objects."""
    try:
        codec = parse_codec(spec.type_text)
        if codec.store:
            named_store(codec.store)
    except DjframeError as exc:
        kind = type(exc) if isinstance(exc, DefinitionError) else DefinitionError
        raise kind(f"{where}, attribute {spec.name!r}: {exc}") from None
    if spec.in_key:
        raise DefinitionError(
            f"{where}: {codec.text} attribute {spec.name!r} cannot be in the primary key; "
            "move it below '---'."
        )
    if spec.default is not None and not spec.nullable:
        raise DefinitionError(
            f"{where}: {codec.text} attribute {spec.name!r} can only default to null."
        )
    return Attribute(
        name=spec.name,
        type=parse_type(codec.dtype),
        nullable=spec.nullable,
        default=spec.default,
        comment=spec.comment,
        codec=codec.text,
        object_table=f"{schema}.{table}" if codec.in_store else None,
    )


def native_attribute(spec: AttributeSpec, schema: str, table: str, where: str) -> Attribute:
    if spec.type_text.startswith("<"):
        return codec_attribute(spec, schema, table, where)
    try:
        core, native = read_type(spec.type_text)
    except DefinitionError as exc:
        raise type(exc)(f"{where}, attribute {spec.name!r}: {exc}") from None
    if native is not None:
        logger.warning(f"{where}: {native.warning(spec.name)}")
        check_auto_increment(spec, native.auto_increment, where)
    if spec.in_key and spec.nullable:
        raise DefinitionError(
            f"{where}: primary-key attribute {spec.name!r} cannot default to null; "
            "a key must always have a value."
        )
    if spec.in_key and core.name in {"json", "bytes"}:
        raise DefinitionError(
            f"{where}: {core.name} attribute {spec.name!r} cannot be in the primary key."
        )
    attribute = Attribute(
        name=spec.name,
        type=core,
        in_key=spec.in_key,
        nullable=spec.nullable,
        default=spec.default,
        comment=spec.comment,
        lineage=f"{schema}.{table}.{spec.name}" if spec.in_key else None,
        native=native.text if native is not None else None,
    )
    check_default(attribute, where)
    return attribute


def check_auto_increment(spec: AttributeSpec, auto: bool, where: str) -> None:
    """An auto_increment attribute numbers the rows: it is in the primary key, with no default."""
    if auto and not spec.in_key:
        raise DefinitionError(
            f"{where}: auto_increment attribute {spec.name!r} must be in the primary key "
            "(above '---'), as MySQL requires of an auto column."
        )
    if auto and spec.default is not None:
        raise DefinitionError(
            f"{where}: auto_increment attribute {spec.name!r} cannot have a default; "
            "the table numbers it."
        )


def check_default(attr: Attribute, where: str) -> None:
    """Refuse a default that is not a value of the attribute's type, before any SQL runs."""
    if attr.default is None or attr.type is None:
        return
    text = attr.default.strip()
    problem: str | None
    if not _BARE.match(text) and unquote(text) == text:
        problem = "write a number, a quoted string, true/false, null or CURRENT_TIMESTAMP"
    else:
        problem = default_problem(attr.type, text)
    if problem:
        raise DefinitionError(
            f"{where}: the default {text!r} of attribute {attr.name!r} ({attr.type}) is not "
            f"valid: {problem}. Change the default, or the type."
        )


def resolve_definition(
    definition: Definition,
    *,
    schema: str,
    name: str,
    class_name: str,
    tier: Tier,
    text: str,
    context: Mapping[str, Any],
    master: str | None = None,
) -> TableInfo:
    """Resolve a parsed definition in ``context`` into the table's catalog entry."""
    where = f"In the definition of {class_name}"
    check_length(f"the table name {name!r}", where)
    check_companion_names(name, tier, where)
    attributes = Attributes(where)
    foreign_keys: list[ForeignKey] = []
    for item in definition.items:
        if isinstance(item, ForeignKeySpec):
            value = evaluate_reference(item.ref, context, where)
            parent, renames = foreign_key_source(item.ref, value, where)
            inherited, fk = inherited_attributes(item, parent, renames, where)
            for attr in inherited:
                attributes.add(attr, f"'-> {item.ref}'")
            foreign_keys.append(fk)
        else:
            attributes.add(native_attribute(item, schema, name, where), "this definition")
    check_indexes(definition, attributes.listed, where)
    check_one_auto_increment(attributes.listed, where)
    heading = Heading(attributes.listed)
    if tier in {"imported", "computed"}:
        check_auto_populated_key(heading, foreign_keys, where)
    return TableInfo(
        schema=schema,
        name=name,
        class_name=class_name,
        tier=tier,
        heading=heading,
        definition=text,
        comment=definition.comment,
        foreign_keys=foreign_keys,
        indexes=definition.indexes,
        master=master,
        singleton=not heading.primary_key,
    )


def check_companion_names(name: str, tier: Tier, where: str) -> None:
    """An auto-populated table's job queue and provenance are named with a prefix: its own
    name must leave room for the longest one, or populate fails where declaring passed."""
    if tier not in {"imported", "computed"}:
        return
    longest = max(JOBS_PREFIX, PROVENANCE_PREFIX, key=len)
    if len((longest + name).encode()) > MAX_NAME:
        raise DefinitionError(
            f"{where}: the table name {name!r} is {len(name.encode())} characters long; an "
            f"auto-populated table's name is at most {MAX_NAME - len(longest)} characters, so "
            f"that its provenance table ({longest!r} + name) fits PostgreSQL's limit of "
            f"{MAX_NAME}. Choose a shorter class name."
        )


def check_length(what: str, where: str) -> None:
    """PostgreSQL cuts longer identifiers short, so such names are refused on every backend."""
    name = what.split("'")[1]
    if len(name.encode()) > MAX_NAME:
        raise DefinitionError(
            f"{where}: {what} is {len(name.encode())} characters long; names are at most "
            f"{MAX_NAME} characters (PostgreSQL's limit). Choose a shorter name."
        )


class Attributes:
    """The attributes of a definition as they are declared, with where each one came from.

    An attribute that arrives again through another foreign key with the same lineage (the
    diamond ``-> Session``, ``-> Probe`` sharing ``subject_id``) is the same attribute: it is
    kept once, as first declared, as DataJoint does. The same name with another lineage is an
    error naming both sources.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self.by_name: dict[str, tuple[Attribute, str]] = {}

    @property
    def listed(self) -> list[Attribute]:
        return [attr for attr, _ in self.by_name.values()]

    def add(self, attr: Attribute, source: str) -> None:
        check_length(f"the attribute name {attr.name!r}", self.where)
        known = self.by_name.get(attr.name)
        if known is None:
            self.by_name[attr.name] = (attr, source)
        elif known[0].lineage is None or known[0].lineage != attr.lineage:
            raise DefinitionError(self.clash(attr, source, *known))

    def clash(self, attr: Attribute, source: str, first: Attribute, first_source: str) -> str:
        name = attr.name
        if first_source == source == "this definition":
            return f"{self.where}: attribute {name!r} is declared twice. Remove one of them."
        return (
            f"{self.where}: attribute {name!r} is declared twice, with different lineages: "
            f"from {first_source} ({first.lineage or 'no lineage'}) and from {source} "
            f"({attr.lineage or 'no lineage'}). Namesakes are one attribute only when they "
            f"originate in the same table; {rename_hint(source, name)}."
        )


def rename_hint(source: str, name: str) -> str:
    """How to rename ``name`` where it arrives from ``source`` (a ``'-> Ref'`` or not)."""
    ref = source[len("'-> ") : -1] if source.startswith("'-> ") else None
    if ref is None:
        return f"rename the attribute {name!r} declared here"
    if ".proj(" in ref:
        return f"rename {name!r} in the .proj() of '-> {ref}'"
    return f"rename it: '-> {ref}.proj(other_{name}=\"{name}\")'"


def check_one_auto_increment(attributes: list[Attribute], where: str) -> None:
    autos = [a.name for a in attributes if a.auto_increment]
    if len(autos) > 1:
        raise DefinitionError(
            f"{where}: {autos} are all auto_increment; a table numbers its rows with one "
            "attribute only."
        )


def check_indexes(definition: Definition, attributes: list[Attribute], where: str) -> None:
    names = {a.name for a in attributes}
    for index in definition.indexes:
        missing = [a for a in index.attributes if a not in names]
        if missing:
            raise DefinitionError(
                f"{where}: index({', '.join(index.attributes)}) names unknown attribute(s) {missing}."
            )


ALLOW_NEW_KEY = "jobs.allow_new_pk_fields_in_computed_tables"


def check_auto_populated_key(heading: Heading, foreign_keys: list[ForeignKey], where: str) -> None:
    """A Computed or Imported table's key comes from its parents, so that make is called once
    per row; DataJoint's opt-in setting lets a make insert several rows of its own key.

    Without the opt-in, the table is declared with a warning: DataJoint 2.3.5 documents a
    refusal but declares such tables anyway (its check is never reached), and pipelines
    written for it have them."""
    inherited = {name for fk in foreign_keys if fk.in_key for name in fk.attr_map}
    native = [name for name in heading.primary_key if name not in inherited]
    if native and not config[ALLOW_NEW_KEY]:
        warnings.warn(
            f"{where}: the primary key of a Computed or Imported table should come from its "
            f"parents only, but {native} are declared in it; each make inserts several rows. "
            f"Move them below '---', or put the rows that need them in a Part table, or set "
            f"dj.config[{ALLOW_NEW_KEY!r}] = True to declare this without a warning.",
            UserWarning,
            stacklevel=2,
        )
