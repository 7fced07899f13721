"""populate's progress bar outside a notebook: tqdm's line on standard error.

In a notebook the bar is a display the notebook keeps; tests/test_tutorial.py runs one.
"""

from __future__ import annotations

import pytest

import djframe as dj
from djframe.compute.progress import in_notebook


def test_a_bar_on_stderr_outside_a_notebook(
    schema: dj.Schema, capsys: pytest.CaptureFixture[str]
) -> None:
    @schema
    class Number(dj.Manual):
        definition = """
        number : int32
        """

    @schema
    class Square(dj.Computed):
        definition = """
        -> Number
        ---
        square : int64
        """

        def make(self, key: dict) -> None:
            self.insert1({**key, "square": key["number"] ** 2})

    Number.insert([{"number": n} for n in range(5)])
    assert not in_notebook()
    Square.populate(display_progress=True)
    captured = capsys.readouterr()
    assert "Square: 100%" in captured.err and "5/5" in captured.err and captured.out == ""
    Number.insert1({"number": 9})
    Square.populate()  # not asked for, and standard error is no terminal here: no bar
    assert capsys.readouterr().err == ""
