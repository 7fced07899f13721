"""What every tool call goes through: one call at a time, errors as messages, no secrets out.

:func:`guarded` wraps a tool function: calls are serialized (the pipeline's connections are
not shared between threads at once), any exception becomes a tool error whose text is the
library's own message, and every text that leaves the server, results and errors alike,
has passwords in URLs replaced by ``***``.

Examples
--------
>>> redact("postgresql://ann:s3cret@db:5432/lab")
'postgresql://ann:***@db:5432/lab'
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from djframe.errors import redact

__all__ = ["ToolFailure", "guarded", "redact"]

_LOCK = threading.Lock()

F = TypeVar("F", bound=Callable[..., Any])


class ToolFailure(Exception):
    """Raised by a guarded tool: its message is what the agent reads."""


def redacted(value: Any) -> Any:
    """A tool result with its text redacted: a string, or a list of strings and attachments."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redacted(v) for v in value]
    return value


def guarded(
    function: F,
    failure: type[Exception] = ToolFailure,
    convert: Callable[[Any], Any] = lambda result: result,
) -> F:
    """``function`` run under the server's lock, its result redacted and ``convert``-ed, its
    errors turned into ``failure`` with the library's message."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            try:
                return convert(redacted(function(*args, **kwargs)))
            except Exception as exc:  # the agent reads the message and tries again
                raise failure(redact(f"{type(exc).__name__}: {exc}")) from None

    return call  # type: ignore[return-value]
