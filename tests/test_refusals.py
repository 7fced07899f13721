"""Inputs that used to be taken and then broke something, now refused up front with a clear
error and nothing changed (issue 14, item 9). On every backend."""

from __future__ import annotations

import pytest

import djframe as dj


def test_drop_inside_make_is_refused_and_changes_nothing(schema: dj.Schema) -> None:
    @schema
    class Source(dj.Manual):
        definition = "source : int32"

    @schema
    class Made(dj.Computed):
        definition = "-> Source"

        def make(self, key: dict) -> None:
            Source.drop()

    @schema
    class SchemaDropper(dj.Computed):
        definition = "-> Source"

        def make(self, key: dict) -> None:
            schema.drop()

    @schema
    class Declarer(dj.Computed):
        definition = "-> Source"

        def make(self, key: dict) -> None:
            class Late(dj.Manual):
                definition = "late : int32"

            schema(Late)

    Source.insert([{"source": 1}, {"source": 2}])
    with pytest.raises(dj.AccessError, match=r"Cannot declare Late inside make\(\)"):
        Declarer.populate()
    with pytest.raises(dj.AccessError, match=r"Cannot drop Source inside make\(\)"):
        Made.populate()
    with pytest.raises(dj.AccessError, match="Cannot drop schema"):
        SchemaDropper.populate()
    assert len(Source()) == 2 and len(Made()) == 0  # every class still bound
    Made.populate(suppress_errors=True)
    assert len(Made.jobs & {"status": "error"}) == 2
    Made.drop()  # outside make, as before
    assert "source" in schema.list_tables()[0]
    assert not any("late" in name for name in schema.list_tables())


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("x : enum('a', 'b', 'a')", ["'a' more than once"]),
        ("x : varchar(0)", ["varchar(0)", "n >= 1"]),
        ("x : char(0)", ["char(0)", "n >= 1"]),
        ("x : datetime(7)", ["datetime(7)", "6 digits"]),
        ("x = 1e999 : float64", ["1e999", "finite"]),
        ("x = -inf : float64", ["-inf", "finite"]),
        ("x = nan : float32", ["nan", "finite"]),
        ("x = 1e39 : float32", ["1e39", "float32"]),
        ("x = '20240101' : date", ["YYYY-MM-DD"]),  # DuckDB declared it, then every insert failed
        ("x = '2024-01-01 05:00+02:00' : datetime", ["no time zone"]),  # PostgreSQL drops it
        ("x = 1_000 : int32", ["digits"]),  # Python reads it, PostgreSQL does not
        ("x = '1_0.5' : float64", ["digits"]),
        ("x = 0x10 : int64", ["digits"]),
    ],
)
def test_types_and_defaults_the_engines_read_differently(
    schema: dj.Schema, line: str, words: list[str]
) -> None:
    class Odd(dj.Manual):
        definition = f"k : int32\n---\n{line}"

    with pytest.raises(dj.DefinitionError) as info:
        schema(Odd)
    for word in words:
        assert word in str(info.value)
    assert schema.list_tables() == []


def test_fine_neighbours_are_still_taken(schema: dj.Schema) -> None:
    @schema
    class Fine(dj.Manual):
        definition = """
        k : int32
        ---
        e = 'b' : enum('a', 'b')
        c = null : char(1)
        t = '2024-01-31 12:00:00.5' : datetime(6)
        d = '2024-01-31' : date
        n = -12 : int16
        f = 1.5e38 : float32
        g = -1e300 : float64
        """

    Fine.insert1({"k": 1})
    assert Fine.fetch1("e", "f") == ("b", pytest.approx(1.5e38))


REFUSED_NAMES = [
    "",
    "  ",
    " lab",
    "public",
    "MAIN",
    "information_schema",
    "pg_catalog",
    "memory",
    "djframe_db",
]
REFUSED_NAMES += ["pg_temp_1", "temp", "system", "~hidden", "l" * 64, "é" * 32, "lab\x00"]


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_schema_names_refused(conn: dj.Connection, name: str) -> None:
    before = conn.list_schemas()
    with pytest.raises(dj.ConfigError, match="Cannot use the schema name"):
        dj.Schema(name, connection=conn)
    assert conn.list_schemas() == before


def test_longest_schema_name_is_kept_whole(conn: dj.Connection) -> None:
    name = "l" * 63
    schema = dj.Schema(name, connection=conn)
    try:
        assert name in conn.list_schemas()
    finally:
        schema.drop()
    assert name not in conn.list_schemas()


def test_a_foreign_key_renaming_one_attribute_twice(schema: dj.Schema) -> None:
    @schema
    class Person(dj.Manual):
        definition = "pid : int32"

    class Pair(dj.Manual):
        definition = "-> Person.proj(x='pid', y='pid')"

    with pytest.raises(dj.DefinitionError, match="renames 'pid' more than once"):
        schema(Pair)
    assert len(schema.list_tables()) == 1  # Person alone

    @schema
    class Pair(dj.Manual):  # type: ignore[no-redef]
        definition = """
        -> Person.proj(x='pid')
        -> Person.proj(y='pid')
        """

    Person.insert([{"pid": 1}, {"pid": 2}])
    Pair.insert1({"x": 1, "y": 2})
    assert Person.proj(x="pid", y="pid").to_dicts(order_by="x") == [
        {"x": 1, "y": 1},
        {"x": 2, "y": 2},
    ]


def test_an_auto_populated_name_leaves_room_for_its_companions(schema: dj.Schema) -> None:
    """A Computed table named with 62 characters was declared, then populate failed: its
    job queue and provenance tables take a prefix."""

    @schema
    class Src(dj.Manual):
        definition = "k : int32"

    def make(self: dj.Computed, key: dict) -> None:
        self.insert1(key)

    too_long = type("C" + "x" * 59, (dj.Computed,), {"definition": "-> Src", "make": make})
    with pytest.raises(dj.DefinitionError, match="at most 60 characters"):
        schema(too_long)
    longest = type("C" + "x" * 57, (dj.Computed,), {"definition": "-> Src", "make": make})
    schema(longest)
    Src.insert1({"k": 1})
    longest.populate(reserve_jobs=True)
    assert len(longest()) == 1
