"""MkDocs hook: show the tutorial notebook, with its stored outputs, on the tutorial page.

``docs/tutorial.md`` introduces ``docs/tutorial.ipynb``; this hook appends the notebook itself
to that page: markdown cells as they are (headings one level down, under the page's title),
code cells as Python blocks, and each cell's stored outputs (an SVG or HTML as is, text as a
text block). The outputs are those ``nox -s tutorial`` stored; nothing is executed here, and
no plugin or nbconvert is needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

PAGES = {"tutorial.md": "tutorial.ipynb"}
"""Pages that show a notebook, and the notebook each one shows (beside it in docs/)."""
ANSI = re.compile(r"\x1b\[[0-9;]*m")
HEADING = re.compile(r"^(#+ )", re.M)


def text_of(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def fenced(language: str, text: str) -> str:
    return f"```{language}\n{text.rstrip()}\n```"


def raw_html(html: str) -> str:
    """HTML as a block Markdown passes through: in a div, without blank lines."""
    lines = [line for line in html.splitlines() if line.strip()]
    return '<div class="notebook-output">\n' + "\n".join(lines) + "\n</div>"


def output_markdown(output: dict[str, Any]) -> str:
    if output["output_type"] == "stream":
        return fenced("text", text_of(output["text"]))
    if output["output_type"] == "error":
        return fenced("text", ANSI.sub("", "\n".join(output["traceback"])))
    data = output.get("data", {})
    for kind in ("image/svg+xml", "text/html"):
        if kind in data:
            return raw_html(text_of(data[kind]))
    return fenced("text", text_of(data.get("text/plain", "")))


def cell_markdown(cell: dict[str, Any]) -> str:
    source = text_of(cell["source"])
    if cell["cell_type"] == "markdown":
        return HEADING.sub(r"#\1", source)
    if cell["cell_type"] != "code":
        return ""
    return "\n\n".join([fenced("python", source), *map(output_markdown, cell.get("outputs", []))])


def notebook_markdown(path: Path) -> str:
    """The notebook as Markdown, with its stored outputs."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join(part for part in map(cell_markdown, cells) if part)


def on_page_markdown(markdown: str, page: Any, config: Any, **kwargs: Any) -> str:
    notebook = PAGES.get(page.file.src_uri)
    if notebook is None:
        return markdown
    shown = notebook_markdown(Path(config["docs_dir"]) / notebook)
    return f"{markdown}\n\n---\n\n{shown}\n"
