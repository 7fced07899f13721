"""No password reaches a message (issue 14, item 5): URLs of any scheme and case, an empty
user, ``?password=``, an unencoded ``@`` or a space in the password, the driver's own echo
of it, and the CLI's standard error. On every backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import djframe as dj
from djframe.errors import redact

SECRET = "Zq8secretW4v"
SRC = Path(__file__).resolve().parents[1] / "src"

URLS = [
    f"mysql://ann:{SECRET}@127.0.0.1:1/lab",
    f"postgresql+psycopg://ann:{SECRET}@127.0.0.1:1/lab",
    f"POSTGRESQL://ann:{SECRET}@127.0.0.1:1/lab",
    f"Postgres://ann:{SECRET}@127.0.0.1:1/lab",
    f"postgresql://:{SECRET}@127.0.0.1:1/lab",
    f"postgresql://ann@127.0.0.1:1/lab?password={SECRET}",
    f"postgresql://ann@127.0.0.1:1/lab?sslmode=disable&PASSWORD={SECRET}",
    "postgresql://ann:Zq8se@cretW4v@127.0.0.1:1/lab",  # libpq reads 'cretW4v@...' as the host
    "postgresql://ann:Zq8se cretW4v@127.0.0.1:1/lab",  # libpq echoes the password
    f"postgresql://ann:{SECRET}%zz@127.0.0.1:1/lab",  # libpq echoes the bad token
    "postgresql://ann:Zq8se\ncretW4v@127.0.0.1:1/lab",
    "postgresql://ann:Zq8se\x00cretW4v@127.0.0.1:1/lab",  # libpq stops at the NUL
    f"duckdb://ann:{SECRET}@nowhere/lab",
]


def assert_hidden(text: str, secret: str = SECRET) -> None:
    """Neither half of the password shows (the URLs above split it with '@', a space, a
    newline or a NUL, where a driver may cut it)."""
    for piece in (secret, secret[:5], secret[5:]):
        assert piece not in text, text


@pytest.mark.parametrize("url", URLS)
def test_failed_connection_hides_the_password(url: str) -> None:
    with pytest.raises(dj.DjframeError) as info:
        dj.connect(url)
    assert_hidden(str(info.value))
    assert_hidden(repr(info.value))
    assert info.value.__context__ is None and info.value.__cause__ is None


@pytest.mark.parametrize(
    "text",
    [
        f"mysql://ann:{SECRET}@db/lab",
        f"S3://key:{SECRET}@bucket/path",
        f"conninfo: host=db password={SECRET} dbname=lab",
        f"host=db password='{SECRET} x' dbname=lab",
        f"two: 'a://u:{SECRET}@h1' and 'b://v:{SECRET}@h2'",
    ],
)
def test_every_error_redacts_its_message(conn: dj.Connection, text: str) -> None:
    """Any djframe error, whatever raised it and on whichever backend."""
    error = dj.QueryError(f"{conn.backend.name}: {text}")
    assert_hidden(str(error))
    assert_hidden(repr(error))
    assert "***" in str(error)


def test_server_refusal_hides_the_password(pg_url: str) -> None:
    """A wrong password for the real server, in a URL libpq parses."""
    head, _, host = pg_url.rpartition("@")
    with pytest.raises(dj.ConnectionError) as info:
        dj.connect(f"{head.split(':')[0]}://nosuchrole:{SECRET}@{host}")
    assert_hidden(str(info.value))
    assert host.split("/")[0] in str(info.value)


def test_cli_stderr_hides_the_password(tmp_path: Path) -> None:
    (tmp_path / "pipe.py").write_text(
        "import djframe as dj\nschema = dj.Schema('lab')\n"
        "@schema\nclass T(dj.Manual):\n    definition = 'k : int32'\n"
    )
    for url in (URLS[2], URLS[8]):
        env = {**os.environ, "DJFRAME_DATABASE_URL": url, "PYTHONPATH": str(SRC)}
        done = subprocess.run(
            [sys.executable, "-m", "djframe.cli", "status", "pipe.py"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode != 0
        assert "Cannot connect" in done.stderr
        assert_hidden(done.stderr + done.stdout)


MARKS = ("Qk7", "Vw3", "Jz9")
PASSWORD_CHARS = st.text(
    st.characters(codec="ascii", exclude_characters="\n'\"", exclude_categories=("Cc",)),
    max_size=6,
)


@st.composite
def urls_with_passwords(draw: st.DrawFn, quotes: bool) -> tuple[str, str]:
    """A URL of a random scheme (any case), user (maybe empty), password (marked so that a
    leak of any part of it shows) given in the userinfo or in the query."""
    scheme = draw(st.from_regex(r"[A-Za-z][A-Za-z0-9+.-]{0,10}", fullmatch=True))
    user = draw(st.from_regex(r"[A-Za-z0-9_.-]{0,6}", fullmatch=True))
    parts = [draw(PASSWORD_CHARS if not quotes else st.text(max_size=6)) for _ in MARKS]
    password = "".join(m + p for m, p in zip(MARKS, parts, strict=True)) + "Xe5"
    host = draw(st.sampled_from(["db", "127.0.0.1:1", "db.lab.org:5432"]))
    if draw(st.booleans()):
        return f"{scheme}://{user}:{password}@{host}/lab", password
    # in a query, '&' and '#' end the value, and a space ends the URL
    password = "".join(c for c in password if c not in "&#; \t")
    return f"{scheme}://{user}@{host}/lab?sslmode=require&password={password}", password


def leaked(text: str) -> list[str]:
    return [mark for mark in (*MARKS, "Xe5") if mark in text]


@settings(max_examples=300, deadline=None, database=None)
@given(case=urls_with_passwords(quotes=False), words=st.sampled_from(["at", "failed:", "->"]))
def test_random_urls_never_show_their_password(case: tuple[str, str], words: str) -> None:
    url, _ = case
    for text in (f"Cannot connect {words} {url}: refused", f"{url!r} {words} {url}"):
        assert not leaked(redact(text)), redact(text)
        assert not leaked(str(dj.DataError(text)))


@settings(max_examples=60, deadline=None, database=None)
@given(case=urls_with_passwords(quotes=True))
def test_random_urls_never_show_their_password_on_connect(case: tuple[str, str]) -> None:
    """Any characters at all (quotes, controls, unicode), through a real connection attempt."""
    url, _ = case
    url = "postgresql" + url[url.index("://") :]
    try:
        dj.connect(url.replace("db.lab.org:5432", "127.0.0.1:1").replace("@db/", "@127.0.0.1:1/"))
    except dj.DjframeError as exc:
        assert not leaked(str(exc)), str(exc)


def test_a_make_error_is_recorded_without_the_password(schema: dj.Schema) -> None:
    """The job queue keeps a failed make's message and stack, shown by ``djframe jobs``."""

    @schema
    class Key(dj.Manual):
        definition = "key : int32"

    @schema
    class Fetched(dj.Imported):
        definition = "-> Key"

        def make(self, key: dict) -> None:
            raise OSError(f"cannot reach postgresql://ann:{SECRET}@archive/lab")

    Key.insert1({"key": 1})
    failed = Fetched.populate(reserve_jobs=True, suppress_errors=True)
    message, stack = (Fetched.jobs & {"status": "error"}).fetch1("_error_message", "_error_stack")
    for text in (message, stack, str(failed)):
        assert_hidden(text)
    assert "postgresql://ann:***@archive/lab" in message
