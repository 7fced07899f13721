"""Connections, transactions and configuration: URLs on every backend, secrets kept out of
reprs and errors, ``with conn.transaction`` on every backend, and where settings come from."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

import djframe as dj
from djframe import connection as connection_module

SECRET = "s3cret-Pa55word"


# -- transactions ----------------------------------------------------------------------------
@pytest.fixture
def pair(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class Animal(dj.Manual):
        definition = """
        animal : int32
        """

    @schema
    class Weighing(dj.Manual):
        definition = """
        -> Animal
        day : int16
        ---
        grams : float64
        """

    return SimpleNamespace(Animal=Animal, Weighing=Weighing)


def test_transaction_commits_together(pair: SimpleNamespace, conn: dj.Connection) -> None:
    with conn.transaction:
        assert conn.in_transaction
        pair.Animal.insert1({"animal": 1})
        pair.Weighing.insert1({"animal": 1, "day": 1, "grams": 20.0})
    assert not conn.in_transaction
    assert len(pair.Animal) == len(pair.Weighing) == 1


def test_exception_rolls_back_both_tables(pair: SimpleNamespace, conn: dj.Connection) -> None:
    pair.Animal.insert1({"animal": 0})
    with pytest.raises(RuntimeError, match="boom"), conn.transaction:
        pair.Animal.insert1({"animal": 1})
        pair.Weighing.insert1({"animal": 1, "day": 1, "grams": 20.0})
        assert len(pair.Weighing) == 1  # visible inside the transaction
        raise RuntimeError("boom")
    assert not conn.in_transaction
    assert [r["animal"] for r in pair.Animal.to_dicts()] == [0]
    assert len(pair.Weighing) == 0
    pair.Animal.insert1({"animal": 1})  # the connection is usable afterwards
    assert len(pair.Animal) == 2


def test_failed_insert_in_transaction_rolls_back_earlier_rows(
    pair: SimpleNamespace, conn: dj.Connection
) -> None:
    with pytest.raises(dj.MissingParentError), conn.transaction:
        pair.Animal.insert1({"animal": 1})
        pair.Weighing.insert1({"animal": 2, "day": 1, "grams": 20.0})
    assert len(pair.Animal) == 0


def test_nested_transaction_joins_outer(pair: SimpleNamespace, conn: dj.Connection) -> None:
    with pytest.raises(KeyboardInterrupt), conn.transaction:
        with conn.transaction:
            pair.Animal.insert1({"animal": 1})
        assert conn.in_transaction  # the inner block did not commit
        pair.Animal.insert1({"animal": 2})
        raise KeyboardInterrupt
    assert len(pair.Animal) == 0
    with conn.transaction:
        with conn.transaction:
            pair.Animal.insert1({"animal": 3})
        pair.Animal.insert1({"animal": 4})
    assert [r["animal"] for r in pair.Animal.to_dicts(order_by="animal")] == [3, 4]


def test_inner_exception_rolls_back_outer(pair: SimpleNamespace, conn: dj.Connection) -> None:
    with pytest.raises(ValueError), conn.transaction:
        pair.Animal.insert1({"animal": 1})
        with conn.transaction:
            raise ValueError("inner")
    assert len(pair.Animal) == 0


# -- connecting ------------------------------------------------------------------------------
def test_connect_duckdb_memory() -> None:
    with dj.connect("duckdb://") as conn:
        assert conn.backend.name == "duckdb"
        assert conn.list_schemas() == []
        assert "duckdb" in repr(conn)


def test_connect_duckdb_file_persists(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "pipeline.duckdb"
    first = dj.connect(f"duckdb:///{path}")
    schema = dj.Schema("persist", connection=first)

    @schema
    class Item(dj.Manual):
        definition = """
        item : int32
        ---
        label : varchar(10)
        """

    Item.insert([{"item": 1, "label": "one"}, {"item": 2, "label": "two"}])
    first.close()
    assert path.is_file()
    second = dj.connect(f"duckdb:///{path}")
    try:
        assert second.list_schemas() == ["persist"]
        lab = dj.virtual_schema("persist", connection=second)
        assert lab.Item.to_dicts(order_by="item") == [
            {"item": 1, "label": "one"},
            {"item": 2, "label": "two"},
        ]
    finally:
        second.close()


def test_two_connections_to_one_duckdb_file(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'shared.duckdb'}"
    first, second = dj.connect(url), dj.connect(url)
    schema = dj.Schema("shared", connection=first)

    @schema
    class Item(dj.Manual):
        definition = """
        item : int32
        """

    lab = dj.virtual_schema("shared", connection=second)
    with first.transaction:
        Item.insert1({"item": 1})
        assert len(lab.Item()) == 0  # the other connection sees committed data only
    assert len(lab.Item()) == 1
    first.close()
    first.close()  # closing twice is harmless
    lab.Item.insert1({"item": 2})
    assert len(lab.Item()) == 2
    second.close()


def test_connect_postgres(pg_url: str) -> None:
    parts = urllib.parse.urlsplit(pg_url)
    # the throwaway server trusts every password, so a secret one still connects
    url = parts._replace(netloc=f"{parts.username}:{SECRET}@{parts.hostname}:{parts.port}").geturl()
    conn = dj.connect(url)
    try:
        assert conn.backend.name == "postgres"
        assert SECRET not in repr(conn)
        assert "***" in repr(conn)
        assert SECRET not in conn.backend.url
        assert conn.fetch_scalar("SELECT 1") == 1
    finally:
        conn.close()


@pytest.fixture
def file_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "duckdb":
        return f"duckdb:///{tmp_path / 'pipeline.duckdb'}"
    return str(request.getfixturevalue("pg_url"))


def test_read_only_connections_cannot_write(file_url: str, tmp_path: Path) -> None:
    name = f"readonly_{tmp_path.name[-12:].replace('-', '_')}"
    writer = dj.connect(file_url)
    schema = dj.Schema(name, connection=writer)

    @schema
    class Item(dj.Manual):
        definition = """
        item : int32
        """

    Item.insert1({"item": 1})
    writer.close()  # DuckDB: one process writes a file, and this one now reads it
    with dj.config.override(database__read_only=True):
        reader = dj.connect(file_url)
    try:
        lab = dj.virtual_schema(name, connection=reader)
        assert lab.Item.to_dicts() == [{"item": 1}]
        with pytest.raises(dj.AccessError, match="read-only"):
            lab.Item.insert1({"item": 2})
        with pytest.raises(dj.AccessError, match="read-only"), reader.transaction:
            reader.execute(f'DROP TABLE "{name}"."item"')
        assert lab.Item.to_dicts() == [{"item": 1}]
    finally:
        reader.close()
    with dj.connect(file_url) as cleanup:
        dj.Schema(name, connection=cleanup).drop(prompt=False)


def test_read_only_refused_where_the_file_is_open_for_writing(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'busy.duckdb'}"
    with (
        dj.connect(url),
        dj.config.override(database__read_only=True),
        pytest.raises(dj.ConnectionError, match="open for writing in this process"),
    ):
        dj.connect(url)


@pytest.mark.parametrize("url", ["mysql://u:p@host/db", "sqlite:///x.db", "pipeline.duckdb", ""])
def test_bad_url_scheme(url: str) -> None:
    with pytest.raises(dj.ConfigError, match="duckdb://"):
        dj.connect(url or "nonsense")
    with pytest.raises(ValueError):
        dj.connect(url or "nonsense")


def test_duckdb_url_with_a_password_is_refused_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB has no users: a server-style URL was read as a relative path and left a folder
    named after the user and password in the working directory."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(dj.ConfigError, match="DuckDB database is a file") as info:
        dj.connect("duckdb://ann:hunter2@server/lab")
    assert "hunter2" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_hides_password() -> None:
    url = f"postgresql://ann:{SECRET}@127.0.0.1:1/lab"
    with pytest.raises(dj.ConnectionError) as info:
        dj.connect(url)
    assert isinstance(info.value, ConnectionError)
    assert SECRET not in str(info.value)
    assert "127.0.0.1" in str(info.value)
    assert info.value.__cause__ is None or SECRET not in str(info.value.__cause__)


def test_repr_hides_password_everywhere() -> None:
    with dj.config.override(database__url=f"postgresql://ann:{SECRET}@db:5432/lab"):
        assert SECRET not in repr(dj.config)
    assert dj.settings.redact(f"postgresql://ann:{SECRET}@db/lab") == (
        "postgresql://ann:***@db/lab"
    )


# -- configuration ---------------------------------------------------------------------------
@pytest.fixture
def clean_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A working directory with no config file above it and no DJFRAME_* variables."""
    for name in ("DJFRAME_DATABASE_URL", "DJFRAME_STORE", "DJFRAME_SAFEMODE"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "project" / "analysis"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    saved = dict(connection_module._default)
    yield work
    for url, conn in list(connection_module._default.items()):
        if url not in saved:
            conn.close()
            del connection_module._default[url]


def test_defaults(clean_config: Path) -> None:
    assert dj.config["database.url"] == "duckdb:///djframe.duckdb"
    assert dj.config["store"] == "djframe-store"
    assert dj.config["display.limit"] == 12


def test_djframe_toml_in_parent(clean_config: Path) -> None:
    (clean_config.parent / "djframe.toml").write_text(
        'store = "file-store"\n[database]\nurl = "duckdb:///from-file.duckdb"\n'
        "[display]\nlimit = 5\n"
    )
    assert dj.config["database.url"] == "duckdb:///from-file.duckdb"
    assert dj.config["store"] == "file-store"
    assert dj.config["display.limit"] == 5
    assert dj.config["safemode"] is False  # the test suite's own run-time override wins


def test_pyproject_tool_table(clean_config: Path) -> None:
    (clean_config.parent / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.djframe]\nstore = "py-store"\n'
    )
    assert dj.config["store"] == "py-store"
    assert dj.config["database.url"] == "duckdb:///djframe.duckdb"


def test_pyproject_without_tool_table_is_skipped(clean_config: Path) -> None:
    (clean_config / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (clean_config.parent / "djframe.toml").write_text('store = "outer"\n')
    assert dj.config["store"] == "outer"


def test_nearest_file_wins(clean_config: Path) -> None:
    (clean_config.parent / "djframe.toml").write_text('store = "outer"\n')
    (clean_config / "djframe.toml").write_text('store = "inner"\n')
    assert dj.config["store"] == "inner"


def test_malformed_file(clean_config: Path) -> None:
    (clean_config / "djframe.toml").write_text("store = \n")
    with pytest.raises(dj.ConfigError, match=r"djframe\.toml"):
        dj.config["store"]


def test_precedence_env_over_file_runtime_over_env(
    clean_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_config / "djframe.toml").write_text(
        'store = "file-store"\n[database]\nurl = "duckdb:///file.duckdb"\n'
    )
    monkeypatch.setenv("DJFRAME_DATABASE_URL", "duckdb:///env.duckdb")
    monkeypatch.setenv("DJFRAME_STORE", "env-store")
    assert dj.config["database.url"] == "duckdb:///env.duckdb"
    assert dj.config["store"] == "env-store"
    with dj.config.override(store="runtime-store"):
        assert dj.config["store"] == "runtime-store"
        assert dj.config["database.url"] == "duckdb:///env.duckdb"
    assert dj.config["store"] == "env-store"
    dj.config["database.url"] = "duckdb:///runtime.duckdb"
    try:
        assert dj.config["database.url"] == "duckdb:///runtime.duckdb"
    finally:
        del dj.config._runtime["database.url"]
    assert dj.config["database.url"] == "duckdb:///env.duckdb"


def test_env_safemode_parsed(clean_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJFRAME_SAFEMODE", "false")
    with dj.config.override():
        dj.config._runtime.pop("safemode", None)
        assert dj.config["safemode"] is False
        monkeypatch.setenv("DJFRAME_SAFEMODE", "1")
        assert dj.config["safemode"] is True


def test_override_nested_and_restored(clean_config: Path) -> None:
    with dj.config.override(display__limit=3, safemode=True):
        assert dj.config["display.limit"] == 3
        assert dj.config["safemode"] is True
        with dj.config.override(display__limit=4):
            assert dj.config["display.limit"] == 4
        assert dj.config["display.limit"] == 3
    assert dj.config["display.limit"] == 12
    assert dj.config["safemode"] is False
    with pytest.raises(RuntimeError), dj.config.override(display__limit=9):
        raise RuntimeError
    assert dj.config["display.limit"] == 12


def test_unknown_setting(clean_config: Path) -> None:
    with pytest.raises(dj.ConfigError, match=r"database\.url"):
        dj.config["databse.url"]
    with pytest.raises(dj.ConfigError):
        dj.config["no_such"] = 1
    with pytest.raises(dj.ConfigError), dj.config.override(no_such=1):
        pass
    assert dj.config.get("no_such", "fallback") == "fallback"
    assert "no_such" not in dj.config
    assert "display.limit" in dj.config


def test_connect_without_url_uses_configuration(clean_config: Path) -> None:
    with dj.connect() as conn:
        assert conn.backend.name == "duckdb"
    assert (clean_config / "djframe.duckdb").is_file()


def test_schema_without_connection_uses_configured_default(
    clean_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = clean_config / "data" / "default.duckdb"
    (clean_config / "djframe.toml").write_text(
        f'store = "my-store"\n[database]\nurl = "duckdb:///{path}"\n'
    )
    schema = dj.Schema("configured")
    assert schema.store == "my-store"
    assert schema.connection is dj.Schema("configured").connection  # one shared connection

    @schema
    class Thing(dj.Manual):
        definition = """
        thing : int32
        """

    Thing.insert1({"thing": 1})
    assert path.is_file()
    assert dj.list_schemas() == ["configured"]
    assert len(Thing) == 1


def test_a_changed_file_is_read_again(clean_config: Path) -> None:
    config_file = clean_config / "djframe.toml"
    config_file.write_text('store = "first"\n')
    assert dj.config["store"] == "first" and dj.config["store"] == "first"  # parsed once
    config_file.write_text('store = "second one"\n')
    assert dj.config["store"] == "second one"
    (clean_config / "pyproject.toml").write_text('[tool.djframe]\nstore = "nearer"\n')
    config_file.unlink()
    assert dj.config["store"] == "nearer"


def test_a_table_from_the_file_is_a_copy(clean_config: Path) -> None:
    (clean_config / "djframe.toml").write_text('[stores.cold]\nlocation = "/cold"\n')
    dj.config["stores"]["cold"]["location"] = "/elsewhere"
    assert dj.config["stores"] == {"cold": {"location": "/cold"}}
