"""More DataJoint 2.3.5 behaviour on djframe's machinery (issue 13), on every backend: headings
built from attribute dictionaries and joined by the functional-dependency rule, ``Top`` kept as
a list order and merged, and the ``djframe.condition`` module path."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

import djframe as dj
from djframe.heading import Attribute, Heading


def heading(key: list[str], rest: tuple[str, ...] = ()) -> Heading:
    """A heading from DataJoint-style attribute dictionaries (native ``int`` types)."""
    rows = [{"name": n, "type": "int", "in_key": True, "nullable": False} for n in key]
    rows += [{"name": n, "type": "int", "in_key": False, "nullable": True} for n in rest]
    return Heading(rows)


# -- headings from dictionaries ------------------------------------------------------------


def test_an_attribute_from_a_dictionary_derives_its_kind() -> None:
    attr = Attribute.from_dict(
        {"name": "note", "type": "varchar(30)", "default": "''", "comment": "free text"}
    )
    assert (attr.type_name, attr.string, attr.numeric, attr.default) == (
        "varchar(30)",
        True,
        False,
        "''",
    )
    native = Attribute.from_dict({"name": "n", "type": "smallint unsigned", "in_key": True})
    assert (native.type_name, native.native, native.in_key) == ("int32", "smallint unsigned", True)


def test_a_heading_of_dictionaries_puts_the_key_first() -> None:
    h = Heading([{"name": "v", "type": "float64"}, {"name": "k", "type": "int", "in_key": True}])
    assert h.names == ["k", "v"] and h.primary_key == ["k"]
    assert h == Heading(
        [
            Attribute.from_dict(a)
            for a in [
                {"name": "k", "type": "int", "in_key": True},
                {"name": "v", "type": "float64"},
            ]
        ]
    )


@pytest.mark.parametrize(
    ("a", "b", "key"),
    [
        ((["x", "y"], ("z",)), (["x"], ()), ["x", "y"]),  # A determines B
        ((["x", "y"], ()), (["x", "z"], ("y",)), ["x", "z"]),  # only B determines A
        ((["x", "y"], ("z",)), (["y", "z"], ("x",)), ["x", "y"]),  # both: the left wins
        ((["x", "y"], ()), (["y", "z"], ()), ["x", "y", "z"]),  # neither: the union
    ],
)
def test_join_key_follows_functional_dependency(a: tuple, b: tuple, key: list[str]) -> None:
    joined = heading(*a).join(heading(*b))
    assert joined.primary_key == key
    assert joined.names[: len(key)] == key


def test_nullable_pk_forces_the_union() -> None:
    a, b = heading(["x"], ("y",)), heading(["y"])
    assert a.join(b).primary_key == ["x"]
    assert a.join(b, nullable_pk=True).primary_key == ["x", "y"]


def test_join_heading_is_the_expression_heading(schema: dj.Schema) -> None:
    @schema
    class Session(dj.Manual):
        definition = """
        session : int32
        ---
        day : date
        """

    @schema
    class Trial(dj.Manual):
        definition = """
        -> Session
        trial : int32
        ---
        stimulus : varchar(8)
        """

    assert (Session * Trial).heading == Session.heading.join(Trial.heading)
    assert (Session * Trial).primary_key == ["session", "trial"]


# -- Top -----------------------------------------------------------------------------------


@pytest.fixture
def ranked(schema: dj.Schema) -> type[dj.Manual]:
    @schema
    class Item(dj.Manual):
        definition = """
        item : int32
        ---
        weight : float64
        """

    Item.insert(
        pl.DataFrame({"item": list(range(12)), "weight": [float(i % 5) for i in range(12)]})
    )
    return Item


def items(expr: dj.QueryExpression) -> list[int]:
    return [row["item"] for row in expr.to_dicts()]


def test_order_by_is_kept_as_a_list() -> None:
    assert dj.Top(order_by="weight DESC").order_by == ["weight DESC"]
    assert dj.Top(order_by=("weight", "item DESC")).order_by == ["weight", "item DESC"]
    assert dj.Top(order_by=None).order_by is None
    assert repr(dj.Top()) == "Top(limit=1, order_by=['KEY'], offset=0)"


@pytest.mark.parametrize(
    ("first", "later", "merged"),
    [
        (dj.Top(10, "item"), dj.Top(3, None), dj.Top(3, "item")),
        (dj.Top(3, "item"), dj.Top(10, None), dj.Top(3, "item")),
        (dj.Top(None, "item"), dj.Top(None, None), dj.Top(None, "item")),
        (dj.Top(10, "item", 5), dj.Top(3, None, 2), dj.Top(3, "item", 7)),
        (dj.Top(4, "item"), dj.Top(None, None, 3), dj.Top(1, "item", 3)),  # exact, not min
    ],
)
def test_merge(first: dj.Top, later: dj.Top, merged: dj.Top) -> None:
    assert first.merge(later) == merged


def test_merged_tops_select_the_rows_of_the_two_in_turn(ranked: type[dj.Manual]) -> None:
    stacked = ranked & dj.Top(8, "item DESC", offset=1) & dj.Top(3, None, offset=2)
    assert items(stacked) == [8, 7, 6]
    merged = ranked & dj.Top(8, "item DESC", offset=1).merge(dj.Top(3, None, offset=2))
    assert items(merged) == items(stacked)


@pytest.mark.parametrize(
    "kwargs", [{"limit": "5"}, {"limit": 2.0}, {"offset": "1"}, {"order_by": 123}]
)
def test_an_argument_of_the_wrong_type_is_a_type_error(kwargs: dict) -> None:
    with pytest.raises(dj.QueryArgumentError, match=r"dj\.Top") as caught:
        dj.Top(**kwargs)
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, dj.QueryError)


def test_a_negative_count_is_a_value_error() -> None:
    with pytest.raises(dj.QueryError, match="offset") as caught:
        dj.Top(offset=-1)
    assert not isinstance(caught.value, TypeError)


def test_condition_module_names_the_same_classes(ranked: type[dj.Manual]) -> None:
    from djframe.condition import AndList, Not, Top

    assert (Top, AndList, Not) == (dj.Top, dj.AndList, dj.Not)
    kept = ranked & Not({"item": 0}) & AndList(["weight > 1"]) & Top(2, "item")
    assert items(kept) == [2, 3]


# -- conn.adapter --------------------------------------------------------------------------


def test_adapter_writes_sql_that_conn_query_runs(schema: dj.Schema) -> None:
    @schema
    class Note(dj.Manual):
        definition = """
        note_id : int32
        ---
        text : varchar(20)
        """

    Note.insert1({"note_id": 1, "text": "it's"})
    adapter = schema.connection.adapter
    assert Note().adapter == adapter
    assert adapter.backend == {"postgres": "postgresql", "duckdb": "duckdb"}[adapter.name]
    table = adapter.make_full_table_name(schema.database, "note")
    assert table == Note.full_table_name
    assert adapter.split_full_table_name(table) == (schema.database, "note")
    text, key, value = (adapter.quote_identifier(n) for n in ("text", "note_id", "it's"))
    assert value == '"it\'s"'
    its = adapter.quote_string("it's")
    assert its == "'it''s'"
    sql = (
        f"SELECT {text} FROM {table} WHERE {text} = {its} "
        f"AND {key} = {adapter.parameter_placeholder}"
    )
    assert schema.connection.query(sql, (1,)).fetchall() == [("it's",)]


def test_adapter_gives_the_column_type_of_each_core_type(schema: dj.Schema) -> None:
    """A table created by hand with the adapter's types has the columns djframe declares."""
    adapter, conn = schema.connection.adapter, schema.connection
    columns = {"a": "int16", "b": "varchar(12)", "c": "float64", "d": "uuid", "e": "bool"}
    lines = "\n".join(f"{name} : {core}" for name, core in columns.items())

    @schema
    class Typed(dj.Manual):
        definition = f"k : int32\n---\n{lines}"

    sql_columns = ", ".join(f"{n} {adapter.core_type_to_sql(c)}" for n, c in columns.items())
    conn.query(
        f"CREATE TABLE {adapter.make_full_table_name(schema.database, 'raw')} ({sql_columns})"
    )

    def types(table: str) -> dict[str, str]:
        rows = conn.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s AND column_name <> 'k'",
            (schema.database, table),
        ).fetchall()
        return dict(rows)

    assert types("raw") == types("typed") and len(types("raw")) == len(columns)


def test_a_name_that_is_not_quoted_is_refused() -> None:
    from djframe.adapters import SqlAdapter

    with pytest.raises(dj.QueryError, match="quoted full table name"):
        SqlAdapter("duckdb").split_full_table_name("lab.session")


# -- conn.dependencies ---------------------------------------------------------------------


def test_dependencies_by_full_table_name(schema: dj.Schema) -> None:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject : int32
        """

    @schema
    class Rig(dj.Lookup):
        definition = """
        rig : int32
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session : int32
        ---
        -> Rig
        -> Rig.proj(backup='rig')
        """

    deps = schema.connection.dependencies
    deps.load()
    session, subject, rig = Session.full_table_name, Subject.full_table_name, Rig.full_table_name
    assert session in deps and "lab.nothing" not in deps
    assert {name for name, _ in deps.parents(session, primary=True)} == {subject}
    by_rig = deps.parents(session, primary=False)
    assert sorted(
        props["attr_map"]["backup" if props["aliased"] else "rig"] for _, props in by_rig
    ) == ["rig", "rig"]
    assert [name for name, _ in deps.children(subject)] == [session]
    assert deps.descendants(subject) == [subject, session]
    assert deps.ancestors(session)[0] == session and set(deps.ancestors(session)) == {
        session,
        subject,
        rig,
    }
    order = deps.topo_sort()
    assert order.index(subject) < order.index(session) and order.index(rig) < order.index(session)
    assert deps.descendants(f"{schema.database}.subject") == deps.descendants(subject)


def test_load_reads_tables_declared_elsewhere(
    backend: str, database_url: str, tmp_path: Path
) -> None:
    url = f"duckdb:///{tmp_path / 'shared.duckdb'}" if backend == "duckdb" else database_url
    name = f"test_deps_{os.getpid()}"
    with dj.connect(url) as mine, dj.connect(url) as theirs:
        schema = dj.Schema(name, connection=mine)
        try:

            @schema
            class Animal(dj.Manual):
                definition = """
                animal : int32
                """

            deps = theirs.dependencies
            dj.Schema(name, connection=theirs)
            assert Animal.full_table_name in deps

            @schema
            class Cage(dj.Manual):
                definition = """
                cage : int32
                ---
                -> Animal
                """

            deps.load(force=False)
            assert Cage.full_table_name not in deps  # the graph as it was built
            deps.load()
            assert [n for n, _ in deps.children(Animal.full_table_name)] == [Cage.full_table_name]
            with pytest.raises(dj.MissingTableError, match="load"):
                deps.parents('"nowhere"."nothing"')
        finally:
            schema.drop(prompt=False)


# -- a table class without a definition ---------------------------------------------------


def test_a_class_without_a_definition_is_not_declared(schema: dj.Schema) -> None:
    class Misspelled(dj.Manual):
        definitions = """
        id : int32
        """

    with pytest.raises(dj.MissingDefinitionError, match="definitions: a misspelling") as caught:
        schema(Misspelled)
    assert isinstance(caught.value, NotImplementedError)
    assert isinstance(caught.value, dj.DefinitionError)
    assert "Misspelled" not in schema and not schema.list_tables()
