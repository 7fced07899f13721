"""Who is computing, and whether they still are: the worker a reservation names.

A reserved job records its worker: user, host, process id, the process's identity and its
database session. Whether the worker is still alive is asked of the one witness that cannot be
fooled where there is one: on PostgreSQL, the database session (the server knows which sessions
live, whichever host or container their process runs in). Containers with host networking
share a hostname, and each has its own PID namespace, so a host and a pid alone name nobody.

Where there are no sessions (DuckDB, whose writers are one process tree on one host), the
process is asked instead, on the host that reserved the job: the process identity is the boot
id, the pid and the process's start time (``/proc``), so that a pid reused after the worker
died, or after a reboot, is not taken for it. On systems without ``/proc`` it is the pid alone.
"""

from __future__ import annotations

import getpass
import os
import socket
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from djframe._sql import literal, quote

if TYPE_CHECKING:
    from collections.abc import Iterable

    from djframe.connection import Connection

__all__ = ["Worker", "dead_processes", "process_alive", "process_identity"]


@cache
def boot_id() -> str | None:
    """This machine's boot, as Linux names it (None elsewhere)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def start_time(pid: int) -> str | None:
    """When process ``pid`` (of this PID namespace) started, in clock ticks since boot, or
    None when there is no such process or ``/proc`` does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # after the command name, which may hold spaces
    return fields[19] if len(fields) > 19 else None


def process_identity(pid: int | None = None) -> str:
    """A process named uniquely on its host: ``boot:pid:start``, or the pid alone where
    ``/proc`` does not say.

    Examples
    --------
    >>> me = process_identity()
    >>> me.split(":")[1] == str(os.getpid()) or me == str(os.getpid())
    True
    """
    pid = os.getpid() if pid is None else pid
    boot, started = boot_id(), start_time(pid)
    return f"{boot}:{pid}:{started}" if boot and started else str(pid)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def alive_here(identity: str) -> bool:
    """Whether the process ``identity`` names (see :func:`process_identity`) is alive on this
    host; a pid alone is taken as alive while a process has it."""
    parts = identity.split(":")
    if len(parts) == 3:
        boot, pid, started = parts
        return boot == boot_id() and pid.isdigit() and start_time(int(pid)) == started
    return not identity.isdigit() or process_alive(int(identity))


def dead_processes(reservations: Iterable[tuple[str, str]], host: str) -> list[str]:
    """The process identities among ``(host, identity)`` reservations that are dead here:
    only this host's can be told."""
    return sorted({p for h, p in reservations if h == host and p and not alive_here(p)})


class Worker:
    """Who is computing: user, host, process and database session, and the code version."""

    def __init__(self, conn: Connection, version: str) -> None:
        self.user = getpass.getuser()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.process = process_identity()
        with conn.translated("reading the session id"):
            self.session = conn.backend.session_id() or ""
        self.version = version

    def assignments(self) -> str:
        """The SQL ``SET`` list that records this worker on a job row."""
        return ", ".join(
            f"{quote(name)} = {value}"
            for name, value in (
                ("_user", literal(self.user)),
                ("_host", literal(self.host)),
                ("_pid", str(self.pid)),
                ("_process", literal(self.process)),
                ("_session", literal(self.session)),
                ("_version", literal(self.version[:255])),
            )
        )
