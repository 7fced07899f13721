"""Inserting and updating rows, on every backend: each input kind, the conflict options,
defaults, and bad input refused with a precise error and nothing written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import djframe as dj
from djframe.insert import castless, prepare


@pytest.fixture
def lab(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        species = 'mouse' : varchar(12)
        sex = 'U' : enum('F', 'M', 'U')
        code = null : char(3)
        born : date
        weight = null : float64
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session : int16
        ---
        note = null : varchar(100)
        """

    @schema
    class Archive(dj.Manual):
        definition = """
        subject_id : int32
        ---
        species : varchar(12)
        born : date
        """

    return SimpleNamespace(Subject=Subject, Session=Session, Archive=Archive)


def subjects(lab: SimpleNamespace) -> list[dict]:
    return lab.Subject.to_dicts(order_by="subject_id")


D1, D2, D3 = dt.date(2024, 1, 1), dt.date(2024, 2, 2), dt.date(2024, 3, 3)


# -- input kinds -----------------------------------------------------------------------------
def test_insert_polars(lab: SimpleNamespace) -> None:
    lab.Subject.insert(
        pl.DataFrame({"subject_id": [1, 2], "born": [D1, D2], "species": ["rat", "mouse"]})
    )
    rows = subjects(lab)
    assert [(r["subject_id"], r["species"], r["born"]) for r in rows] == [
        (1, "rat", D1),
        (2, "mouse", D2),
    ]


def test_insert_polars_lazy_and_other_int_width(lab: SimpleNamespace) -> None:
    frame = pl.DataFrame({"subject_id": pl.Series([5], dtype=pl.Int64), "born": [D1]})
    lab.Subject.insert(frame.lazy())
    assert subjects(lab)[0]["subject_id"] == 5


def test_insert_arrow(lab: SimpleNamespace) -> None:
    lab.Subject.insert(pa.table({"subject_id": [3], "born": [D3], "weight": [21.5]}))
    assert subjects(lab)[0]["weight"] == 21.5


def test_insert_pandas(lab: SimpleNamespace) -> None:
    frame = pd.DataFrame({"subject_id": [1, 2], "born": [D1, D2], "sex": ["F", "M"]})
    lab.Subject.insert(frame)
    assert [r["sex"] for r in subjects(lab)] == ["F", "M"]


def test_insert_pandas_datetime64_dates_from_polars(lab: SimpleNamespace) -> None:
    frame = pl.DataFrame({"subject_id": [1, 2], "born": [D1, D2]}).to_pandas()
    frame["born"] = pd.to_datetime(frame["born"])  # datetime64[ns], as pandas users have them
    lab.Subject.insert(frame)
    assert [r["born"] for r in subjects(lab)] == [D1, D2]


def test_insert_pandas_with_key_as_index(lab: SimpleNamespace) -> None:
    frame = pd.DataFrame({"subject_id": [7, 8], "born": [D1, D2]}).set_index("subject_id")
    lab.Subject.insert(frame)
    assert [r["subject_id"] for r in subjects(lab)] == [7, 8]


def test_insert_dicts(lab: SimpleNamespace) -> None:
    lab.Subject.insert([{"subject_id": 1, "born": D1}, {"subject_id": 2, "born": D2}])
    assert len(lab.Subject) == 2


def test_insert_csv_typed_by_heading(lab: SimpleNamespace, tmp_path: Path) -> None:
    path = tmp_path / "subjects.csv"
    # "007" must stay a string for the char(3) column; dates and floats are parsed by type.
    path.write_text("subject_id,born,code,weight\n1,2024-01-01,007,20.5\n2,2024-02-02,010,\n")
    lab.Subject.insert(path)
    rows = subjects(lab)
    assert [(r["born"], r["code"], r["weight"]) for r in rows] == [
        (D1, "007", 20.5),
        (D2, "010", None),
    ]
    lab.Session.insert(str(_write(tmp_path / "s.csv", "subject_id,session\n1,1\n1,2\n")))
    assert len(lab.Session) == 2


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_insert_from_query(lab: SimpleNamespace) -> None:
    lab.Subject.insert(
        [
            {"subject_id": 1, "born": D1, "species": "rat"},
            {"subject_id": 2, "born": D2, "species": "mouse"},
        ]
    )
    lab.Archive.insert(lab.Subject.proj("species", "born") & {"subject_id": 2})
    assert lab.Archive.to_dicts() == [{"subject_id": 2, "species": "mouse", "born": D2}]


def test_insert1(lab: SimpleNamespace) -> None:
    lab.Subject.insert1({"subject_id": 1, "born": D1})
    assert lab.Subject.fetch1("subject_id") == 1
    with pytest.raises(dj.DataError):
        lab.Subject.insert1([{"subject_id": 2, "born": D1}])


def test_insert_empty_is_a_no_op(lab: SimpleNamespace) -> None:
    lab.Subject.insert(
        pl.DataFrame(
            {"subject_id": [], "born": []}, schema={"subject_id": pl.Int32, "born": pl.Date}
        )
    )
    lab.Subject.insert([])
    assert len(lab.Subject) == 0


# -- conflicts and options -------------------------------------------------------------------
def test_skip_duplicates_existing_and_within_batch(lab: SimpleNamespace) -> None:
    lab.Subject.insert1({"subject_id": 1, "born": D1, "species": "rat"})
    lab.Subject.insert(
        [
            {"subject_id": 1, "born": D2, "species": "mouse"},
            {"subject_id": 2, "born": D2, "species": "first"},
            {"subject_id": 2, "born": D3, "species": "second"},
        ],
        skip_duplicates=True,
    )
    rows = subjects(lab)
    assert [(r["subject_id"], r["species"]) for r in rows] == [(1, "rat"), (2, "first")]


def test_replace_overwrites_secondary_values(lab: SimpleNamespace) -> None:
    lab.Subject.insert1({"subject_id": 1, "born": D1, "species": "rat", "weight": 1.0})
    lab.Subject.insert(
        [{"subject_id": 1, "born": D2, "species": "mouse", "weight": 2.0}], replace=True
    )
    row = lab.Subject.fetch1()
    assert (row["born"], row["species"], row["weight"]) == (D2, "mouse", 2.0)
    assert len(lab.Subject) == 1


def test_skip_duplicates_and_replace_together_refused(lab: SimpleNamespace) -> None:
    with pytest.raises(dj.DataError):
        lab.Subject.insert1({"subject_id": 1, "born": D1}, skip_duplicates=True, replace=True)


def test_ignore_extra_fields(lab: SimpleNamespace) -> None:
    lab.Subject.insert([{"subject_id": 1, "born": D1, "color": "brown"}], ignore_extra_fields=True)
    assert "color" not in lab.Subject.fetch1()


def test_defaults_for_missing_columns_and_none(lab: SimpleNamespace) -> None:
    lab.Subject.insert(
        [
            {"subject_id": 1, "born": D1, "species": None, "sex": None},
            {"subject_id": 2, "born": D2, "species": "rat", "sex": "F"},
        ]
    )
    lab.Subject.insert1({"subject_id": 3, "born": D3})
    rows = subjects(lab)
    assert [(r["species"], r["sex"], r["weight"]) for r in rows] == [
        ("mouse", "U", None),
        ("rat", "F", None),
        ("mouse", "U", None),
    ]


# -- bad input: precise error, nothing written ------------------------------------------------
def assert_nothing_written(lab: SimpleNamespace, count: int = 1) -> None:
    assert len(lab.Subject) == count


@pytest.fixture
def seeded(lab: SimpleNamespace) -> SimpleNamespace:
    lab.Subject.insert1({"subject_id": 1, "born": D1})
    return lab


def test_wrong_type_names_attribute(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.DataError, match="born"):
        seeded.Subject.insert([{"subject_id": 2, "born": "not a date"}])
    with pytest.raises(dj.DataError, match="weight"):
        seeded.Subject.insert(pl.DataFrame({"subject_id": [2], "born": [D1], "weight": ["heavy"]}))
    with pytest.raises(dj.DataError, match="subject_id"):
        seeded.Subject.insert([{"subject_id": "two", "born": D1}])
    assert_nothing_written(seeded)


def test_missing_primary_key(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.MissingKeyError, match="subject_id"):
        seeded.Subject.insert([{"born": D1}])
    with pytest.raises(dj.MissingKeyError):
        seeded.Session.insert([{"subject_id": 1}])
    assert_nothing_written(seeded)
    assert len(seeded.Session) == 0


def test_null_primary_key(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.DataError, match="subject_id"):
        seeded.Subject.insert([{"subject_id": None, "born": D2}])
    assert_nothing_written(seeded)


def test_duplicate_of_existing_row(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.DuplicateError) as info:
        seeded.Subject.insert([{"subject_id": 2, "born": D2}, {"subject_id": 1, "born": D2}])
    assert isinstance(info.value, KeyError)
    assert "Nothing was inserted" in str(info.value)
    assert_nothing_written(seeded)
    assert seeded.Subject.fetch1("born") == D1


def test_duplicate_within_batch(seeded: SimpleNamespace) -> None:
    with pytest.raises(KeyError):
        seeded.Subject.insert([{"subject_id": 5, "born": D2}, {"subject_id": 5, "born": D3}])
    with pytest.raises(dj.DuplicateError, match="5"):
        seeded.Subject.insert(pl.DataFrame({"subject_id": [5, 5], "born": [D2, D3]}))
    assert_nothing_written(seeded)


def test_missing_parent(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.MissingParentError, match="Subject"):
        seeded.Session.insert([{"subject_id": 1, "session": 1}, {"subject_id": 9, "session": 1}])
    assert len(seeded.Session) == 0


def test_unknown_attribute(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.MissingAttributeError, match="color"):
        seeded.Subject.insert([{"subject_id": 2, "born": D2, "color": "brown"}])
    assert_nothing_written(seeded)


def test_missing_required_attribute(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.DataError, match="born"):
        seeded.Subject.insert([{"subject_id": 2}])
    assert_nothing_written(seeded)


def test_null_in_non_nullable(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.DataError, match="born"):
        seeded.Subject.insert([{"subject_id": 2, "born": None}])
    with pytest.raises(dj.DataError, match="born"):
        seeded.Subject.insert(pl.DataFrame({"subject_id": [2, 3], "born": [D1, None]}))
    assert_nothing_written(seeded)


def test_too_long_strings(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.DataError, match="species"):
        seeded.Subject.insert([{"subject_id": 2, "born": D2, "species": "x" * 13}])
    with pytest.raises(dj.DataError, match="code"):
        seeded.Subject.insert([{"subject_id": 2, "born": D2, "code": "abcd"}])
    assert_nothing_written(seeded)


def test_max_length_strings_fit(seeded: SimpleNamespace) -> None:
    seeded.Subject.insert([{"subject_id": 2, "born": D2, "species": "é" * 12, "code": "abc"}])
    assert (seeded.Subject & {"subject_id": 2}).fetch1("species") == "é" * 12


def test_value_outside_enum(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.DataError, match="sex"):
        seeded.Subject.insert([{"subject_id": 2, "born": D2, "sex": "X"}])
    assert_nothing_written(seeded)


def test_rows_with_different_fields(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.DataError, match="same attributes"):
        seeded.Subject.insert(
            [{"subject_id": 2, "born": D2}, {"subject_id": 3, "born": D2, "species": "rat"}]
        )
    assert_nothing_written(seeded)


def test_only_last_row_bad_writes_nothing(seeded: SimpleNamespace) -> None:
    good = [{"subject_id": i, "born": D2, "sex": "F"} for i in range(10, 20)]
    for bad in (
        {"subject_id": 99, "born": D2, "sex": "Q"},
        {"subject_id": 10, "born": D2, "sex": "F"},
        {"subject_id": 1, "born": D2, "sex": "F"},
        {"subject_id": 99, "born": None, "sex": "F"},
    ):
        with pytest.raises(dj.DjframeError):
            seeded.Subject.insert([*good, bad])
        assert_nothing_written(seeded)
    sessions = [{"subject_id": 1, "session": s} for s in range(5)] + [
        {"subject_id": 42, "session": 1}
    ]
    with pytest.raises(dj.MissingParentError):
        seeded.Session.insert(sessions)
    assert len(seeded.Session) == 0


def test_unsupported_input(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.DataError, match="insert1"):
        seeded.Subject.insert({"subject_id": 2, "born": D2})
    with pytest.raises(dj.DataError):
        seeded.Subject.insert(42)
    assert_nothing_written(seeded)


# -- update1 ---------------------------------------------------------------------------------
def test_update1_changes_secondary(seeded: SimpleNamespace) -> None:
    seeded.Subject.insert1({"subject_id": 2, "born": D2})
    seeded.Subject.update1({"subject_id": 1, "species": "rat", "weight": 3.5})
    rows = subjects(seeded)
    assert [(r["species"], r["weight"], r["born"]) for r in rows] == [
        ("rat", 3.5, D1),
        ("mouse", None, D2),
    ]


def test_update1_refusals(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.DataError, match="primary key"):
        seeded.Subject.update1({"species": "rat"})
    with pytest.raises(dj.MissingAttributeError, match="color"):
        seeded.Subject.update1({"subject_id": 1, "color": "brown"})
    with pytest.raises(dj.DataError, match="no row"):
        seeded.Subject.update1({"subject_id": 99, "species": "rat"})
    with pytest.raises(dj.DataError, match="only the key"):
        seeded.Subject.update1({"subject_id": 1})
    with pytest.raises(dj.DataError, match="species"):
        seeded.Subject.update1({"subject_id": 1, "species": "y" * 40})
    assert seeded.Subject.fetch1("species") == "mouse"
    assert len(seeded.Subject & {"species": "rat"}) == 0


def test_update1_none_resets_nullable(seeded: SimpleNamespace) -> None:
    seeded.Subject.update1({"subject_id": 1, "weight": 2.0})
    seeded.Subject.update1({"subject_id": 1, "weight": None})
    assert seeded.Subject.fetch1("weight") is None


# -- direct inserts into auto-populated tables ------------------------------------------------
def test_direct_insert_into_computed_and_imported_refused(schema: dj.Schema) -> None:
    @schema
    class Source(dj.Manual):
        definition = """
        src : int32
        """

    @schema
    class Loaded(dj.Imported):
        definition = """
        -> Source
        ---
        value : float64
        """

        class Chunk(dj.Part):
            definition = """
            -> master
            chunk : int16
            """

    @schema
    class Result(dj.Computed):
        definition = """
        -> Source
        ---
        value : float64
        """

        class Piece(dj.Part):
            definition = """
            -> master
            piece : int16
            """

    Source.insert1({"src": 1})
    for table, row in (
        (Loaded, {"src": 1, "value": 1.0}),
        (Result, {"src": 1, "value": 1.0}),
        (Loaded.Chunk, {"src": 1, "chunk": 1}),
        (Result.Piece, {"src": 1, "piece": 1}),
    ):
        with pytest.raises(dj.AccessError):
            table.insert1(row)
        with pytest.raises(PermissionError):
            table.insert([row])
    assert len(Loaded) == len(Result) == len(Loaded.Chunk) == len(Result.Piece) == 0
    Result.insert1({"src": 1, "value": 1.0}, allow_direct_insert=True)
    Result.Piece.insert1({"src": 1, "piece": 1}, allow_direct_insert=True)
    Loaded.insert([{"src": 1, "value": 2.0}], allow_direct_insert=True)
    Loaded.Chunk.insert([{"src": 1, "chunk": 1}], allow_direct_insert=True)
    assert len(Result) == len(Result.Piece) == len(Loaded) == len(Loaded.Chunk) == 1


def test_manual_part_insert_allowed(schema: dj.Schema) -> None:
    @schema
    class Rig(dj.Manual):
        definition = """
        rig : int32
        """

        class Channel(dj.Part):
            definition = """
            -> master
            channel : int16
            """

    Rig.insert1({"rig": 1})
    Rig.Channel.insert([{"rig": 1, "channel": c} for c in range(3)])
    assert len(Rig.Channel) == 3


def test_update1_none_restores_default(seeded: SimpleNamespace) -> None:
    seeded.Subject.update1({"subject_id": 1, "species": "rat", "sex": "F"})
    seeded.Subject.update1({"subject_id": 1, "species": None, "sex": None})
    row = seeded.Subject.fetch1()
    assert (row["species"], row["sex"]) == ("mouse", "U")


def test_update1_none_in_required_refused(seeded: SimpleNamespace) -> None:
    with pytest.raises(dj.DataError, match="born"):
        seeded.Subject.update1({"subject_id": 1, "born": None})
    with pytest.raises(dj.DataError, match="weight"):
        seeded.Subject.update1({"subject_id": 1, "weight": "heavy"})
    assert seeded.Subject.fetch1("born") == D1


# -- richer types ----------------------------------------------------------------------------
@pytest.fixture
def typed(schema: dj.Schema) -> type[dj.Table]:
    @schema
    class Reading(dj.Manual):
        definition = """
        reading_id : uuid
        ---
        taken : datetime
        ok = true : bool
        amount = null : decimal(6,2)
        meta = null : json
        raw = null : bytes
        """

    return Reading


def test_insert_rich_types(typed: type[dj.Table]) -> None:
    import decimal
    import uuid

    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    taken = dt.datetime(2024, 5, 6, 7, 8, 9)
    typed.insert1(
        {
            "reading_id": key,
            "taken": taken,
            "amount": decimal.Decimal("12.34"),
            "meta": {"a": [1, 2]},
            "raw": b"\x00\x01",
        }
    )
    row = typed.fetch1()
    assert row["reading_id"] == key
    assert row["taken"] == taken
    assert row["ok"] is True
    assert row["amount"] == decimal.Decimal("12.34")
    assert row["meta"] == {"a": [1, 2]}
    assert row["raw"] == b"\x00\x01"


def test_rich_types_bad_values(typed: type[dj.Table]) -> None:
    with pytest.raises(dj.DataError, match="reading_id"):
        typed.insert1({"reading_id": "not-a-uuid", "taken": dt.datetime(2024, 1, 1)})
    with pytest.raises(dj.DataError, match="taken"):
        typed.insert1({"reading_id": "12345678-1234-5678-1234-567812345678", "taken": "soon"})
    with pytest.raises(dj.DataError, match="amount"):
        typed.insert1(
            {
                "reading_id": "12345678-1234-5678-1234-567812345678",
                "taken": dt.datetime(2024, 1, 1),
                "amount": 123456.0,
            }
        )
    assert len(typed) == 0


def test_renamed_foreign_key_missing_parent(schema: dj.Schema) -> None:
    @schema
    class Person(dj.Manual):
        definition = """
        person : int32
        """

    @schema
    class Friendship(dj.Manual):
        definition = """
        -> Person
        -> Person.proj(friend='person')
        """

    Person.insert([{"person": 1}, {"person": 2}])
    Friendship.insert1({"person": 1, "friend": 2})
    with pytest.raises(dj.MissingParentError, match="Person"):
        Friendship.insert([{"person": 2, "friend": 1}, {"person": 2, "friend": 3}])
    assert len(Friendship) == 1


# -- bulk rows that need no cast: straight into the table ------------------------------------
BULK = 200  # above the few rows written as literal VALUES


def bulk_subjects(ids: list[int]) -> pl.DataFrame:
    """Rows of Subject already of its column types (as Polars gives them)."""
    return pl.DataFrame(
        {
            "subject_id": pl.Series(ids, dtype=pl.Int32),
            "born": [D1] * len(ids),
            "sex": ["F"] * len(ids),
            "weight": [float(i) for i in ids],
        }
    )


@pytest.fixture
def plain_types(schema: dj.Schema) -> type[dj.Table]:
    @schema
    class Plain(dj.Manual):
        definition = """
        i64 : int64
        ---
        i8 : int8
        i16 : int16
        i32 : int32
        f32 : float32
        f64 : float64
        flag : bool
        day : date
        at : datetime
        name : varchar(10)
        code : char(2)
        kind : enum('a', 'b')
        raw : bytes
        note = 'none' : varchar(10)
        """

    return Plain


def test_bulk_insert_with_no_cast(plain_types: type[dj.Table]) -> None:
    n = BULK
    at = dt.datetime(2024, 5, 6, 7, 8, 9, 123456)
    frame = pl.DataFrame(
        {
            "i64": pl.Series(range(n), dtype=pl.Int64),
            "i8": pl.Series([i % 100 - 50 for i in range(n)], dtype=pl.Int8),
            "i16": pl.Series(range(n), dtype=pl.Int16),
            "i32": pl.Series(range(n), dtype=pl.Int32),
            "f32": pl.Series([0.5] * n, dtype=pl.Float32),
            "f64": [i / 4 for i in range(n)],
            "flag": [i % 2 == 0 for i in range(n)],
            "day": [D2] * n,
            "at": [at] * n,
            "name": [f"n{i}" for i in range(n)],
            "code": ["ab"] * n,
            "kind": ["a", "b"] * (n // 2),
            "raw": [bytes([i % 256]) for i in range(n)],
        }
    )
    info = plain_types().info
    assert castless(prepare(frame, info), info)
    plain_types.insert(frame)
    got = plain_types.to_polars().sort("i64")
    assert got.height == n
    assert got.drop("note").equals(frame)
    assert set(got["note"]) == {"none"}  # the column was left to its default


def test_castless_only_for_rows_of_the_table_types(lab: SimpleNamespace) -> None:
    info = lab.Subject().info
    frame = bulk_subjects(list(range(BULK)))
    assert castless(prepare(frame, info), info)
    # A null that stands for a default is filled by the cast path.
    defaulted = frame.with_columns(sex=pl.lit(None, dtype=pl.String))
    assert not castless(prepare(defaulted, info), info)
    lab.Subject.insert(defaulted)
    assert set(lab.Subject.to_polars()["sex"]) == {"U"}


def test_bulk_duplicate_within_rows_caught_by_the_key(seeded: SimpleNamespace) -> None:
    ids = list(range(10, 10 + BULK))
    ids[-1] = 150
    with pytest.raises(dj.DuplicateError) as info:
        seeded.Subject.insert(bulk_subjects(ids))
    message = str(info.value)
    assert "repeat the primary key {'subject_id': 150}" in message
    assert "Nothing was inserted" in message
    assert_nothing_written(seeded)


def test_bulk_duplicate_of_existing_row_names_the_key(seeded: SimpleNamespace) -> None:
    ids = [*range(10, 10 + BULK), 1]
    with pytest.raises(dj.DuplicateError) as info:
        seeded.Subject.insert(bulk_subjects(ids))
    message = str(info.value)
    assert "subject_id" in message and "1" in message
    assert "Nothing was inserted" in message and "skip_duplicates=True" in message
    assert "CONTEXT" not in message  # the position in a COPY is no help
    assert_nothing_written(seeded)
    assert seeded.Subject.fetch1("born") == D1


def test_bulk_missing_parent_writes_nothing(seeded: SimpleNamespace) -> None:
    sessions = pl.DataFrame(
        {
            "subject_id": pl.Series([1] * BULK + [42], dtype=pl.Int32),
            "session": pl.Series([*range(BULK), 0], dtype=pl.Int16),
        }
    )
    with pytest.raises(dj.MissingParentError, match="Subject") as info:
        seeded.Session.insert(sessions)
    assert "42" in str(info.value) and "Insert the parent first" in str(info.value)
    assert len(seeded.Session) == 0
    seeded.Session.insert(sessions.head(BULK))
    assert len(seeded.Session) == BULK
