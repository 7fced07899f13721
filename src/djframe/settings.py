"""Configuration: where the database and the object store are, and how djframe behaves.

Values come from four places, in rising precedence: built-in defaults, a ``djframe.toml`` file
(or the ``[tool.djframe]`` table of a ``pyproject.toml``) in the working directory or a parent
of it, the environment (``DJFRAME_DATABASE_URL``, ``DJFRAME_READ_ONLY``, ``DJFRAME_STORE``,
``DJFRAME_SAFEMODE``), and assignments to :data:`config` at run time. Keys are dotted strings
(``"database.url"``). This module only stores and resolves values; it connects to nothing.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from stat import S_ISREG
from typing import Any

import tomllib

from djframe.errors import ConfigError, redact

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
    "results.arrays": "typed",
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
    folder = os.path.realpath(start or os.getcwd())
    while True:
        own = _read_toml(os.path.join(folder, "djframe.toml"))
        if own is not None:
            return Path(folder, "djframe.toml"), own
        project = _read_toml(os.path.join(folder, "pyproject.toml"))
        table = project.get("tool", {}).get("djframe") if project is not None else None
        if table is not None:
            return Path(folder, "pyproject.toml"), table
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


_parsed: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}
"""Parsed files by path, with the (mtime, size, inode) they were parsed at: a settings lookup
stats the candidate files and parses one again only when it changed (parsing a pyproject.toml
on every lookup cost ~1 ms per setting; the lookup now costs a few stats)."""


def _read_toml(path: str) -> dict[str, Any] | None:
    """The parsed file at ``path``, or None when there is no such file."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if not S_ISREG(stat.st_mode):
        return None
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _parsed.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        with open(path, encoding="utf-8") as source:
            table = tomllib.loads(source.read())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file or remove it.") from exc
    _parsed[path] = (stamp, table)
    return table


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
            value = file_values[key]  # a table is copied: changing it changes no file's value
            return copy.deepcopy(value) if isinstance(value, dict | list) else value
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
