"""Configuration: where the database and the object store are, and how djframe behaves.

Values come from five places, in rising precedence: built-in defaults, DataJoint's secrets
folder (one file per key, ``.secrets/database.password`` next to the settings file, or
``/run/secrets/datajoint``), a ``djframe.toml`` file (or the ``[tool.djframe]`` table of a
``pyproject.toml``, or DataJoint's ``datajoint.json``) in the working directory or a parent of
it, the environment (``DJFRAME_DATABASE_URL``,
``DJFRAME_READ_ONLY``, ``DJFRAME_STORE``, ``DJFRAME_SAFEMODE``, and DataJoint's ``DJ_HOST``,
``DJ_USER``, ``DJ_PASS``, ...), and assignments to :data:`config` at run time. Keys are dotted
strings (``"database.url"``); as in DataJoint, sections read as attributes too
(``dj.config.database.host``, ``dj.config.jobs.allow_new_pk_fields_in_computed_tables = True``,
``dj.config.stores["cold"] = {...}``). DataJoint's keys sit alongside djframe's: its
``database.host``/``user``/``password``/``port``/``backend``/``name`` make a connection URL
when no ``database.url`` is set. This module only stores and resolves values; it connects to
nothing.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from stat import S_ISREG
from typing import Any

import tomllib

from djframe.errors import ConfigError, redact

__all__ = [
    "CONFIG_FILENAME",
    "ENV_VAR_MAPPING",
    "SECRETS_DIRNAME",
    "SYSTEM_SECRETS_DIR",
    "Config",
    "DatabaseSettings",
    "Role",
    "Section",
    "config",
    "find_config_file",
    "find_secrets_dir",
    "hide_secrets",
    "prefix_to_role",
    "read_secret_file",
    "redact",
    "role_to_prefix",
]

Role = Enum("Role", "manual lookup imported computed job")
"""What puts rows in a table, as DataJoint names it; a table's SQL name starts with its role's
prefix (:data:`role_to_prefix`). Part tables take their master's."""

role_to_prefix: dict[Role, str] = {
    Role.manual: "",
    Role.lookup: "#",
    Role.imported: "_",
    Role.computed: "__",
    Role.job: "~",
}
"""The prefix of a table's SQL name for each role (``__analysis`` is computed); the tiers take
theirs from here."""

prefix_to_role = {prefix: role for role, prefix in role_to_prefix.items()}

DEFAULTS: dict[str, Any] = {
    "database.url": "duckdb:///djframe.duckdb",
    "database.read_only": False,
    "database.create_tables": True,
    "store": "djframe-store",
    "store.options": {},
    "stores": {},
    "download_path": ".",
    "safemode": True,
    "populate.code_version": "source",
    "populate.batch_size": 1000,
    "populate.worker_idle_timeout": 300.0,
    "populate.one_thread": False,
    "jobs.allow_new_pk_fields_in_computed_tables": False,
    "display.limit": 12,
    "display.width": 14,
    "results.arrays": "typed",
    # DataJoint 2.3.5's keys (a connection from them where no database.url is set).
    "database.host": "localhost",
    "database.user": None,
    "database.password": None,
    "database.port": None,
    "database.backend": None,
    "database.name": None,
    "database.reconnect": True,
    "database.use_tls": None,
    "database.database_prefix": "",
    "connection.init_function": None,
    "connection.charset": "",
    "display.show_tuple_count": True,
    "display.diagram_direction": "TB",
    "display.diagram_theme": "auto",
    "jobs.auto_refresh": True,
    "jobs.keep_completed": False,
    "jobs.stale_timeout": 3600,
    "jobs.default_priority": 5,
    "jobs.version_method": None,
    "jobs.add_job_metadata": False,
    "provenance.capture": False,
    "provenance.source": {},
    "loglevel": "INFO",
    "query_cache": None,
    "ignore_config_file": False,
}

ENVIRONMENT: dict[str, str] = {
    "database.url": "DJFRAME_DATABASE_URL",
    "database.read_only": "DJFRAME_READ_ONLY",
    "store": "DJFRAME_STORE",
    "safemode": "DJFRAME_SAFEMODE",
    # DataJoint's names
    "database.host": "DJ_HOST",
    "database.user": "DJ_USER",
    "database.password": "DJ_PASS",
    "database.backend": "DJ_BACKEND",
    "database.port": "DJ_PORT",
    "database.name": "DJ_DATABASE_NAME",
    "database.database_prefix": "DJ_DATABASE_PREFIX",
    "database.create_tables": "DJ_CREATE_TABLES",
    "database.use_tls": "DJ_USE_TLS",
    "loglevel": "DJ_LOG_LEVEL",
    "display.diagram_direction": "DJ_DIAGRAM_DIRECTION",
    "display.diagram_theme": "DJ_DIAGRAM_THEME",
    "stores": "DJ_STORES",
    "ignore_config_file": "DJ_IGNORE_CONFIG_FILE",
}

ENV_VAR_MAPPING = ENVIRONMENT
"""DataJoint's name for :data:`ENVIRONMENT`."""


def environment_value(key: str) -> str | None:
    """The environment's text for setting ``key`` (``DJ_HOST`` for ``database.host``), or None
    where its variable is unset or empty."""
    name = ENVIRONMENT.get(key)
    return (os.environ.get(name) or None) if name else None


NESTED = {"store.options", "stores", "provenance.source"}
"""Settings whose value is a table: ``store.options`` (storage options of the default store)
and ``stores`` (named stores: ``{"cold": {"location": "s3://b/p", "options": {...}}}`` or
``{"cold": "/data/cold"}``)."""

STORE_DEFAULTS: dict[str, Any] = {
    "subfolding": None,
    "partition_pattern": None,
    "token_length": 8,
    "hash_prefix": "_hash",
    "schema_prefix": "_schema",
    "filepath_prefix": None,
}
"""DataJoint's defaults of a store spec (djframe keeps objects in Delta tables and uses none
of them; :meth:`Config.get_store_spec` gives them as DataJoint does)."""
STORE_REQUIRED = {"file": ("location",), "s3": ("endpoint", "bucket", "location")}


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


CONFIG_FILENAME = "datajoint.json"
"""DataJoint's configuration file, read where no djframe file is nearer."""


SECRETS_DIRNAME = ".secrets"
"""The folder of secret files next to the configuration file (``.secrets/database.password``)."""

SYSTEM_SECRETS_DIR = Path("/run/secrets/datajoint")
"""Where Docker and Kubernetes mount secrets; used when no project ``.secrets`` folder exists."""


def find_config_file(start: Path | None = None) -> Path | None:
    """The nearest ``djframe.toml``, ``pyproject.toml`` with ``[tool.djframe]`` or DataJoint's
    ``datajoint.json``, in ``start`` (the working directory) or a parent of it."""
    found = _find_settings(start)
    return found[0] if found else None


def find_secrets_dir(config_path: Path | None = None) -> Path | None:
    """The folder of secret files: ``.secrets`` next to ``config_path``, else
    :data:`SYSTEM_SECRETS_DIR`, else None."""
    if config_path is not None and (Path(config_path).parent / SECRETS_DIRNAME).is_dir():
        return Path(config_path).parent / SECRETS_DIRNAME
    return SYSTEM_SECRETS_DIR if SYSTEM_SECRETS_DIR.is_dir() else None


def read_secret_file(secrets_dir: Path | None, name: str) -> str | None:
    """The secret ``name`` (a setting's key, ``database.password``) from its file in
    ``secrets_dir``, without surrounding whitespace; None if there is no such file."""
    if secrets_dir is None or not (Path(secrets_dir) / name).is_file():
        return None
    return (Path(secrets_dir) / name).read_text(encoding="utf-8").strip()


def _secret_values(secrets_dir: Path | None) -> dict[str, Any]:
    """Settings from the files of a secrets folder, each named by its key: ``database.user``,
    ``database.password``, ``stores.<store>.<attribute>`` (gathered into ``stores``)."""
    if secrets_dir is None:
        return {}
    entries = sorted((e for e in os.scandir(secrets_dir) if e.is_file()), key=lambda e: e.name)
    stamp = tuple((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in entries)
    cached = _secrets_read.get(str(secrets_dir))
    if cached is not None and cached[0] == stamp:
        return copy.deepcopy(cached[1])  # read again only when a file changed, as _read_file
    values: dict[str, Any] = {}
    for entry in entries:
        store = entry.name.split(".")
        raw = read_secret_file(secrets_dir, entry.name)
        if not raw:  # an empty placeholder (save_template writes those)
            continue
        if entry.name in DEFAULTS and entry.name not in NESTED:
            values[entry.name] = _parse_env(entry.name, raw)
        elif len(store) == 3 and store[0] == "stores":
            values.setdefault("stores", {}).setdefault(store[1], {})[store[2]] = raw
    _secrets_read[str(secrets_dir)] = (stamp, values)
    return copy.deepcopy(values)


_secrets_read: dict[str, tuple[tuple[tuple[str, int, int], ...], dict[str, Any]]] = {}
"""The values of each secrets folder, with the names, times and sizes of its files then."""


def _find_settings(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The nearest settings file (see :func:`find_config_file`) and its settings."""
    folder = os.path.realpath(start or os.getcwd())
    while True:
        own = _read_file(os.path.join(folder, "djframe.toml"), _parse_toml)
        if own is not None:
            return Path(folder, "djframe.toml"), own
        project = _read_file(os.path.join(folder, "pyproject.toml"), _parse_toml)
        table = project.get("tool", {}).get("djframe") if project is not None else None
        if table is not None:
            return Path(folder, "pyproject.toml"), table
        datajoint = _read_file(os.path.join(folder, CONFIG_FILENAME), _parse_json)
        if datajoint is not None:
            return Path(folder, CONFIG_FILENAME), datajoint
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


_parsed: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}
"""Parsed files by path, with the (mtime, size, inode) they were parsed at: a settings lookup
stats the candidate files and parses one again only when it changed (parsing a pyproject.toml
on every lookup cost ~1 ms per setting; the lookup now costs a few stats)."""


def _parse_toml(path: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file or remove it.") from exc


def _parse_json(path: str, text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}. Fix the file or remove it.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object, not {type(data).__name__}.")
    return data


def _read_json(path: str | Path) -> dict[str, Any]:
    """A JSON settings file (``datajoint.json``), parsed."""
    return _parse_json(str(path), Path(path).read_text(encoding="utf-8"))


def _read_file(path: str, parse: Any) -> dict[str, Any] | None:
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
    with open(path, encoding="utf-8") as source:
        table: dict[str, Any] = parse(path, source.read())
    _parsed[path] = (stamp, table)
    return table


def _parse_env(key: str, raw: str) -> Any:
    default = DEFAULTS.get(key)
    if isinstance(default, bool) or key in {"database.use_tls"}:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if key == "database.port" or isinstance(default, int):
        return int(raw)
    if key in NESTED:
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"{ENVIRONMENT[key]} must hold JSON: {exc}.") from exc
    return raw


def _sections() -> set[str]:
    """The dotted prefixes of the keys (``database``, ``jobs``, ``store``, ...)."""
    return {key.rsplit(".", 1)[0] for key in DEFAULTS if "." in key}


BACKENDS = ("postgresql", "postgres", "duckdb")
"""What ``database.backend`` may name (``postgres`` is PostgreSQL); None guesses from the host."""


class DatabaseSettings:
    """DataJoint's ``database`` section as one checked object: each field is the value given,
    else the environment's (``DJ_HOST``, ``DJ_PORT``, ``DJ_BACKEND``, ...), else the default;
    :meth:`of` reads them from a :class:`Config` instead. A PostgreSQL server without a port
    is on 5432. The URL of a connection is made from it (:func:`djframe.connection_url`).

    Examples
    --------
    >>> DatabaseSettings(backend="postgresql", host="db.lab").port
    5432
    >>> DatabaseSettings(backend="mysql")
    Traceback (most recent call last):
    ...
    djframe.errors.ConfigError: database.backend 'mysql': djframe connects to 'postgresql' (a server) or 'duckdb' (embedded), not MySQL. Set dj.config['database.backend'] to one of them.
    """

    FIELDS: tuple[str, ...] = ("host", "user", "password", "backend", "port", "name")
    FIELDS += ("reconnect", "use_tls", "database_prefix", "create_tables")

    host: str
    user: str | None
    password: str | None
    backend: str | None
    port: int | None
    name: str | None
    reconnect: bool
    use_tls: bool | None
    database_prefix: str
    create_tables: bool

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - set(self.FIELDS))
        if unknown:
            raise ConfigError(f"DatabaseSettings has no field(s) {unknown}; the fields are "
                              f"{', '.join(self.FIELDS)}.")  # fmt: skip
        for field in self.FIELDS:
            key = f"database.{field}"
            given = environment_value(key)
            if field in values:
                value = values[field]
            elif given is not None:
                value = _parse_env(key, given)
            else:
                value = DEFAULTS[key]
            setattr(self, field, value)
        self._check()

    @classmethod
    def of(cls, settings: Config) -> DatabaseSettings:
        """The database section of ``settings`` (its file, environment and run-time values)."""
        return cls(**{field: settings[f"database.{field}"] for field in cls.FIELDS})

    def _check(self) -> None:
        if self.backend is not None and self.backend not in BACKENDS:
            raise ConfigError(
                f"database.backend {self.backend!r}: djframe connects to 'postgresql' (a server) "
                "or 'duckdb' (embedded), not MySQL. Set dj.config['database.backend'] to one "
                "of them."
            )
        if self.port is not None:
            if isinstance(self.port, str) and self.port.strip().isdigit():
                self.port = int(self.port)
            if isinstance(self.port, bool) or not isinstance(self.port, int):
                raise ConfigError(f"database.port must be a whole number, not {self.port!r}.")
            if not 0 < self.port < 65536:
                raise ConfigError(f"database.port {self.port} is not a port (1 to 65535).")
        elif self.backend in ("postgresql", "postgres"):
            self.port = 5432

    def __repr__(self) -> str:
        shown = {f: getattr(self, f) for f in self.FIELDS}
        return f"DatabaseSettings({redact(repr(hide_secrets(shown)))})"


class Section:
    """A section of :data:`config` read as attributes: ``dj.config.database.host``."""

    _owner: Config
    _prefix: str

    def __init__(self, owner: Config, prefix: str) -> None:
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._owner._attribute(f"{self._prefix}.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        self._owner[f"{self._prefix}.{name}"] = value

    def __getitem__(self, name: str) -> Any:
        return self._owner[f"{self._prefix}.{name}"]

    def __setitem__(self, name: str, value: Any) -> None:
        self._owner[f"{self._prefix}.{name}"] = value

    def keys(self) -> list[str]:
        head = self._prefix + "."
        return sorted({k[len(head) :].split(".")[0] for k in DEFAULTS if k.startswith(head)})

    def __repr__(self) -> str:
        values = {name: hide_secrets({name: self._owner.get(f"{self._prefix}.{name}")})[name]
                  for name in self.keys()}  # fmt: skip
        return f"config.{self._prefix}({redact(repr(values))})"


class Config:
    """djframe's settings, resolved from defaults, file, environment and run-time values.

    Examples
    --------
    >>> import djframe as dj
    >>> with dj.config.override(safemode=False):
    ...     dj.config["safemode"]
    False
    """

    _runtime: dict[str, Any]

    def __init__(self) -> None:
        object.__setattr__(self, "_runtime", {})

    def _file_values(self) -> dict[str, Any]:
        """The settings file's values over the secrets folder's (DataJoint: secrets fill only
        what the file leaves unset, also within a store's spec)."""
        if _truthy(os.environ.get("DJ_IGNORE_CONFIG_FILE")):
            return {}
        found = _find_settings()
        values = _flatten(found[1]) if found else {}
        secrets = _secret_values(find_secrets_dir(found[0] if found else None))
        stores = secrets.pop("stores", {})
        if stores:
            given = values.get("stores") or {}
            merged = {n: {**stores.get(n, {}), **s} if isinstance(s, dict) else s
                      for n, s in given.items()}  # fmt: skip
            values["stores"] = {**stores, **merged}
        return {**secrets, **values}

    def __getitem__(self, key: str) -> Any:
        if key in self._runtime:
            return self._runtime[key]
        return self._resolved(key)

    def _resolved(self, key: str) -> Any:
        given = environment_value(key)
        if given is not None:
            return _parse_env(key, given)
        file_values = self._file_values()
        if key in file_values:
            value = file_values[key]  # a table is copied: changing it changes no file's value
            return copy.deepcopy(value) if isinstance(value, dict | list) else value
        if key in DEFAULTS:
            value = DEFAULTS[key]
            return copy.deepcopy(value) if isinstance(value, dict | list) else value
        raise _unknown(key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in DEFAULTS:
            raise _unknown(key)
        self._runtime[key] = value

    def __delitem__(self, key: str) -> None:
        """Forget the value set at run time (the file's, the environment's or the default
        applies again)."""
        if key not in DEFAULTS:
            raise _unknown(key)
        self._runtime.pop(key, None)

    # -- DataJoint's attribute access: dj.config.database.host, dj.config.stores -----------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._attribute(name)

    def _attribute(self, key: str) -> Any:
        if key in NESTED and key not in self._runtime:
            # DataJoint's dj.config.stores is the configuration itself: the table is held at
            # run time, so that dj.config.stores["x"] = ... and .clear() change it
            # (dj.config["stores"] gives a copy of a file's or the default table).
            self._runtime[key] = self._resolved(key)
        if key in DEFAULTS:
            return self[key]
        if key in _sections():
            return Section(self, key)
        raise AttributeError(f"dj.config has no setting {key!r}. Known settings: "
                             f"{', '.join(sorted(DEFAULTS))}.")  # fmt: skip

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except ConfigError:
            return default

    def is_set(self, key: str) -> bool:
        """True when ``key`` is given at run time, in the environment or in a file."""
        return (
            key in self._runtime or environment_value(key) is not None or key in self._file_values()
        )

    def __contains__(self, key: object) -> bool:
        return key in DEFAULTS

    def keys(self) -> list[str]:
        return sorted(DEFAULTS)

    def runtime(self) -> dict[str, Any]:
        """The values set at run time (``config[key] = value``, ``override``), e.g. to give
        populate's worker processes the settings of their parent."""
        return dict(self._runtime)

    # -- DataJoint's methods -----------------------------------------------------------------
    def load(self, filename: str | Path) -> None:
        """Set the values of a ``datajoint.json``-style file (nested or dotted keys); as for
        any file, a key given in the environment (``DJ_HOST``) keeps the environment's value."""
        path = Path(filename)
        if not path.is_file():
            raise FileNotFoundError(f"Config file not found: {path}")
        for key, value in _flatten(_read_json(path)).items():
            if environment_value(key) is None:
                self[key] = value

    def get_store_spec(
        self, store: str | None = None, *, use_filepath_default: bool = False
    ) -> dict[str, Any]:
        """The DataJoint spec of store ``store`` (None: ``stores["default"]``, or with
        ``use_filepath_default`` ``stores["filepath_default"]``), with DataJoint's defaults,
        checked for the keys its protocol needs."""
        stores = self["stores"] or {}
        if store is None:
            which = "filepath_default" if use_filepath_default else "default"
            if not isinstance(stores.get(which), str):
                raise ConfigError(
                    f"stores.{which} is not configured: set dj.config.stores[{which!r}] to the "
                    "name of a store, or name the store (<codec@store>)."
                )
            store = stores[which]
        if store not in stores or not isinstance(stores[store], dict):
            raise ConfigError(
                f"Store {store!r} is not configured. Configured stores: "
                f"{', '.join(k for k, v in stores.items() if isinstance(v, dict)) or '(none)'}."
            )
        spec = {**STORE_DEFAULTS, **stores[store]}
        protocol = str(spec.get("protocol", "")).lower()
        if protocol not in STORE_REQUIRED:
            raise ConfigError(f"Store {store!r}: protocol {protocol!r} is not 'file' or 's3'.")
        if protocol == "s3":
            spec.setdefault("secure", True)
        missing = [k for k in STORE_REQUIRED[protocol] if not spec.get(k)]
        if missing:
            raise ConfigError(f"Store {store!r} ({protocol}) is missing {', '.join(missing)}.")
        return spec

    def save_template(
        self,
        path: str | Path = CONFIG_FILENAME,
        minimal: bool = True,
        create_secrets_dir: bool = True,
    ) -> Path:
        """Write a ``datajoint.json`` to fill in: a PostgreSQL server's address (``minimal``)
        or every setting with its default and an example store. Credentials belong in the
        environment or in the ``.secrets`` folder, which ``create_secrets_dir`` makes next to
        the file with empty ``database.user``/``database.password`` files and a
        ``.gitignore``; existing secrets are kept. Returns the file's absolute path.

        Raises
        ------
        FileExistsError
            ``path`` exists: it is not overwritten.
        """
        file = Path(path)
        if file.exists():
            raise FileExistsError(
                f"{file} already exists: save_template does not overwrite it. Remove it or "
                "choose another path."
            )
        file.write_text(json.dumps(_template(minimal), indent=2) + "\n", encoding="utf-8")
        if create_secrets_dir:
            secrets = file.parent / SECRETS_DIRNAME
            secrets.mkdir(exist_ok=True)
            for name, text in TEMPLATE_SECRETS.items():
                if not (secrets / name).exists():
                    (secrets / name).write_text(text, encoding="utf-8")
        return file.absolute()

    @contextmanager
    def override(self, **values: Any) -> Iterator[Config]:
        """Set values for the duration of a ``with`` block (``display__limit=`` for dots, or
        ``display={"limit": 5}`` for a section); tables changed inside are restored too."""
        saved = {
            k: copy.deepcopy(v) if isinstance(v, dict) else v for k, v in self._runtime.items()
        }
        try:
            for name, value in values.items():
                key = name.replace("__", ".")
                if isinstance(value, dict) and key in _sections():
                    for inner, item in _flatten(value, f"{key}.").items():
                        self[inner] = item
                else:
                    self[key] = value
            yield self
        finally:
            object.__setattr__(self, "_runtime", saved)

    def __repr__(self) -> str:
        lines = [f"  {key} = {redact(repr(hide_secrets(self[key])))}" for key in self.keys()]
        return "djframe.config(\n" + "\n".join(lines) + "\n)"


TEMPLATE_SECRETS = {"database.user": "", "database.password": "", ".gitignore": "*\n"}
"""The files of a new ``.secrets`` folder: empty secrets to fill in, and git kept out."""

_NOT_TEMPLATED = {"database.url", "database.user", "database.password", "store", "store.options"}
_NOT_TEMPLATED |= {"ignore_config_file"}  # a file cannot tell djframe to ignore itself


def _template(minimal: bool) -> dict[str, Any]:
    """The settings a template ``datajoint.json`` holds, nested by section."""
    server = {"database.backend": "postgresql", "database.host": "localhost", "database.port": 5432}
    if minimal:
        return _nest(server)
    flat = {k: v for k, v in DEFAULTS.items() if k not in _NOT_TEMPLATED}
    example = {"default": "main", "main": {"protocol": "file", "location": DEFAULTS["store"]}}
    return _nest({**flat, **server, "stores": example})


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        *sections, name = key.split(".")
        table = nested
        for section in sections:
            table = table.setdefault(section, {})
        table[name] = value
    return nested


def _unknown(key: str) -> ConfigError:
    return ConfigError(f"Unknown setting {key!r}. Known settings: {', '.join(sorted(DEFAULTS))}.")


def _truthy(raw: str | None) -> bool:
    return (raw or "").strip().lower() in {"1", "true", "yes", "on"}


config = Config()
