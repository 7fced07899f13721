"""The tutorial notebook (docs/tutorial.ipynb) runs from top to bottom, as a reader would run it.

The notebook is documentation: it builds its pipeline on an embedded DuckDB file and a local
object store in a temporary folder, so this test runs on DuckDB only (the `backend` fixture is
not used); every feature it shows is tested on both backends by the other suites. A failing
cell (an exception, or one of the notebook's own asserts) fails the test with the cell's
source and traceback. It needs nbclient, nbformat and ipykernel (the `test` extra).
"""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


def test_tutorial_notebook_runs(tmp_path: Path) -> None:
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
    assert not list(tmp_path.glob("djframe*")), "the tutorial writes only to its own temp folder"
