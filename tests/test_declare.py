"""Declaring tables: core types, defaults, comments, keys, foreign keys, indexes and the
errors a bad definition raises, on every backend."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import polars as pl
import pytest

import djframe as dj
from djframe.catalog import CATALOG, PROPERTIES, VERSIONS

# -- helpers -------------------------------------------------------------------------------


def db_tables(schema: dj.Schema) -> set[str]:
    """Tables that physically exist in the schema (not only in the catalog)."""
    rows = schema.connection.fetch_arrow(
        f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema.name}'"
    )
    return {str(v) for v in rows.column(0).to_pylist()} - {CATALOG, PROPERTIES, VERSIONS}


def assert_nothing_declared(schema: dj.Schema) -> None:
    assert schema.list_tables() == []
    assert db_tables(schema) == set()
    assert not [n for n in schema.connection.tables if n.startswith(schema.name + ".")]


# -- core types ----------------------------------------------------------------------------

TYPES_DEFINITION = """
# every core type
id : int32
---
i8 : int8
i16 : int16
i64 : int64
f32 : float32
f64 : float64
flag : bool
uid : uuid
doc : json
raw : bytes
day : date
stamp : datetime
code : char(2)
name : varchar(20)
price : decimal(6,2)
sex : enum('F', 'M', 'U')
"""

EXPECTED_DTYPES = {
    "id": pl.Int32,
    "i8": pl.Int8,
    "i16": pl.Int16,
    "i64": pl.Int64,
    "f32": pl.Float32,
    "f64": pl.Float64,
    "flag": pl.Boolean,
    "uid": pl.String,
    "doc": pl.String,
    "raw": pl.Binary,
    "day": pl.Date,
    "stamp": pl.Datetime("us"),
    "code": pl.String,
    "name": pl.String,
    "price": pl.Decimal(6, 2),
    "sex": pl.Enum(["F", "M", "U"]),
}

UID = uuid.UUID("12345678-1234-5678-1234-567812345678")
ROW = {
    "id": 1,
    "i8": -128,
    "i16": 32000,
    "i64": 2**40,
    "f32": 1.5,
    "f64": 3.25,
    "flag": True,
    "uid": UID,
    "doc": {"a": [1, 2], "b": "x"},
    "raw": b"\x00\x01\xff",
    "day": dt.date(2024, 2, 29),
    "stamp": dt.datetime(2024, 2, 29, 12, 30, 15, 123456),
    "code": "CA",
    "name": "Ann",
    "price": decimal.Decimal("1234.56"),
    "sex": "F",
}


def declare_all_types(schema: dj.Schema) -> type[dj.Table]:
    @schema
    class AllTypes(dj.Manual):
        definition = TYPES_DEFINITION

    return AllTypes


def test_core_types_round_trip_dicts(schema: dj.Schema) -> None:
    table = declare_all_types(schema)
    table.insert1(ROW)
    got = table.to_dicts()
    assert len(got) == 1
    row = got[0]
    assert row == ROW
    assert isinstance(row["uid"], uuid.UUID)
    assert isinstance(row["doc"], dict)
    assert isinstance(row["price"], decimal.Decimal)
    assert isinstance(row["stamp"], dt.datetime)


def test_core_types_polars_dtypes(schema: dj.Schema) -> None:
    table = declare_all_types(schema)
    table.insert1(ROW)
    frame = table.to_polars()
    assert dict(frame.schema) == EXPECTED_DTYPES
    assert frame["uid"][0] == str(UID)
    assert frame["sex"][0] == "F"
    assert frame["stamp"][0] == ROW["stamp"]
    assert frame["price"][0] == decimal.Decimal("1234.56")


def test_core_types_insert_polars_frame(schema: dj.Schema) -> None:
    table = declare_all_types(schema)
    frame = pl.DataFrame(
        {
            "id": [1, 2],
            "i8": [1, 127],
            "i16": [2, -3],
            "i64": [3, 2**62],
            "f32": [0.5, -0.25],
            "f64": [1e300, -2.5],
            "flag": [True, False],
            "uid": [str(UID), str(uuid.UUID(int=7))],
            "doc": ['{"k": 1}', "[1, 2, 3]"],
            "raw": [b"a", b""],
            "day": [dt.date(2020, 1, 1), dt.date(1999, 12, 31)],
            "stamp": [dt.datetime(2020, 1, 1, 0, 0, 1), dt.datetime(1970, 1, 1)],
            "code": ["NY", "TX"],
            "name": ["Bo", "Cy"],
            "price": [decimal.Decimal("0.01"), decimal.Decimal("-9999.99")],
            "sex": ["M", "U"],
        }
    )
    table.insert(frame)
    got = table.to_polars().sort("id")
    assert dict(got.schema) == EXPECTED_DTYPES
    assert got["i64"].to_list() == [3, 2**62]
    assert got["f64"].to_list() == [1e300, -2.5]
    assert got["raw"].to_list() == [b"a", b""]
    assert got["sex"].to_list() == ["M", "U"]
    assert got["price"].to_list() == [decimal.Decimal("0.01"), decimal.Decimal("-9999.99")]
    dicts = sorted(table.to_dicts(), key=lambda r: r["id"])
    assert dicts[0]["doc"] == {"k": 1}
    assert dicts[1]["doc"] == [1, 2, 3]
    assert dicts[1]["uid"] == uuid.UUID(int=7)


def test_enum_rejects_other_values(schema: dj.Schema) -> None:
    table = declare_all_types(schema)
    with pytest.raises(dj.DataError):
        table.insert1({**ROW, "sex": "X"})
    assert len(table) == 0


def test_int8_range_is_enforced(schema: dj.Schema) -> None:
    table = declare_all_types(schema)
    with pytest.raises(dj.DataError):
        table.insert1({**ROW, "i8": 200})
    assert len(table) == 0


def test_core_types_same_on_both_backends_heading(schema: dj.Schema) -> None:
    table = declare_all_types(schema)
    types = {a.name: a.type_name for a in table.heading}
    assert types["price"] == "decimal(6,2)"
    assert types["sex"] == "enum('F', 'M', 'U')"
    assert types["code"] == "char(2)"
    assert types["stamp"] == "datetime"


def test_type_names_are_case_insensitive(schema: dj.Schema) -> None:
    @schema
    class Shouty(dj.Manual):
        definition = """
        id : INT32
        ---
        name : VARCHAR(10)
        """

    Shouty.insert1({"id": 1, "name": "x"})
    assert Shouty.to_polars().schema["id"] == pl.Int32


# -- defaults and comments -----------------------------------------------------------------


def test_defaults(schema: dj.Schema) -> None:
    @schema
    class Defaults(dj.Manual):
        definition = """
        id : int32
        ---
        count = 7 : int32
        ratio = -1.5 : float64
        label = 'none' : varchar(20)
        dq = "double" : varchar(20)
        bare = 12 : varchar(10)
        yes = true : bool
        no = false : bool
        created = CURRENT_TIMESTAMP : datetime
        optional = null : int32
        price = 0.50 : decimal(4,2)
        sex = 'U' : enum('F', 'M', 'U')
        """

    before = dt.datetime.now() - dt.timedelta(days=1)
    Defaults.insert1({"id": 1})
    row = Defaults.fetch1()
    assert row["count"] == 7
    assert row["ratio"] == -1.5
    assert row["label"] == "none"
    assert row["dq"] == "double"
    assert row["bare"] == "12"
    assert row["yes"] is True
    assert row["no"] is False
    assert row["optional"] is None
    assert row["price"] == decimal.Decimal("0.50")
    assert row["sex"] == "U"
    assert isinstance(row["created"], dt.datetime)
    assert row["created"] > before
    heading = Defaults.heading
    assert heading["optional"].nullable
    assert not heading["count"].nullable
    assert heading["count"].default == "7"
    assert heading["optional"].default.lower() == "null"


def test_missing_value_without_default_is_refused(schema: dj.Schema) -> None:
    @schema
    class Required(dj.Manual):
        definition = """
        id : int32
        ---
        value : int32
        """

    with pytest.raises(dj.DataError):
        Required.insert1({"id": 1})
    assert len(Required) == 0


def test_comments_in_heading_and_describe(schema: dj.Schema) -> None:
    @schema
    class Commented(dj.Manual):
        definition = """
        # subjects of the study
        subject_id : int32   # lab-wide id
        ---
        note = '#1 fan' : varchar(20)   # quoted hash is not a comment
        weight : float32  # in grams: measured
        """

    heading = Commented.heading
    assert heading["subject_id"].comment == "lab-wide id"
    assert heading["weight"].comment == "in grams: measured"
    assert heading["note"].comment == "quoted hash is not a comment"
    assert heading["note"].default == "'#1 fan'"
    assert Commented().info.comment == "subjects of the study"
    text = Commented.describe()
    assert "# subjects of the study" in text
    assert "lab-wide id" in text
    Commented.insert1({"subject_id": 1, "weight": 2.0})
    assert Commented.fetch1("note") == "#1 fan"


# -- heading and lineage -------------------------------------------------------------------


def test_heading_keys_and_lineage(schema: dj.Schema) -> None:
    @schema
    class Person(dj.Manual):
        definition = """
        person_id : int32
        ---
        name : varchar(20)
        """

    @schema
    class Visit(dj.Manual):
        definition = """
        -> Person
        visit : int16
        ---
        -> Person.proj(host='person_id')
        note : varchar(20)
        """

    s = schema.name
    heading = Visit.heading
    assert heading.names == ["person_id", "visit", "host", "note"]
    assert heading.primary_key == ["person_id", "visit"]
    assert heading.secondary_attributes == ["host", "note"]
    assert heading["person_id"].lineage == f"{s}.person.person_id"
    assert heading["visit"].lineage == f"{s}.visit.visit"
    assert heading["host"].lineage == f"{s}.person.person_id"
    assert heading["note"].lineage is None
    assert Person.heading["name"].lineage is None
    assert heading["host"].type_name == "int32"
    assert Visit.primary_key == ["person_id", "visit"]


def test_lineage_flows_through_chains(schema: dj.Schema) -> None:
    @schema
    class A(dj.Manual):
        definition = """
        a : int32
        """

    @schema
    class B(dj.Manual):
        definition = """
        -> A
        b : int32
        """

    @schema
    class C(dj.Manual):
        definition = """
        -> B.proj(aa='a')
        """

    s = schema.name
    assert C.heading["aa"].lineage == f"{s}.a.a"
    assert C.heading["b"].lineage == f"{s}.b.b"
    assert C.heading.primary_key == ["aa", "b"]


# -- foreign keys --------------------------------------------------------------------------


def test_foreign_key_in_key_is_enforced(schema: dj.Schema) -> None:
    @schema
    class Parent(dj.Manual):
        definition = """
        parent_id : int32
        """

    @schema
    class Child(dj.Manual):
        definition = """
        -> Parent
        child : int32
        """

    Parent.insert1({"parent_id": 1})
    Child.insert1({"parent_id": 1, "child": 1})
    with pytest.raises(dj.MissingParentError):
        Child.insert1({"parent_id": 2, "child": 1})
    assert len(Child) == 1
    assert Child.parents() == [f"{schema.name}.parent"]


def test_nullable_foreign_key(schema: dj.Schema) -> None:
    @schema
    class User(dj.Manual):
        definition = """
        user_id : int32
        """

    @schema
    class Doc(dj.Manual):
        definition = """
        doc_id : int32
        ---
        -> [nullable] User
        """

    assert Doc.heading["user_id"].nullable
    assert not Doc.heading["user_id"].in_key
    User.insert1({"user_id": 1})
    Doc.insert1({"doc_id": 1})
    Doc.insert1({"doc_id": 2, "user_id": 1})
    assert sorted(Doc.to_dicts(), key=lambda r: r["doc_id"]) == [
        {"doc_id": 1, "user_id": None},
        {"doc_id": 2, "user_id": 1},
    ]
    with pytest.raises(dj.MissingParentError):
        Doc.insert1({"doc_id": 3, "user_id": 9})


def test_unique_foreign_key(schema: dj.Schema) -> None:
    @schema
    class Badge(dj.Manual):
        definition = """
        badge_id : int32
        """

    @schema
    class Holder(dj.Manual):
        definition = """
        holder_id : int32
        ---
        -> [unique] Badge
        """

    Badge.insert([{"badge_id": 1}, {"badge_id": 2}])
    Holder.insert1({"holder_id": 1, "badge_id": 1})
    with pytest.raises(dj.DuplicateError):
        Holder.insert1({"holder_id": 2, "badge_id": 1})
    Holder.insert1({"holder_id": 2, "badge_id": 2})
    assert len(Holder) == 2


def test_nullable_unique_foreign_key_allows_many_nulls(schema: dj.Schema) -> None:
    @schema
    class Spouse(dj.Manual):
        definition = """
        spouse_id : int32
        """

    @schema
    class Citizen(dj.Manual):
        definition = """
        citizen_id : int32
        ---
        -> [nullable, unique] Spouse
        """

    Spouse.insert1({"spouse_id": 1})
    Citizen.insert([{"citizen_id": 1}, {"citizen_id": 2}])
    Citizen.insert1({"citizen_id": 3, "spouse_id": 1})
    assert len(Citizen) == 3
    with pytest.raises(dj.DuplicateError):
        Citizen.insert1({"citizen_id": 4, "spouse_id": 1})


def test_renamed_foreign_keys_to_same_parent(schema: dj.Schema) -> None:
    @schema
    class Neuron(dj.Manual):
        definition = """
        neuron_id : int32
        """

    @schema
    class Synapse(dj.Manual):
        definition = """
        -> Neuron.proj(pre='neuron_id')
        -> Neuron.proj(post='neuron_id')
        ---
        strength : float64
        """

    assert Synapse.heading.primary_key == ["pre", "post"]
    lineage = f"{schema.name}.neuron.neuron_id"
    assert Synapse.heading["pre"].lineage == lineage
    assert Synapse.heading["post"].lineage == lineage
    Neuron.insert([{"neuron_id": 1}, {"neuron_id": 2}])
    Synapse.insert1({"pre": 1, "post": 2, "strength": 0.5})
    with pytest.raises(dj.MissingParentError):
        Synapse.insert1({"pre": 1, "post": 3, "strength": 0.5})
    with pytest.raises(dj.MissingParentError):
        Synapse.insert1({"pre": 3, "post": 1, "strength": 0.5})
    edges = list(schema.graph.edges(keys=True))
    neuron, synapse = f"{schema.name}.neuron", f"{schema.name}.synapse"
    assert len([e for e in edges if e[:2] == (neuron, synapse)]) == 2
    # a delete of the parent cascades through both renamed references
    (Neuron & {"neuron_id": 2}).delete()
    assert len(Synapse) == 0


def test_foreign_key_with_trailing_comment(schema: dj.Schema) -> None:
    @schema
    class Lab(dj.Manual):
        definition = """
        lab : varchar(10)
        """

    @schema
    class Member(dj.Manual):
        definition = """
        -> Lab   # the member's lab
        member : varchar(10)
        """

    assert Member.heading.primary_key == ["lab", "member"]


def test_index_and_unique_index(schema: dj.Schema) -> None:
    @schema
    class Account(dj.Manual):
        definition = """
        account_id : int32
        ---
        email : varchar(60)
        first : varchar(20)
        last : varchar(20)
        index(first, last)
        unique index(email)
        """

    info = Account().info
    assert [(i.attributes, i.unique) for i in info.indexes] == [
        (("first", "last"), False),
        (("email",), True),
    ]
    Account.insert1({"account_id": 1, "email": "a@x", "first": "A", "last": "B"})
    Account.insert1({"account_id": 2, "email": "b@x", "first": "A", "last": "B"})
    with pytest.raises(dj.DuplicateError):
        Account.insert1({"account_id": 3, "email": "a@x", "first": "C", "last": "D"})
    assert len(Account) == 2


# -- tiers, singleton, lookup, parts -------------------------------------------------------


def test_singleton_table(schema: dj.Schema) -> None:
    @schema
    class Settings(dj.Manual):
        definition = """
        # one row of settings
        ---
        threshold : float64
        """

    assert Settings.heading.primary_key == []
    assert Settings.heading.names == ["threshold"]
    Settings.insert1({"threshold": 0.5})
    with pytest.raises(dj.DuplicateError):
        Settings.insert1({"threshold": 0.7})
    assert Settings.to_dicts() == [{"threshold": 0.5}]
    assert Settings.to_polars().columns == ["threshold"]


def test_lookup_contents(schema: dj.Schema) -> None:
    @schema
    class Species(dj.Lookup):
        definition = """
        species : varchar(20)
        ---
        legs : int8
        """
        contents = [("mouse", 4), ("bird", 2)]

    assert sorted(Species.to_dicts(), key=lambda r: r["species"]) == [
        {"species": "bird", "legs": 2},
        {"species": "mouse", "legs": 4},
    ]
    assert Species.table_name == "#species"

    @schema
    class Species(dj.Lookup):
        definition = """
        species : varchar(20)
        ---
        legs : int8
        """
        contents = [("mouse", 4), ("bird", 2)]

    assert len(Species) == 2


def test_lookup_contents_as_dicts_and_frame(schema: dj.Schema) -> None:
    @schema
    class Color(dj.Lookup):
        definition = """
        color : varchar(10)
        """
        contents = [{"color": "red"}, {"color": "blue"}]

    @schema
    class Shape(dj.Lookup):
        definition = """
        shape : varchar(10)
        """
        contents = pl.DataFrame({"shape": ["circle", "square", "star"]})

    assert sorted(Color.to_polars()["color"].to_list()) == ["blue", "red"]
    assert len(Shape) == 3


def test_part_tables(schema: dj.Schema) -> None:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        """

    @schema
    class Recording(dj.Manual):
        definition = """
        -> Subject
        rec : int16
        """

        class Channel(dj.Part):
            definition = """
            -> master
            channel : int16
            ---
            gain : float32
            """

    assert Recording.Channel.table_name == "recording__channel"
    assert Recording.Channel.master is Recording
    assert Recording.Channel.heading.primary_key == ["subject_id", "rec", "channel"]
    assert Recording.Channel.heading["rec"].lineage == f"{schema.name}.recording.rec"
    assert Recording.parts() == [f"{schema.name}.recording__channel"]
    Subject.insert1({"subject_id": 1})
    Recording.insert1({"subject_id": 1, "rec": 1})
    Recording.Channel.insert1({"subject_id": 1, "rec": 1, "channel": 3, "gain": 1.0})
    assert Recording.Channel.fetch1("channel") == 3
    with pytest.raises(dj.MissingParentError):
        Recording.Channel.insert1({"subject_id": 1, "rec": 2, "channel": 3, "gain": 1.0})


def test_table_naming(schema: dj.Schema) -> None:
    @schema
    class SessionType(dj.Lookup):
        definition = """
        session_type : varchar(10)
        """

    @schema
    class RawTrace(dj.Imported):
        definition = """
        -> SessionType
        """

    @schema
    class TraceStats(dj.Computed):
        definition = """
        -> RawTrace
        ---
        mean : float64
        """

        class PerBin(dj.Part):
            definition = """
            -> master
            bin : int32
            """

    assert SessionType.table_name == "#session_type"
    assert RawTrace.table_name == "_raw_trace"
    assert TraceStats.table_name == "__trace_stats"
    assert TraceStats.PerBin.table_name == "__trace_stats__per_bin"
    assert TraceStats.full_table_name == f'"{schema.name}"."__trace_stats"'
    assert set(db_tables(schema)) == {
        "#session_type",
        "_raw_trace",
        "__trace_stats",
        "__trace_stats__per_bin",
    }


def test_computed_with_secondary_native_attrs(schema: dj.Schema) -> None:
    @schema
    class Source(dj.Manual):
        definition = """
        src : int32
        """

    @schema
    class Derived(dj.Computed):
        definition = """
        -> Source
        ---
        value : float64
        """

    assert Derived.heading.primary_key == ["src"]


# -- idempotence ---------------------------------------------------------------------------


def test_redeclaration_binds_to_existing_table(schema: dj.Schema) -> None:
    @schema
    class Thing(dj.Manual):
        definition = """
        thing : int32
        ---
        label : varchar(10)
        """

    Thing.insert1({"thing": 1, "label": "a"})

    @schema
    class Thing(dj.Manual):
        definition = """
        thing : int32
        ---
        label : varchar(10)
        """

    assert Thing.to_dicts() == [{"thing": 1, "label": "a"}]
    again = dj.Schema(schema.name, connection=schema.connection)

    @again
    class Thing(dj.Manual):
        definition = """
        thing : int32
        ---
        label : varchar(10)
        """

    assert Thing.to_dicts() == [{"thing": 1, "label": "a"}]
    assert schema.list_tables().count("thing") == 1


def test_different_definition_warns(schema: dj.Schema) -> None:
    @schema
    class Gadget(dj.Manual):
        definition = """
        gadget : int32
        """

    with pytest.warns(UserWarning, match="Gadget"):

        @schema
        class Gadget(dj.Manual):
            definition = """
            gadget : int32
            ---
            extra : int32
            """

    assert Gadget.heading.names == ["gadget"]


def test_whitespace_only_changes_do_not_warn(schema: dj.Schema) -> None:
    import warnings

    @schema
    class Widget(dj.Manual):
        definition = """
        widget : int32     # an id
        """

    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @schema
        class Widget(dj.Manual):
            definition = """
                widget : int32 # an id
            """

    assert Widget.heading.names == ["widget"]


# -- bad definitions: precise errors, nothing written --------------------------------------


def declare(schema: dj.Schema, definition: str, base: type = dj.Manual, **ns: object) -> None:
    cls = type("Bad", (base,), {"definition": definition})
    schema.declare(cls, {**globals(), **ns})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("definition", "error", "words"),
    [
        ("id : uint16\n", dj.UnknownTypeError, ["'uint16'", "int32", "Bad", "'id'"]),
        ("id : int32\n---\nx : string\n", dj.UnknownTypeError, ["varchar", "'x'"]),
        ("id : int32\n---\nx : int unsigned zerofill\n", dj.UnknownTypeError, ["'x'"]),
        ("id : int24\n", dj.UnknownTypeError, ["int24"]),
        ("id : int32\n---\nx : decimal(50,2)\n", dj.UnknownTypeError, ["decimal", "'x'"]),
        ("id : int32\n---\nx : enum()\n", dj.UnknownTypeError, ["enum", "'x'"]),
        ("Id : int32\n", dj.DefinitionError, ["'Id'", "lowercase"]),
        ("_id : int32\n", dj.DefinitionError, ["'_id'"]),
        ("id : int32\n---\nx : int32\nx : int64\n", dj.DefinitionError, ["'x'", "twice"]),
        ("id = null : int32\n", dj.DefinitionError, ["'id'", "null"]),
        ("doc : json\n", dj.DefinitionError, ["'doc'", "primary key"]),
        ("raw : bytes\n", dj.DefinitionError, ["'raw'", "primary key"]),
        ("id int32\n", dj.DefinitionError, ["id int32", "name [= default] : type"]),
        ("id : int32\n---\nx :\n", dj.DefinitionError, ["'x'", "type"]),
        ("id : int32\n---\n---\nx : int32\n", dj.DefinitionError, ["'---'"]),
        ("id : int32\n---\n-> [optional] Parent\n", dj.DefinitionError, ["optional", "nullable"]),
        ("-> [nullable] Parent\n", dj.DefinitionError, ["nullable", "---"]),
        ("-> Nope\n", dj.DefinitionError, ["Nope", "Bad"]),
        ("->\n", dj.DefinitionError, ["->"]),
        ("-> 42\n", dj.DefinitionError, ["42", "declared table"]),
        ("id : int32\n---\nx : int32\nindex(y)\n", dj.DefinitionError, ["index", "'y'"]),
        ("id : int32\n---\nindex()\n", dj.DefinitionError, ["index"]),
        ("-> Parent.proj(p='nope')\n", dj.DefinitionError, ["nope", "Parent"]),
        ("-> Parent\nparent_id : int32\n", dj.DefinitionError, ["parent_id", "twice", "lineage"]),
        ("id : int32\n---\nn : int auto_increment\n", dj.DefinitionError, ["'n'", "primary key"]),
        ("a : serial\nb : int auto_increment\n", dj.DefinitionError, ["'a'", "'b'", "one"]),
        ("id = 3 : int auto_increment\n", dj.DefinitionError, ["'id'", "default"]),
        ("id : int32\n---\nx = abc def : int32\n", dj.DefinitionError, ["'x'", "abc def"]),
        ("id = 'abc' : int32\n", (dj.DefinitionError, dj.DataError), ["id"]),
        ("id : int32\n---\nx = 'abc' : int32\n", (dj.DefinitionError, dj.DataError), ["x"]),
        ("id : int32\n---\nx = abc : int32\n", (dj.DefinitionError, dj.DataError), ["x"]),
        ("id : int32\n---\nx = 'Q' : enum('F', 'M')\n", (dj.DefinitionError, dj.DataError), ["x"]),
        ("id : int32\n---\nx = 300 : int8\n", (dj.DefinitionError, dj.DataError), ["x"]),
        ("id : int32\n---\nx = 'toolong' : char(2)\n", (dj.DefinitionError, dj.DataError), ["x"]),
        ("id : int32\n---\nx = maybe : bool\n", (dj.DefinitionError, dj.DataError), ["x"]),
    ],
)
def test_bad_definition(
    schema: dj.Schema, definition: str, error: type | tuple, words: list[str]
) -> None:
    @schema
    class Parent(dj.Manual):
        definition = """
        parent_id : int32
        """

    before = set(schema.list_tables())
    with pytest.raises(error) as info:
        declare(schema, definition, Parent=Parent)
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert set(schema.list_tables()) == before
    assert db_tables(schema) == before
    assert f"{schema.name}.bad" not in schema.connection.tables


def test_bad_definition_through_decorator_writes_nothing(schema: dj.Schema) -> None:
    with pytest.raises(dj.UnknownTypeError, match="int64"):

        @schema
        class Broken(dj.Manual):
            definition = """
            id : uint32
            """

    assert_nothing_declared(schema)


def test_bad_part_rolls_back_nothing_half_declared(schema: dj.Schema) -> None:
    with pytest.raises(dj.DefinitionError, match="Bad"):

        @schema
        class Whole(dj.Manual):
            definition = """
            whole : int32
            """

            class Bad(dj.Part):
                definition = """
                -> master
                x : nope
                """

    # the master is declared on its own; the part is not
    assert f"{schema.name}.whole__bad" not in schema.connection.tables
    assert "whole__bad" not in db_tables(schema)


def test_computed_with_native_primary_key(schema: dj.Schema) -> None:
    @schema
    class Source(dj.Manual):
        definition = """
        src : int32
        """

    # Declared with a warning, as DataJoint 2.3.5 declares it (its refusal is never reached).
    with pytest.warns(UserWarning, match=r"Computed.*\['k'\].*Part"):

        @schema
        class Result(dj.Computed):
            definition = """
            -> Source
            k : int32
            """

    assert schema.list_tables() == ["source", "__result"]
    assert db_tables(schema) == {"source", "__result"}


def test_imported_without_parents_warns(schema: dj.Schema) -> None:
    with pytest.warns(UserWarning, match=r"\[.k.\]"):

        @schema
        class Loaded(dj.Imported):
            definition = """
            k : int32
            """

    assert schema.list_tables() == ["_loaded"]


def test_part_decorated_directly(schema: dj.Schema) -> None:
    class Loose(dj.Part):
        definition = """
        x : int32
        """

    with pytest.raises(dj.DefinitionError, match=r"Loose.*master"):
        schema(Loose)
    assert_nothing_declared(schema)


def test_class_name_with_underscores_is_named_without_them(schema: dj.Schema) -> None:
    """DataJoint 2.3.5 warns and drops the underscores."""
    with pytest.warns(UserWarning, match="underscores"):

        @schema
        class Session_Trial(dj.Manual):
            definition = """
            x : int32
            """

    assert Session_Trial.table_name == "session_trial"
    Session_Trial.insert1({"x": 1})
    assert len(Session_Trial()) == 1


def test_bad_class_name(schema: dj.Schema) -> None:
    with pytest.raises(dj.DefinitionError, match="CamelCase"):

        @schema
        class bad_name(dj.Manual):
            definition = """
            x : int32
            """

    assert_nothing_declared(schema)


def test_error_messages_name_line(schema: dj.Schema) -> None:
    with pytest.raises(dj.DefinitionError, match=r"Oops.*line 4"):

        @schema
        class Oops(dj.Manual):
            definition = """
            # a comment
            a : int32
            ---
            b int32
            """


def test_enum_and_string_defaults_with_special_characters(schema: dj.Schema) -> None:
    @schema
    class Special(dj.Manual):
        definition = """
        id : int32
        ---
        mood = 'it''s ok' : enum('a,b', 'it''s ok', 'x:y')
        url = 'http://x.org/#top' : varchar(40)   # a url: with a colon
        """

    assert Special.heading["mood"].type.args == ("a,b", "it's ok", "x:y")
    assert Special.heading["url"].comment == "a url: with a colon"
    Special.insert1({"id": 1})
    Special.insert1({"id": 2, "mood": "a,b"})
    rows = sorted(Special.to_dicts(), key=lambda r: r["id"])
    assert [r["mood"] for r in rows] == ["it's ok", "a,b"]
    assert rows[0]["url"] == "http://x.org/#top"
    assert Special.to_polars().schema["mood"] == pl.Enum(["a,b", "it's ok", "x:y"])


def test_redeclare_after_drop_without_reloading(schema: dj.Schema) -> None:
    @schema
    class Temp(dj.Manual):
        definition = """
        temp : int32
        """

    Temp.drop(prompt=False)
    with pytest.raises(dj.DefinitionError, match="not declared"):
        Temp()

    @schema
    class Temp(dj.Manual):
        definition = """
        temp : int32
        ---
        value : int32
        """

    Temp.insert1({"temp": 1, "value": 2})
    assert Temp.heading.names == ["temp", "value"]
    assert db_tables(schema) == {"temp"}


def test_too_long_table_name(schema: dj.Schema) -> None:
    long_name = "A" + "b" * 70
    cls = type(long_name, (dj.Manual,), {"definition": "x : int32\n"})
    with pytest.raises(dj.DefinitionError, match="63"):
        schema(cls)
    assert_nothing_declared(schema)


def test_update_of_unique_indexed_column(schema: dj.Schema) -> None:
    @schema
    class Login(dj.Manual):
        definition = """
        login_id : int32
        ---
        email : varchar(40)
        unique index(email)
        """

    Login.insert1({"login_id": 1, "email": "a@x"})
    Login.update1({"login_id": 1, "email": "b@x"})
    assert Login.fetch1("email") == "b@x"


# -- diamonds: namesakes through several foreign keys ---------------------------------------


def declare_subject_session_probe(schema: dj.Schema) -> tuple[type, type, type]:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session : int16
        """

    @schema
    class Probe(dj.Manual):
        definition = """
        -> Subject
        probe : int16
        ---
        model = 'np1' : varchar(8)
        """

    return Subject, Session, Probe


def test_diamond_merges_namesakes_of_one_lineage(schema: dj.Schema) -> None:
    Subject, Session, Probe = declare_subject_session_probe(schema)

    @schema
    class Recording(dj.Manual):
        definition = """
        -> Session
        -> Probe
        ---
        quality : float64
        """

    heading = Recording.heading
    assert heading.primary_key == ["subject_id", "session", "probe"]
    assert heading["subject_id"].lineage == f"{schema.name}.subject.subject_id"
    assert sorted(Recording.parents()) == [f"{schema.name}.probe", f"{schema.name}.session"]
    Subject.insert([{"subject_id": 1}, {"subject_id": 2}])
    Session.insert1({"subject_id": 1, "session": 1})
    Probe.insert([{"subject_id": 1, "probe": 7}, {"subject_id": 2, "probe": 8}])
    Recording.insert1({"subject_id": 1, "session": 1, "probe": 7, "quality": 0.9})
    with pytest.raises(dj.MissingParentError):  # subject 1 has no probe 8
        Recording.insert1({"subject_id": 1, "session": 1, "probe": 8, "quality": 0.1})
    joined = (Recording * Probe * Session).to_dicts()
    assert joined == [{"subject_id": 1, "session": 1, "probe": 7, "quality": 0.9, "model": "np1"}]
    assert len(Recording) == 1


def test_diamond_in_key_and_below_divider(schema: dj.Schema) -> None:
    Subject, Session, Probe = declare_subject_session_probe(schema)

    @schema
    class Placement(dj.Manual):
        definition = """
        -> Session
        ---
        -> Probe
        """

    assert Placement.heading.primary_key == ["subject_id", "session"]
    assert Placement.heading.secondary_attributes == ["probe"]
    Subject.insert1({"subject_id": 1})
    Session.insert1({"subject_id": 1, "session": 1})
    Probe.insert1({"subject_id": 1, "probe": 3})
    Placement.insert1({"subject_id": 1, "session": 1, "probe": 3})
    assert Placement.fetch1("probe") == 3


def test_diamond_through_renaming_projections(schema: dj.Schema) -> None:
    @schema
    class Slice(dj.Manual):
        definition = """
        prep : int32
        slice : int32
        """

    @schema
    class Cell(dj.Manual):
        definition = """
        -> Slice
        cell : int32
        """

    @schema
    class InputCell(dj.Manual):
        definition = """
        -> Cell
        -> Cell.proj(input="cell")
        """

    @schema
    class Synapse(dj.Manual):
        definition = """
        -> Cell.proj(pre_slice="slice", pre_cell="cell")
        -> Cell.proj(post_slice="slice", post_cell="cell")
        """

    cell = f"{schema.name}.cell.cell"
    assert InputCell.heading.primary_key == ["prep", "slice", "cell", "input"]
    assert InputCell.heading["input"].lineage == cell
    assert Synapse.heading.primary_key == [
        "prep",
        "pre_slice",
        "pre_cell",
        "post_slice",
        "post_cell",
    ]
    assert Synapse.heading["prep"].lineage == f"{schema.name}.slice.prep"
    Slice.insert([{"prep": 1, "slice": 1}, {"prep": 1, "slice": 2}, {"prep": 2, "slice": 1}])
    Cell.insert([{"prep": 1, "slice": 1, "cell": 1}, {"prep": 1, "slice": 2, "cell": 5}])
    Cell.insert1({"prep": 2, "slice": 1, "cell": 9})
    Synapse.insert1({"prep": 1, "pre_slice": 1, "pre_cell": 1, "post_slice": 2, "post_cell": 5})
    with pytest.raises(dj.MissingParentError):  # cell 9 is in prep 2, not prep 1
        Synapse.insert1({"prep": 1, "pre_slice": 1, "pre_cell": 1, "post_slice": 1, "post_cell": 9})
    InputCell.insert1({"prep": 1, "slice": 2, "cell": 5, "input": 5})
    assert len(InputCell * Cell) == 1


def test_namesakes_of_different_lineage_are_refused(schema: dj.Schema) -> None:
    _, Session, _ = declare_subject_session_probe(schema)

    @schema
    class Animal(dj.Manual):
        definition = """
        subject_id : int32
        """

    with pytest.raises(dj.DefinitionError) as info:
        declare(schema, "-> Session\n-> Animal\n", Session=Session, Animal=Animal)
    message = str(info.value)
    for words in (
        "'subject_id'",
        f"{schema.name}.subject.subject_id",
        f"{schema.name}.animal.subject_id",
        "'-> Session'",
        "'-> Animal'",
        'Animal.proj(other_subject_id="subject_id")',
    ):
        assert words in message, message
    assert "{" not in message
    assert "bad" not in schema.list_tables()


@pytest.mark.parametrize(
    ("definition", "hint"),
    [
        ("-> Session\nsubject_id : int32\n", "rename the attribute 'subject_id' declared here"),
        ("-> Session\n-> Animal.proj(x='subject_id')\n", None),
        ("id : int32\n---\nnote : int32\nnote : int16\n", "Remove one"),
    ],
)
def test_declared_twice_messages_are_interpolated(
    schema: dj.Schema, definition: str, hint: str | None
) -> None:
    _, Session, _ = declare_subject_session_probe(schema)

    @schema
    class Animal(dj.Manual):
        definition = """
        subject_id : int32
        """

    if hint is None:  # a renamed namesake is no namesake: this one declares fine
        declare(schema, definition, Session=Session, Animal=Animal)
        assert "bad" in schema.list_tables()
        return
    with pytest.raises(dj.DefinitionError, match="twice") as info:
        declare(schema, definition, Session=Session, Animal=Animal)
    assert hint in str(info.value)
    assert "{" not in str(info.value)
