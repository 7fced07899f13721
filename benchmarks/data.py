"""Synthetic data for the benchmarks, made with numpy and Polars (no Python object per row).

Two shapes: a six-column "wide" table (fetch, insert, scaling) and a university (students,
courses, enrollments, letter grades, grades) for the queries. Both are deterministic.

Examples
--------
>>> wide_frame(3).columns
['k', 'a', 'x', 's', 'd', 'b']
>>> university(students=10, courses=4, per_student=2)["enroll"].height
20
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["UNIVERSITY", "UNIVERSITY_ORDER", "WIDE", "university", "wide_frame"]

WIDE = """
k : int64
---
a : int32
x : float64
s : varchar(20)
d : date
b : bool
"""
"""The definition of the wide table: one column of each common type."""


def wide_frame(rows: int) -> pl.DataFrame:
    """Six columns: int64 key, int32, float64, varchar, date, bool."""
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "k": np.arange(rows, dtype=np.int64),
            "a": rng.integers(0, 1_000_000, rows, dtype=np.int32),
            "x": rng.random(rows),
            "s": pl.Series(np.arange(rows)).cast(pl.String).str.pad_start(12, "0"),
            "d": pl.Series(rng.integers(0, 20_000, rows, dtype=np.int32)).cast(pl.Date),
            "b": rng.random(rows) > 0.5,
        }
    )


UNIVERSITY: dict[str, str] = {
    "letter_grade": """
        grade : char(2)
        ---
        points : float64
        """,
    "student": """
        student_id : int32
        ---
        first_name : varchar(40)
        home_state : char(2)
        """,
    "course": """
        dept : varchar(6)
        course : int32
        ---
        credits : float64
        """,
    "enroll": """
        -> Student
        -> Course
        """,
    "grade": """
        -> Enroll
        ---
        -> LetterGrade
        """,
}
"""Table definitions, by SQL name; class names are the CamelCase of the SQL names."""

UNIVERSITY_ORDER = ("letter_grade", "student", "course", "enroll", "grade")

LETTERS = {
    "A": 4.0,
    "A-": 3.67,
    "B+": 3.33,
    "B": 3.0,
    "B-": 2.67,
    "C+": 2.33,
    "C": 2.0,
    "C-": 1.67,
    "D+": 1.33,
    "D": 1.0,
    "F": 0.0,
}
DEPTS = ("BIOL", "CHEM", "CS", "ECON", "HIST", "MATH", "PHYS", "PSY")
STATES = ("CA", "MA", "NY", "TX", "UT", "WA")


def university(students: int, courses: int, per_student: int) -> dict[str, pl.DataFrame]:
    """Frames for every university table; about 90% of enrollments have a grade."""
    rng = np.random.default_rng(1)
    student = pl.DataFrame(
        {
            "student_id": np.arange(students, dtype=np.int32),
            "first_name": pl.Series(np.arange(students)).cast(pl.String).str.pad_start(8, "s"),
            "home_state": rng.choice(STATES, students),
        }
    )
    course_ids = np.arange(courses)
    course = pl.DataFrame(
        {
            "dept": np.array(DEPTS)[course_ids % len(DEPTS)],
            "course": (1000 + course_ids).astype(np.int32),
            "credits": rng.choice([3.0, 4.0, 5.0], courses),
        }
    )
    # Each student takes `per_student` distinct courses: a random offset, then consecutive ids.
    start = rng.integers(0, courses, students)
    picked = (start[:, None] + np.arange(per_student)[None, :]) % courses
    enroll = pl.DataFrame(
        {
            "student_id": np.repeat(student["student_id"].to_numpy(), per_student),
            "dept": course["dept"].to_numpy()[picked.ravel()],
            "course": course["course"].to_numpy()[picked.ravel()],
        }
    )
    graded = rng.random(enroll.height) < 0.9
    letters = np.array(list(LETTERS))
    grade = enroll.filter(pl.Series(graded)).with_columns(
        grade=pl.Series(rng.choice(letters, int(graded.sum())))
    )
    letter_grade = pl.DataFrame({"grade": list(LETTERS), "points": list(LETTERS.values())})
    return {
        "letter_grade": letter_grade,
        "student": student,
        "course": course,
        "enroll": enroll,
        "grade": grade,
    }


def class_name(sql_name: str) -> str:
    """``letter_grade`` -> ``LetterGrade``."""
    return "".join(part.capitalize() for part in sql_name.split("_"))
