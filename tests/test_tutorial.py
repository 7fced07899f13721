"""The tutorial notebook (docs/tutorial.ipynb) runs from top to bottom, as a reader would run it.

The notebook is documentation: it builds its pipeline on an embedded DuckDB file and a local
object store in a temporary folder, so this test runs on DuckDB only (the `backend` fixture is
not used); every feature it shows is tested on both backends by the other suites. A failing
cell (an exception, or one of the notebook's own asserts) fails the test with the cell's
source and traceback. It needs nbclient, nbformat and ipykernel (the `test` extra).

The notebook is stored with its outputs, which the docs site and GitHub show: `nox -s
tutorial` executes it and stores them. The test checks that the stored outputs are those of
one run from top to bottom (every code cell, in order, with the kinds of output a fresh run
gives), and that populate's progress bars are outputs the notebook keeps (a widget bar is
lost in an HTML export).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import nbclient
import nbformat

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"
HOOK = NOTEBOOK.parent / "_hooks" / "notebook.py"  # shows the notebook on the docs site


def shapes(notebook: nbformat.NotebookNode) -> list[list[tuple[str, list[str]]]]:
    """Per code cell, each output's type and MIME types: what a run shows, less its values
    (and less standard error, where a machine's warnings go)."""
    return [
        [
            (o.output_type, sorted(o.get("data", {})))
            for o in cell.outputs
            if o.get("name") != "stderr"
        ]
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]


def test_tutorial_notebook_runs(tmp_path: Path) -> None:
    stored = nbformat.read(NOTEBOOK, as_version=4)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "every code cell ran"
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert not errors
    svg = [o for cell in code for o in cell.outputs if "image/svg+xml" in o.get("data", {})]
    assert svg, "the Diagram cell shows an SVG"
    bars = [
        o.data["text/plain"]
        for cell in code
        if "display_progress=True" in cell.source
        for o in cell.outputs
        if o.output_type == "display_data"
    ]
    assert len(bars) == 2 and "12/12" in bars[0] and "4/4" in bars[1]
    assert all(b.startswith("Spectrum: 100%|") for b in bars), "the last state is kept"
    widgets = [
        o for cell in code for o in cell.outputs if any("widget" in m for m in o.get("data", {}))
    ]
    assert not widgets
    ran = [cell.execution_count for cell in stored.cells if cell.cell_type == "code"]
    assert ran == list(range(1, len(code) + 1)), "stored: run once, top to bottom (nox -s tutorial)"
    assert shapes(stored) == shapes(notebook), "stored outputs are a run's (nox -s tutorial)"
    assert not list(tmp_path.glob("djframe*")), "the tutorial writes only to its own temp folder"


def test_the_docs_page_shows_the_notebook_with_its_outputs() -> None:
    spec = importlib.util.spec_from_file_location("notebook_hook", HOOK)
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    page = SimpleNamespace(file=SimpleNamespace(src_uri="tutorial.md"))
    config = {"docs_dir": str(NOTEBOOK.parent)}
    shown = hook.on_page_markdown("# Tutorial notebook\n", page=page, config=config, files=None)
    assert shown.startswith("# Tutorial notebook\n") and "\n## djframe tutorial" in shown
    assert "```python\n@schema\nclass Subject(dj.Manual):" in shown
    assert "<svg" in shown and "Spectrum: 100%|" in shown and "<progress" in shown
    assert "MissingParentError" in shown  # a stream output
    other = SimpleNamespace(file=SimpleNamespace(src_uri="cli.md"))
    assert hook.on_page_markdown("text", page=other, config=config) == "text"
