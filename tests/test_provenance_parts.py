"""Staleness sees the parts of upstream masters: a fit over a training set's members is stale
when a member changes, and a virtual schema (no make loaded) says the code is unknown.

A master and its parts are one entity, so the upstream digest of a row covers, for every
master upstream of it, the rows of the master's parts and of the parts' own parents.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Iterator
from types import SimpleNamespace

import polars as pl
import pytest

import djframe as dj
from djframe.compute.provenance import digest_sql, provenance_of

_names = itertools.count()


@pytest.fixture
def pipeline(worker_url: str) -> Iterator[SimpleNamespace]:
    """Digits, training sets of them (a part per member), and a fit per training set."""
    schema = dj.Schema(f"parts_{os.getpid()}_{next(_names)}", connection=dj.connect(worker_url))

    @schema
    class Digit(dj.Manual):
        definition = """
        digit_id : int32
        ---
        label : int16
        """

    @schema
    class TrainingSet(dj.Manual):
        definition = """
        training_set : int16
        ---
        note = '' : varchar(40)
        """

        class Member(dj.Part):
            definition = """
            -> master
            -> Digit
            """

    @schema
    class Fit(dj.Computed):
        definition = """
        -> TrainingSet
        ---
        mean_label : float64
        """

        def make(self, key: dict) -> None:
            labels = (Digit & (TrainingSet.Member & key)).to_polars()["label"]
            self.insert1({**key, "mean_label": float(labels.mean())})

    Digit.insert(pl.DataFrame({"digit_id": range(10), "label": [i % 5 for i in range(10)]}))
    TrainingSet.insert([{"training_set": 1}, {"training_set": 2}])
    TrainingSet.Member.insert(
        [{"training_set": 1, "digit_id": i} for i in range(5)]
        + [{"training_set": 2, "digit_id": i} for i in range(5, 10)]
    )
    Fit.populate()
    yield SimpleNamespace(schema=schema, Digit=Digit, TrainingSet=TrainingSet, Fit=Fit)
    schema.drop(prompt=False)
    schema.connection.close()


def stale_sets(fit: type[dj.Table]) -> list[int]:
    return fit.stale()["training_set"].to_list()


def test_a_relabelled_member_makes_its_fit_stale(pipeline: SimpleNamespace) -> None:
    fit = pipeline.Fit
    assert stale_sets(fit) == []
    pipeline.Digit.update1({"digit_id": 2, "label": 4})  # a member of training set 1
    stale = fit.stale()
    assert stale.to_dicts() == [{"training_set": 1, "_cause": "upstream"}]
    assert fit.populate(recompute_stale=True)["success_count"] == 1
    assert (fit & {"training_set": 1}).fetch1("mean_label") == pytest.approx(12 / 5)
    assert stale_sets(fit) == []


def test_members_added_or_removed_make_the_fit_stale(pipeline: SimpleNamespace) -> None:
    member = pipeline.TrainingSet.Member
    member.insert1({"training_set": 2, "digit_id": 0})
    assert stale_sets(pipeline.Fit) == [2]
    (member & {"training_set": 1, "digit_id": 4}).delete(prompt=False, part_integrity="ignore")
    assert stale_sets(pipeline.Fit) == [1, 2]
    pipeline.Fit.populate(recompute_stale=True)
    assert stale_sets(pipeline.Fit) == []


def test_the_master_row_still_counts(pipeline: SimpleNamespace) -> None:
    pipeline.TrainingSet.update1({"training_set": 2, "note": "relabelled"})
    assert stale_sets(pipeline.Fit) == [2]


def test_rows_recorded_before_parts_were_digested_are_rebaselined_once(
    pipeline: SimpleNamespace,
) -> None:
    fit, conn = pipeline.Fit, pipeline.schema.connection
    provenance = provenance_of(fit)
    assert provenance is not None
    digests = digest_sql(conn, fit._info, provenance.info.sql_name)
    conn.execute(  # as an earlier djframe recorded them: the ancestors' rows only
        f"UPDATE {provenance.info.sql_name} AS t SET _upstream_digest = d._legacy_digest "
        f"FROM ({digests}) d WHERE t.training_set = d.training_set"
    )
    with pytest.warns(UserWarning, match=r"2 row\(s\) of Fit were recorded before"):
        assert stale_sets(fit) == []  # not stale for the upgrade
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert stale_sets(fit) == []  # once
    pipeline.Digit.update1({"digit_id": 7, "label": 0})
    assert stale_sets(fit) == [2]  # and part changes are seen from then on


def test_a_virtual_schema_compares_upstream_rows_with_the_code_unknown(
    pipeline: SimpleNamespace, worker_url: str
) -> None:
    other = dj.connect(worker_url)  # a process that never imported the pipeline's module
    try:
        lab = dj.virtual_schema(pipeline.schema.name, connection=other)
        assert not hasattr(lab.Fit, "make")
        with pytest.warns(UserWarning, match="code version is unknown"):
            assert lab.Fit.stale().is_empty()  # not every row stale with cause 'code'
        pipeline.Digit.update1({"digit_id": 9, "label": 0})
        with pytest.warns(UserWarning, match="code version is unknown"):
            stale = lab.Fit.stale()
        assert stale.to_dicts() == [{"training_set": 2, "_cause": "upstream"}]
        with dj.config.override(populate__code_version="v9"):  # a version not from the code
            assert sorted(lab.Fit.stale()["_cause"]) == ["code", "upstream, code"]
    finally:
        other.close()
