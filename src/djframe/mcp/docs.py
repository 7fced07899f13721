"""The documentation pages the server offers as resources, so an agent can learn the model.

The concept pages (``docs/concepts/*.md``) and the page on agents (``docs/agents.md``) are
read from the package (a wheel carries them in ``djframe/mcp/pages/``) or, in a source
checkout, from the repository's ``docs/`` folder.

Examples
--------
>>> pages = doc_pages()
>>> "concepts/semantic-matching" in pages and "agents" in pages
True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DocPage", "doc_pages"]


@dataclass(frozen=True)
class DocPage:
    """One page: its name (``concepts/jobs``), title (its first heading) and file."""

    name: str
    title: str
    path: Path

    @property
    def uri(self) -> str:
        return f"djframe://docs/{self.name}"


def docs_folder() -> Path | None:
    """Where the pages are: inside the package, else the source checkout's ``docs/``."""
    here = Path(__file__).resolve().parent
    for folder in (here / "pages", here.parents[2] / "docs"):
        if (folder / "concepts").is_dir():
            return folder
    return None


def doc_pages() -> dict[str, DocPage]:
    """The concept pages and the agents page, by name; empty if none are installed."""
    folder = docs_folder()
    if folder is None:
        return {}
    paths = [*sorted((folder / "concepts").glob("*.md")), folder / "agents.md"]
    pages = [page(folder, path) for path in paths if path.is_file()]
    return {p.name: p for p in pages}


def page(folder: Path, path: Path) -> DocPage:
    name = path.relative_to(folder).with_suffix("").as_posix()
    first = path.read_text(encoding="utf-8").lstrip().splitlines()[0]
    return DocPage(name, first.lstrip("# ").strip(), path)
