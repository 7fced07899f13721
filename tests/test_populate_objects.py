"""populate with stored outputs: a group of makes writes its objects together, on both
backends, with each key still all-or-nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import djframe as dj
from djframe.compute import groups


@pytest.fixture
def spectra(conn: dj.Connection, tmp_path: Path) -> Any:
    name = f"spectra_{abs(hash(tmp_path)) % 10**8}"
    schema = dj.Schema(name, connection=conn, store=dj.Store(tmp_path / "store"))

    @schema
    class Trace(dj.Manual):
        definition = """
        trace_id : int32
        ---
        gain : float64
        """

    @schema
    class Spectrum(dj.Computed):
        definition = """
        -> Trace
        ---
        peak : float64
        power : <npy@>
        """

        class Band(dj.Part):
            definition = """
            -> master
            band : int16
            ---
            level : <npy@>
            """

        def make(self, key: dict[str, Any]) -> None:
            gain = (Trace & key).fetch1("gain")
            if gain < 0:
                self.insert1({**key, "peak": 0.0, "power": np.zeros(2)})
                raise ValueError("a negative gain")  # after its insert: its rows are dropped
            power = gain * np.arange(8, dtype="float64")
            self.Band.insert([{**key, "band": b, "level": power[b::2]} for b in range(2)])
            stored: Any = {"not": "an array"} if gain == 9 else power  # refused when encoded
            self.insert1({**key, "peak": float(power.max()), "power": stored})

    Trace.insert([{"trace_id": i, "gain": -1.0 if i == 7 else float(i)} for i in range(40)])
    yield schema, Trace, Spectrum
    schema.drop(prompt=False)


def test_a_group_of_makes_commits_its_objects_once(
    spectra: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(groups, "GROUP_SECONDS", 60.0)  # one group, however slow the machine
    schema, _Trace, Spectrum = spectra
    result = Spectrum.populate(suppress_errors=True)
    assert result["success_count"] == 38
    assert sorted(key["trace_id"] for key, _ in result["error_list"]) == [7, 9]
    assert "requires numpy.ndarray" in dict((k["trace_id"], m) for k, m in result["error_list"])[9]
    # The group failed as a whole when key 9's row was encoded; run again key by key, each
    # key is then a commit of its own. Without failures, a group is one commit:
    assert len(Spectrum.history()) <= 38
    assert np.array_equal((Spectrum & {"trace_id": 3}).fetch1("power"), 3 * np.arange(8.0))
    levels = (Spectrum.Band & {"trace_id": 5}).to_dicts(order_by="KEY")
    assert [list(r["level"]) for r in levels] == [[0, 10, 20, 30], [5, 15, 25, 35]]
    assert len(Spectrum & {"trace_id": 7}) == 0
    report = schema.gc(min_age_seconds=0)
    assert report["unreferenced"].sum() == 0  # the failed make's objects were never written


def test_objects_of_a_rolled_back_group_never_reach_the_store(
    spectra: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(groups, "GROUP_SECONDS", 60.0)
    schema, _Trace, Spectrum = spectra
    with pytest.raises(ValueError, match="negative gain"):
        Spectrum.populate()  # the first error is raised: the group's later keys wait
    assert len(Spectrum) == 7  # keys 0..6 were made before key 7 failed
    assert len(Spectrum.history()) == 1
    stored = sum(int(n or 0) for n in schema.gc(min_age_seconds=0)["objects"])
    assert stored == 7 + 14  # one power per key, two bands per key


def test_without_failures_a_group_is_one_commit(
    spectra: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(groups, "GROUP_SECONDS", 60.0)
    _schema, Trace, Spectrum = spectra
    result = Spectrum.populate(Trace & "trace_id < 7")
    assert result["success_count"] == 7
    assert len(Spectrum.history()) == 1 and len(Spectrum.Band.history()) == 1
