"""A master, its parts and a Lookup's contents are declared together or not at all (issue 14,
item 6): a bad part, a part that names an unknown table or contents that do not insert leave
no table, no catalog row and no bound class behind. On every backend."""

from __future__ import annotations

import pytest

import djframe as dj
from djframe._sql import literal


def sql_tables(schema: dj.Schema) -> list[str]:
    """The tables the database holds in the schema (djframe's hidden ones aside)."""
    sql = (
        "SELECT table_name FROM information_schema.tables "
        f"WHERE table_schema = {literal(schema.name)} ORDER BY table_name"
    )
    names = schema.connection.fetch_arrow(sql).column(0).to_pylist()
    return [n for n in names if not n.startswith("~")]


def test_a_bad_part_leaves_no_master(schema: dj.Schema) -> None:
    class Session(dj.Manual):
        definition = "session : int32"

        class Good(dj.Part):
            definition = """
            -> master
            trial : int32
            """

        class Bad(dj.Part):
            definition = """
            -> master
            x : nosuchtype
            """

    with pytest.raises(dj.UnknownTypeError, match="nosuchtype"):
        schema(Session)
    assert schema.list_tables() == [] and sql_tables(schema) == []
    for cls in (Session, Session.Good):  # not bound to tables that do not exist
        with pytest.raises(dj.DjframeError, match=r"not declared|decorate"):
            cls().insert1({"session": 1, "trial": 1})

    @schema
    class Session(dj.Manual):  # type: ignore[no-redef]
        definition = "session : int32"

        class Good(dj.Part):
            definition = """
            -> master
            trial : int32
            """

    Session.insert1({"session": 1})
    Session.Good.insert1({"session": 1, "trial": 2})
    assert sql_tables(schema) == ["session", "session__good"]


def test_a_part_naming_an_unknown_table_leaves_no_master(schema: dj.Schema) -> None:
    with pytest.raises(dj.DefinitionError, match="Nowhere"):

        @schema
        class Result(dj.Manual):
            definition = "result : int32"

            class Detail(dj.Part):
                definition = """
                -> master
                -> Nowhere
                """

    assert schema.list_tables() == [] and sql_tables(schema) == []


def test_contents_that_fail_leave_no_lookup(schema: dj.Schema) -> None:
    with pytest.raises(dj.DataError, match="longer than 3"):

        @schema
        class Species(dj.Lookup):
            definition = """
            species : int32
            ---
            name : varchar(3)
            """
            contents = [{"species": 1, "name": "mouse"}]

    assert schema.list_tables() == [] and sql_tables(schema) == []

    @schema
    class Species(dj.Lookup):  # type: ignore[no-redef]
        definition = """
        species : int32
        ---
        name : varchar(5)
        """
        contents = [{"species": 1, "name": "mouse"}]

    assert Species.to_dicts() == [{"species": 1, "name": "mouse"}]


def test_a_new_part_of_an_existing_master_leaves_the_master(schema: dj.Schema) -> None:
    @schema
    class Animal(dj.Manual):
        definition = "animal : int32"

    Animal.insert1({"animal": 1})
    with pytest.raises(dj.UnknownTypeError):

        @schema
        class Animal(dj.Manual):  # type: ignore[no-redef]
            definition = "animal : int32"

            class Bad(dj.Part):
                definition = """
                -> master
                x : nosuchtype
                """

    assert sql_tables(schema) == ["animal"]
    assert len(Animal()) == 1
