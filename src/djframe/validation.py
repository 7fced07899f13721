"""Checking rows before inserting them: ``Table.validate(rows)``, as in DataJoint 2.3.5.

The rows go through exactly the checks an insert makes (:func:`djframe.insert.prepare`: the
attributes named, the primary key given, each value read as its attribute's type, NULLs, the
native ranges, UUIDs and JSON, codec values encoded) and a repeated primary key, and nothing
is written. What only the database knows (foreign keys, rows already there) is left to the
insert. Checks run on the whole batch as Arrow, so the result names the first problem found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sized
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from djframe.errors import DataError, DjframeError
from djframe.frames import frame_kind
from djframe.insert import check_duplicates, encode_rows, prepare

if TYPE_CHECKING:
    from djframe.catalog import TableInfo

__all__ = ["ValidationResult", "validate_rows"]

SHOWN_ERRORS = 10

RowError = tuple[int | None, str | None, str]
"""(row number or None for the batch as a whole, attribute or None, message)."""


@dataclass(frozen=True)
class ValidationResult:
    """What :meth:`Table.validate` found: true when the rows would insert.

    Examples
    --------
    >>> bool(ValidationResult(True, [], 2)), ValidationResult(True, [], 2).summary()
    (True, 'Validation passed: 2 rows checked')
    >>> print(ValidationResult(False, [(0, "id", "is missing")], 1).summary())
    Validation failed: 1 error(s) in 1 rows
      Row 0 in field 'id': is missing
    """

    is_valid: bool
    errors: list[RowError] = field(default_factory=list)
    rows_checked: int = 0

    def __bool__(self) -> bool:
        return self.is_valid

    def raise_if_invalid(self) -> None:
        """Raise a :class:`~djframe.DataError` with the summary if the rows would not insert."""
        if not self.is_valid:
            raise DataError(self.summary())

    def summary(self) -> str:
        """The outcome in words: each error (the first ten) with its row and attribute."""
        if self.is_valid:
            return f"Validation passed: {self.rows_checked} rows checked"
        lines = [f"Validation failed: {len(self.errors)} error(s) in {self.rows_checked} rows"]
        for row, attribute, message in self.errors[:SHOWN_ERRORS]:
            where = "All rows" if row is None else f"Row {row}"
            named = f" in field '{attribute}'" if attribute else ""
            lines.append(f"  {where}{named}: {message}")
        if len(self.errors) > SHOWN_ERRORS:
            lines.append(f"  ... and {len(self.errors) - SHOWN_ERRORS} more errors")
        return "\n".join(lines)


def validate_rows(rows: Any, info: TableInfo, *, ignore_extra_fields: bool) -> ValidationResult:
    """Run an insert's checks on ``rows`` for the table ``info``, writing nothing."""
    if frame_kind(rows) == "rows" and not isinstance(rows, Sized):
        rows = list(rows)  # a generator is read once, here, and counted
    try:
        encoded, _ = encode_rows(rows, info)
        data = prepare(encoded, info, ignore_extra_fields=ignore_extra_fields)
        check_duplicates(data, info, "error")
    except DjframeError as error:
        return ValidationResult(False, [(None, None, str(error))], count(rows))
    return ValidationResult(True, [], data.num_rows)


def count(rows: Any) -> int:
    """How many rows the input holds, where that is known without reading it."""
    if frame_kind(rows) == "arrow":
        return int(rows.num_rows)
    return len(rows) if isinstance(rows, Sized) and isinstance(rows, Iterable) else 0
