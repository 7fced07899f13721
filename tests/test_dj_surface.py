"""DataJoint 2.x's schema, connection and configuration surface (issue 13, items 6-8), on
every backend: ``dj.Schema()`` then ``activate``, ``schema["T"]``, virtual modules,
``dj.conn``/``dj.Connection(host, user, password)``, ``conn.query``, explicit transactions,
``dj.config``'s attribute sections, ``DJ_*`` variables, ``datajoint.json`` and DataJoint
store specs."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

import djframe as dj

_names = itertools.count()


@pytest.fixture
def name(conn: dj.Connection) -> Iterator[str]:
    """A schema name, dropped after the test."""
    chosen = f"surface_{os.getpid()}_{next(_names)}"
    yield chosen
    if chosen in conn.list_schemas():
        dj.Schema(chosen, connection=conn).drop(prompt=False)


def declare_pipeline(schema: dj.Schema) -> dict[str, type[dj.Table]]:
    @schema
    class Subject(dj.Manual):
        """Mice."""

        definition = """
        subject_id : int32
        ---
        species = 'mouse' : varchar(20)
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session : int16
        """

        class Note(dj.Part):
            definition = """
            -> master
            note_id : int16
            ---
            text : varchar(100)
            """

    return {"Subject": Subject, "Session": Session}


# -- item 6: schemas -----------------------------------------------------------------------
def test_schema_activated_later_declares_what_waited(conn: dj.Connection, name: str) -> None:
    schema = dj.Schema()
    assert not schema.is_activated() and schema.database is None
    classes = declare_pipeline(schema)
    with pytest.raises(dj.DefinitionError, match="not declared"):
        classes["Subject"]()
    schema.activate(name, connection=conn)
    assert schema.database == name and schema.is_activated()
    classes["Subject"].insert1({"subject_id": 1})
    classes["Session"].insert1({"subject_id": 1, "session": 1})
    assert len(classes["Session"] * classes["Subject"]) == 1
    schema.activate(name)  # again with the same name: nothing to do
    with pytest.raises(dj.DefinitionError, match="activated already"):
        schema.activate(name + "_other")


def test_activate_without_creating(conn: dj.Connection, name: str) -> None:
    with pytest.raises(dj.MissingTableError, match="create_schema=True"):
        dj.Schema().activate(name, connection=conn, create_schema=False)
    assert name not in conn.list_schemas()


def test_create_tables_false_leaves_missing_tables_undeclared(
    conn: dj.Connection, name: str
) -> None:
    declare_pipeline(dj.Schema(name, connection=conn))
    reader = dj.Schema(name, connection=conn, create_tables=False)

    class Extra(dj.Manual):
        definition = "x : int32"

    reader(Extra)
    assert not Extra.is_declared if hasattr(Extra, "is_declared") else Extra._info is None
    assert "Extra" not in reader


def test_schema_call_with_context(conn: dj.Connection, name: str) -> None:
    schema = dj.Schema(name, connection=conn)
    classes = declare_pipeline(schema)

    class Visit(dj.Manual):
        definition = """
        -> Parent
        visit : int16
        """

    schema(Visit, context={"Parent": classes["Subject"]})
    assert Visit.heading.primary_key == ["subject_id", "visit"]


def test_get_table_by_either_name_and_contains(conn: dj.Connection, name: str) -> None:
    schema = dj.Schema(name, connection=conn)
    classes = declare_pipeline(schema)
    classes["Subject"].insert1({"subject_id": 3})
    assert schema["Subject"].to_dicts() == [{"subject_id": 3, "species": "mouse"}]
    assert schema.get_table("subject").to_dicts() == schema["Subject"].to_dicts()
    assert "Session" in schema and "session__note" in schema and "Nothing" not in schema
    assert [t.table_name for t in schema] == ["subject", "session", "session__note"]
    with pytest.raises(dj.MissingTableError, match="'Nothing' does not exist"):
        schema["Nothing"]


def test_virtual_module_and_spawned_classes(conn: dj.Connection, name: str) -> None:
    classes = declare_pipeline(dj.Schema(name, connection=conn))
    classes["Subject"].insert1({"subject_id": 5})
    for module in (
        dj.VirtualModule("lab", name, connection=conn),
        dj.create_virtual_module("lab", name, connection=conn),
        dj.virtual_schema(name, connection=conn),
    ):
        assert isinstance(module, dj.VirtualModule) and module.schema.database == name
        assert module.Subject.to_dicts() == [{"subject_id": 5, "species": "mouse"}]
        assert module.Session.Note.heading.primary_key == ["subject_id", "session", "note_id"]
    namespace: dict[str, object] = {}
    dj.Schema(name, connection=conn).spawn_missing_classes(context=namespace)
    assert sorted(namespace) == ["Session", "Subject"]
    mine = {"Subject": classes["Subject"]}
    dj.Schema(name, connection=conn).spawn_missing_classes(context=mine)
    assert mine["Subject"] is classes["Subject"]  # present ones are kept
    into: dict[str, object] = {}
    dj.Schema(name, connection=conn).make_classes(into=into)
    assert sorted(into) == ["Session", "Subject"]


def test_definition_in_docstring(schema: dj.Schema) -> None:
    classes = declare_pipeline(schema)
    doc = classes["Subject"].__doc__ or ""
    assert doc.startswith("Mice.") and "species = 'mouse' : varchar(20)" in doc
    assert "note_id : int16" in (classes["Session"].Note.__doc__ or "")


def test_schema_jobs_lists_existing_queues(schema: dj.Schema) -> None:
    Subject = declare_pipeline(schema)["Subject"]

    @schema
    class Count(dj.Computed):
        definition = """
        -> Subject
        ---
        n : int32
        """

        def make(self, key: dict[str, int]) -> None:
            self.insert1({**key, "n": 1})

    Subject.insert1({"subject_id": 1})
    assert schema.jobs == []
    Count.populate(reserve_jobs=True)
    assert [j.table_name for j in schema.jobs] == [Count.jobs.table_name]


# -- item 7: connections -------------------------------------------------------------------
def dj_credentials(url: str, tmp_path: Path) -> dict[str, str]:
    if url.startswith("duckdb"):
        return {"host": str(tmp_path / "dj.duckdb"), "user": "", "password": ""}
    parts = urlparse(url)
    return {
        "host": f"{parts.hostname}:{parts.port}",
        "user": parts.username or "",
        "password": parts.password or "",
    }


@pytest.fixture
def dj_settings(database_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    backend = "duckdb" if database_url.startswith("duckdb") else "postgresql"
    database = urlparse(database_url).path.lstrip("/") if backend != "duckdb" else None
    with dj.config.override(database__backend=backend, database__name=database):
        yield dj_credentials(database_url, tmp_path)


def test_conn_from_datajoint_credentials_is_shared(dj_settings: dict[str, str]) -> None:
    first = dj.conn(**dj_settings, reset=True)
    assert first.is_connected and dj.conn() is first
    again = dj.conn(**dj_settings, reset=True)
    assert again is not first and dj.conn() is again
    assert again.query("SELECT %s + 1 AS n", (41,)).fetchall() == [(42,)]
    schema = dj.Schema(f"shared_{os.getpid()}_{next(_names)}")
    assert schema.connection is again
    schema.drop(prompt=False)
    again.close()
    assert not again.is_connected


def test_connection_class_takes_host_user_password(dj_settings: dict[str, str]) -> None:
    with dj.Connection(**dj_settings) as conn:
        assert conn.query("SELECT 'a' AS x, 2 AS y", as_dict=True).fetchone() == {
            "x": "a",
            "y": 2,
        }


def test_datajoint_keys_make_the_default_connection(
    dj_settings: dict[str, str], database_url: str
) -> None:
    host = dj_settings["host"]
    with dj.config.override(database__host=host, database__user=dj_settings["user"]):
        url = dj.connection.connection_url(password=dj_settings["password"] or None)
    assert url.split("://")[0] == database_url.split("://")[0]
    assert host.split(":")[0] in url


def test_mysql_backend_is_refused() -> None:
    with pytest.raises(dj.ConfigError, match="not MySQL"):
        dj.Connection("db.example.org", "ann", "pw", backend="mysql")


def test_query_with_arguments_and_statements(conn: dj.Connection, schema: dj.Schema) -> None:
    table = f'"{schema.name}"."raw"'
    assert conn.query(f"CREATE TABLE {table} (a integer, b varchar(10))").fetchall() == []
    conn.query(f"INSERT INTO {table} VALUES (%s, %s), (%s, %s)", (1, "it's", 2, "100%"))
    rows = conn.query(f"SELECT a, b FROM {table} WHERE b LIKE %s ORDER BY a", ("%%",))
    assert rows.rowcount == 2 and list(rows) == [(1, "it's"), (2, "100%")]
    with pytest.raises(dj.QueryError, match="more placeholders"):
        conn.query("SELECT %s, %s", (1,))


def test_explicit_transactions(conn: dj.Connection, schema: dj.Schema) -> None:
    Subject = declare_pipeline(schema)["Subject"]
    conn.start_transaction()
    assert conn.in_transaction
    Subject.insert1({"subject_id": 1})
    conn.cancel_transaction()
    assert not conn.in_transaction and len(Subject) == 0
    conn.start_transaction()
    Subject.insert1({"subject_id": 2})
    conn.commit_transaction()
    assert Subject.keys() == [{"subject_id": 2}]
    with conn.transaction:
        assert conn.in_transaction


# -- item 8: dj.config ---------------------------------------------------------------------
def test_config_sections_as_attributes() -> None:
    with dj.config.override():
        dj.config.database.host = "db.lab"
        dj.config.jobs.allow_new_pk_fields_in_computed_tables = True
        dj.config.display.limit = 3
        assert dj.config["database.host"] == "db.lab" == dj.config.database.host
        assert dj.config["jobs.allow_new_pk_fields_in_computed_tables"] is True
        assert dj.config.display.limit == 3 and dj.config.safemode is False
        dj.config.stores["raw"] = {"protocol": "file", "location": "/data"}
        assert dj.config["stores"] == {"raw": {"protocol": "file", "location": "/data"}}
        del dj.config["display.limit"]
        assert dj.config.display.limit == 12
    assert dj.config.database.host == "localhost" and dj.config.stores == {}
    with pytest.raises(AttributeError, match="no setting 'nothing'"):
        _ = dj.config.nothing
    with dj.config.override(display={"limit": 4}, database__port=5433):
        assert dj.config.display.limit == 4 and dj.config.database.port == 5433


def test_dj_variables_and_datajoint_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "datajoint.json").write_text(
        json.dumps({"database.user": "ann", "display": {"limit": 7}, "safemode": False})
    )
    monkeypatch.setenv("DJ_HOST", "db.env")
    monkeypatch.setenv("DJ_PORT", "6543")
    monkeypatch.setenv("DJ_STORES", json.dumps({"cold": {"protocol": "file", "location": "/c"}}))
    config = dj.settings.Config()
    assert config.database.host == "db.env" and config.database.port == 6543
    assert config.database.user == "ann" and config.display.limit == 7
    assert config.stores == {"cold": {"protocol": "file", "location": "/c"}}
    monkeypatch.setenv("DJ_IGNORE_CONFIG_FILE", "true")
    assert dj.settings.Config().database.user is None


def test_datajoint_store_specs() -> None:
    local = dj.store.dj_store("local", {"protocol": "file", "location": "/data/raw"})
    assert local.location == "/data/raw"
    s3 = dj.store.dj_store(
        "repo-s3",
        {
            "protocol": "s3",
            "endpoint": "minio:9000",
            "bucket": "lab",
            "location": "dj/repo",
            "access_key": "k",
            "secret_key": "s",
            "secure": False,
        },
    )
    assert s3.location == "s3://lab/dj/repo"
    assert s3.storage_options["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert s3.storage_options["AWS_ALLOW_HTTP"] == "true"
    with pytest.raises(dj.StoreError, match="protocol 'file' with a location"):
        dj.store.dj_store("bad", {"protocol": "ftp"})


def test_named_store_with_hyphen_and_default_store(schema: dj.Schema, tmp_path: Path) -> None:
    stores = {
        "repo-local": {"protocol": "file", "location": str(tmp_path / "repo")},
        "default": "repo-local",
    }
    with dj.config.override(stores=stores):

        @schema
        class Trace(dj.Manual):
            definition = """
            trace_id : int32
            ---
            named : <npy@repo-local>
            """

        Trace.insert1({"trace_id": 1, "named": np.arange(3)})
        assert (tmp_path / "repo").is_dir()
        np.testing.assert_array_equal(Trace.fetch1("named"), np.arange(3))
        assert dj.store.default_store().location == str(tmp_path / "repo")


# -- item 10: tables -----------------------------------------------------------------------
def test_alter_secondary_attributes_keeps_rows(schema: dj.Schema) -> None:
    @schema
    class Animal(dj.Manual):
        definition = """
        animal_id : int32
        ---
        name : varchar(20)
        weight : int32
        gone = 'x' : varchar(5)
        """

    Animal.insert1({"animal_id": 1, "name": "a", "weight": 3})
    Animal.definition = """
    animal_id : int32
    ---
    name = 'anon' : varchar(40)   # longer now
    weight : float64
    added = 2.5 : float32
    note = null : varchar(10)
    """
    Animal.alter(prompt=False)
    assert Animal.heading.names == ["animal_id", "name", "weight", "added", "note"]
    Animal.insert1({"animal_id": 2, "weight": 1.5})
    assert Animal.to_dicts(order_by="KEY") == [
        {"animal_id": 1, "name": "a", "weight": 3.0, "added": 2.5, "note": None},
        {"animal_id": 2, "name": "anon", "weight": 1.5, "added": 2.5, "note": None},
    ]
    assert "longer now" in Animal.describe()
    reopened = dj.virtual_schema(schema.name, connection=schema.connection)
    assert reopened.Animal.heading.names == Animal.heading.names
    Animal.definition = Animal.definition.replace("animal_id : int32", "animal_id : int64")
    with pytest.raises(dj.DefinitionError, match="primary key cannot be altered"):
        Animal.alter(prompt=False)
    Animal.definition += "\nneeded : int32\n"
    Animal.definition = Animal.definition.replace("animal_id : int64", "animal_id : int32")
    with pytest.raises(dj.DefinitionError, match="needs a default"):
        Animal.alter(prompt=False)
    assert len(Animal) == 2


def test_drop_quick_is_declared_head_tail_and_keys(schema: dj.Schema) -> None:
    classes = declare_pipeline(schema)
    Subject, Session = classes["Subject"], classes["Session"]

    class Later(dj.Manual):
        definition = "x : int32"

    assert not Later.is_declared and Subject.is_declared and Subject().is_declared
    Subject.insert(
        [{"subject_id": i, "species": s} for i, s in [(1, "rat"), (2, "bat"), (3, "cat")]]
    )
    assert Subject.head(2) == [
        {"subject_id": 1, "species": "rat"},
        {"subject_id": 2, "species": "bat"},
    ]
    assert Subject.tail(2) == [
        {"subject_id": 2, "species": "bat"},
        {"subject_id": 3, "species": "cat"},
    ]
    assert Subject.keys(order_by="species") == [
        {"subject_id": 2},
        {"subject_id": 3},
        {"subject_id": 1},
    ]
    assert Subject.keys(order_by="species DESC", limit=1) == [{"subject_id": 1}]
    with pytest.raises(dj.IntegrityError, match="depend on it"):
        Subject.drop_quick()
    Session.Note.drop_quick()
    Session.drop_quick()
    assert schema.list_tables() == ["subject"]


def test_upstream_inside_make(schema: dj.Schema) -> None:
    classes = declare_pipeline(schema)
    Subject, Session = classes["Subject"], classes["Session"]
    seen: list[object] = []

    @schema
    class Species(dj.Computed):
        definition = """
        -> Session
        ---
        species : varchar(20)
        """

        def make(self, key: dict[str, int]) -> None:
            species = self.upstream[Subject].fetch1("species")
            with pytest.raises(dj.DataJointError, match="not upstream"):
                self.upstream[Species]
            seen.append(len(self.upstream[Session]))
            self.insert1({**key, "species": species})

    Subject.insert([{"subject_id": 1, "species": "rat"}, {"subject_id": 2, "species": "bat"}])
    Session.insert([{"subject_id": 1, "session": 1}, {"subject_id": 2, "session": 1}])
    Species.populate()
    assert Species.to_dicts(order_by="KEY") == [
        {"subject_id": 1, "session": 1, "species": "rat"},
        {"subject_id": 2, "session": 1, "species": "bat"},
    ]
    assert seen == [1, 1]
    with pytest.raises(dj.DjframeError, match="only available inside make"):
        _ = Species().upstream


def test_diagram_of_a_module_with_context(schema: dj.Schema) -> None:
    classes = declare_pipeline(schema)
    module = dj.VirtualModule("lab", schema.name, connection=schema.connection)
    diagram = dj.Diagram(module, context=classes)
    assert sorted(diagram.nodes) == sorted(f"{schema.name}.{t}" for t in schema.list_tables())


def test_datajoint_error_names_are_djframe_errors() -> None:
    assert dj.DataJointError is dj.DjframeError
    assert dj.LostConnectionError is dj.ConnectionError
    assert dj.UnknownAttributeError is dj.MissingAttributeError
    assert dj.Entry is dj.Manual and dj.Compute is dj.Computed and dj.Ingest is dj.Imported
    from djframe.errors import DataJointError

    assert DataJointError is dj.DjframeError


def test_legacy_make_tuples_is_make(schema: dj.Schema) -> None:
    Subject = declare_pipeline(schema)["Subject"]

    @schema
    class Copy(dj.Computed):
        definition = """
        -> Subject
        ---
        species : varchar(20)
        """

        def _make_tuples(self, key: dict[str, int]) -> None:
            self.insert1({**key, "species": (Subject & key).fetch1("species")})

    Subject.insert1({"subject_id": 1, "species": "owl"})
    Copy.populate()
    assert Copy.to_dicts() == [{"subject_id": 1, "species": "owl"}]


def test_staged_insert1_writes_objects_then_inserts(schema: dj.Schema, tmp_path: Path) -> None:
    @schema
    class Raw(dj.Manual):
        definition = """
        raw_id : int32
        ---
        data : <object@>
        """

    with pytest.raises(dj.DataError, match="Primary key"), Raw.staged_insert1 as staged:
        staged.open("data", ".dat")
    with Raw.staged_insert1 as staged:
        staged.rec["raw_id"] = 1
        with staged.open("data", ".dat") as f:
            f.write(b"staged bytes")
    with pytest.raises(ValueError, match="boom"), Raw.staged_insert1 as staged:
        staged.rec["raw_id"] = 2
        with staged.open("data", ".dat") as f:
            f.write(b"never")
        raise ValueError("boom")
    ref = Raw.fetch1("data")
    assert ref.read() == b"staged bytes" and ref.name == "data.dat"
    assert Raw.keys() == [{"raw_id": 1}]


def test_store_specs_and_config_files(tmp_path: Path) -> None:
    with dj.config.override():
        dj.config.stores = {
            "default": "main",
            "main": {"protocol": "file", "location": "/data"},
            "cloud": {"protocol": "s3", "endpoint": "s3.example.org", "location": "p"},
        }
        spec = dj.config.get_store_spec()
        assert spec["location"] == "/data" and spec["token_length"] == 8
        with pytest.raises(dj.ConfigError, match="missing bucket"):
            dj.config.get_store_spec("cloud")
        with pytest.raises(dj.ConfigError, match="filepath_default is not configured"):
            dj.config.get_store_spec(use_filepath_default=True)
        with pytest.raises(dj.ConfigError, match="'nowhere' is not configured"):
            dj.config.get_store_spec("nowhere")
        path = tmp_path / "lab.json"
        path.write_text(json.dumps({"database": {"host": "db.lab"}, "display.limit": 5}))
        dj.config.load(path)
        assert dj.config.database.host == "db.lab" and dj.config.display.limit == 5
    assert dj.config.database.host == "localhost"
