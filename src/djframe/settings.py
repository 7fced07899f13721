"""Configuration: where the database and the object store are, and how djframe behaves.

Values come from four places, in rising precedence: built-in defaults, a ``djframe.toml`` file
(or the ``[tool.djframe]`` table of a ``pyproject.toml``) in the working directory or a parent
of it, the environment (``DJFRAME_DATABASE_URL``, ``DJFRAME_READ_ONLY``, ``DJFRAME_STORE``,
``DJFRAME_SAFEMODE``), and assignments to :data:`config` at run time. Keys are dotted strings
(``"database.url"``). This module only stores and resolves values; it connects to nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomllib

from djframe.errors import ConfigError

__all__ = ["Config", "config", "hide_secrets", "redact"]

DEFAULTS: dict[str, Any] = {
    "database.url": "duckdb:///djframe.duckdb",
    "database.read_only": False,
    "store": "djframe-store",
    "store.options": {},
    "stores": {},
    "download_path": ".",
    "safemode": True,
    "populate.code_version": "source",
    "populate.batch_size": 1000,
    "jobs.allow_new_pk_fields_in_computed_tables": False,
    "display.limit": 12,
    "display.width": 14,
}

ENVIRONMENT: dict[str, str] = {
    "database.url": "DJFRAME_DATABASE_URL",
    "database.read_only": "DJFRAME_READ_ONLY",
    "store": "DJFRAME_STORE",
    "safemode": "DJFRAME_SAFEMODE",
}

NESTED = {"store.options", "stores"}
"""Settings whose value is a table: ``store.options`` (storage options of the default store)
and ``stores`` (named stores: ``{"cold": {"location": "s3://b/p", "options": {...}}}`` or
``{"cold": "/data/cold"}``)."""

_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@\s]*)(?P<tail>@)")


def redact(text: str) -> str:
    """Hide passwords in URLs so that a secret never reaches a repr, a log or an error.

    Examples
    --------
    >>> redact("postgresql://ann:s3cret@db:5432/lab")
    'postgresql://ann:***@db:5432/lab'
    """
    return _URL_PASSWORD.sub(r"\g<head>***\g<tail>", text)


_SECRET_WORDS = ("secret", "password", "token", "key", "credential")


def hide_secrets(value: Any) -> Any:
    """A copy of nested settings with secret-looking values (``*secret*``, ``*key*``, ...) hidden.

    Examples
    --------
    >>> hide_secrets({"AWS_SECRET_ACCESS_KEY": "abc", "AWS_REGION": "us-east-1"})
    {'AWS_SECRET_ACCESS_KEY': '***', 'AWS_REGION': 'us-east-1'}
    """
    if not isinstance(value, dict):
        return value
    return {
        k: "***"
        if isinstance(v, str) and any(w in str(k).lower() for w in _SECRET_WORDS)
        else hide_secrets(v)
        for k, v in value.items()
    }


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in NESTED:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def find_config_file(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """Find the nearest ``djframe.toml`` or ``pyproject.toml`` with ``[tool.djframe]``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        own = folder / "djframe.toml"
        if own.is_file():
            return own, _read_toml(own)
        project = folder / "pyproject.toml"
        if project.is_file():
            table = _read_toml(project).get("tool", {}).get("djframe")
            if table is not None:
                return project, table
    return None


_parsed: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}
"""Each file's parse, with the (mtime, size) it was read at: settings are read on every
populate call, and parsing a pyproject.toml took longer than some of them."""


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed file (callers must not change it), parsed again only when it changed."""
    status = path.stat()
    stamp = (status.st_mtime_ns, status.st_size)
    cached = _parsed.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        parsed = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file or remove it.") from exc
    _parsed[path] = (stamp, parsed)
    return parsed


def _parse_env(key: str, raw: str) -> Any:
    if isinstance(DEFAULTS.get(key), bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return raw


class Config:
    """djframe's settings, resolved from defaults, file, environment and run-time values.

    Examples
    --------
    >>> import djframe as dj
    >>> with dj.config.override(safemode=False):
    ...     dj.config["safemode"]
    False
    """

    def __init__(self) -> None:
        self._runtime: dict[str, Any] = {}

    def _file_values(self) -> dict[str, Any]:
        found = find_config_file()
        return _flatten(found[1]) if found else {}

    def __getitem__(self, key: str) -> Any:
        if key in self._runtime:
            return self._runtime[key]
        env = ENVIRONMENT.get(key)
        if env and os.environ.get(env):
            return _parse_env(key, os.environ[env])
        file_values = self._file_values()
        if key in file_values:
            return file_values[key]
        if key in DEFAULTS:
            return DEFAULTS[key]
        raise ConfigError(
            f"Unknown setting {key!r}. Known settings: {', '.join(sorted(DEFAULTS))}."
        )

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in DEFAULTS:
            raise ConfigError(
                f"Unknown setting {key!r}. Known settings: {', '.join(sorted(DEFAULTS))}."
            )
        self._runtime[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except ConfigError:
            return default

    def is_set(self, key: str) -> bool:
        """True when ``key`` is given at run time, in the environment or in a file."""
        env = ENVIRONMENT.get(key)
        return (
            key in self._runtime or bool(env and os.environ.get(env)) or key in self._file_values()
        )

    def __contains__(self, key: object) -> bool:
        return key in DEFAULTS

    def keys(self) -> list[str]:
        return sorted(DEFAULTS)

    def runtime(self) -> dict[str, Any]:
        """The values set at run time (``config[key] = value``, ``override``), e.g. to give
        populate's worker processes the settings of their parent."""
        return dict(self._runtime)

    @contextmanager
    def override(self, **values: Any) -> Iterator[Config]:
        """Set values for the duration of a ``with`` block (``display__limit=`` for dots)."""
        saved = dict(self._runtime)
        try:
            for name, value in values.items():
                self[name.replace("__", ".")] = value
            yield self
        finally:
            self._runtime = saved

    def __repr__(self) -> str:
        lines = [f"  {key} = {redact(repr(hide_secrets(self[key])))}" for key in self.keys()]
        return "djframe.config(\n" + "\n".join(lines) + "\n)"


config = Config()
