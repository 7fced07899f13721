"""MkDocs hook: render the Sphinx roles of djframe's docstrings as plain code.

The docstrings cross-reference with Sphinx roles (``:class:`~djframe.schema.Schema```,
``:meth:`counts```), which mkdocstrings shows verbatim. This hook turns the rendered role into
its code span, keeping the last dotted part where the target starts with ``~``.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj):\s*<code>(~?)([^<]*)</code>")


def _span(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    return f"<code>{target.rsplit('.', 1)[-1] if short else target}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return ROLE.sub(_span, html)
