"""dj.Diagram: its algebra, Mermaid and SVG drawings, and delete previews."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import pytest

import djframe as dj


@pytest.fixture
def lab(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject : int32
        """

    @schema
    class Rig(dj.Lookup):
        definition = """
        rig : varchar(8)
        """
        contents = [("a",), ("b",)]

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session : int16
        ---
        -> Rig
        """

    @schema
    class Pairing(dj.Manual):
        definition = """
        -> Session
        -> Subject.proj(partner='subject')
        """

    @schema
    class Analysis(dj.Computed):
        definition = """
        -> Session
        ---
        score : float64
        """

        class Unit(dj.Part):
            definition = """
            -> master
            unit : int16
            """

        def make(self, key: dict) -> None:
            self.insert1({**key, "score": 1.0})
            self.Unit.insert1({**key, "unit": 0})

    Subject.insert([{"subject": 1}, {"subject": 2}])
    Session.insert(
        [{"subject": 1, "session": 1, "rig": "a"}, {"subject": 2, "session": 1, "rig": "b"}]
    )
    Analysis.populate()
    return SimpleNamespace(
        schema=schema, Subject=Subject, Rig=Rig, Session=Session, Pairing=Pairing, Analysis=Analysis
    )


def names(diagram: dj.Diagram) -> list[str]:
    return [n.split(".", 1)[1] for n in diagram.topological()]


def test_schema_diagram_lists_tables_parents_first(lab: SimpleNamespace) -> None:
    diagram = dj.Diagram(lab.schema)
    assert names(diagram) == [
        "#rig",
        "subject",
        "session",
        "__analysis",
        "__analysis__unit",
        "pairing",
    ]
    assert "5 tables" not in repr(diagram) and "Analysis" in repr(diagram)


def test_algebra(lab: SimpleNamespace) -> None:
    session = dj.Diagram(lab.Session)
    assert names(session) == ["session"]
    assert names(session + 1) == ["session", "__analysis", "pairing"]
    assert names(session - 1) == ["#rig", "subject", "session"]
    assert names(session + 2) == ["session", "__analysis", "__analysis__unit", "pairing"]
    both = dj.Diagram(lab.Subject) + lab.Analysis
    assert set(names(both)) == {"subject", "__analysis"}
    assert names((session + 1) - dj.Diagram(lab.Pairing)) == ["session", "__analysis"]
    assert names((session + 1) * (dj.Diagram(lab.Subject) + 2)) == [
        "session",
        "__analysis",
        "pairing",
    ]


def test_mermaid(lab: SimpleNamespace) -> None:
    text = dj.Diagram(lab.schema).mermaid()
    assert text.startswith("flowchart TB")
    assert '(("Analysis"))' in text and '["Subject"]' in text and '[["Unit"]]' in text
    assert "-.->" in text  # the secondary reference to Rig
    assert "|renamed|" in text  # Pairing's partner
    assert "classDef computed" in text


def test_svg_is_valid_and_marks_tiers(lab: SimpleNamespace, tmp_path: Path) -> None:
    diagram = dj.Diagram(lab.schema)
    root = ET.fromstring(diagram.svg())
    ns = "{http://www.w3.org/2000/svg}"
    groups = {g.get("class") for g in root.iter(f"{ns}g")}
    assert groups == {"manual", "lookup", "computed", "part"}
    assert len(list(root.iter(f"{ns}ellipse"))) == 1  # Analysis
    assert any(c.find(f"{ns}title") is not None for c in root.iter(f"{ns}circle"))  # renamed
    assert diagram._repr_mimebundle_()["image/svg+xml"] == diagram._repr_svg_()
    diagram.save(str(tmp_path / "lab.svg"))
    diagram.save(str(tmp_path / "lab.mmd"))
    assert (tmp_path / "lab.mmd").read_text().startswith("flowchart")
    ET.parse(tmp_path / "lab.svg")


def test_hidden_tables_are_not_drawn(lab: SimpleNamespace) -> None:
    lab.Analysis.jobs.refresh()
    assert not any(n.startswith("~") for n in names(dj.Diagram(lab.schema) + 3))


def test_cascade_counts_preview_a_delete(lab: SimpleNamespace) -> None:
    preview = dj.Diagram.cascade(lab.Subject & {"subject": 1})
    counts = {k.split(".", 1)[1]: v for k, v in preview.counts_by_name().items()}
    assert counts == {
        "subject": 1,
        "session": 1,
        "__analysis": 1,
        "__analysis__unit": 1,
        "pairing": 0,
    }
    assert len(lab.Subject) == 2  # only a preview
    shown = repr(preview)  # a notebook names the tables by class, parts as Master.Part
    assert "Subject: 1" in shown and "Analysis.Unit: 1" in shown and "__" not in shown
    total = {k.split(".", 1)[1]: v for k, v in dj.Diagram(lab.schema).counts_by_name().items()}
    assert total["session"] == 2 and total["#rig"] == 2


def test_diagram_of_an_expression_is_refused(lab: SimpleNamespace) -> None:
    with pytest.raises(dj.QueryError, match=r"dj\.Diagram takes"):
        dj.Diagram(lab.Subject * lab.Session)


# -- layout: rows by generation, ordered so that edges do not cross ----------------------------
Segment = tuple[tuple[float, float], tuple[float, float]]


def drawn_edges(svg: str) -> list[list[Segment]]:
    """Each edge of an SVG diagram as the segments of its polyline."""
    root = ET.fromstring(svg)
    edges = []
    for line in root.iter("{http://www.w3.org/2000/svg}polyline"):
        points = [tuple(map(float, p.split(","))) for p in line.get("points", "").split()]
        edges.append(list(pairwise(points)))
    return edges


def cross(s: Segment, t: Segment) -> bool:
    """Whether two segments cross at a point inside both (touching ends do not count)."""

    def side(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    (p, q), (r, u) = s, t
    return side(p, q, r) * side(p, q, u) < 0 and side(r, u, p) * side(r, u, q) < 0


def crossings(diagram: dj.Diagram) -> int:
    edges = drawn_edges(diagram.svg())
    return sum(
        cross(s, t)
        for i, first in enumerate(edges)
        for second in edges[i + 1 :]
        for s in first
        for t in second
    )


def declare_digits(schema: dj.Schema) -> list[type]:
    """The 7 tables of a notebook on digits: samples with features, training sets of
    samples, a fit per training set and configuration with per-class parts."""

    @schema
    class Digit(dj.Manual):
        definition = """
        digit_id : int32
        ---
        label : int16
        """

    @schema
    class Features(dj.Computed):
        definition = """
        -> Digit
        ---
        ink : float64
        """

        def make(self, key: dict) -> None:
            self.insert1({**key, "ink": 1.0})

    @schema
    class Config(dj.Lookup):
        definition = """
        config_id : int16
        ---
        c : float64
        """
        contents = [{"config_id": 1, "c": 1.0}]

    @schema
    class TrainingSet(dj.Manual):
        definition = """
        training_set : int16
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
        -> Config
        ---
        score : float64
        """

        class PerClass(dj.Part):
            definition = """
            -> master
            label : int16
            ---
            precision : float64
            """

        def make(self, key: dict) -> None:
            self.insert1({**key, "score": 1.0})

    return [Digit, Features, Config, TrainingSet, TrainingSet.Member, Fit, Fit.PerClass]


def test_the_digits_pipeline_is_drawn_without_crossings(schema: dj.Schema) -> None:
    tables = declare_digits(schema)
    diagram = dj.Diagram(schema)
    assert len(diagram.topological()) == len(tables) == 7
    assert len(drawn_edges(diagram.svg())) == 6  # one line per foreign key
    assert crossings(diagram) == 0
    rows = {}
    for name, (x, y) in diagram.layout().items():
        rows.setdefault(y, []).append((x, diagram.label(name)))
    assert [len(r) for _, r in sorted(rows.items())] == [3, 3, 1]


def test_the_demo_pipeline_is_drawn_without_crossings(schema: dj.Schema) -> None:
    from djframe.demo import declare

    declare(schema)
    diagram = dj.Diagram(schema)
    assert len(diagram.topological()) == 7 and crossings(diagram) == 0


def test_the_lab_diagram_has_no_crossings_and_a_part_below_its_master(
    lab: SimpleNamespace,
) -> None:
    diagram = dj.Diagram(lab.schema)
    assert crossings(diagram) == 0
    places = {diagram.label(n): xy for n, xy in diagram.layout().items()}
    assert places["Unit"][1] > places["Analysis"][1]


def test_long_edges_pass_between_rows_through_points_of_their_own() -> None:
    import networkx as nx

    from djframe.layout import Dummy, layers

    # a -> b -> c -> d, and a -> d spanning two rows; e and f cross a's edges when sorted by name
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "d"), ("a", "d"), ("e", "f"), ("a", "f")])
    found = layers(graph, key=str)
    assert found.chains[("a", "d")][1:-1] == [Dummy("a", "d", 1), Dummy("a", "d", 2)]
    assert found.crossings() == 0
    assert "d" in found.rows[3] and Dummy("a", "d", 2) in found.rows[2]
