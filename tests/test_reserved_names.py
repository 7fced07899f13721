"""Key attributes named like the columns of the job queue and provenance tables (issue 14,
item 3): ``status``, ``host``, ``pid``, ``user``, ``error_message``, ``version``, ``job_id``,
... The queue and provenance keep their own columns apart (they start with ``_``, which a
user's attribute may not), so populate with ``reserve_jobs=True``, the job views, provenance
and staleness work and read the queue's status, never the key's."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl
import pytest

import djframe as dj

KEY_NAMES = ["status", "host", "pid", "user", "version", "job_id", "error_message", "cause"]


@pytest.fixture
def runs(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class Run(dj.Manual):
        definition = """
        # each key attribute is named like a column of the job queue or of provenance
        status : varchar(16)
        host : varchar(16)
        pid : int32
        user : varchar(16)
        version : int16
        job_id : int32
        error_message : varchar(16)
        cause : varchar(16)
        ---
        fail = 0 : bool
        note = '' : varchar(8)
        """

    @schema
    class Outcome(dj.Computed):
        definition = """
        -> Run
        ---
        duration : float64
        start_time : int32
        upstream_digest : varchar(8)
        priority : int16
        """

        def make(self, key: dict) -> None:
            if (Run & key).fetch1("fail"):
                raise ValueError(f"asked to fail for pid {key['pid']}")
            self.insert1(
                {**key, "duration": 1.5, "start_time": 7, "upstream_digest": "x", "priority": 1}
            )

    # the key's status is the name of a job status, never the job's own status
    rows = [
        {"status": status, "host": "h", "pid": pid, "user": "u", "version": 1, "job_id": pid,
         "error_message": "none", "cause": "c", "fail": status == "success"}
        for pid, status in enumerate(["pending", "reserved", "success", "error", "ignore"])
    ]  # fmt: skip
    Run.insert(rows)
    return SimpleNamespace(Run=Run, Outcome=Outcome)


def test_reserve_jobs_populates_a_table_keyed_by_job_column_names(runs: SimpleNamespace) -> None:
    result = runs.Outcome.populate(reserve_jobs=True, suppress_errors=True)
    assert result["success_count"] == 4 and len(result["error_list"]) == 1
    assert len(runs.Outcome()) == 4
    jobs = runs.Outcome.jobs
    assert jobs.progress() == {
        "pending": 0,
        "reserved": 0,
        "success": 4,
        "error": 1,
        "ignore": 0,
        "total": 5,
    }
    errors = jobs.errors.to_polars()
    assert errors["status"].to_list() == ["success"]  # the key; the job's status is _status
    assert errors["_status"].to_list() == ["error"]
    assert "asked to fail for pid 2" in errors["_error_message"][0]
    assert errors["error_message"].to_list() == ["none"] and errors["_host"][0]
    assert sorted(jobs.completed.to_polars()["status"]) == [
        "error",
        "ignore",
        "pending",
        "reserved",
    ]
    assert len(jobs.reserved) == 0 and len(jobs.pending) == 0
    assert len(jobs & {"status": "error"}) == 1  # a restriction by the key reads the key


def test_job_views_change_the_right_jobs(runs: SimpleNamespace) -> None:
    runs.Outcome.populate(reserve_jobs=True, suppress_errors=True)
    jobs = runs.Outcome.jobs
    runs.Run.update1({**(runs.Run & {"status": "success"}).fetch1(), "fail": False})
    assert jobs.errors.delete(prompt=False) == 1  # the failed job, not the key "error"
    assert len(runs.Outcome & {"status": "error"}) == 1
    assert runs.Outcome.populate(reserve_jobs=True)["success_count"] == 1
    assert jobs.progress()["success"] == 5
    (runs.Outcome & {"status": "pending"}).delete(prompt=False)
    assert jobs.refresh()["re_pended"] == 1
    assert jobs.pending.to_polars()["status"].to_list() == ["pending"]
    jobs.ignore(jobs.pending.proj().to_dicts()[0])
    assert jobs.ignored.to_polars()["status"].to_list() == ["pending"]
    assert runs.Outcome.populate(reserve_jobs=True)["success_count"] == 0


def test_provenance_and_staleness_of_a_table_keyed_by_their_column_names(
    runs: SimpleNamespace,
) -> None:
    runs.Outcome.populate(reserve_jobs=True, suppress_errors=True)
    provenance = runs.Outcome.provenance({"status": "error"})
    assert provenance.height == 1
    assert provenance["version"].to_list() == [1] and provenance["job_id"].to_list() == [3]
    assert provenance["_version"][0].startswith("src:") and len(provenance["_job_id"][0]) == 36
    assert runs.Outcome.stale().is_empty()
    runs.Run.update1({**(runs.Run & {"status": "error"}).fetch1(), "note": "changed"})
    stale = runs.Outcome.stale()
    assert stale.select("status", "cause", "_cause").rows() == [("error", "c", "upstream")]
    result = runs.Outcome.populate(reserve_jobs=True, recompute_stale=True)
    assert result["success_count"] == 1 and runs.Outcome.stale().is_empty()
    assert set(pl.Series(KEY_NAMES)) <= set(runs.Outcome.heading.primary_key)


def test_a_users_attribute_cannot_take_a_reserved_name(schema: dj.Schema) -> None:
    with pytest.raises(dj.DefinitionError, match="reserved"):

        @schema
        class Bad(dj.Manual):
            definition = """
            _status : int32
            """


def test_a_dict_may_name_the_queues_columns_without_their_underscore(
    schema: dj.Schema, runs: SimpleNamespace
) -> None:
    """As in DataJoint: ``jobs & {"status": "error"}`` where no key attribute is so named
    (else a dict's unknown name is ignored, and every job matches); the key's own first."""

    @schema
    class Thing(dj.Manual):
        definition = """
        thing : int32
        ---
        broken : bool
        """

    @schema
    class Plain(dj.Computed):
        definition = """
        -> Thing
        """

        def make(self, key: dict) -> None:
            if (Thing & key).fetch1("broken"):
                raise ValueError("broken thing")
            self.insert1(key)

    Thing.insert([{"thing": t, "broken": t == 2} for t in range(4)])
    Plain.populate(reserve_jobs=True, suppress_errors=True)
    jobs = Plain.jobs
    assert len(jobs & {"status": "error"}) == 1 and len(jobs & {"_status": "error"}) == 1
    assert len(jobs & {"status": "success"}) == 3
    assert (jobs & {"status": "error"}).fetch1("thing") == 2
    runs.Outcome.populate(suppress_errors=True)  # records the one failure
    failed = runs.Outcome.jobs & {"status": "success"}  # the key's status, not the job's
    assert failed.to_polars()["_status"].to_list() == ["error"]
    assert len(runs.Outcome.provenance({"version": 1})) == 4  # the key's version
