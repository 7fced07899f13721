"""Result streams that survive other statements on the same connection.

A streamed result (DuckDB's Arrow reader, ADBC's COPY stream) belongs to its connection: the
next statement run on that connection cuts it short. DuckDB then ends the stream early
without an error, and ADBC fails it, so code that reads batches and writes each one
elsewhere would lose rows. :class:`OpenStreams` keeps a connection's open streams; a backend
calls :meth:`OpenStreams.drain` before it runs anything, which reads the rest of every open
stream into memory. Memory stays bounded by a batch unless statements are interleaved, and
the result is complete either way.

Examples
--------
>>> import pyarrow as pa
>>> streams = OpenStreams()
>>> batches = iter([pa.record_batch({"a": [1]}), pa.record_batch({"a": [2]})])
>>> it = streams.iterate(batches)
>>> next(it).num_rows
1
>>> streams.drain()  # another statement is about to run
>>> [b["a"][0].as_py() for b in it]
[2]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

__all__ = ["OpenStreams"]


class _Stream:
    def __init__(
        self, batches: Iterable[pa.RecordBatch], close: Callable[[], object] | None
    ) -> None:
        self.source = iter(batches)
        self.close = close
        self.buffered: deque[pa.RecordBatch] = deque()
        self.exhausted = False

    def spill(self) -> None:
        """Read what is left of the source into memory."""
        if not self.exhausted:
            self.buffered.extend(self.source)
            self.exhausted = True

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            if self.buffered:
                yield self.buffered.popleft()
            elif self.exhausted:
                return
            else:
                batch = next(self.source, None)
                if batch is None:
                    self.exhausted = True
                    return
                yield batch


class OpenStreams:
    """The streams of one connection that a caller is still reading."""

    def __init__(self) -> None:
        self._open: list[_Stream] = []

    def iterate(
        self, batches: Iterable[pa.RecordBatch], close: Callable[[], object] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Yield ``batches``, registered as open until exhausted or abandoned; then ``close()``."""
        stream = _Stream(batches, close)
        self._open.append(stream)
        try:
            yield from stream
        finally:
            if stream in self._open:
                self._open.remove(stream)
                if close is not None:
                    close()

    def drain(self) -> None:
        """Buffer the rest of every open stream: the connection is about to run a statement."""
        for stream in self._open:
            stream.spill()

    def close(self) -> None:
        """Release every open stream's resources: the connection is closing.

        A stream abandoned without being closed ends where it is.
        """
        streams, self._open = self._open, []
        for stream in streams:
            stream.exhausted = True
            if stream.close is not None:
                stream.close()
