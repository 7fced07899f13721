"""make, key by key, several keys to a transaction: the common case of populate.

A make per key is typically quick (a point query, a small computation, ``insert1``), so one
transaction per key would cost more than the makes. :class:`Groups` runs the makes of up to
:data:`GROUP_KEYS` keys (or :data:`GROUP_SECONDS` of them) in one transaction, their inserts
held (:mod:`djframe.compute.pending`) and their point queries read ahead
(:mod:`djframe.compute.readahead`), and writes the group's rows, provenance and job statuses
in one statement per table. Each key stays all-or-nothing: a make that raises drops only its
own held rows, or, if that is not possible, rolls the group back and runs it again without it.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

import polars as pl

from djframe.compute.jobs import retried
from djframe.compute.pending import Held, holding
from djframe.compute.readahead import reading_ahead
from djframe.compute.scope import scoped
from djframe.errors import ConflictError
from djframe.keyset import key_relation

if TYPE_CHECKING:
    from djframe.compute.populator import Populator

__all__ = ["GROUP_KEYS", "GROUP_SECONDS", "Groups", "MakeFailed"]

GROUP_KEYS = 256
"""At most this many makes share a transaction."""
GROUP_SECONDS = 0.2
"""A group takes no more keys once its makes have run this long."""
CONFLICT_RETRIES = 5


class MakeFailed(Exception):
    """make raised for the ``index``-th key of a group; ``error`` is what it raised."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index, error)
        self.index, self.error = index, error


def lost_conflict(exc: Exception) -> bool:
    """A write conflict, raised by the group's commit or by one of its makes."""
    error = exc.error if isinstance(exc, MakeFailed) else exc
    return isinstance(error, ConflictError)


def usable(conn: Any) -> bool:
    """Whether the open transaction still runs statements (an error may have aborted it)."""
    try:
        conn.fetch_scalar("SELECT 1")
    except Exception:
        return False
    return True


def rows_at(keys: pl.DataFrame, indices: list[int]) -> pl.DataFrame:
    """The rows of ``keys`` at ``indices``: a slice when they are the first ones (every make
    of the group succeeded), which costs nothing, where a gather wakes Polars' thread pool."""
    if indices == list(range(len(indices))):
        return keys.head(len(indices))
    return keys[indices]


class Groups:
    """Runs a populator's makes in groups of keys (see the module documentation)."""

    def __init__(self, populator: Populator) -> None:
        self.populator = populator
        self.table = populator.table
        self.conn = populator.conn

    def run(self, keys: pl.DataFrame) -> None:
        """Make every key of ``keys``, group by group.

        A make that raises rolls back its group: the keys before it run again (their makes
        are called a second time) and it is recorded as an error. A group whose writes fail
        runs again one key per transaction, which finds the failing keys.
        """
        start = 0
        while start < len(keys) and not self.populator.stopping:
            try:
                start += self.attempt(keys.slice(start, GROUP_KEYS))
            except MakeFailed as failure:
                if failure.index:
                    self.run(keys.slice(start, failure.index))
                index = start + failure.index
                self.populator.failed(keys.slice(index, 1), failure.error)
                start = index + 1
            except Exception:
                self.run_singly(keys.slice(start, GROUP_KEYS))
                start += GROUP_KEYS

    def run_singly(self, keys: pl.DataFrame) -> None:
        """One key per transaction, each failure recorded against its own key."""
        for index in range(len(keys)):
            if self.populator.stopping:
                return
            key = keys.slice(index, 1)
            try:
                self.attempt(key)
            except MakeFailed as failure:
                self.populator.failed(key, failure.error)
            except Exception as exc:
                self.populator.failed(key, exc)

    def attempt(self, keys: pl.DataFrame) -> int:
        """Make the first keys of ``keys`` in one transaction; returns how many were made.

        A group ends after :data:`GROUP_KEYS` keys or :data:`GROUP_SECONDS` seconds, so slow
        makes still commit one key at a time. Lost write conflicts run it again.
        """
        return retried(lambda: self.once(keys), tries=CONFLICT_RETRIES, conflict=lost_conflict)

    def once(self, keys: pl.DataFrame) -> int:
        populator, conn = self.populator, self.conn
        started, clock = dt.datetime.now(), time.perf_counter()
        tables = populator.scope_tables
        with (
            conn.transaction,
            holding(conn, tables) as held,
            reading_ahead(conn, keys, self.table.heading, set(tables)),
        ):
            made, errors = self.make_some(keys, held, clock)
            held.write()
            done = rows_at(keys, made)
            with key_relation(conn, done, self.table.heading) as given:
                populator.finish(given, done, started, time.perf_counter() - clock)
        populator.success_count += len(done)
        for one, error in errors:
            populator.failed(one, error)
        return len(made) + len(errors)

    def make_some(
        self, keys: pl.DataFrame, held: Held, clock: float
    ) -> tuple[list[int], list[tuple[pl.DataFrame, Exception]]]:
        """Run makes for the first keys until the group is full; the indices made, and the
        keys whose make raised (with what) where only their own rows had to be dropped."""
        made: list[int] = []
        errors: list[tuple[pl.DataFrame, Exception]] = []
        count = 0
        while count < len(keys) and (count == 0 or time.perf_counter() - clock < GROUP_SECONDS):
            one = keys.slice(count, 1)
            error = self.make_held(one, held, count)
            if error is not None:
                errors.append((one, error))
            else:
                made.append(count)
            count += 1
            if errors and not self.populator.suppress_errors:
                break
        return made, errors

    def make_held(self, one: pl.DataFrame, held: Held, index: int) -> Exception | None:
        """Run make for one key of a group; returns its error if only its own held rows
        need dropping, and raises :class:`MakeFailed` if the group must roll back."""
        mark = held.mark()
        key = one.row(0, named=True)
        try:
            with scoped(self.table, one, key):
                self.table.make(dict(key), **self.populator.make_kwargs)  # type: ignore[attr-defined]
        except Exception as exc:
            if held.written != mark[0]:
                raise  # rows of earlier keys were written meanwhile: any key may be to blame
            if isinstance(exc, ConflictError) or not held.drop_since(mark) or not usable(self.conn):
                raise MakeFailed(index, exc) from exc
            return exc
        return None
