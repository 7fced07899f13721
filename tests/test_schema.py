"""Schemas: creation, listing, the dependency graph, virtual schemas, dropping tables and
schemas, on every backend."""

from __future__ import annotations

import itertools
import os

import networkx as nx
import pytest

import djframe as dj

_names = itertools.count()


def db_tables(conn: dj.Connection, schema: str) -> set[str]:
    rows = conn.fetch_arrow(
        f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}'"
    )
    return {str(v) for v in rows.column(0).to_pylist()}


def declare_pipeline(schema: dj.Schema) -> dict[str, type[dj.Table]]:
    @schema
    class Subject(dj.Manual):
        definition = """
        # experimental subjects
        subject_id : int32
        ---
        name : varchar(20)
        """

    @schema
    class Task(dj.Lookup):
        definition = """
        task : varchar(10)
        """
        contents = [("run",), ("rest",)]

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session : int16
        ---
        -> Task
        -> Subject.proj(experimenter='subject_id')
        """

        class Note(dj.Part):
            definition = """
            -> master
            note_id : int16
            ---
            text : varchar(40)
            """

    @schema
    class Stats(dj.Computed):
        definition = """
        -> Session
        ---
        mean : float64
        """

    return {"Subject": Subject, "Task": Task, "Session": Session, "Stats": Stats}


def test_list_tables_is_topological(schema: dj.Schema) -> None:
    declare_pipeline(schema)
    tables = schema.list_tables()
    assert set(tables) == {"subject", "#task", "session", "session__note", "__stats"}
    position = {name: i for i, name in enumerate(tables)}
    assert position["subject"] < position["session"]
    assert position["#task"] < position["session"]
    assert position["session"] < position["session__note"]
    assert position["session"] < position["__stats"]
    assert "~catalog" not in tables


def test_graph(schema: dj.Schema) -> None:
    declare_pipeline(schema)
    graph = schema.graph
    s = schema.name
    assert isinstance(graph, nx.MultiDiGraph)
    assert set(graph.nodes) == {
        f"{s}.subject",
        f"{s}.#task",
        f"{s}.session",
        f"{s}.session__note",
        f"{s}.__stats",
    }
    # two edges subject -> session: the plain one and the renamed one
    assert graph.number_of_edges(f"{s}.subject", f"{s}.session") == 2
    assert graph.has_edge(f"{s}.#task", f"{s}.session")
    assert graph.has_edge(f"{s}.session", f"{s}.session__note")
    assert graph.has_edge(f"{s}.session", f"{s}.__stats")
    assert not graph.has_edge(f"{s}.session", f"{s}.subject")
    assert nx.is_directed_acyclic_graph(graph)


def test_list_schemas(conn: dj.Connection) -> None:
    name = f"listed_{os.getpid()}_{next(_names)}"
    assert name not in dj.list_schemas(conn)
    schema = dj.Schema(name, connection=conn)
    try:
        assert name in dj.list_schemas(conn)
        assert schema.exists
    finally:
        schema.drop(prompt=False)
    assert name not in dj.list_schemas(conn)
    assert not schema.exists


def test_open_missing_schema_without_create(conn: dj.Connection) -> None:
    with pytest.raises(dj.MissingTableError, match="nope_schema"):
        dj.Schema("nope_schema", connection=conn, create_schema=False)
    assert "nope_schema" not in dj.list_schemas(conn)


@pytest.fixture
def shared_url(backend: str, request: pytest.FixtureRequest, tmp_path: object) -> str:
    """A database two connections can open: a DuckDB file, or the PostgreSQL server."""
    if backend == "duckdb":
        return f"duckdb:///{tmp_path}/shared.duckdb"
    return str(request.getfixturevalue("pg_url"))


def test_virtual_schema_from_another_connection(shared_url: str) -> None:
    name = f"virt_{os.getpid()}_{next(_names)}"
    with dj.connect(shared_url) as first:
        schema = dj.Schema(name, connection=first)
        t = declare_pipeline(schema)
        t["Subject"].insert1({"subject_id": 1, "name": "Ann"})
        t["Session"].insert1({"subject_id": 1, "session": 1, "task": "run", "experimenter": 1})
        t["Session"].Note.insert1({"subject_id": 1, "session": 1, "note_id": 1, "text": "ok"})
        expected = {"tables": schema.list_tables(), "heading": t["Session"].heading}
        description = t["Subject"].describe()
    second = dj.connect(shared_url)  # DuckDB opens a file once per process: close first
    lab = dj.virtual_schema(name, connection=second)
    try:
        assert lab.Subject.to_dicts() == [{"subject_id": 1, "name": "Ann"}]
        assert len(lab.Task) == 2
        assert lab.Session.Note.fetch1("text") == "ok"
        assert len(lab.Session * lab.Subject) == 1
        assert issubclass(lab.Stats, dj.Computed)
        assert issubclass(lab.Task, dj.Lookup)
        assert issubclass(lab.Session.Note, dj.Part)
        assert lab.Session.heading == expected["heading"]
        assert lab.Session.heading["experimenter"].lineage == f"{name}.subject.subject_id"
        assert lab.Subject.describe() == description
        with pytest.raises(dj.MissingParentError):
            lab.Session.insert1({"subject_id": 9, "session": 1, "task": "run", "experimenter": 1})
        assert lab.schema.list_tables() == expected["tables"]
    finally:
        lab.schema.drop(prompt=False)
        second.close()


def test_virtual_schema_same_connection(schema: dj.Schema) -> None:
    t = declare_pipeline(schema)
    lab = dj.virtual_schema(schema.name, connection=schema.connection)
    assert lab.Session is t["Session"]
    assert lab.Session.Note is t["Session"].Note


def test_virtual_schema_of_missing_schema(conn: dj.Connection) -> None:
    with pytest.raises(dj.MissingTableError):
        dj.virtual_schema("no_such_schema", connection=conn)


def test_reopen_schema_binds_existing_tables(schema: dj.Schema) -> None:
    declare_pipeline(schema)
    again = dj.Schema(schema.name, connection=schema.connection)
    assert set(again.tables) == set(schema.list_tables())


def test_drop_table_drops_dependents(schema: dj.Schema) -> None:
    t = declare_pipeline(schema)
    t["Subject"].insert1({"subject_id": 1, "name": "Ann"})
    t["Session"].drop(prompt=False)
    assert set(schema.list_tables()) == {"subject", "#task"}
    assert db_tables(schema.connection, schema.name) == {
        "subject",
        "#task",
        "~catalog",
        "~schema",
        "~versions",
    }
    assert len(t["Subject"]) == 1
    with pytest.raises(dj.DefinitionError, match="not declared"):
        t["Stats"]()


def test_drop_part_directly_is_refused(schema: dj.Schema) -> None:
    t = declare_pipeline(schema)
    with pytest.raises(dj.AccessError, match="master"):
        t["Session"].Note.drop(prompt=False)
    assert "session__note" in schema.list_tables()


def test_redeclare_after_drop(schema: dj.Schema) -> None:
    t = declare_pipeline(schema)
    t["Subject"].drop(prompt=False)
    assert set(schema.list_tables()) == {"#task"}

    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        name : varchar(20)
        age : int16
        """

    Subject.insert1({"subject_id": 1, "name": "A", "age": 3})
    assert Subject.heading.names == ["subject_id", "name", "age"]


def test_schema_drop(conn: dj.Connection) -> None:
    name = f"dropme_{os.getpid()}_{next(_names)}"
    schema = dj.Schema(name, connection=conn)
    t = declare_pipeline(schema)
    t["Subject"].insert1({"subject_id": 1, "name": "Ann"})
    schema.drop(prompt=False)
    assert name not in dj.list_schemas(conn)
    assert db_tables(conn, name) == set()
    assert not [n for n in conn.tables if n.startswith(name + ".")]
    with pytest.raises(dj.DefinitionError):
        t["Subject"]()
    schema.drop(prompt=False)  # dropping twice is harmless
    fresh = dj.Schema(name, connection=conn)
    try:
        assert fresh.list_tables() == []
    finally:
        fresh.drop(prompt=False)


def test_foreign_key_across_schemas(conn: dj.Connection, schema: dj.Schema) -> None:
    @schema
    class Animal(dj.Manual):
        definition = """
        animal : int32
        """

    name = f"other_{os.getpid()}_{next(_names)}"
    other = dj.Schema(name, connection=conn)
    try:

        @other
        class Weighing(dj.Manual):
            definition = """
            -> Animal
            day : date
            ---
            grams : float32
            """

        assert Weighing.heading["animal"].lineage == f"{schema.name}.animal.animal"
        assert other.list_tables() == ["weighing"]
        with pytest.raises(dj.MissingParentError):
            Weighing.insert1({"animal": 1, "day": "2024-01-01", "grams": 1.0})
        Animal.insert1({"animal": 1})
        Weighing.insert1({"animal": 1, "day": "2024-01-01", "grams": 1.0})
        with pytest.raises(dj.IntegrityError, match=f"{name}.weighing"):
            schema.drop(prompt=False)
        assert len(Weighing()) == 1
        assert schema.exists
    finally:
        other.drop(prompt=False)


def test_schema_repr_and_context(conn: dj.Connection) -> None:
    name = f"ctx_{os.getpid()}_{next(_names)}"
    schema = dj.Schema(name, connection=conn)
    try:

        @schema
        class Base(dj.Manual):
            definition = """
            base : int32
            """

        # a context given to the schema resolves `-> Base` from outside the caller's locals
        with_context = dj.Schema(name, {"Parent": Base}, connection=conn)
        child = type("Child", (dj.Manual,), {"definition": "-> Parent\nc : int32\n"})
        declared = with_context(child)
        assert declared.heading.primary_key == ["base", "c"]
        assert name in repr(schema)
    finally:
        schema.drop(prompt=False)


def test_describe_is_dedented_and_heading_shows_defaults(schema: dj.Schema) -> None:
    @schema
    class Note(dj.Manual):
        definition = """
        # a note
        note_id : int32
        ---
        text = null : varchar(30)   # the words
        """

    assert Note.describe().splitlines() == [
        "# a note",
        "note_id : int32",
        "---",
        "text = null : varchar(30)   # the words",
    ]
    assert "text = null" in repr(Note.heading)


def test_schema_describe_is_python_that_declares_the_schema_again(
    schema: dj.Schema, conn: dj.Connection
) -> None:
    @schema
    class Digit(dj.Manual):
        definition = """
        # a digit, 0\\9 with a backslash
        digit_id : int32
        ---
        label : int8
        """

    @schema
    class Fit(dj.Computed):
        definition = """
        -> Digit
        ---
        score : float64
        """

        class Class(dj.Part):
            definition = """
            -> master
            cls : int8
            ---
            n : int32
            """

        class Other(dj.Part):
            definition = """
            -> master
            -> Digit.proj(other='digit_id')
            """

        def make(self, key: dict) -> None:
            pass

    @schema
    class Pick(dj.Lookup):
        definition = """
        -> Fit.Class
        """

    text = schema.describe()
    assert isinstance(text, str) and text.startswith("import djframe as dj\n")
    assert "\n    class Class(dj.Part):\n" in text and "\nclass Class" not in text
    assert "```python\n" in text._repr_markdown_() and "<pre><code" in text._repr_html_()
    fresh = dj.Schema(f"{schema.name}_again", connection=conn)
    try:
        namespace: dict = {"schema": fresh}
        exec(compile(text, "describe", "exec"), namespace)
        again = {i.full_name.split(".")[1]: i for i in fresh.user_tables()}
        assert set(again) == {i.full_name.split(".")[1] for i in schema.user_tables()}
        assert namespace["Fit"].Other.heading.names == Fit.Other.heading.names
        assert namespace["Digit"].describe() == Digit.describe()
        assert fresh.describe() == text
    finally:
        fresh.drop(prompt=False)
    assert schema.describe(format="json")._repr_markdown_().startswith("```json\n")
