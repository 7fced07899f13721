"""populate in one process: make, make_batch, the tripartite make, transactions with parts,
the job queue, provenance and staleness, on both backends."""

from __future__ import annotations

import itertools
import socket
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

import djframe as dj


@pytest.fixture
def pipe(schema: dj.Schema) -> SimpleNamespace:
    calls: list[Any] = []

    @schema
    class Subject(dj.Manual):
        definition = """
        subject : int32
        ---
        species : varchar(20)
        """

    @schema
    class Trace(dj.Manual):
        definition = """
        -> Subject
        trace : int16
        ---
        gain : float64
        """

    @schema
    class Stat(dj.Computed):
        definition = """
        -> Trace
        ---
        doubled : float64
        """

        class Bin(dj.Part):
            definition = """
            -> master
            bin : int16
            ---
            level : float64
            """

        def make(self, key: dict) -> None:
            calls.append(key)
            gain = (Trace & key).fetch1("gain")
            self.insert1({**key, "doubled": 2 * gain})
            self.Bin.insert([{**key, "bin": b, "level": gain + b} for b in range(3)])
            if gain < 0:  # after the master and part rows went in: all must roll back
                raise ValueError(f"negative gain {gain}")

    @schema
    class Batch(dj.Computed):
        definition = """
        -> Trace
        ---
        tripled : float64
        """

        def make_batch(self, keys: pl.DataFrame) -> pl.DataFrame:
            calls.append(len(keys))
            rows = (Trace & keys).to_polars()
            if (rows["gain"] < 0).any():
                raise ValueError("a negative gain in the batch")
            return rows.select("subject", "trace", tripled=pl.col("gain") * 3)

    @schema
    class Summary(dj.Computed):
        definition = """
        -> Stat
        ---
        total : float64
        """

        def make(self, key: dict) -> None:
            levels = (Stat.Bin & key).to_polars()["level"]
            self.insert1({**key, "total": float(levels.sum())})

    Subject.insert([{"subject": 1, "species": "mouse"}, {"subject": 2, "species": "rat"}])
    Trace.insert(
        pl.DataFrame(
            {
                "subject": [1, 1, 1, 2, 2],
                "trace": [1, 2, 3, 1, 2],
                "gain": [1.0, 2.0, -1.0, 4.0, 5.0],
            }
        )
    )
    return SimpleNamespace(
        schema=schema,
        Subject=Subject,
        Trace=Trace,
        Stat=Stat,
        Batch=Batch,
        Summary=Summary,
        calls=calls,
    )


_numbers = itertools.count()

BAD = {"subject": 1, "trace": 3}


def keys_of(expr: Any) -> list[tuple[int, int]]:
    rows = expr.keys()
    return sorted((r["subject"], r["trace"]) for r in rows)


def test_populate_computes_missing_keys_and_rolls_back_failed_parts(pipe: SimpleNamespace) -> None:
    result = pipe.Stat.populate(suppress_errors=True)
    assert result["success_count"] == 4
    assert [key for key, _ in result["error_list"]] == [BAD]
    assert "negative gain" in result["error_list"][0][1]
    assert keys_of(pipe.Stat) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert len(pipe.Stat.Bin & BAD) == 0  # the part rows of the failed make rolled back
    assert len(pipe.Stat.Bin) == 12
    assert pipe.Stat.progress() == (1, 5)


def test_error_is_raised_without_suppress_and_recorded(pipe: SimpleNamespace) -> None:
    with pytest.raises(ValueError, match="negative gain"):
        pipe.Stat.populate()
    errors = pipe.Stat.jobs.errors.to_dicts()
    assert [(e["subject"], e["trace"]) for e in errors] == [(1, 3)]
    assert "ValueError: negative gain" in errors[0]["_error_message"]
    assert "Traceback" in errors[0]["_error_stack"]
    assert errors[0]["_host"] and errors[0]["_pid"] > 0


def test_errors_view_shows_key_whole_message_and_time(pipe: SimpleNamespace) -> None:
    pipe.Stat.populate(suppress_errors=True)
    errors = pipe.Stat.jobs.errors
    report = pipe.Stat.jobs.error_report()
    assert report.columns == ["subject", "trace", "error_message", "when"]
    assert report.row(0)[:3] == (1, 3, errors.fetch1("_error_message"))
    assert report["when"].dtype == pl.Datetime and report["when"][0] is not None
    stacked = pipe.Stat.jobs.error_report(stack=True)
    assert "Traceback" in stacked["error_stack"][0] and "negative gain" in stacked["error_stack"][0]
    message = "ValueError: negative gain -1.0"  # longer than display.width: shown whole
    text, page = repr(errors), errors._repr_html_()
    assert message in text and message in page and "_priority" not in text + page
    assert "Traceback" not in text + page and "<u>subject</u>" in page
    # still a query over the whole queue: the CLI's to_dicts and delete
    assert "Traceback" in errors.to_dicts()[0]["_error_stack"]
    assert errors.delete(prompt=False) == 1 and pipe.Stat.jobs.error_report().is_empty()


def test_errors_are_skipped_until_their_jobs_are_deleted(pipe: SimpleNamespace) -> None:
    pipe.Stat.populate(suppress_errors=True)
    calls = len(pipe.calls)
    assert pipe.Stat.populate(suppress_errors=True)["success_count"] == 0
    assert len(pipe.calls) == calls  # the error key was not tried again
    pipe.Trace.update1({**BAD, "gain": 3.0})
    pipe.Stat.jobs.errors.delete()
    assert pipe.Stat.populate()["success_count"] == 1
    assert (pipe.Stat & BAD).fetch1("doubled") == 6.0


def test_restrictions_and_max_calls(pipe: SimpleNamespace) -> None:
    assert pipe.Stat.populate({"subject": 2})["success_count"] == 2
    assert keys_of(pipe.Stat) == [(2, 1), (2, 2)]
    assert pipe.Stat.populate(max_calls=1, suppress_errors=True)["success_count"] == 1
    assert len(pipe.Stat) == 3


def test_key_source_default_and_override(pipe: SimpleNamespace) -> None:
    assert keys_of(pipe.Stat.key_source) == keys_of(pipe.Trace)

    class OnlyMice(pipe.Stat):  # type: ignore[misc, name-defined]
        @property
        def key_source(self) -> Any:
            return pipe.Trace & (pipe.Subject & {"species": "mouse"}) & "gain > 0"

    assert OnlyMice.populate()["success_count"] == 2
    assert keys_of(pipe.Stat) == [(1, 1), (1, 2)]


def test_make_batch_bisects_to_the_failing_key(pipe: SimpleNamespace) -> None:
    result = pipe.Batch.populate(suppress_errors=True, batch_size=8)
    assert result["success_count"] == 4
    assert [key for key, _ in result["error_list"]] == [BAD]
    assert keys_of(pipe.Batch) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert keys_of(pipe.Batch.jobs.errors) == [(1, 3)]
    assert pipe.calls[0] == 5  # one call with every key, then halves until the bad key is alone
    assert (pipe.Batch & {"subject": 2, "trace": 2}).fetch1("tripled") == 15.0


def test_make_batch_in_small_batches(pipe: SimpleNamespace) -> None:
    pipe.Batch.populate({"subject": 2})
    pipe.Batch.populate(pipe.Trace & "gain > 0", batch_size=1)
    assert len(pipe.Batch) == 4
    assert pipe.calls == [2, 1, 1]


def test_quick_batches_grow_unless_batch_size_is_given(pipe: SimpleNamespace) -> None:
    from djframe.compute.populator import (
        BATCH_GROWTH,
        BATCH_GROWTH_LIMIT,
        PopulateOptions,
        Populator,
    )

    with dj.config.override(populate__batch_size=2):
        growing = Populator(pipe.Batch(), PopulateOptions())
        fixed = Populator(pipe.Batch(), PopulateOptions(batch_size=2))
    assert growing.batch_size == fixed.batch_size == 2
    growing.adapt_batch(1, seconds=0.01)  # a last, short batch says nothing
    assert growing.batch_size == 2
    growing.adapt_batch(2, seconds=0.01)
    assert growing.batch_size == 2 * BATCH_GROWTH
    for _ in range(5):
        growing.adapt_batch(growing.batch_size, seconds=0.01)
    assert growing.batch_size == 2 * BATCH_GROWTH_LIMIT
    growing.adapt_batch(growing.batch_size, seconds=5.0)
    assert growing.batch_size == 2
    fixed.adapt_batch(2, seconds=0.01)
    assert fixed.batch_size == 2


def test_make_batch_returning_foreign_keys_is_refused(
    pipe: SimpleNamespace, schema: dj.Schema
) -> None:
    Trace = pipe.Trace  # noqa: F841  (the definitions below name it)

    @schema
    class Wrong(dj.Computed):
        definition = """
        -> Trace
        ---
        x : float64
        """

        def make_batch(self, keys: pl.DataFrame) -> pl.DataFrame:
            return pl.DataFrame({"subject": [9], "trace": [9], "x": [0.0]})

    with pytest.raises(dj.JobError, match="keys it was not given"):
        Wrong.populate({"subject": 2, "trace": 1})
    assert len(Wrong) == 0


def test_make_inserting_another_key_is_refused(pipe: SimpleNamespace, schema: dj.Schema) -> None:
    Trace = pipe.Trace  # noqa: F841  (the definitions below name it)

    @schema
    class Stray(dj.Computed):
        definition = """
        -> Trace
        ---
        x : float64
        """

        def make(self, key: dict) -> None:
            self.insert1({"subject": 2, "trace": 2, "x": 1.0})

    result = Stray.populate({"subject": 1, "trace": 1}, suppress_errors=True)
    assert "keys it was not given" in result["error_list"][0][1]
    assert len(Stray) == 0


def test_direct_insert_refused_outside_make(pipe: SimpleNamespace) -> None:
    row = {"subject": 1, "trace": 1, "doubled": 0.0}
    with pytest.raises(dj.AccessError, match="populate"):
        pipe.Stat.insert1(row)
    with pytest.raises(dj.AccessError):
        pipe.Stat.Bin.insert1({"subject": 1, "trace": 1, "bin": 0, "level": 0.0})
    pipe.Stat.insert1(row, allow_direct_insert=True)
    assert len(pipe.Stat) == 1


def test_tripartite_make(schema: dj.Schema, pipe: SimpleNamespace) -> None:
    Trace = pipe.Trace
    seen: list[str] = []

    @schema
    class Slow(dj.Computed):
        definition = """
        -> Trace
        ---
        gain2 : float64
        """

        def make_fetch(self, key: dict) -> tuple[float]:
            seen.append("fetch")
            return ((Trace & key).fetch1("gain"),)

        def make_compute(self, key: dict, gain: float) -> tuple[float]:
            seen.append("compute")
            if key == {"subject": 2, "trace": 2}:  # the input changes while computing
                Trace.update1({**key, "gain": 50.0})
            return (gain * gain,)

        def make_insert(self, key: dict, gain2: float) -> None:
            seen.append("insert")
            self.insert1({**key, "gain2": gain2})

    result = Slow.populate({"subject": 2}, suppress_errors=True)
    assert result["success_count"] == 1
    assert "changed between make_fetch and make_insert" in result["error_list"][0][1]
    assert (Slow & {"subject": 2, "trace": 1}).fetch1("gain2") == 16.0
    assert seen[:4] == ["fetch", "compute", "fetch", "insert"]
    assert len(Slow & {"subject": 2, "trace": 2}) == 0


def test_populate_refuses_non_auto_tables_and_transactions(pipe: SimpleNamespace) -> None:
    with pytest.raises(AttributeError):
        pipe.Trace.populate()
    with pytest.raises(dj.JobError, match="transaction"), pipe.schema.connection.transaction:
        pipe.Stat.populate()


def test_make_missing_is_a_definition_error(schema: dj.Schema, pipe: SimpleNamespace) -> None:
    Trace = pipe.Trace  # noqa: F841  (the definitions below name it)

    @schema
    class NoMake(dj.Computed):
        definition = """
        -> Trace
        """

    with pytest.raises(dj.DefinitionError, match="make"):
        NoMake.populate()


# -- the job queue in one process -------------------------------------------------------------
def test_reserve_jobs_marks_success_and_error(pipe: SimpleNamespace) -> None:
    result = pipe.Stat.populate(reserve_jobs=True, suppress_errors=True)
    assert result["success_count"] == 4
    progress = pipe.Stat.jobs.progress()
    assert progress == {
        "pending": 0,
        "reserved": 0,
        "success": 4,
        "error": 1,
        "ignore": 0,
        "total": 5,
    }
    done = pipe.Stat.jobs.completed.to_polars()
    assert (done["_duration"] >= 0).all() and done["_completed_time"].is_not_null().all()


def test_refresh_queues_and_reclaims(pipe: SimpleNamespace) -> None:
    jobs = pipe.Stat.jobs
    assert jobs.refresh({"subject": 1}) == {"added": 3, "re_pended": 0, "orphaned": 0}
    assert jobs.refresh() == {"added": 2, "re_pended": 0, "orphaned": 0}
    assert len(jobs.pending) == 5
    # A reservation by a process that no longer exists goes back to pending.
    key = pl.DataFrame(
        {"subject": [1], "trace": [1]}, schema={"subject": pl.Int32, "trace": pl.Int16}
    )
    gone = 2**22 + 12345  # no process has this pid
    jobs.record(key, "reserved", pid=gone, process=str(gone), host=socket.gethostname())
    assert len(jobs.reserved) == 1
    assert jobs.refresh()["orphaned"] == 1
    assert len(jobs.reserved) == 0


def test_refresh_repends_successes_whose_rows_were_deleted(pipe: SimpleNamespace) -> None:
    pipe.Stat.populate({"subject": 2}, reserve_jobs=True)
    (pipe.Stat & {"subject": 2, "trace": 1}).delete(prompt=False)
    assert pipe.Stat.jobs.refresh({"subject": 2})["re_pended"] == 1
    assert pipe.Stat.populate({"subject": 2}, reserve_jobs=True)["success_count"] == 1


def test_ignored_keys_are_skipped(pipe: SimpleNamespace) -> None:
    pipe.Stat.jobs.ignore(BAD)
    assert pipe.Stat.populate()["success_count"] == 4
    assert len(pipe.Stat.jobs.ignored) == 1


def test_jobs_table_is_hidden_and_dropped_with_its_table(pipe: SimpleNamespace) -> None:
    pipe.Stat.populate(reserve_jobs=True, suppress_errors=True)
    assert not any(name.startswith("~") for name in pipe.schema.list_tables())
    jobs_name = pipe.Stat.jobs.full_name
    pipe.Stat.drop(prompt=False)
    assert jobs_name not in pipe.schema.connection.tables


# -- provenance and staleness -----------------------------------------------------------------
def test_provenance_records_each_row(pipe: SimpleNamespace) -> None:
    pipe.Stat.populate(suppress_errors=True)
    prov = pipe.Stat.provenance()
    assert len(prov) == 4
    assert set(prov.columns) >= {
        "_job_id",
        "_version",
        "_start_time",
        "_duration",
        "_user",
        "_host",
        "_upstream_digest",
    }
    assert prov["_job_id"].n_unique() == 1 and prov["_version"][0].startswith("src:")
    one = pipe.Stat.provenance({"subject": 2, "trace": 2})
    assert len(one) == 1 and len(one["_upstream_digest"][0]) == 32


def test_provenance_left_by_a_delete_outside_djframe_is_replaced(pipe: SimpleNamespace) -> None:
    """Rows deleted by plain SQL: PostgreSQL refuses (the provenance refers to them); DuckDB,
    which does not enforce that key, leaves their provenance behind and populating again
    replaces it."""
    pipe.Batch.populate(suppress_errors=True)  # one key fails
    made = len(pipe.Batch)
    first = set(pipe.Batch.provenance()["_job_id"])
    conn = pipe.Batch.connection
    if conn.backend.enforces_foreign_keys:  # PostgreSQL: the provenance's key refuses it
        with pytest.raises(dj.IntegrityError, match="still referenced"):
            conn.execute(f"DELETE FROM {pipe.Batch.full_table_name}")
        assert len(pipe.Batch) == len(pipe.Batch.provenance()) == made > 0
        return
    conn.execute(f"DELETE FROM {pipe.Batch.full_table_name}")
    assert len(pipe.Batch.provenance()) == made > 0  # left behind
    pipe.Batch.jobs.delete_quick()
    pipe.Batch.populate(suppress_errors=True)
    prov = pipe.Batch.provenance()
    assert len(prov) == made and set(prov["_job_id"]).isdisjoint(first)
    assert pipe.Batch.stale().is_empty()


def test_stale_after_an_upstream_update(pipe: SimpleNamespace) -> None:
    pipe.Stat.populate(suppress_errors=True)
    pipe.Summary.populate()
    assert pipe.Stat.stale().is_empty()
    pipe.Trace.update1({"subject": 2, "trace": 1, "gain": 40.0})
    pipe.Subject.update1({"subject": 1, "species": "vole"})  # a grandparent changes too
    stale = pipe.Stat.stale()
    assert sorted(zip(stale["subject"], stale["trace"], strict=True)) == [(1, 1), (1, 2), (2, 1)]
    assert set(stale["_cause"]) == {"upstream"}


def test_recompute_stale_replaces_rows_and_dependents(pipe: SimpleNamespace) -> None:
    pipe.Stat.populate(suppress_errors=True)
    pipe.Summary.populate()
    before = pipe.Stat.provenance({"subject": 2, "trace": 1})["_job_id"][0]
    pipe.Trace.update1({"subject": 2, "trace": 1, "gain": 40.0})
    result = pipe.Stat.populate(recompute_stale=True, suppress_errors=True)
    assert result["success_count"] == 1
    assert (pipe.Stat & {"subject": 2, "trace": 1}).fetch1("doubled") == 80.0
    assert pipe.Stat.stale().is_empty()
    assert pipe.Stat.provenance({"subject": 2, "trace": 1})["_job_id"][0] != before
    # The dependent Summary row was deleted with the old row; populate brings it back.
    assert len(pipe.Summary & {"subject": 2, "trace": 1}) == 0
    pipe.Summary.populate()
    assert (pipe.Summary & {"subject": 2, "trace": 1}).fetch1("total") == 123.0


def test_code_version_change_makes_rows_stale(pipe: SimpleNamespace) -> None:
    with dj.config.override(**{"populate.code_version": "v1"}):
        pipe.Stat.populate({"subject": 2})
        assert pipe.Stat.stale().is_empty()
    with dj.config.override(**{"populate.code_version": "v2"}):
        stale = pipe.Stat.stale()
        assert list(stale["_cause"]) == ["code", "code"]
        pipe.Trace.update1({"subject": 2, "trace": 2, "gain": 7.0})
        assert sorted(pipe.Stat.stale()["_cause"]) == ["code", "upstream, code"]
        assert pipe.Stat.populate({"subject": 2}, recompute_stale=True)["success_count"] == 2
        assert set(pipe.Stat.provenance()["_version"]) == {"v2"}


def test_reserved_recompute_of_stale_rows(pipe: SimpleNamespace) -> None:
    pipe.Stat.populate({"subject": 2}, reserve_jobs=True)
    pipe.Trace.update1({"subject": 2, "trace": 2, "gain": 7.0})
    result = pipe.Stat.populate({"subject": 2}, reserve_jobs=True, recompute_stale=True)
    assert result["success_count"] == 1
    assert (pipe.Stat & {"subject": 2, "trace": 2}).fetch1("doubled") == 14.0


def test_populate_result_html(pipe: SimpleNamespace) -> None:
    result = pipe.Stat.populate(suppress_errors=True)
    html = result._repr_html_()
    assert "4 computed" in html and "1 errors" in html


# -- whole pipelines ------------------------------------------------------------------------
def test_schema_populate_runs_parents_first(pipe: SimpleNamespace) -> None:
    results = pipe.schema.populate()
    assert results["Stat"]["success_count"] == 4
    assert len(results["Stat"]["error_list"]) == 1  # recorded, not raised
    assert results["Summary"]["success_count"] == 4  # saw the rows Stat just got
    assert results["Batch"]["success_count"] == 4
    again = dj.populate(pipe.schema)
    assert all(r["success_count"] == 0 for r in again.values())


def test_dj_populate_of_chosen_tables(pipe: SimpleNamespace) -> None:
    results = dj.populate(pipe.Summary, pipe.Stat)
    assert list(results) == ["Stat", "Summary"]
    with pytest.raises(dj.JobError, match="not an Imported or Computed"):
        dj.populate(pipe.Trace)


def test_delete_quick_takes_the_provenance_along(pipe: SimpleNamespace) -> None:
    pipe.Stat.populate({"subject": 2})
    pipe.Stat.Bin.delete_quick()
    (pipe.Stat & {"subject": 2, "trace": 1}).delete_quick()
    assert keys_of(pipe.Stat) == [(2, 2)]
    assert len(pipe.Stat.provenance()) == 1


def test_graph_methods_hide_the_hidden_tables(pipe: SimpleNamespace) -> None:
    pipe.Stat.populate({"subject": 2})  # declares the provenance table, a child of Stat
    assert all("~" not in name for name in pipe.Stat.children() + pipe.Trace.descendants())
    assert any(name.endswith("__stat__bin") for name in pipe.Stat.children())


def test_stored_outputs_name_the_job_and_code_version(conn: dj.Connection, tmp_path: Any) -> None:
    import numpy as np

    lab = dj.Schema(
        f"objects_{next(_numbers)}_{id(conn) % 10_000}", connection=conn, store=tmp_path
    )
    try:

        @lab
        class Source(dj.Manual):
            definition = """
            n : int32
            """

        @lab
        class Waveform(dj.Computed):
            definition = """
            -> Source
            ---
            wave : <npy@>
            """

            def make(self, key: dict) -> None:
                self.insert1({**key, "wave": np.arange(key["n"], dtype="float32")})

        Source.insert([{"n": 3}, {"n": 5}])
        Waveform.populate()
        history = Waveform.history().filter(pl.col("job_id").is_not_null())
        provenance = Waveform.provenance()
        assert len(history) >= 1
        assert set(history["job_id"]) <= set(provenance["_job_id"])
        assert set(history["code_version"]) == set(provenance["_version"])
        assert np.array_equal((Waveform & {"n": 3}).fetch1("wave"), np.arange(3))
    finally:
        lab.drop(prompt=False)


def test_unknown_populate_option_is_named(pipe: SimpleNamespace) -> None:
    with pytest.raises(dj.JobError, match="reserve_job"):
        pipe.Stat.populate(reserve_job=True)
