"""The query algebra on both backends: restrict, join, proj, aggr, union, dj.U, and lineage."""

from __future__ import annotations

import polars as pl
import pytest
from ibis import _

import djframe as dj


@pytest.fixture
def university(schema: dj.Schema) -> dict[str, type[dj.Table]]:
    @schema
    class Student(dj.Manual):
        definition = """
        sid : int32
        ---
        state : char(2)
        """

    @schema
    class Course(dj.Lookup):
        definition = """
        course : varchar(8)
        """
        contents = [("A",), ("B",)]

    @schema
    class Enroll(dj.Manual):
        definition = """
        -> Student
        -> Course
        ---
        grade : float64
        """

    @schema
    class Mentor(dj.Manual):
        definition = """
        -> Student
        ---
        -> Student.proj(mentor='sid')
        """

    Student.insert([{"sid": i, "state": "UT" if i % 2 else "CA"} for i in range(4)])
    Enroll.insert(
        [
            {"sid": 0, "course": "A", "grade": 3.0},
            {"sid": 0, "course": "B", "grade": 4.0},
            {"sid": 1, "course": "A", "grade": 2.0},
        ]
    )
    Mentor.insert([{"sid": 1, "mentor": 0}])
    return {"Student": Student, "Course": Course, "Enroll": Enroll, "Mentor": Mentor}


def test_restriction_kinds(university: dict[str, type[dj.Table]]) -> None:
    Student, Enroll = university["Student"], university["Enroll"]
    assert len(Student & {"state": "UT"}) == 2
    assert len(Student & {"nonsense": 1}) == 4
    assert len(Student & [{"sid": 0}, {"sid": 3}]) == 2
    assert len(Student & []) == 0
    assert len(Student - []) == 4
    assert len(Student & dj.AndList([{"state": "UT"}, "sid > 1"])) == 1
    assert len(Student & dj.Not({"state": "UT"})) == 2
    assert len(Student & "state = 'UT' and sid < 3") == 1
    assert len(Student & (_.sid >= 2)) == 2
    assert len(Student & Enroll) == 2
    assert len(Student - Enroll) == 2
    assert len(Student & pl.DataFrame({"sid": [1, 2, 99]})) == 2
    assert len(Student & True) == 4 and len(Student & False) == 0
    assert (Student & Enroll) and not (Student & {"sid": 42})


def test_unknown_attribute_in_string_is_named(university: dict[str, type[dj.Table]]) -> None:
    with pytest.raises(dj.MissingAttributeError, match="gpa"):
        university["Student"] & "gpa > 3"


def test_join_proj_and_keys(university: dict[str, type[dj.Table]]) -> None:
    Student, Enroll, Mentor = university["Student"], university["Enroll"], university["Mentor"]
    joined = Student * Enroll
    assert joined.primary_key == ["sid", "course"]
    assert len(joined) == 3
    renamed = Student.proj(mentor="sid", home="state")
    assert renamed.heading.primary_key == ["mentor"]
    assert renamed.heading["mentor"].lineage == Student.heading["sid"].lineage
    assert len(Mentor * renamed) == 1
    computed = Enroll.proj(double="grade * 2")
    assert sorted(computed.to_polars()["double"].to_list()) == [4.0, 6.0, 8.0]
    assert Student.proj(..., "-state").heading.names == ["sid"]


def test_lineage_mismatch_is_refused(university: dict[str, type[dj.Table]]) -> None:
    Student, Mentor = university["Student"], university["Mentor"]
    with pytest.raises(dj.LineageError, match="state"):
        Student * Student.proj("state", other="sid")  # the namesake 'state' has no lineage
    assert len(Student.join(Student.proj("state", other="sid"), semantic_check=False)) == 8
    assert len(Mentor * Student.proj(mentor="sid", home="state")) == 1


def test_aggr_union_and_universal_sets(university: dict[str, type[dj.Table]]) -> None:
    Student, Enroll = university["Student"], university["Enroll"]
    counts = Student.aggr(Enroll, n="count(*)", gpa="avg(grade)").to_polars().sort("sid")
    assert counts["n"].to_list() == [2, 1, 0, 0]
    assert counts["gpa"].to_list() == [3.5, 2.0, None, None]
    assert len(Student.aggr(Enroll, n="count(*)", exclude_nonmatching=True)) == 2
    assert len(Student.aggr(Enroll, n="count(*)") & "n > 1") == 1
    assert sorted((dj.U("state") & Student).to_polars()["state"].to_list()) == ["CA", "UT"]
    assert dj.U().aggr(Enroll, n="count(*)").fetch1("n") == 3
    per_state = dj.U("state").aggr(Student, n="count(*)").to_polars().sort("state")
    assert per_state["n"].to_list() == [2, 2]
    both = (Student & "sid < 2").proj() + (Student & "sid >= 1").proj()
    assert len(both) == 4
    with pytest.raises(dj.QueryError, match="secondary"):
        Student + Student


def test_results_forms(university: dict[str, type[dj.Table]]) -> None:
    Student = university["Student"]
    assert Student.to_arrow().num_rows == 4
    assert list(Student.to_pandas().index.names) == ["sid"]
    assert Student.keys(order_by="KEY")[0] == {"sid": 0}
    assert Student.to_polars(order_by="sid DESC", limit=1)["sid"][0] == 3
    assert sum(b.num_rows for b in Student.to_arrow_batches(batch_size=3)) == 4
    assert {"sid": 2} in Student
    assert len(list(Student)) == 4
    assert "SELECT" in (Student & {"sid": 1}).sql()
    assert "4 rows" in repr(Student())
    with pytest.raises(dj.QueryError):
        Student.fetch1()


def test_relation_restrictions_as_semi_and_anti_joins(
    university: dict[str, type[dj.Table]], backend: str
) -> None:
    Student, Enroll, Mentor = university["Student"], university["Enroll"], university["Mentor"]
    # A top-level match lowers to a semi-join or antijoin (DuckDB: SEMI / ANTI JOIN).
    if backend == "duckdb":
        assert "ANTI JOIN" in (Student - Enroll).sql()
        assert "SEMI JOIN" in (Student & (Enroll & "grade > 2.5")).sql()
    assert (Student - (Enroll & "grade > 2.5")).to_polars().sort("sid")["sid"].to_list() == [
        1,
        2,
        3,
    ]
    both = Student & dj.AndList([Enroll, dj.Not(Mentor), "sid >= 0"])
    assert both.to_polars()["sid"].to_list() == [0]
    assert len(Student - pl.DataFrame({"sid": [0, 1]})) == 2
    # Nested in OR or NOT, a restriction by a restricted relation stays a correlated
    # EXISTS, inside which DuckDB cannot flatten a semi-join (it refused this before).
    either = Student & [Enroll & (Student & {"state": "CA"}), Mentor - Enroll]
    assert sorted(either.to_polars()["sid"].to_list()) == [0]
    assert len(Student & dj.Not([Enroll - Mentor])) == 3
    # A self-restriction matches every row with itself.
    assert len(Student & Student.proj()) == 4 and len(Student - Student.proj()) == 0
