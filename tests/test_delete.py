"""Deleting and dropping, on every backend: cascades (through renamed foreign keys and across
schemas), master-part integrity as in DataJoint 2.x, delete_quick, drop and safe mode."""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

import djframe as dj

_other_numbers = itertools.count()


@pytest.fixture
def lab(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        name = '' : varchar(20)
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session : int16
        """

    @schema
    class Trial(dj.Manual):
        definition = """
        -> Session
        trial : int16
        """

    @schema
    class Pairing(dj.Manual):
        definition = """
        pairing : int32
        ---
        -> Subject.proj(partner='subject_id')
        """

    @schema
    class Electrode(dj.Lookup):
        definition = """
        electrode : int16
        """
        contents = [(1,), (2,)]

    @schema
    class Recording(dj.Manual):
        definition = """
        -> Session
        rec : int16
        """

        class Channel(dj.Part):
            definition = """
            -> master
            -> Electrode
            """

    Subject.insert([{"subject_id": i} for i in (1, 2, 3)])
    Session.insert([{"subject_id": s, "session": n} for s in (1, 2) for n in (1, 2)])
    Trial.insert(
        [
            {"subject_id": s, "session": n, "trial": t}
            for s in (1, 2)
            for n in (1, 2)
            for t in (1, 2)
        ]
    )
    Pairing.insert([{"pairing": 1, "partner": 1}, {"pairing": 2, "partner": 3}])
    Recording.insert(
        [{"subject_id": 1, "session": 1, "rec": 1}, {"subject_id": 2, "session": 1, "rec": 1}]
    )
    Recording.Channel.insert(
        [{"subject_id": s, "session": 1, "rec": 1, "electrode": e} for s in (1, 2) for e in (1, 2)]
    )
    return SimpleNamespace(
        Subject=Subject,
        Session=Session,
        Trial=Trial,
        Pairing=Pairing,
        Electrode=Electrode,
        Recording=Recording,
        Channel=Recording.Channel,
    )


def counts(lab: SimpleNamespace) -> dict[str, int]:
    names = ["Subject", "Session", "Trial", "Pairing", "Electrode", "Recording", "Channel"]
    return {name: len(getattr(lab, name)) for name in names}


FULL = {
    "Subject": 3,
    "Session": 4,
    "Trial": 8,
    "Pairing": 2,
    "Electrode": 2,
    "Recording": 2,
    "Channel": 4,
}


def test_restricted_delete_cascades_to_descendants(lab: SimpleNamespace) -> None:
    assert counts(lab) == FULL
    assert (lab.Subject & {"subject_id": 1}).delete() == 1
    assert counts(lab) == {
        **FULL,
        "Subject": 2,
        "Session": 2,
        "Trial": 4,
        "Pairing": 1,  # through the renamed foreign key partner -> subject_id
        "Recording": 1,
        "Channel": 2,
    }
    assert {r["subject_id"] for r in lab.Trial.to_dicts()} == {2}
    assert lab.Pairing.fetch1("partner") == 3


def test_delete_restricted_mid_level(lab: SimpleNamespace) -> None:
    assert (lab.Session & {"session": 2}).delete() == 2
    assert counts(lab) == {**FULL, "Session": 2, "Trial": 4}
    assert {r["session"] for r in lab.Trial.to_dicts()} == {1}


def test_delete_by_condition_string_and_empty(lab: SimpleNamespace) -> None:
    assert (lab.Subject & "subject_id > 2").delete() == 1
    assert (lab.Subject & {"subject_id": 42}).delete() == 0
    assert counts(lab) == {**FULL, "Subject": 2, "Pairing": 1}


def test_unrestricted_delete_returns_root_count(lab: SimpleNamespace) -> None:
    assert lab.Subject.delete() == 3
    assert counts(lab) == {name: 2 if name == "Electrode" else 0 for name in FULL}


def test_delete_restricted_by_other_table(lab: SimpleNamespace) -> None:
    assert (lab.Subject & lab.Pairing.proj(subject_id="partner")).delete() == 2
    assert [r["subject_id"] for r in lab.Subject.to_dicts()] == [2]
    assert len(lab.Pairing) == 0


def test_delete_across_schemas(
    lab: SimpleNamespace, conn: dj.Connection, schema: dj.Schema
) -> None:
    other = dj.Schema(f"test_{os.getpid()}_other_{next(_other_numbers)}", connection=conn)
    try:
        Subject = lab.Subject  # noqa: F841 - `-> Subject` is resolved in this scope

        @other
        class Note(dj.Manual):
            definition = """
            -> Subject
            note : int16
            """

        @other
        class Reply(dj.Manual):
            definition = """
            -> Note
            reply : int16
            """

        Note.insert([{"subject_id": s, "note": 1} for s in (1, 2)])
        Reply.insert([{"subject_id": s, "note": 1, "reply": 1} for s in (1, 2)])
        assert (lab.Subject & {"subject_id": 2}).delete() == 1
        assert [r["subject_id"] for r in Note.to_dicts()] == [1]
        assert [r["subject_id"] for r in Reply.to_dicts()] == [1]
        lab.Subject.drop()  # drops dependents in the other schema too
        assert other.list_tables() == []
        assert schema.list_tables() == ["#electrode"]
    finally:
        other.drop(prompt=False)


# -- master-part integrity ---------------------------------------------------------------------
def test_deleting_master_deletes_parts(lab: SimpleNamespace) -> None:
    assert (lab.Recording & {"subject_id": 1}).delete() == 1
    assert counts(lab) == {**FULL, "Recording": 1, "Channel": 2}


def test_delete_from_part_directly_refused(lab: SimpleNamespace) -> None:
    with pytest.raises(dj.AccessError, match="part"):
        (lab.Channel & {"subject_id": 1}).delete()
    with pytest.raises(dj.AccessError):
        lab.Channel.delete()
    assert counts(lab) == FULL


def test_delete_from_part_ignore(lab: SimpleNamespace) -> None:
    assert (lab.Channel & {"subject_id": 1, "electrode": 1}).delete(part_integrity="ignore") == 1
    assert counts(lab) == {**FULL, "Channel": 3}


def test_delete_from_part_cascade_deletes_masters(lab: SimpleNamespace) -> None:
    (lab.Channel & {"subject_id": 1, "electrode": 1}).delete(part_integrity="cascade")
    # the whole master entity goes: the master row and all of its parts
    assert counts(lab) == {**FULL, "Recording": 1, "Channel": 2}
    assert lab.Recording.fetch1("subject_id") == 2


def test_delete_orphaning_parts_via_other_parent_refused(lab: SimpleNamespace) -> None:
    with pytest.raises(dj.IntegrityError, match="Channel"):
        (lab.Electrode & {"electrode": 1}).delete()
    assert counts(lab) == FULL


def test_delete_orphaning_parts_cascade_and_ignore(lab: SimpleNamespace) -> None:
    assert (lab.Electrode & {"electrode": 1}).delete(part_integrity="ignore") == 1
    assert counts(lab) == {**FULL, "Electrode": 1, "Channel": 2}
    assert (lab.Electrode & {"electrode": 2}).delete(part_integrity="cascade") == 1
    assert counts(lab) == {**FULL, "Electrode": 0, "Channel": 0, "Recording": 0}


# -- delete_quick --------------------------------------------------------------------------
def test_delete_quick_without_children(lab: SimpleNamespace) -> None:
    assert (lab.Trial & {"trial": 1}).delete_quick() == 4
    assert counts(lab) == {**FULL, "Trial": 4}


def test_delete_quick_refused_when_referenced(lab: SimpleNamespace) -> None:
    with pytest.raises(dj.IntegrityError):
        (lab.Subject & {"subject_id": 1}).delete_quick()
    with pytest.raises(dj.IntegrityError):
        (lab.Subject & {"subject_id": 3}).delete_quick()  # referenced only through `partner`
    assert counts(lab) == FULL
    assert (lab.Subject & {"subject_id": 3}).delete() == 1


def test_delete_quick_unreferenced_rows_of_a_parent(lab: SimpleNamespace) -> None:
    lab.Subject.insert1({"subject_id": 9})
    assert (lab.Subject & {"subject_id": 9}).delete_quick() == 1
    assert counts(lab) == FULL


def test_delete_of_a_join_refused(lab: SimpleNamespace) -> None:
    with pytest.raises(dj.QueryError):
        (lab.Subject * lab.Session).delete()
    assert counts(lab) == FULL


# -- drop and safe mode ----------------------------------------------------------------------
def test_drop_drops_dependents(lab: SimpleNamespace, schema: dj.Schema) -> None:
    lab.Session.drop()
    assert set(schema.list_tables()) == {"subject", "pairing", "#electrode"}
    assert len(lab.Subject) == 3
    with pytest.raises(dj.DjframeError):
        len(lab.Trial)


def test_drop_part_refused(lab: SimpleNamespace) -> None:
    with pytest.raises(dj.AccessError):
        lab.Channel.drop()
    assert len(lab.Channel) == 4


@pytest.fixture
def script_stdin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def no_input(prompt: str = "") -> str:
        raise AssertionError(f"prompted in a script: {prompt}")

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setattr("builtins.input", no_input)
    yield


def test_safemode_never_prompts_in_script(lab: SimpleNamespace, script_stdin: None) -> None:
    with dj.config.override(safemode=True):
        assert (lab.Subject & {"subject_id": 1}).delete() == 1
        lab.Trial.drop()
    assert len(lab.Subject) == 2


def test_prompt_true_asks_and_no_keeps_rows(
    lab: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["no", "yes"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert (lab.Subject & {"subject_id": 1}).delete(prompt=True) == 0
    assert counts(lab) == FULL
    assert (lab.Subject & {"subject_id": 1}).delete(prompt=True) == 1
    assert len(lab.Subject) == 2


def test_delete_inside_outer_transaction_rolls_back(
    lab: SimpleNamespace, conn: dj.Connection
) -> None:
    with pytest.raises(RuntimeError), conn.transaction:
        assert (lab.Subject & {"subject_id": 1}).delete() == 1
        assert len(lab.Session) == 2
        raise RuntimeError("abort")
    assert counts(lab) == FULL


def test_delete_restricted_by_local_rows(lab: SimpleNamespace) -> None:
    import polars as pl

    assert (lab.Subject & [{"subject_id": 1}, {"subject_id": 3}]).delete() == 2
    assert (lab.Session & pl.DataFrame({"subject_id": [2], "session": [1]})).delete() == 1
    assert counts(lab) == {
        **FULL,
        "Subject": 1,
        "Session": 1,
        "Trial": 1 * 2,
        "Pairing": 0,
        "Recording": 0,
        "Channel": 0,
    }
    assert (lab.Trial & pl.DataFrame({"trial": [1]})).delete_quick() == 1


class Terminal:
    """A stdin that says it is interactive."""

    def isatty(self) -> bool:
        return True


def test_safemode_prompts_interactively(
    lab: SimpleNamespace, schema: dj.Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions: list[str] = []

    def answer(prompt: str = "") -> str:
        questions.append(prompt)
        return "n"

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", answer)
    with dj.config.override(safemode=True):
        assert (lab.Subject & {"subject_id": 1}).delete() == 0
        lab.Session.drop()
    assert len(questions) == 2
    assert "Subject: 1" in questions[0] and "Trial: 4" in questions[0]
    assert counts(lab) == FULL
    assert "session" in schema.list_tables()
    assert (lab.Subject & {"subject_id": 1}).delete() == 1  # safemode off: no question
    assert len(questions) == 2
