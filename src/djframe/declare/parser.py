"""Read the text of a table definition into plain specs, before any name is resolved.

The grammar is DataJoint 2.x's: an optional ``# table comment`` first line, primary-key lines
above ``---``, ``name [= default] : type [# comment]`` attributes, ``-> [options] Parent``
foreign keys and ``[unique] index(a, b)`` lines. This module resolves nothing (parents are
found by :mod:`djframe.declare.resolve`); it only says what each line means, and where a line
is malformed it names the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from djframe.catalog import IndexSpec
from djframe.errors import DefinitionError

__all__ = ["AttributeSpec", "Definition", "ForeignKeySpec", "parse_definition"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED_NAME = re.compile(r"^_[a-z][a-z0-9_]*$")
"""Names of djframe's own columns in its own tables (job queues, provenance): a user's
attribute cannot be named so, so a key never collides with them."""
_INDEX = re.compile(r"^(?P<unique>unique\s+)?index\s*\((?P<attrs>[^)]*)\)\s*$", re.I)
_FK = re.compile(r"^->\s*(\[(?P<options>[^\]]*)\])?\s*(?P<ref>.+)$")
FK_OPTIONS = {"nullable", "unique"}


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    type_text: str
    in_key: bool
    default: str | None = None
    """The default as written (``null``, ``CURRENT_TIMESTAMP``, ``'text'``, ``0``), or None."""
    comment: str = ""

    @property
    def nullable(self) -> bool:
        return self.default is not None and self.default.lower() == "null"


@dataclass(frozen=True)
class ForeignKeySpec:
    ref: str
    """The Python expression after ``->``: ``Session``, ``Person.proj(parent='person_id')``."""
    in_key: bool
    nullable: bool = False
    unique: bool = False


@dataclass
class Definition:
    comment: str = ""
    items: list[AttributeSpec | ForeignKeySpec] = field(default_factory=list)
    indexes: list[IndexSpec] = field(default_factory=list)


def split_outside_quotes(text: str, separator: str) -> tuple[str, str | None]:
    """Split at the first ``separator`` that is not inside quotes or parentheses."""
    quote: str | None = None
    depth = 0
    for i, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == separator and depth == 0:
            return text[:i], text[i + 1 :]
    return text, None


def parse_attribute(line: str, in_key: bool, where: str, reserved: bool = False) -> AttributeSpec:
    head, type_and_comment = split_outside_quotes(line, ":")
    if type_and_comment is None:
        raise DefinitionError(
            f"{where}: cannot read {line!r}. An attribute line is 'name [= default] : type "
            "[# comment]', e.g. 'first_name : varchar(40)  # given name'."
        )
    type_text, comment = split_outside_quotes(type_and_comment, "#")
    name, default = split_outside_quotes(head, "=")
    name = name.strip()
    if not (_NAME.match(name) or (reserved and _RESERVED_NAME.match(name))):
        raise DefinitionError(
            f"{where}: {name!r} is not a valid attribute name. Use lowercase letters, digits "
            "and underscores, starting with a letter (names starting with '_' are reserved)."
        )
    if not type_text.strip():
        raise DefinitionError(f"{where}: attribute {name!r} has no type after ':'.")
    return AttributeSpec(
        name=name,
        type_text=type_text.strip(),
        in_key=in_key,
        default=default.strip() if default is not None else None,
        comment=(comment or "").strip(),
    )


def parse_foreign_key(line: str, in_key: bool, where: str) -> ForeignKeySpec:
    match = _FK.match(line)
    if not match or not match["ref"].strip():
        raise DefinitionError(f"{where}: '->' must be followed by a table, as in '-> Session'.")
    options = {o.strip().lower() for o in (match["options"] or "").split(",") if o.strip()}
    unknown = options - FK_OPTIONS
    if unknown:
        raise DefinitionError(
            f"{where}: unknown foreign-key option(s) {sorted(unknown)}; "
            "the options are [nullable] and [unique]."
        )
    if "nullable" in options and in_key:
        raise DefinitionError(
            f"{where}: a primary-key foreign key cannot be [nullable]; move it below '---'."
        )
    ref = split_outside_quotes(match["ref"], "#")[0].strip()
    return ForeignKeySpec(ref, in_key, "nullable" in options, "unique" in options)


def parse_index(match: re.Match[str], where: str) -> IndexSpec:
    names = tuple(a.strip() for a in match["attrs"].split(",") if a.strip())
    if not names:
        raise DefinitionError(f"{where}: an index needs at least one attribute.")
    return IndexSpec(names, unique=bool(match["unique"]))


def parse_definition(text: str, table: str = "table", *, reserved: bool = False) -> Definition:
    """Parse a definition into specs; errors name the table and the line. ``reserved``
    allows the names starting with ``_`` of djframe's own tables.

    Examples
    --------
    >>> d = parse_definition('''
    ... # a subject
    ... subject_id : int32
    ... ---
    ... sex = 'U' : enum('F', 'M', 'U')
    ... ''')
    >>> d.comment, [a.name for a in d.items]
    ('a subject', ['subject_id', 'sex'])
    """
    definition = Definition()
    in_key = True
    lines = [line.strip() for line in text.strip().splitlines()]
    if lines and lines[0].startswith("#"):
        definition.comment = lines[0].lstrip("#").strip()
    for number, line in enumerate(lines, start=1):
        where = f"In the definition of {table}, line {number}"
        if not line or line.startswith("#"):
            continue
        if line.startswith("---"):
            if not in_key:
                raise DefinitionError(f"{where}: a definition has one '---' divider, not two.")
            in_key = False
        elif line.startswith("->"):
            definition.items.append(parse_foreign_key(line, in_key, where))
        elif match := _INDEX.match(line):
            definition.indexes.append(parse_index(match, where))
        else:
            definition.items.append(parse_attribute(line, in_key, where, reserved))
    return definition
