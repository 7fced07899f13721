"""A throwaway PostgreSQL server for the djframe test suite.

`postgres_url()` returns a URL for a private, disposable cluster that lives in a
temporary directory and is stopped and deleted when the Python process exits. It
is not a general-purpose server manager: authentication is `trust`, durability is
switched off for speed, and nothing is ever kept.

If `DJFRAME_TEST_PG_URL` is set, that server is used instead and nothing is started.
If no server can be started, `postgres_url()` returns None so that the PostgreSQL
tests can be skipped (see `unavailable_reason()`), except under CI (env `CI`
non-empty), where it raises: PostgreSQL tests must never be skipped silently there.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

URL_ENV = "DJFRAME_TEST_PG_URL"
USER = "djframe"
PASSWORD = "djframe"
DATABASE = "djframe_test"
SUPERUSER = "postgres"  # the bootstrap role initdb creates; also the OS user when root

_SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -p {port} -k {sockdir}"
    # Durability is worthless for a cluster that is deleted at exit; this makes DDL fast.
    " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    " -c max_connections=200"
)
_START_ATTEMPTS = 3  # the free port we picked can be taken by someone else before we bind it
_LOG_TAIL_LINES = 30


class PostgresUnavailable(RuntimeError):
    """No throwaway server could be started; the message says why."""


@dataclass
class _Server:
    bindir: Path
    tmpdir: Path
    port: int = 0
    owner_pid: int = field(default_factory=os.getpid)

    @property
    def datadir(self) -> Path:
        return self.tmpdir / "data"

    @property
    def logfile(self) -> Path:
        return self.tmpdir / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"


_server: _Server | None = None
_failure: str | None = None


def postgres_url() -> str | None:
    """Return a URL of a usable test database, starting a server on first call."""
    global _server, _failure
    if url := os.environ.get(URL_ENV):
        return url
    if _server is None and _failure is None:
        try:
            _server = _start()
        except PostgresUnavailable as exc:
            _failure = str(exc)
    if _server is not None:
        return _server.url
    if os.environ.get("CI"):
        raise RuntimeError(f"CI is set, so PostgreSQL tests may not be skipped, but {_failure}")
    return None


def unavailable_reason() -> str | None:
    """Why `postgres_url()` returned None (a skip reason), or None if it did not."""
    return _failure


def stop() -> None:
    """Stop the throwaway server and delete its files; safe to call more than once."""
    global _server
    server, _server = _server, None
    # A forked child inherits the atexit hook but must not stop its parent's server.
    if server is None or server.owner_pid != os.getpid():
        return
    _stop_server(server)
    shutil.rmtree(server.tmpdir, ignore_errors=True)


# -- starting -----------------------------------------------------------------------


def _start() -> _Server:
    server = _Server(bindir=_find_bindir(), tmpdir=Path(tempfile.mkdtemp(prefix="djframe-pg-")))
    # Registered before anything can fail half-way, so the temp dir never leaks.
    atexit.register(stop)
    global _server
    _server = server
    try:
        _prepare_tmpdir(server)
        _initdb(server)
        _start_server(server)
        _create_role_and_database(server)
    except BaseException:
        stop()
        raise
    return server


def _find_bindir() -> Path:
    if bindir := _installed_bindir():
        return bindir
    if not _is_root():
        raise PostgresUnavailable(
            "no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and "
            "PATH) and not root, so cannot apt-get install postgresql"
        )
    _apt_install_postgresql()
    if bindir := _installed_bindir():
        return bindir
    raise PostgresUnavailable("apt-get installed postgresql but no initdb was found")


def _installed_bindir() -> Path | None:
    """The bin dir of the highest installed PostgreSQL version, if any."""
    candidates = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").is_file()]
    if candidates:
        return max(candidates, key=lambda p: _version_key(p.parent.name))
    # Other distributions (and Homebrew) put initdb on PATH instead.
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))


def _apt_install_postgresql() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        try:
            proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailable(f"`{shlex.join(args)}` failed: {exc}") from exc
        if proc.returncode != 0:
            raise PostgresUnavailable(
                f"`{shlex.join(args)}` exited {proc.returncode}:\n{_tail(proc.stdout + proc.stderr)}"
            )


def _prepare_tmpdir(server: _Server) -> None:
    if not _is_root():
        return
    # initdb and postgres refuse to run as root; the postgres OS user owns the cluster.
    try:
        shutil.chown(server.tmpdir, user=SUPERUSER)
    except (LookupError, OSError) as exc:
        raise PostgresUnavailable(
            f"running as root but cannot hand {server.tmpdir} to OS user {SUPERUSER!r}: {exc}"
        ) from exc


def _initdb(server: _Server) -> None:
    _run_as_owner(
        server,
        "initdb",
        f"--pgdata={server.datadir}",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        f"--username={SUPERUSER}",
        "--no-sync",  # skipping fsync of the new cluster saves most of initdb's time
        "--no-instructions",
    )


def _start_server(server: _Server) -> None:
    for attempt in range(1, _START_ATTEMPTS + 1):
        server.port = _free_port()
        options = _SERVER_OPTIONS.format(port=server.port, sockdir=shlex.quote(str(server.tmpdir)))
        try:
            _run_as_owner(
                server,
                "pg_ctl",
                f"--pgdata={server.datadir}",
                f"--log={server.logfile}",
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            )
            return
        except PostgresUnavailable:
            if attempt == _START_ATTEMPTS or "already in use" not in _log_tail(server):
                raise


def _create_role_and_database(server: _Server) -> None:
    # Each -c runs in its own transaction, as CREATE DATABASE requires.
    _run(
        server,
        [
            str(_psql(server)),
            f"--host={server.tmpdir}",
            f"--port={server.port}",
            f"--username={SUPERUSER}",
            "--dbname=postgres",
            "--no-psqlrc",
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            f"--command=CREATE ROLE {USER} LOGIN SUPERUSER CREATEDB PASSWORD '{PASSWORD}'",
            f"--command=CREATE DATABASE {DATABASE} OWNER {USER}",
        ],
    )


def _psql(server: _Server) -> Path:
    psql = server.bindir / "psql"
    if psql.is_file():
        return psql
    found = shutil.which("psql")
    if found is None:
        raise PostgresUnavailable(f"no psql in {server.bindir} nor on PATH")
    return Path(found)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- stopping -----------------------------------------------------------------------


def _stop_server(server: _Server) -> None:
    if not (server.datadir / "postmaster.pid").exists():
        return  # never started, or already gone
    try:
        _run_as_owner(
            server, "pg_ctl", f"--pgdata={server.datadir}", "-m", "immediate", "-w", "stop"
        )
    except PostgresUnavailable:
        _kill_postmaster(server)


def _kill_postmaster(server: _Server) -> None:
    """Last resort when pg_ctl cannot stop it: SIGQUIT is postgres's immediate shutdown."""
    try:
        pid = int((server.datadir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGQUIT)
    except (OSError, ValueError, IndexError):
        pass


# -- running commands -----------------------------------------------------------------


def _run_as_owner(server: _Server, program: str, *args: str) -> None:
    """Run a server binary as the cluster's owner: ourselves, or postgres when root."""
    cmd = [str(server.bindir / program), *args]
    if _is_root():
        cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
    _run(server, cmd)


def _run(server: _Server, cmd: list[str]) -> None:
    try:
        # cwd: the postgres user may not be allowed into the caller's cwd (e.g. /root).
        proc = subprocess.run(
            cmd, cwd=server.tmpdir, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PostgresUnavailable(
            f"`{shlex.join(cmd)}` failed: {exc}{_log_section(server)}"
        ) from exc
    if proc.returncode != 0:
        output = _tail(proc.stdout + proc.stderr)
        raise PostgresUnavailable(
            f"`{shlex.join(cmd)}` exited {proc.returncode}:\n{output}{_log_section(server)}"
        )


def _log_section(server: _Server) -> str:
    tail = _log_tail(server)
    return f"\n--- tail of {server.logfile} ---\n{tail}" if tail else ""


def _log_tail(server: _Server) -> str:
    try:
        return _tail(server.logfile.read_text(errors="replace"))
    except OSError:
        return ""


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-_LOG_TAIL_LINES:])


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
