"""Semantic matching: namesake attributes may only be matched when they share one lineage.

Two attributes with the same name match in a join, a restriction by an expression, ``aggr``
and union only if both carry the same, non-empty lineage, the ``schema.table.attribute``
their values come from. Otherwise :class:`~djframe.errors.LineageError` says which attribute,
both lineages, and how to rename one side.
"""

from __future__ import annotations

from djframe.errors import LineageError
from djframe.heading import Heading

__all__ = ["check_namesakes", "namesakes"]


def namesakes(left: Heading, right: Heading) -> list[str]:
    """The attribute names both headings have, in the left heading's order."""
    return [name for name in left.names if name in right]


def describe(lineage: str | None) -> str:
    return lineage if lineage else "no lineage (a secondary or computed attribute)"


def check_namesakes(left: Heading, right: Heading, operation: str) -> list[str]:
    """Return the namesakes, or raise if any pair differs in lineage."""
    names = namesakes(left, right)
    for name in names:
        mine, theirs = left[name].lineage, right[name].lineage
        if mine and mine == theirs:
            continue
        raise LineageError(
            f"Cannot {operation} on attribute {name!r}: its lineages differ (left: "
            f"{describe(mine)}; right: {describe(theirs)}), so the values do not mean the same "
            f"thing. Rename one side with .proj({name}_2={name!r}) (or project it away), or "
            "pass semantic_check=False to match on names alone."
        )
    return names
