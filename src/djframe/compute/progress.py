"""Progress bars of populate: tqdm in a terminal, a bar the notebook keeps in a notebook.

tqdm's notebook bar is a widget, and a notebook file keeps no widget state: the bar is gone
from the notebook exported to HTML, from a docs site and from GitHub's view. In a Jupyter
kernel, populate shows instead one display that it updates in place (IPython's
``display_id``), as text and as HTML; the notebook stores its last state, which every viewer
shows. This module draws bars; when to show one is :func:`djframe.compute.drive.progress_bar`'s
choice.
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

__all__ = ["NotebookBar", "bar", "in_notebook"]

REFRESH_SECONDS = 0.5
"""How often the notebook's display is redrawn at most (and once more at the end)."""


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (a notebook, JupyterLab, VS Code...)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


@contextmanager
def bar(total: int, desc: str) -> Iterator[Callable[[int], None]]:
    """A bar of ``total`` keys named ``desc``; yields the function that advances it."""
    if in_notebook():
        shown = NotebookBar(total, desc)
        try:
            yield shown.update
        finally:
            shown.close()
        return
    with tqdm(total=total, desc=desc, unit="key") as drawn:
        yield drawn.update


class NotebookBar:
    """A progress display that a notebook stores: text (tqdm's line) and HTML."""

    def __init__(self, total: int, desc: str) -> None:
        from IPython.display import display

        self.total, self.desc, self.count = total, desc, 0
        self.started = self.drawn = time.monotonic()
        self.handle: Any = display(self, display_id=True)

    def update(self, n: int) -> None:
        self.count += n
        now = time.monotonic()
        if now - self.drawn >= REFRESH_SECONDS:
            self.drawn = now
            self.handle.update(self)

    def close(self) -> None:
        self.handle.update(self)

    def text(self) -> str:
        """tqdm's line: ``Spectrum: 100%|██████████| 12/12 [00:00<00:00, 40.1key/s]``."""
        elapsed = time.monotonic() - self.started
        return tqdm.format_meter(self.count, self.total, elapsed, prefix=self.desc, unit="key")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        line = html.escape(self.text())
        return {
            "text/plain": self.text(),
            "text/html": (
                f'<div><progress value="{self.count}" max="{max(self.total, 1)}" '
                f'style="width: 16em; vertical-align: middle"></progress> <code>{line}</code></div>'
            ),
        }
