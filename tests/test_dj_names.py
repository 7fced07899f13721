"""DataJoint 2.3.5 names a pipeline relies on (issue 13), on every backend: type categories
(``djframe.declare.match_type``), ``Diagram.trace`` and ``diagram[T]``, ``Table.validate``,
``insert(chunk_size=)`` and ``insert_dataframe``."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

import djframe as dj
from djframe import settings
from djframe.declare import CORE_TYPE_SQL, CORE_TYPES, SPECIAL_TYPES, match_type

# -- type categories -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "category"),
    [
        ("int8", "INT8"),
        ("float64", "FLOAT64"),
        ("bool", "BOOL"),
        ("jsonb", "JSON"),
        ("datetime(3)", "DATETIME"),
        ("varchar(255)", "VARCHAR"),
        ("decimal(6, 2)", "DECIMAL"),
        ("enum('a', 'b')", "ENUM"),
        ("int(11) unsigned", "INTEGER"),
        ("bigint unsigned auto_increment", "INTEGER"),
        ("serial", "INTEGER"),
        ("double unsigned", "FLOAT"),
        ("decimal(2,2) zerofill", "NUMERIC"),
        ("numeric(6,2)", "NUMERIC"),
        ("decimal", "NUMERIC"),
        ("time", "TEMPORAL"),
        ("year", "TEMPORAL"),
        ("blob", "NATIVE_BLOB"),
        ("longtext", "NATIVE_TEXT"),
        ("<blob@cold>", "CODEC"),
    ],
)
def test_match_type_names_the_category(spelling: str, category: str) -> None:
    assert match_type(spelling) == category
    assert (category in SPECIAL_TYPES) == (category.lower() in CORE_TYPES or category == "CODEC")


@pytest.mark.parametrize("spelling", ["int24", "uint8", "serialize", "float64x", "varchar(0)"])
def test_match_type_refuses_what_a_definition_refuses(spelling: str) -> None:
    with pytest.raises(dj.UnknownTypeError, match=r"attribute type|holds at least one"):
        match_type(spelling)


def test_core_type_sql_per_backend() -> None:
    assert set(CORE_TYPE_SQL) == set(CORE_TYPES)
    assert CORE_TYPE_SQL["int8"] == {"duckdb": "TINYINT", "postgres": "SMALLINT"}
    assert CORE_TYPE_SQL["decimal"]["postgres"] == "NUMERIC"


def test_each_classified_type_declares(schema: dj.Schema) -> None:
    spellings = ["int16", "decimal(5)", "year", "double unsigned", "tinytext", "char(4)"]
    assert all(match_type(s) for s in spellings)
    lines = "\n".join(f"a{i} = null : {s}" for i, s in enumerate(spellings))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        @schema
        class Typed(dj.Manual):
            definition = f"""
            id : int32
            ---
            {lines}
            """

    Typed.insert1({"id": 1, "a0": 3, "a1": 7, "a2": 2024, "a3": 1.5, "a4": "x", "a5": "abcd"})
    assert Typed.fetch1()["a2"] == 2024


# -- Diagram.trace ---------------------------------------------------------------------------


def declare_family(schema: dj.Schema) -> dict[str, type[dj.Table]]:
    @schema
    class Grand(dj.Manual):
        definition = """
        grand_id : int32
        """

    @schema
    class Parent(dj.Manual):
        definition = """
        -> Grand
        parent_id : int32
        ---
        name : varchar(20)
        """

    @schema
    class Animal(dj.Manual):
        definition = """
        animal_id : int32
        """

    @schema
    class Child(dj.Manual):
        definition = """
        -> Parent
        child_id : int32
        ---
        -> Animal.proj(subject='animal_id')
        """

    @schema
    class Other(dj.Manual):
        definition = """
        -> Grand
        other_id : int32
        """

    Grand.insert([{"grand_id": 1}, {"grand_id": 2}])
    Parent.insert(
        [
            {"grand_id": 1, "parent_id": 1, "name": "a"},
            {"grand_id": 1, "parent_id": 2, "name": "b"},
            {"grand_id": 2, "parent_id": 3, "name": "c"},
        ]
    )
    Animal.insert([{"animal_id": 5}, {"animal_id": 6}, {"animal_id": 7}])
    Child.insert(
        [
            {"grand_id": 1, "parent_id": 1, "child_id": 1, "subject": 5},
            {"grand_id": 1, "parent_id": 2, "child_id": 2, "subject": 6},
            {"grand_id": 2, "parent_id": 3, "child_id": 3, "subject": 7},
        ]
    )
    return {"Grand": Grand, "Parent": Parent, "Animal": Animal, "Child": Child, "Other": Other}


def test_trace_restricts_every_ancestor(schema: dj.Schema) -> None:
    t = declare_family(schema)
    trace = dj.Diagram.trace(t["Child"] & {"grand_id": 1})
    assert sorted(trace[t["Parent"]].to_polars()["name"]) == ["a", "b"]
    assert sorted(trace[t["Animal"]].to_polars()["animal_id"]) == [5, 6]  # a renamed reference
    assert trace[t["Grand"]].to_polars()["grand_id"].to_list() == [1]
    assert len(trace[t["Child"]]) == 2
    assert trace.counts() == {
        t["Animal"]().full_table_name: 2,
        t["Grand"]().full_table_name: 1,
        t["Parent"]().full_table_name: 2,
        t["Child"]().full_table_name: 2,
    }
    assert "Diagram.trace" in repr(trace) and "Parent: 2" in repr(trace)


def test_trace_joins_the_paths_to_an_ancestor(schema: dj.Schema) -> None:
    t = declare_family(schema)
    trace = dj.Diagram.trace(t["Child"] & "child_id in (1, 3)")
    assert sorted(trace[t["Grand"]].to_polars()["grand_id"]) == [1, 2]
    assert sorted(trace[t["Animal"]].to_polars()["animal_id"]) == [5, 7]


def test_trace_by_name_and_outside(schema: dj.Schema) -> None:
    t = declare_family(schema)
    trace = dj.Diagram.trace(t["Parent"] & {"parent_id": 3})
    assert len(trace[t["Grand"]().full_table_name]) == 1
    assert len(trace[t["Grand"]().full_name]) == 1
    for outside in (t["Child"], t["Other"]):
        with pytest.raises(dj.QueryError, match="not in this trace"):
            trace[outside]
    assert dj.Diagram.trace(t["Grand"] & {"grand_id": 2}).counts() == {
        t["Grand"]().full_table_name: 1
    }


def test_cascade_indexing_and_counts(schema: dj.Schema) -> None:
    t = declare_family(schema)
    cascade = dj.Diagram.cascade(t["Grand"] & {"grand_id": 2})
    assert cascade[t["Child"]].to_polars()["child_id"].to_list() == [3]
    assert cascade.counts()[t["Parent"]().full_table_name] == 1
    assert len(t["Child"]()) == 3  # a preview only
    assert dj.diagram.diagram_active


# -- validate, chunk_size, insert_dataframe --------------------------------------------------


def declare_simple(schema: dj.Schema) -> type[dj.Table]:
    @schema
    class Simple(dj.Manual):
        definition = """
        id : int32
        ---
        value : varchar(100)
        score = null : float64
        """

    return Simple


def test_validate_checks_as_insert_does(schema: dj.Schema) -> None:
    table = declare_simple(schema)()
    good = table.validate(pl.DataFrame({"id": [1, 2], "value": ["a", "b"]}))
    assert good and good.rows_checked == 2 and "Validation passed" in good.summary()
    missing = table.validate([{"value": "one"}])
    assert not missing and "id" in missing.errors[0][2]
    assert "Validation failed" in missing.summary()
    with pytest.raises(dj.DataError, match="primary-key"):
        missing.raise_if_invalid()
    extra = [{"id": 1, "value": "one", "unknown_field": 1}]
    assert "unknown_field" in table.validate(extra).errors[0][2]
    assert table.validate(extra, ignore_extra_fields=True)
    assert not table.validate([{"id": 1, "value": "a"}, {"id": 1, "value": "b"}])
    assert not table.validate([{"id": 1, "value": "x" * 101}])
    with pytest.warns(DeprecationWarning):
        short = table.validate([(1, "one")])
    assert "Incorrect number of attributes" in short.errors[0][2]
    assert len(table) == 0  # nothing written


def test_validation_result_summary() -> None:
    errors = [(i, f"field{i}", f"error{i}") for i in range(12)]
    summary = dj.ValidationResult(False, errors, 12).summary()
    assert "12 error(s)" in summary and "Row 0 in field 'field0'" in summary
    assert "and 2 more errors" in summary
    assert bool(dj.ValidationResult(True, [], 1))


def test_chunked_inserts(schema: dj.Schema) -> None:
    table = declare_simple(schema)()
    table.insert([{"id": i, "value": f"v{i}"} for i in range(23)], chunk_size=5)
    table.insert(
        ({"id": i, "value": f"v{i}"} for i in range(30)), chunk_size=4, skip_duplicates=True
    )
    table.insert(pl.DataFrame({"id": range(30, 40), "value": ["p"] * 10}), chunk_size=3)
    assert len(table) == 40
    with pytest.raises(dj.DataError, match="chunk_size is not supported"):
        table.insert(table.proj(), chunk_size=10)
    with pytest.raises(dj.DataError, match="positive int"):
        table.insert([{"id": 99, "value": "x"}], chunk_size=0)


def test_a_failing_chunk_keeps_the_chunks_before_it(schema: dj.Schema) -> None:
    table = declare_simple(schema)()
    rows = [{"id": i, "value": f"v{i}"} for i in range(6)] + [{"id": 0, "value": "again"}]
    with pytest.raises(dj.DuplicateError):
        table.insert(rows, chunk_size=3)
    assert len(table) == 6  # each chunk is a transaction of its own, as in DataJoint


def test_insert_dataframe_index(schema: dj.Schema) -> None:
    table = declare_simple(schema)()
    table.insert_dataframe(pd.DataFrame({"id": [1, 2], "value": ["a", "b"]}))  # RangeIndex
    table.insert_dataframe(
        pd.DataFrame({"value": ["c"]}, index=pd.Index([3], name="id"))
    )  # the key
    roundtrip = table.to_pandas()
    table.delete_quick()
    table.insert_dataframe(roundtrip, chunk_size=2)
    assert sorted(table.to_polars()["id"]) == [1, 2, 3]
    wrong = pd.DataFrame({"value": ["d"]}, index=pd.Index([4], name="wrong"))
    with pytest.raises(dj.DataError, match="do not match"):
        table.insert_dataframe(wrong, index_as_pk=True)
    with pytest.raises(dj.DataError, match="requires a pandas DataFrame"):
        table.insert_dataframe([{"id": 5, "value": "e"}])
    table.insert_dataframe(wrong.assign(id=[4]), index_as_pk=False)
    assert len(table) == 4


# -- settings: secrets folder, templates, roles ------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder as the working directory, with no DJ_* settings around."""
    for name in ("DJ_HOST", "DJ_USER", "DJ_PASS", "DJ_PORT", "DJ_STORES", "DJ_IGNORE_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(settings, "SYSTEM_SECRETS_DIR", tmp_path / "no-system-secrets")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_secrets_folder_fills_what_the_file_leaves_unset(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "datajoint.json").write_text(
        json.dumps({"database": {"user": "from_file"}, "stores": {"main": {"access_key": "f"}}})
    )
    secrets = project / settings.SECRETS_DIRNAME
    secrets.mkdir()
    (secrets / "database.user").write_text("from_secret")
    (secrets / "database.password").write_text("s3cret\n")
    (secrets / "database.port").write_text("6543")
    (secrets / "stores.main.access_key").write_text("secret_key_id")
    (secrets / "stores.main.secret_key").write_text("sk")
    (secrets / "stores.cold.token").write_text("tok")
    cfg = settings.Config()
    assert settings.find_config_file() == project / "datajoint.json"
    assert settings.find_secrets_dir(settings.find_config_file()) == secrets
    assert settings.read_secret_file(secrets, "database.password") == "s3cret"
    assert settings.read_secret_file(secrets, "missing") is None
    assert settings.read_secret_file(None, "database.password") is None
    assert cfg["database.user"] == "from_file"
    assert cfg["database.password"] == "s3cret" and cfg["database.port"] == 6543
    assert cfg["stores"]["main"] == {"access_key": "f", "secret_key": "sk"}
    assert cfg["stores"]["cold"] == {"token": "tok"}
    monkeypatch.setenv("DJ_PASS", "from_env")
    assert cfg["database.password"] == "from_env"
    monkeypatch.setenv("DJ_IGNORE_CONFIG_FILE", "1")
    assert cfg["database.port"] is None  # neither the file nor its secrets


def test_system_secrets_folder(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = project / "run-secrets"
    system.mkdir()
    (system / "database.user").write_text("svc")
    monkeypatch.setattr(settings, "SYSTEM_SECRETS_DIR", system)
    assert settings.find_secrets_dir(None) == system
    assert settings.Config()["database.user"] == "svc"


def test_save_template(project: Path) -> None:
    path = dj.config.save_template("datajoint.json", minimal=False)
    assert path == (project / "datajoint.json").absolute()
    written = json.loads(path.read_text())
    assert written["stores"]["default"] == "main" and written["database"]["port"] == 5432
    assert "password" not in written["database"] and "user" not in written["database"]
    secrets = project / settings.SECRETS_DIRNAME
    assert (secrets / ".gitignore").read_text().strip() == "*"
    cfg = settings.Config()
    assert cfg["database.user"] is None  # an empty secret file is a placeholder
    assert cfg["database.backend"] == "postgresql" and cfg["jobs.stale_timeout"] == 3600
    (secrets / "database.password").write_text("kept")
    with pytest.raises(FileExistsError, match="already exists"):
        dj.config.save_template("datajoint.json")
    minimal = dj.config.save_template("other.json", minimal=True)
    assert json.loads(minimal.read_text()) == {
        "database": {"backend": "postgresql", "host": "localhost", "port": 5432}
    }
    assert (secrets / "database.password").read_text() == "kept"


def test_roles_give_the_tier_prefixes() -> None:
    assert dj.Lookup.prefix == settings.role_to_prefix[settings.Role.lookup] == "#"
    assert dj.Computed.prefix == settings.role_to_prefix[settings.Role.computed] == "__"
    assert dj.Imported.prefix == "_" and dj.Manual.prefix == ""
    assert settings.prefix_to_role["__"] is settings.Role.computed
    assert settings.ENV_VAR_MAPPING["database.backend"] == "DJ_BACKEND"


# -- jobs: DataJoint's manual reserve / complete / error -------------------------------------


def test_manual_job_protocol(schema: dj.Schema) -> None:
    @schema
    class Source(dj.Manual):
        definition = """
        source_id : int32
        """

    @schema
    class Doubled(dj.Computed):
        definition = """
        -> Source
        ---
        value : int32
        """

        def make(self, key: dict) -> None:
            self.insert1({**key, "value": 2 * key["source_id"]})

    Source.insert([{"source_id": i} for i in range(3)])
    jobs = Doubled.jobs
    jobs.refresh()
    keys = jobs.pending.keys()
    assert len(keys) == 3
    assert all(jobs.reserve(key) for key in keys)
    assert not any(jobs.reserve(key) for key in keys)  # held already
    assert len(jobs.reserved) == 3
    jobs.complete(keys[0])
    jobs.error(keys[1], "it broke", "Traceback ...")
    assert len(jobs.completed) == 1 and len(jobs.errors) == 1
    assert jobs.errors.to_dicts()[0]["_error_message"] == "it broke"
    assert not jobs.reserve(keys[1])  # an error is not retried until deleted
    assert not jobs.reserve({"source_id": 99})  # not queued
    with pytest.raises(dj.QueryError, match="whole key"):
        jobs.reserve({})
    jobs.errors.delete()
    jobs.refresh()
    assert jobs.reserve(keys[1])


def test_database_settings(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.DatabaseSettings().name is None
    assert settings.DatabaseSettings().port is None  # no server named: DuckDB needs none
    monkeypatch.setenv("DJ_BACKEND", "postgresql")
    monkeypatch.setenv("DJ_DATABASE_NAME", "lab")
    database = settings.DatabaseSettings()
    assert (database.backend, database.port, database.name) == ("postgresql", 5432, "lab")
    monkeypatch.setenv("DJ_PORT", "6000")
    assert settings.DatabaseSettings().port == 6000
    assert settings.DatabaseSettings(port=7000, password="pw").port == 7000
    assert "pw" not in repr(settings.DatabaseSettings(password="pw"))
    with pytest.raises(dj.ConfigError, match="not MySQL"):
        settings.DatabaseSettings(backend="mysql")
    with pytest.raises(dj.ConfigError, match="whole number"):
        settings.DatabaseSettings(port="abc")
    with pytest.raises(dj.ConfigError, match="no field"):
        settings.DatabaseSettings(hots="x")
    with dj.config.override(database__host="db.lab", database__user="ann"):
        of = settings.DatabaseSettings.of(dj.config)
        assert (of.host, of.user, of.port) == ("db.lab", "ann", 6000)
        assert dj.connection.connection_url() == "postgresql://ann@db.lab:6000/lab"


# -- headings, graphs, operators, drops ------------------------------------------------------


def test_heading_types_for_numpy(schema: dj.Schema) -> None:
    @schema
    class Sample(dj.Manual):
        definition = """
        sample_id : uuid
        ---
        count : int16
        weight = null : float32
        flag : bool
        label : varchar(10)
        raw : longblob
        payload : <blob>
        """

    heading = Sample().heading
    assert heading["count"].numeric and not heading["label"].numeric
    assert heading["label"].string and not heading["sample_id"].string
    assert heading["raw"].is_blob and heading["payload"].is_blob and not heading["count"].is_blob
    assert heading["sample_id"].original_type == "uuid"
    assert heading["raw"].original_type == "longblob"
    assert heading["payload"].original_type == "<blob>"
    dtype = heading.as_dtype
    assert dtype["count"] == np.int64 and dtype["weight"] == np.float64
    assert dtype["flag"] == np.bool_ and dtype["label"].kind == "O"
    assert dtype.names == tuple(heading.names)


def test_parents_and_children_by_key_position(schema: dj.Schema) -> None:
    t = declare_family(schema)
    parent, animal, child = t["Parent"]().full_name, t["Animal"]().full_name, t["Child"]()
    assert child.parents() == sorted([parent, animal])
    assert child.parents(primary=True) == [parent]
    assert child.parents(primary=False) == [animal]
    assert t["Animal"]().children(primary=False) == [child.full_name]
    assert t["Animal"]().children(primary=True) == []


def test_removed_operators_say_what_to_write(schema: dj.Schema) -> None:
    t = declare_family(schema)
    with pytest.raises(dj.QueryError, match=r"@ operator was removed"):
        t["Parent"]() @ t["Child"]()
    with pytest.raises(dj.QueryError, match=r"\^ operator was removed"):
        t["Parent"]() ^ t["Child"]()
    for joined in (lambda: dj.U("grand_id") * t["Parent"](), lambda: t["Parent"]() * dj.U("x")):
        with pytest.raises(dj.QueryError, match="no longer supported"):
            joined()


def test_drop_keeps_parts_with_their_masters(schema: dj.Schema) -> None:
    @schema
    class Site(dj.Lookup):
        definition = """
        site_id : int32
        """
        contents = [{"site_id": 1}]

    @schema
    class Profile(dj.Manual):
        definition = """
        profile_id : int32
        """

        class Page(dj.Part):
            definition = """
            -> master
            -> Site
            """

    with pytest.raises(dj.AccessError, match="before its master Profile"):
        Site.drop(prompt=False)
    with pytest.raises(dj.QueryError, match="part_integrity must be"):
        Site.drop(prompt=False, part_integrity="cascade")
    with pytest.raises(dj.QueryError, match="part_integrity must be"):
        dj.Diagram.cascade(Site & {"site_id": 1}, part_integrity="typo")  # type: ignore[arg-type]
    assert "site" in [n.lstrip("#") for n in schema.list_tables()]
    Site.drop(prompt=False, part_integrity="ignore")
    assert "profile" in schema.list_tables() and "profile__page" not in schema.list_tables()


def test_connection_repr_says_whether_connected(database_url: str) -> None:
    connection = dj.connect(database_url)
    assert repr(connection).endswith("(connected)>")
    connection.close()
    assert repr(connection).endswith("(disconnected)>")


def test_populate_processes_none_is_one_per_cpu() -> None:
    from djframe.compute.populate import populate_options

    assert populate_options({"processes": None}).processes == (os.cpu_count() or 1)


def test_restrict_and_prune_a_diagram(schema: dj.Schema) -> None:
    t = declare_family(schema)
    diagram = dj.Diagram(schema)
    subset = diagram.restrict(t["Grand"] & {"grand_id": 1})
    assert subset[t["Parent"]].to_polars()["parent_id"].sort().to_list() == [1, 2]
    assert len(subset[t["Animal"]]) == 3  # not below the restriction: whole
    both = subset.restrict(t["Animal"] & {"animal_id": 6})  # AND with the earlier one
    assert both[t["Child"]].to_polars()["child_id"].to_list() == [2]
    counts = both.counts_by_name()
    assert counts[t["Other"]().full_name] == 0 and counts[t["Grand"]().full_name] == 1
    pruned = both.prune()
    assert t["Other"]().full_name not in pruned.nodes
    assert all(pruned.counts().values())
    assert pruned.prune().nodes == pruned.nodes
    assert t["Other"]().full_name not in diagram.prune().nodes  # no rows at all
    with pytest.raises(dj.QueryError, match=r"prune\(\) cannot be used.*cascade"):
        dj.Diagram.cascade(t["Grand"] & {"grand_id": 1}).prune()
    with pytest.raises(dj.QueryError, match="cannot be applied"):
        dj.Diagram.trace(t["Child"]).restrict(t["Grand"])
    with pytest.raises(dj.QueryError, match="not in the diagram"):
        dj.Diagram(t["Parent"]).restrict(t["Grand"] & {"grand_id": 1})


def test_empty_rows_take_every_default(schema: dj.Schema) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the native auto_increment type

        @schema
        class Defaults(dj.Manual):
            definition = """
            id : int auto_increment
            ---
            made = CURRENT_TIMESTAMP : datetime
            notes = null : varchar(200)
            """

    Defaults.insert1({})
    Defaults.insert([{}, {}])
    rows = Defaults.to_dicts(order_by="id")
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert all(r["made"] is not None and r["notes"] is None for r in rows)
    simple = declare_simple(schema)
    with pytest.raises(dj.DataError, match="no default"):
        simple.insert1({})


def test_populate_without_refresh_takes_pending_jobs_only(schema: dj.Schema) -> None:
    @schema
    class Raw(dj.Manual):
        definition = """
        raw_id : int32
        """

    @schema
    class Cooked(dj.Computed):
        definition = """
        -> Raw
        """

        def make(self, key: dict) -> None:
            self.insert1(key)

    Raw.insert([{"raw_id": i} for i in range(3)])
    assert Cooked.populate(reserve_jobs=True, refresh=False)["success_count"] == 0
    Cooked.jobs.refresh()
    Raw.insert1({"raw_id": 9})  # not queued
    assert Cooked.populate(reserve_jobs=True, refresh=False)["success_count"] == 3
    assert Cooked.populate(reserve_jobs=True)["success_count"] == 1  # auto_refresh queues it


def test_update1_encodes_codec_values(schema: dj.Schema, tmp_path: Path) -> None:
    schema_name = schema.database
    store = dj.Schema(f"{schema_name}_s", connection=schema.connection, store=str(tmp_path))

    @store
    class Measured(dj.Manual):
        definition = """
        measured_id : int32
        ---
        inline : <blob>
        stored : <npy@>
        """

    try:
        Measured.insert1({"measured_id": 1, "inline": np.ones((2, 3)), "stored": np.zeros(4)})
        Measured.update1({"measured_id": 1, "inline": np.ones((3, 2)), "stored": np.arange(5)})
        row = Measured.fetch1()
        assert row["inline"].shape == (3, 2)
        assert row["stored"].tolist() == [0, 1, 2, 3, 4]
    finally:
        store.drop(prompt=False)


def test_class_level_names(schema: dj.Schema) -> None:
    simple = declare_simple(schema)
    assert simple.database == schema.database == simple().database
    assert simple.validate([{"id": 1, "value": "a"}])
    simple.insert_dataframe(pd.DataFrame({"id": [1], "value": ["a"]}))
    assert len(simple()) == 1


def test_alter_refuses_a_rename_rather_than_lose_values(schema: dj.Schema) -> None:
    @schema
    class Measurement(dj.Manual):
        definition = """
        measurement_id : int32
        ---
        value = null : float32   # the value
        """

    Measurement.insert([{"measurement_id": 1, "value": 2.5}])
    Measurement.definition = """
    measurement_id : int32
    ---
    reading = null : float32   # {value} the value
    """
    with pytest.raises(dj.DefinitionError, match="Renaming attribute `value` to `reading`"):
        Measurement.alter(prompt=False)
    assert Measurement.to_dicts() == [{"measurement_id": 1, "value": 2.5}]


def test_an_enum_sorts_in_its_declared_order(schema: dj.Schema) -> None:
    @schema
    class Term(dj.Manual):
        definition = """
        term_year : int16
        term : enum('Spring', 'Summer', 'Fall')
        ---
        weeks = null : int16
        """

    Term.insert(
        [
            {"term_year": 2024, "term": t, "weeks": w}
            for t, w in [("Fall", 15), ("Spring", 16), ("Summer", 8)]
        ]
    )
    assert [r["term"] for r in Term.to_dicts(order_by="KEY")] == ["Spring", "Summer", "Fall"]
    assert Term.to_polars(order_by="term DESC")["term"].to_list() == ["Fall", "Summer", "Spring"]
    top = Term & dj.Top(limit=1, order_by="term")
    assert top.fetch1("term") == "Spring"


def test_free_table_opens_a_table_by_name(schema: dj.Schema) -> None:
    t = declare_family(schema)
    parent = dj.FreeTable(schema.connection, t["Parent"]().full_table_name)
    child = dj.FreeTable(schema.connection, t["Child"]().full_name)
    assert repr(parent) == f"FreeTable({t['Parent']().full_table_name})"
    assert len(parent) == 3 and parent.heading.primary_key == ["grand_id", "parent_id"]
    assert (parent & {"name": "c"}).fetch1("parent_id") == 3
    assert len(parent * child) == 3 and parent.children() == [t["Child"]().full_name]
    child.insert1({"grand_id": 2, "parent_id": 3, "child_id": 4, "subject": 5})
    assert len(t["Child"]()) == 4
    (parent & {"parent_id": 3}).delete(prompt=False)
    assert len(t["Child"]()) == 2 and len(t["Parent"]()) == 2
    with pytest.raises(dj.MissingTableError):
        dj.FreeTable(schema.connection, f"{schema.database}.nothing")


def test_a_binary_attribute_takes_bytes_only(schema: dj.Schema) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the native longblob

        @schema
        class RawBinary(dj.Manual):
            definition = """
            id : int32
            ---
            data : longblob
            plain = null : bytes
            """

    for value in (np.arange(5, dtype="float32"), [1, 2, 3], "text"):
        with pytest.raises(dj.DataError, match="native binary type longblob"):
            RawBinary.insert1({"id": 1, "data": value})
    with pytest.raises(dj.DataError, match="is bytes: it holds bytes"):
        RawBinary.insert1({"id": 1, "data": b"x", "plain": "text"})
    RawBinary.insert1({"id": 4, "data": b"\x00\x01\x02"})
    assert RawBinary.fetch1("data") == b"\x00\x01\x02"
