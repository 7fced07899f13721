"""A first end-to-end pass over declaration, insert, query and delete on both backends."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import djframe as dj


def test_declare_insert_query_delete(schema: dj.Schema) -> None:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        species = 'mouse' : varchar(30)
        born : date
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session : int16
        ---
        note = null : varchar(100)
        """

    Subject.insert(pl.DataFrame({"subject_id": [1, 2], "born": [dt.date(2024, 1, 1)] * 2}))
    Session.insert([{"subject_id": 1, "session": 1}, {"subject_id": 1, "session": 2}])
    assert Subject.to_polars()["species"].to_list() == ["mouse", "mouse"]
    assert Subject.to_polars().schema["subject_id"] == pl.Int32
    assert len(Subject - Session) == 1
    assert len(Subject * Session) == 2
    assert (Subject & {"subject_id": 2}).fetch1("subject_id") == 2
    with pytest.raises(dj.MissingParentError):
        Session.insert1({"subject_id": 7, "session": 1})
    assert (Subject & {"subject_id": 1}).delete() == 1
    assert len(Session) == 0
    assert len(Subject) == 1
