"""Semantic matching and the corner cases of the relational operators, on both backends.

The ideas (not the code) come from DataJoint's own relational-operand, semantic-matching,
universal-set and aggregation-regression tests: restriction by empty lists and dicts, by
negated expressions and by expressions without namesakes; homonymous attributes of different
lineage refused in join, restriction, aggr and union, and accepted with
``semantic_check=False``; lineage kept through renames, joins, aggr and ``dj.U``; self-joins
after renaming; unions that are refused; ``dj.U`` operators that are removed.
"""

from __future__ import annotations

import polars as pl
import pytest

import djframe as dj

Tables = dict[str, type[dj.Table]]


@pytest.fixture
def school(schema: dj.Schema) -> Tables:
    @schema
    class Student(dj.Manual):
        definition = """
        student_id : int32
        ---
        name : varchar(20)
        state = null : char(2)
        """

    @schema
    class Course(dj.Manual):
        definition = """
        course_id : int32
        ---
        title : varchar(20)
        """

    @schema
    class Enrollment(dj.Manual):
        definition = """
        -> Student
        -> Course
        ---
        points = null : int16
        """

    @schema
    class Mentor(dj.Manual):
        definition = """
        -> Student
        ---
        -> [nullable] Student.proj(mentor='student_id')
        """

    @schema
    class Friendship(dj.Manual):
        definition = """
        -> Student.proj(a='student_id')
        -> Student.proj(b='student_id')
        """

    @schema
    class Session(dj.Manual):
        definition = """
        session_id : int32
        """

    @schema
    class Trial(dj.Manual):
        definition = """
        -> Session
        trial_num : int16
        ---
        stimulus : varchar(8)
        """

    @schema
    class Id1(dj.Manual):
        definition = """
        id : int32
        ---
        value1 : int32
        """

    @schema
    class Id2(dj.Manual):
        definition = """
        id : int32
        ---
        value2 : int32
        """

    Student.insert(
        pl.DataFrame(
            {
                "student_id": [1, 2, 3, 4],
                "name": ["ann", "bo", "cy", "di"],
                "state": ["UT", "CA", None, "UT"],
            }
        )
    )
    Course.insert(pl.DataFrame({"course_id": [10, 20, 30], "title": ["math", "art", "bio"]}))
    Enrollment.insert(
        pl.DataFrame(
            {"student_id": [1, 1, 2, 3], "course_id": [10, 20, 10, 30], "points": [4, 3, None, 2]}
        )
    )
    Mentor.insert(pl.DataFrame({"student_id": [2, 3, 4], "mentor": [1, 1, None]}))
    Friendship.insert(pl.DataFrame({"a": [1, 2], "b": [2, 3]}))
    Session.insert(pl.DataFrame({"session_id": [1, 2]}))
    Trial.insert(
        pl.DataFrame({"session_id": [1, 1, 2], "trial_num": [1, 2, 1], "stimulus": list("aba")})
    )
    Id1.insert(pl.DataFrame({"id": [1, 2, 3], "value1": [10, 20, 30]}))
    Id2.insert(pl.DataFrame({"id": [2, 3, 4], "value2": [200, 300, 400]}))
    return {
        t.__name__: t
        for t in (Student, Course, Enrollment, Mentor, Friendship, Session, Trial, Id1, Id2)
    }


def ids(expr: dj.QueryExpression | type[dj.Table], column: str = "student_id") -> list[int]:
    return sorted(expr.to_polars()[column].to_list())


# -- lineage ----------------------------------------------------------------------------------
def test_lineage_of_declared_attributes(school: Tables) -> None:
    Student, Enrollment, Trial = school["Student"], school["Enrollment"], school["Trial"]
    origin = Student.heading["student_id"].lineage
    assert origin is not None and origin.endswith("student.student_id")
    assert Enrollment.heading["student_id"].lineage == origin  # inherited through the FK
    assert Enrollment.heading["course_id"].lineage == school["Course"].heading["course_id"].lineage
    assert Trial.heading["session_id"].lineage == school["Session"].heading["session_id"].lineage
    assert Trial.heading["trial_num"].lineage.endswith("trial.trial_num")
    assert Student.heading["name"].lineage is None  # native secondary attribute
    assert Enrollment.heading["points"].lineage is None


def test_renamed_foreign_keys_keep_the_parent_lineage(school: Tables) -> None:
    origin = school["Student"].heading["student_id"].lineage
    assert school["Mentor"].heading["mentor"].lineage == origin
    friendship = school["Friendship"].heading
    assert friendship["a"].lineage == friendship["b"].lineage == origin


def test_lineage_flows_through_operators(school: Tables) -> None:
    Student, Enrollment = school["Student"], school["Enrollment"]
    origin = Student.heading["student_id"].lineage
    assert Enrollment.proj("points").heading["student_id"].lineage == origin
    assert Student.proj(sid="student_id").heading["sid"].lineage == origin
    assert Student.proj(copy="(student_id)").heading["copy"].lineage == origin
    assert Student.proj(doubled="student_id * 2").heading["doubled"].lineage is None
    counted = Student.aggr(Enrollment, n="count(*)")
    assert counted.heading["student_id"].lineage == origin
    assert counted.heading["n"].lineage is None
    assert (dj.U("student_id") & Enrollment).heading["student_id"].lineage == origin
    assert (Student * Enrollment).heading["course_id"].lineage == (
        Enrollment.heading["course_id"].lineage
    )


# -- the semantic check -------------------------------------------------------------------------
def test_join_on_shared_lineage(school: Tables) -> None:
    Student, Enrollment = school["Student"], school["Enrollment"]
    joined = Student * Enrollment
    assert joined.primary_key == ["student_id", "course_id"]
    assert len(joined) == 4
    assert set(joined.heading.names) == set(Student.heading.names) | set(Enrollment.heading.names)


def test_homonyms_of_different_lineage_are_refused(school: Tables) -> None:
    Id1, Id2 = school["Id1"], school["Id2"]
    for attempt in (lambda: Id1 * Id2, lambda: Id1 & Id2, lambda: Id1 - Id2):
        with pytest.raises(dj.LineageError, match="'id'") as refused:
            attempt()
        assert "id1.id" in str(refused.value) and "id2.id" in str(refused.value)
    with pytest.raises(dj.LineageError, match="'id'"):
        Id1.aggr(Id2, n="count(*)")
    with pytest.raises(dj.LineageError, match="'id'"):
        Id1.proj() + Id2.proj()
    with pytest.raises(dj.LineageError, match="'id'"):
        Id1.extend(Id2)


def test_semantic_check_false_matches_on_names(school: Tables) -> None:
    Id1, Id2 = school["Id1"], school["Id2"]
    assert ids(Id1.join(Id2, semantic_check=False), "id") == [2, 3]
    assert ids(Id1.restrict(Id2, semantic_check=False), "id") == [2, 3]
    assert ids(Id1.restrict(dj.Not(Id2), semantic_check=False), "id") == [1]
    assert ids(Id1.restrict([Id2, {"id": 1}], semantic_check=False), "id") == [1, 2, 3]


def test_renaming_resolves_a_conflict(school: Tables) -> None:
    Id1, Id2 = school["Id1"], school["Id2"]
    crossed = Id1 * Id2.proj(..., id2="id")
    assert len(crossed) == 9
    assert sorted(crossed.primary_key) == ["id", "id2"]


def test_secondary_namesakes_have_no_lineage_and_are_refused(school: Tables) -> None:
    """Both sides lack lineage (DataJoint 2.x refuses this too), as does computed vs key."""
    Student, Course = school["Student"], school["Course"]
    with pytest.raises(dj.LineageError, match="'name'"):
        Student * Course.proj(name="title")
    with pytest.raises(dj.LineageError, match="'course_id'"):
        Student.proj(course_id="student_id * 10") * Course
    assert len(Student.join(Course.proj(name="title"), semantic_check=False)) == 0


def test_restriction_by_a_query_of_other_lineage(school: Tables) -> None:
    Enrollment, Course = school["Enrollment"], school["Course"]
    impostor = Course.proj(student_id="course_id")  # course ids dressed as student ids
    with pytest.raises(dj.LineageError, match="student_id"):
        Enrollment & impostor
    with pytest.raises(dj.LineageError, match="student_id"):
        Enrollment & dj.Not(impostor)
    with pytest.raises(dj.LineageError, match="student_id"):
        Enrollment & [{"points": 1}, impostor]
    assert len(Enrollment.restrict(impostor, semantic_check=False)) == 0


def test_renamed_foreign_key_joins_its_parent(school: Tables) -> None:
    Student, Mentor = school["Student"], school["Mentor"]
    mentors = Student.proj(mentor="student_id", mentor_name="name")
    joined = (Mentor * mentors).to_polars().sort("student_id")
    assert joined["mentor_name"].to_list() == ["ann", "ann"]
    with pytest.raises(dj.LineageError, match="'name'"):
        Mentor * Student * Student.proj(mentor="student_id", name="name")


def test_self_join_after_renaming(school: Tables) -> None:
    """Pairs of students: join then restrict equals restrict then join."""
    Student = school["Student"]
    left = Student.proj(s1="student_id", st1="state")
    right = Student.proj(s2="student_id", st2="state")
    pairs = left * right & "st1 = 'UT'" & "st2 = 'CA'"
    assert len(left * right) == 16
    assert sorted(pairs.primary_key) == ["s1", "s2"]
    restricted = (Student & "state = 'UT'").proj(s1="student_id") * (Student & "state = 'CA'").proj(
        s2="student_id"
    )
    assert len(pairs) == len(restricted) == 2
    friends = school["Friendship"] * left.proj(a="s1") * right.proj(b="s2")
    assert len(friends) == 2


def test_aggr_with_a_renamed_key(school: Tables) -> None:
    Student, Mentor = school["Student"], school["Mentor"]
    mentees = Student.proj(mentor="student_id").aggr(Mentor, n="count(*)")
    assert mentees.primary_key == ["mentor"]
    counts = mentees.to_polars().sort("mentor")
    assert counts.rows() == [(1, 2), (2, 0), (3, 0), (4, 0)]


def test_aggr_matches_on_every_namesake(school: Tables) -> None:
    """Mentor's secondary ``mentor`` is a namesake too: only agreeing rows are aggregated, and a
    NULL mentor agrees with nothing (DataJoint joins USING all namesakes)."""
    Student, Mentor = school["Student"], school["Mentor"]
    candidates = Mentor.proj(m="mentor") * Student.proj(mentor="student_id")
    counted = Mentor.aggr(candidates, "mentor", n="count(*)").to_polars().sort("student_id")
    assert counted.rows() == [(2, 1, 1), (3, 1, 1), (4, None, 0)]


# -- restriction by special conditions ----------------------------------------------------------
def test_restriction_by_empty_and_constant_conditions(school: Tables) -> None:
    Student = school["Student"]
    everyone = 4
    for nothing in ([], (), set(), [[]], False, dj.Not(True), dj.Not({})):
        assert len(Student & nothing) == 0, nothing
        assert len(Student - nothing) == everyone, nothing
    for anything in ({}, {"foo": 0}, dj.AndList([]), True, dj.U("student_id")):
        assert len(Student & anything) == everyone, anything
    for anything in ({}, {"foo": 0}, dj.AndList([]), True):
        assert len(Student - anything) == 0, anything


def test_dict_restriction_with_unknown_keys_and_null(school: Tables) -> None:
    Student = school["Student"]
    with pytest.warns(UserWarning, match="no table of the pipeline has an attribute 'unknown'"):
        assert ids(Student & {"state": "UT", "unknown": 5}) == [1, 4]  # ignored, as DataJoint
    assert ids(Student & {"state": None}) == [3]
    assert ids(Student & dj.AndList([{"student_id": 3}, "state is null"])) == [3]
    assert ids(Student - {"state": "UT"}) == [2]  # NULL <> 'UT' is unknown: not kept


def test_not_of_an_expression_partitions_rows(school: Tables) -> None:
    Student, Enrollment = school["Student"], school["Enrollment"]
    semi, anti = Student & Enrollment, Student & dj.Not(Enrollment)
    assert ids(anti) == ids(Student - Enrollment) == [4]
    assert ids(Student & dj.Not(dj.Not(Enrollment))) == ids(semi) == [1, 2, 3]
    assert len(semi) + len(anti) == len(Student)
    math = school["Course"] & {"title": "math"}
    assert ids(Student & (Enrollment & math)) == [1, 2]
    assert ids(Student - (Enrollment & math)) == [3, 4]


def test_restriction_without_namesakes(school: Tables) -> None:
    """No shared attributes: everything if the other side has rows, nothing otherwise."""
    Student, Course = school["Student"], school["Course"]
    assert len(Student & Course) == 4 and len(Student - Course) == 0
    assert len(Student & (Course & "course_id > 99")) == 0
    assert len(Student & pl.DataFrame({"other": [1]})) == 4
    assert len(Student & pl.DataFrame({"other": []}, schema={"other": pl.Int32})) == 0


def test_restriction_by_a_frame(school: Tables) -> None:
    Enrollment = school["Enrollment"]
    keys = pl.DataFrame({"student_id": [1, 2], "course_id": [10, 30], "ignored": [0, 0]})
    assert len(Enrollment & keys) == 1
    assert len(Enrollment - keys) == 3
    assert len(Enrollment & keys.drop("course_id")) == 3


def test_restriction_of_renamed_attributes(school: Tables) -> None:
    Enrollment = school["Enrollment"]
    renamed = Enrollment.proj(i="student_id") & "i in (1, 2)"
    assert len(renamed) == len(Enrollment & "student_id in (1, 2)") == 3
    assert len(renamed & "course_id = 10") == 2
    again = renamed.proj(j="i") & "j in (2, 3)"
    assert len(again) == 1
    assert Enrollment.proj(s="student_id").primary_key == ["s", "course_id"]


def test_projection_keeps_cardinality(school: Tables) -> None:
    Enrollment, Course = school["Enrollment"], school["Course"]
    math = Course & {"title": "math"}
    assert len(Enrollment & math) + len(Enrollment - math) == len(Enrollment)
    assert len((Enrollment & math).proj()) == len(Enrollment & math)
    assert len((Enrollment - math).proj(three="3")) == len(Enrollment - math)
    assert set(Course.proj(c="(course_id)").heading.names) == {"course_id", "c"}


def test_projection_that_keeps_nothing_is_refused(school: Tables) -> None:
    totals = dj.U().aggr(school["Student"], n="count(*)")
    with pytest.raises(dj.QueryError, match="no attributes"):
        totals.proj()
    assert totals.proj("n").fetch1("n") == 4


# -- join, extend, union ---------------------------------------------------------------------
def test_extend_needs_the_left_operand_to_determine_the_right(school: Tables) -> None:
    Student, Enrollment = school["Student"], school["Enrollment"]
    with pytest.raises(dj.QueryError, match="determine"):
        Student.extend(Enrollment)
    extended = Enrollment.extend(Student)
    assert len(extended) == len(Enrollment)
    assert extended.primary_key == Enrollment.primary_key
    mentors = school["Mentor"].extend(Student.proj(mentor="student_id", mentor_name="name"))
    assert mentors.to_polars().sort("student_id")["mentor_name"].to_list() == ["ann", "ann", None]


def test_union_refuses_incompatible_headings(school: Tables) -> None:
    Student, Enrollment = school["Student"], school["Enrollment"]
    with pytest.raises(dj.QueryError, match="primary key"):
        Student + Enrollment
    with pytest.raises(dj.QueryError, match="secondary"):
        Student.proj("name") + Student.proj("name")
    with pytest.raises(dj.QueryError, match="table or an expression"):
        Student + {"student_id": 1}


def test_union_of_pieces_equals_the_whole(school: Tables) -> None:
    Enrollment = school["Enrollment"]
    whole = (Enrollment & {"course_id": 10}).proj()
    pieces = (
        (Enrollment & {"course_id": 10, "student_id": 1}).proj()
        + (Enrollment & {"course_id": 10, "student_id": 2}).proj()
        + (Enrollment & {"course_id": 10, "student_id": 99}).proj()
    )
    assert pieces.to_dicts(order_by="KEY") == whole.to_dicts(order_by="KEY")


def test_union_fills_the_other_side_with_nulls_and_joins(school: Tables) -> None:
    Student = school["Student"]
    names = (Student & "student_id < 3").proj("name")
    states = (Student & "student_id > 1").proj("state")
    both = (names + states).to_polars().sort("student_id")
    assert both.rows() == [(1, "ann", None), (2, "bo", "CA"), (3, None, None), (4, None, "UT")]
    joined = (names + states) * school["Enrollment"]
    assert len(joined) == 4
    assert len(school["Mentor"].extend((names + states).proj(mentor="student_id"))) == 3


def test_restriction_by_a_union_that_shares_a_subquery(school: Tables) -> None:
    """The same relation inside a union on both sides of a restriction (DuckDB once refused the
    correlated full outer join this produced)."""
    Mentor = school["Mentor"]
    union = (Mentor & "student_id > 2").proj("mentor") + Mentor.proj()
    assert ids(union & union) == [3]  # rows 2 and 4 have a NULL mentor: NULL never matches
    assert ids(school["Student"] & union) == [2, 3, 4]


# -- aggregation ---------------------------------------------------------------------------
def test_aggregation_keeps_every_left_row(school: Tables) -> None:
    Student, Enrollment = school["Student"], school["Enrollment"]
    counted = Student.aggr(Enrollment, ..., n="count(*)", best="max(points)", total="sum(points)")
    rows = counted.to_polars().sort("student_id").select("student_id", "n", "best", "total")
    assert rows.rows() == [(1, 2, 4, 7), (2, 1, None, None), (3, 1, 2, 2), (4, 0, None, None)]
    assert set(counted.heading.names) == {"student_id", "name", "state", "n", "best", "total"}
    assert len(Student.aggr(Enrollment, n="count(*)", exclude_nonmatching=True)) == 3
    assert ids(counted & "n > 1") == [1]  # restricting an aggregation (a HAVING in SQL)
    assert ids(Enrollment & (counted & "n = 1")) == [2, 3]  # ...and restricting by it


def test_universal_sets(school: Tables) -> None:
    Student, Enrollment = school["Student"], school["Enrollment"]
    states = dj.U("state") & Student
    assert states.primary_key == ["state"]
    assert set(states.to_polars()["state"].to_list()) == {"CA", "UT", None}
    assert (dj.U("trial_num") & school["Trial"]).primary_key == ["trial_num"]
    assert len(Student & dj.U("state")) == 4
    assert dj.U().aggr(Student, n="count(*)").fetch1("n") == 4
    most = dj.U().aggr(Enrollment, top="max(points)").fetch1("top")
    assert ids(Enrollment & f"points = {most}") == [1]  # argmax
    per_course = dj.U("course_id").aggr(Enrollment, n="count(*)").to_polars().sort("course_id")
    assert per_course.rows() == [(10, 2), (20, 1), (30, 1)]
    counts = Student.aggr(Enrollment, n="count(*)")
    assert sorted((dj.U("n") & counts).to_polars()["n"].to_list()) == [0, 1, 2]
    averages = dj.U().aggr(dj.U("course_id").aggr(Enrollment, n="count(*)"), most="max(n)")
    assert averages.fetch1("most") == 2


def test_universal_set_operators_that_are_refused(school: Tables) -> None:
    Student = school["Student"]
    for attempt in (
        lambda: dj.U("student_id") * Student,
        lambda: Student * dj.U("student_id"),
        lambda: dj.U("student_id") - Student,
        lambda: dj.U("color") & {"color": "red"},
        lambda: dj.U("nonsense") & Student,
    ):
        with pytest.raises(dj.DjframeError):
            attempt()


def test_total_aggregation_respects_exclude_nonmatching(school: Tables) -> None:
    """A keyless left operand (a total) with no matching rows: kept with count 0 by default,
    dropped with exclude_nonmatching=True."""
    Course, Enrollment = school["Course"], school["Enrollment"]
    total = dj.U().aggr(Course, n="count(*)")
    nobody = Enrollment & "points > 99"
    assert total.aggr(nobody, m="count(*)").fetch1("m") == 0
    assert len(total.aggr(nobody, m="count(*)", exclude_nonmatching=True)) == 0
    assert total.aggr(Enrollment, m="count(*)", exclude_nonmatching=True).fetch1("m") == 4


def test_average_of_integers_is_numeric(school: Tables) -> None:
    averages = dj.U().aggr(school["Enrollment"], mean="avg(points)", n="count(*)")
    sums = dj.U().aggr(dj.U("course_id").aggr(school["Enrollment"], n="count(*)"), t="sum(n)")
    frame = averages.to_polars()
    assert frame.schema["mean"].is_numeric()
    assert frame["mean"][0] == pytest.approx(3.0)
    assert sums.to_polars().schema["t"].is_numeric()
