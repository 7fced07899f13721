"""The djframe exception tree.

Every error djframe raises on purpose is a :class:`DjframeError`. Subclasses name what went
wrong and mix in the builtin exception they resemble, so ``except KeyError`` still catches a
:class:`DuplicateError`. Messages say what was wrong, where, and what to do about it.

::

    DjframeError(Exception)
    ├── ConfigError(ValueError)
    ├── ConnectionError(ConnectionError)
    ├── DefinitionError(ValueError)
    │   ├── UnknownTypeError
    │   └── MissingDefinitionError(NotImplementedError)   a table class without a definition
    ├── MissingTableError(LookupError)
    ├── QueryError(ValueError)
    │   ├── LineageError
    │   ├── MissingAttributeError(KeyError)
    │   └── QueryArgumentError(TypeError)     an operator argument of the wrong type
    ├── DataError(ValueError)                 bad values on insert
    │   └── MissingKeyError
    ├── IntegrityError
    │   ├── DuplicateError(KeyError)
    │   └── MissingParentError
    ├── AccessError(PermissionError)          e.g. direct insert into a Computed table
    ├── JobError(RuntimeError)
    ├── ConflictError(RuntimeError)           a concurrent transaction won; retry
    └── StoreError(OSError)

DataJoint's names for these are aliases of them (pure renames, so ``except
dj.DataJointError`` catches every djframe error): ``DataJointError`` is :class:`DjframeError`,
``LostConnectionError`` :class:`ConnectionError`, ``UnknownAttributeError``
:class:`MissingAttributeError`, ``QuerySyntaxError`` :class:`QueryError`, ``MissingExternalFile``
and ``BucketInaccessible`` :class:`StoreError`.

DataJoint 2.x's deprecated surface (``fetch``, positional rows) warns with
:func:`warn_deprecated`, a ``DeprecationWarning`` that points at the user's line.
"""

from __future__ import annotations

import builtins
import re
import sys
import warnings
from collections.abc import Collection
from pathlib import Path
from urllib.parse import unquote

__all__ = [
    "AccessError",
    "BucketInaccessible",
    "ConfigError",
    "ConflictError",
    "ConnectionError",
    "DataError",
    "DataJointError",
    "DefinitionError",
    "DjframeError",
    "DuplicateError",
    "IntegrityError",
    "JobError",
    "LineageError",
    "LostConnectionError",
    "MissingAttributeError",
    "MissingDefinitionError",
    "MissingExternalFile",
    "MissingKeyError",
    "MissingParentError",
    "MissingTableError",
    "QueryArgumentError",
    "QueryError",
    "QuerySyntaxError",
    "StoreError",
    "UnknownAttributeError",
    "UnknownTypeError",
    "redact",
    "url_secrets",
    "warn_deprecated",
]


class DjframeError(Exception):
    """Base class of every error djframe raises on purpose; its message has every password
    redacted (see :func:`redact`)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))

    def __str__(self) -> str:
        # KeyError's str() quotes its argument; our messages are sentences, not keys.
        return str(self.args[0]) if self.args else ""


class ConfigError(DjframeError, ValueError):
    """The configuration is invalid: a bad URL, an unknown option, a malformed file."""


class ConnectionError(DjframeError, builtins.ConnectionError):
    """The database could not be reached, or the connection was used after it closed."""


class DefinitionError(DjframeError, ValueError):
    """A table definition is malformed or inconsistent."""


class UnknownTypeError(DefinitionError):
    """A definition names a type that is neither a core type nor a registered codec."""


class MissingDefinitionError(DefinitionError, NotImplementedError):
    """A table class to declare sets no ``definition`` (DataJoint: ``NotImplementedError``)."""


class MissingTableError(DjframeError, LookupError):
    """A table or schema does not exist in the database."""


class QueryError(DjframeError, ValueError):
    """A query expression cannot be built or run."""


class LineageError(QueryError):
    """Namesake attributes of two operands do not share one lineage (semantic matching)."""


class QueryArgumentError(QueryError, TypeError):
    """An argument of an operator (such as ``dj.Top``) has the wrong type."""


class MissingAttributeError(QueryError, KeyError):
    """An attribute is named that the table or expression does not have."""


class DataError(DjframeError, ValueError):
    """Values given to insert or update do not fit the table's heading."""


class MissingKeyError(DataError):
    """Rows lack a value for a primary-key attribute."""


class IntegrityError(DjframeError):
    """A change would break the integrity of the data: keys, references, master-part."""

    key: tuple[tuple[str, str], ...] = ()
    """The attributes and values (as text) the engine named, when it named them."""

    @classmethod
    def naming(cls, message: str, key: list[tuple[str, str]]) -> IntegrityError:
        """The error, carrying the key the engine named, so that djframe can word it the same
        whatever the engine's wording."""
        error = cls(message)
        error.key = tuple(key)
        return error


class DuplicateError(IntegrityError, KeyError):
    """A row with the same primary key (or unique index value) already exists."""


class MissingParentError(IntegrityError):
    """A foreign key refers to a parent row that does not exist."""


class AccessError(DjframeError, PermissionError):
    """The operation is not allowed here, e.g. a direct insert into a Computed table."""


class JobError(DjframeError, RuntimeError):
    """The job queue or a populate run failed."""


class ConflictError(DjframeError, RuntimeError):
    """Two transactions changed the same rows at once and this one lost; retrying can succeed."""


class StoreError(DjframeError, OSError):
    """The object store failed to read or write an object."""


# DataJoint's names (pure renames).
DataJointError = DjframeError
LostConnectionError = ConnectionError
UnknownAttributeError = MissingAttributeError
QuerySyntaxError = QueryError
MissingExternalFile = StoreError
BucketInaccessible = StoreError

_PACKAGE = str(Path(__file__).parent) + "/"


def warn_deprecated(message: str) -> None:
    """Warn with a ``DeprecationWarning`` attributed to the first caller outside djframe."""
    warn_caller(message, DeprecationWarning)


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn, attributed to the first caller outside djframe (the user's line)."""
    level, frame = 2, sys._getframe(1)  # 2: the caller of this function
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    warnings.warn(message, category, stacklevel=level)


# -- secrets ---------------------------------------------------------------------------------
_SCHEME = r"[a-z][a-z0-9+.\-]*://"
_URL_PASSWORD = re.compile(
    rf"(?P<head>{_SCHEME}[^:/?#\s]*:)(?P<pw>(?:(?!\s{_SCHEME})[^\n'\"])*)(?P<tail>@)", re.IGNORECASE
)
"""``scheme://user:password@`` of any scheme, in any case, the user possibly empty; the
password runs to the last ``@`` before a quote, a line's end or a space and another URL, so
it may hold ``@``, spaces and even ``://``."""

_PASSWORD_SETTING = re.compile(
    r"(?P<head>\b[\w.-]*(?:password|passwd|pwd)\s*=\s*)"
    r"(?P<pw>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&;'\"]*[^\s&;'\":])",
    re.IGNORECASE,
)
"""``password=...`` in a URL's query or a libpq connection string, quoted or not."""

SHORTEST_SECRET = 3
"""Pieces of a password shorter than this are not hidden on their own (they would blank
common words)."""


def url_secrets(url: str) -> set[str]:
    """The passwords in ``url`` (raw and decoded), and their pieces between URL delimiters:
    a driver may echo a password, or the part it misread as a host, out of its URL."""
    found = [m.group("pw").strip("'\"") for m in _PASSWORD_SETTING.finditer(url)]
    _, _, rest = url.partition("://")
    authority, _, query = rest.partition("?")
    for setting in re.split(r"[&#]", query):  # a query's value may hold any other character
        name, equals, value = setting.partition("=")
        if equals and re.search(r"password|passwd|pwd", name, re.IGNORECASE):
            found.append(value)
    userinfo, at, _ = authority.rpartition("@")
    if not at:  # a '?' in the password: the query starts after the userinfo
        userinfo, at, _ = rest.rpartition("@")
    if at and ":" in userinfo:
        found.append(userinfo.partition(":")[2])
    secrets: set[str] = set()
    for secret in found:
        for variant in {secret, unquote(secret)}:
            # where a reader stops: a delimiter, a quote, a space, a control character (libpq's C
            # strings end at a NUL)
            pieces = re.split(r"[@/:?#&;=\s'\"\x00-\x1f\x7f]+", variant)
            secrets.update(p for p in [variant, *pieces] if len(p) >= SHORTEST_SECRET)
    return secrets


def redact(text: str, secrets: Collection[str] = ()) -> str:
    """``text`` with every password hidden: of any URL (``scheme://user:password@``), of a
    ``password=`` setting, and each of ``secrets`` (see :func:`url_secrets`) wherever it is.

    Examples
    --------
    >>> redact("postgresql://ann:s3cret@db:5432/lab")
    'postgresql://ann:***@db:5432/lab'
    >>> redact("MYSQL://:p@ss word@db/lab and host=db password='x y'")
    'MYSQL://:***@db/lab and host=db password=***'
    >>> redact('invalid token: "s3%zz"', url_secrets("postgresql://ann:s3%zz@db"))
    'invalid token: "***"'
    """
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _PASSWORD_SETTING.sub(r"\g<head>***", text)
    return _URL_PASSWORD.sub(r"\g<head>***\g<tail>", text)
