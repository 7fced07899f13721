"""What a notebook shows: a bare table class as its rows, array columns as shapes,
``schema.describe()`` as code; and the warning for a restriction dict key that is a typo.

The notebook test runs cells through nbclient (as tests/test_tutorial.py does) on the backend
of the ``database_url`` fixture; the others call the display methods directly.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import nbclient
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import djframe as dj

SETUP = """
import numpy as np
import djframe as dj
conn = dj.connect(URL)
schema = dj.Schema("nb_display", connection=conn, store=STORE)

@schema
class Digit(dj.Manual):
    definition = '''
    digit_id : int32
    ---
    label : int8
    image : <npy@>
    '''

    class Pixel(dj.Part):
        definition = '''
        -> master
        pixel : int16
        '''

Digit.insert([{"digit_id": i, "label": i % 3, "image": np.ones((8, 8)) * i} for i in range(4)])
"""


def outputs(cell: nbformat.NotebookNode) -> dict[str, str]:
    data: dict[str, str] = {}
    for output in cell.outputs:
        data.update(output.get("data", {}))
    return data


def test_cells_show_rows_arrays_and_code(database_url: str, tmp_path: Path) -> None:
    cells = [
        SETUP.replace("URL", repr(database_url)).replace("STORE", repr(str(tmp_path))),
        "Digit",
        "schema.describe()",
        "len(Digit & {'lable': 1}), len(Digit & {'lable': 1})",
        "Digit.to_polars().schema['image']",
        "schema.drop(prompt=False)",
    ]
    notebook = new_notebook(cells=[new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3")
    client.execute()
    shown, code = outputs(notebook.cells[1]), outputs(notebook.cells[2])
    assert "<u>digit_id</u>" in shown["text/html"] and "8x8 Float64" in shown["text/html"]
    assert "4 rows; primary key: (digit_id)" in shown["text/plain"]
    assert "__main__" not in shown["text/plain"]
    assert code["text/markdown"].startswith("```python\nimport djframe as dj")
    assert "    class Pixel(dj.Part):" in code["text/plain"] and "\\n" not in code["text/plain"]
    typo = notebook.cells[3]
    assert outputs(typo)["text/plain"] == "(4, 4)"  # DataJoint: the unknown key is ignored
    warned = [o for o in typo.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert len(warned) == 1 and warned[0].text.count("Did you mean 'label'?") == 1
    assert outputs(notebook.cells[4])["text/plain"] == "Array(Float64, shape=(8, 8))"


def test_a_typo_key_warns_once_and_a_make_key_never(schema: dj.Schema) -> None:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        species : varchar(20)
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session : int16
        """

    Subject.insert([{"subject_id": 1, "species": "mouse"}, {"subject_id": 2, "species": "rat"}])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(Subject & {"specis": "rat"}) == 2  # ignored, as in DataJoint
        assert len(Subject & {"specis": "mouse"}) == 2
        assert len(Subject - [{"specis": "x"}, {"subject_id": 1}]) == 0
        # a make's key restricts parents that lack some of its attributes: no warning
        assert len(Subject & {"subject_id": 1, "session": 3}) == 1
        (Session & {"subject_id": 1}).to_polars()
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "'specis'" in messages[0] and "Did you mean 'species'?" in messages[0]
    assert caught[0].filename == __file__  # attributed to the user's line
    with pytest.warns(UserWarning, match="Did you mean 'session'"):
        Session.proj() & {"sesion": 2}


def test_a_table_class_displays_as_its_rows(schema: dj.Schema) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    @schema
    class Note(dj.Manual):
        definition = """
        note_id : int32
        ---
        text : varchar(20)
        """

    Note.insert1({"note_id": 1, "text": "hello"})
    shell = InteractiveShell.instance()
    data, _ = shell.display_formatter.format(Note)
    assert data["text/html"] == Note()._repr_html_() and "hello" in data["text/html"]
    assert data["text/plain"] == repr(Note())
    assert repr(Note).startswith("<class ")  # repr() itself runs no query
    bare, _ = shell.display_formatter.format(dj.Manual)
    assert bare == {"text/plain": "<class 'djframe.table.Manual'>"}
