"""Serial sections: a DuckDB instance runs its statements on one thread, for a while.

DuckDB runs each statement on its thread pool. A statement over one batch of keys (less than
a row group, 122,880 rows) is a task or two per pipeline, which a pool thread may take while
the calling thread waits for it; on a loaded machine that thread first waits to be
scheduled. Nearly every statement of a populate is such a statement (finding the keys, the
make's point or batch queries, inserting its rows, checking their parents, recording
provenance and job status), so ``populate`` runs in a serial section when
``populate.one_thread`` is on (off by default). On 2 shared cores (load 3-5), one thread
made a 5,000-key ``make_batch`` populate 1.4x faster (median 44 ms against 63 ms) and 50,000
keys 1.4x (301 ms against 422 ms); with 1,000,000 rows already in the table, 5,000 more took
120 ms against 190 ms. A make that runs large queries of its own loses their parallelism,
which is why the setting is off unless asked for.

The thread count is a setting of the whole instance, so the sections of every connection to
one instance are counted: the first to enter sets one thread, the last to leave restores the
count it found; meanwhile other statements on the instance run on one thread too. The
setting is changed through a cursor of its own, so that a section whose transaction failed
still ends. Lowering the count joins a pool thread (0.4 ms, up to 40 ms on a loaded
machine), so sections are few and long: one per populate call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["SerialSections"]


class SerialSections:
    """The serial sections of one DuckDB instance (see the module documentation)."""

    def __init__(self, instance: Any) -> None:
        self.instance = instance
        """A connection of the instance, to open the settings cursor from."""
        self.lock = threading.Lock()
        self.inside = 0
        self.threads = 1
        """The thread count found by the first section to enter."""
        self.cursor: Any = None

    @contextmanager
    def section(self) -> Iterator[None]:
        """Statements in the block run on the calling thread (one thread in the instance)."""
        with self.lock:
            if not self.inside:
                self.enter()
            self.inside += 1
        try:
            yield
        finally:
            with self.lock:
                self.inside -= 1
                if not self.inside and self.threads > 1:
                    self.cursor.execute(f"SET threads = {self.threads}")

    def enter(self) -> None:
        if self.cursor is None:
            self.cursor = self.instance.cursor()
        row = self.cursor.execute("SELECT current_setting('threads')").fetchone()
        self.threads = int(row[0]) if row else 1
        if self.threads > 1:
            self.cursor.execute("SET threads = 1")

    def close(self) -> None:
        if self.cursor is not None:
            self.cursor.close()
            self.cursor = None
