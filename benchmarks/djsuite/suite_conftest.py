"""The suite's connection and store fixtures, pointed at djframe's database (not MySQL).

The runner copies this file as ``conftest.py`` into the suite's ``tests/integration`` and
``tests/unit`` folders, where its fixtures take precedence over the same-named ones of
DataJoint's ``tests/conftest.py``; nothing else of the suite is changed. It opens
connections with djframe's own ``dj.connect(url)`` (the URL comes from the runner in
``DJSUITE_DATABASE_URL``), so a test that fails does so in its own code, not in set-up
written for MySQL. As in DataJoint's suite, ``connection_root`` is an administrator and
``connection_test`` an ordinary user: on PostgreSQL the role ``datajoint``, made by
``connection_root`` with the right to create schemas in the database and nothing more
(DuckDB has no users: both open the same file). Credentials are given as DataJoint's
``host``/``user``/``password`` (``host:port`` of the server; on DuckDB, ``host`` is the
database file), and the store fixtures get a moto S3 server in place of MinIO.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import datajoint as dj  # djframe, through the alias
import pytest

URL = os.environ.get("DJSUITE_DATABASE_URL", "duckdb://")
BACKEND = "duckdb" if URL.startswith("duckdb") else "postgresql"
TEST_USER = "datajoint"  # DataJoint's suite's name and password for its ordinary user


def _test_url() -> str:
    """The URL of the ordinary user: the administrator's URL with its name and password."""
    if BACKEND == "duckdb":
        return URL
    url = urlparse(URL)
    return url._replace(netloc=f"{TEST_USER}:{TEST_USER}@{url.hostname}:{url.port}").geturl()


def _credentials(url: str) -> dict[str, str]:
    if BACKEND == "duckdb":
        return {"host": url.removeprefix("duckdb:///"), "user": "", "password": ""}
    parts = urlparse(url)
    return {
        "host": f"{parts.hostname}:{parts.port or 5432}",
        "user": parts.username or "",
        "password": parts.password or "",
    }


def _make_test_user(root: Any) -> None:
    if BACKEND == "duckdb":
        return
    database = urlparse(URL).path.lstrip("/")
    root.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{TEST_USER}') "
        f"THEN CREATE ROLE {TEST_USER} LOGIN PASSWORD '{TEST_USER}'; END IF; END $$"
    )
    root.execute(f'GRANT CONNECT, CREATE ON DATABASE "{database}" TO {TEST_USER}')


@pytest.fixture(scope="session")
def mysql_container() -> None:
    """No container: the database is the runner's (a DuckDB file or PostgreSQL)."""


@pytest.fixture(scope="session")
def postgres_container() -> None:
    """No container: the runner started PostgreSQL (tests/_postgres.py)."""


@pytest.fixture(scope="session")
def minio_container() -> None:
    """No container: ``s3_creds`` points at a moto S3 server."""


@pytest.fixture(scope="session")
def db_creds_root() -> dict[str, str]:
    return _credentials(URL)


@pytest.fixture(scope="session")
def db_creds_test() -> dict[str, str]:
    return _credentials(_test_url())


@pytest.fixture(scope="session")
def db_creds_by_backend(backend: str) -> dict[str, str]:
    return {"backend": BACKEND, **_credentials(URL)}


@pytest.fixture(scope="session")
def configure_datajoint() -> None:
    dj.config["safemode"] = False


@pytest.fixture(scope="session")
def connection_root_bare(configure_datajoint: None) -> Iterator[Any]:
    connection = dj.connect(URL)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def connection_root(connection_root_bare: Any) -> Any:
    _make_test_user(connection_root_bare)
    return connection_root_bare


@pytest.fixture(scope="session")
def connection_test(connection_root: Any) -> Iterator[Any]:
    connection = dj.connect(_test_url())
    yield connection
    connection.close()


@pytest.fixture
def connection_by_backend(db_creds_by_backend: dict[str, str]) -> Iterator[Any]:
    dj.config["safemode"] = False
    connection = dj.connect(URL)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def s3_creds() -> Iterator[dict[str, str]]:
    """A moto S3 server in its own process, with the suite's bucket made."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"127.0.0.1:{port}"
    _wait_for(f"http://{endpoint}/moto-api/")
    creds = {
        "endpoint": endpoint,
        "access_key": "datajoint",
        "secret_key": "datajoint",
        "bucket": "datajoint.test",
    }
    _make_bucket(creds)
    yield creds
    server.terminate()
    server.wait(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str) -> None:
    for _ in range(400):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"moto S3 server did not answer at {url}")


def _make_bucket(creds: dict[str, str]) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=f"http://{creds['endpoint']}",
        aws_access_key_id=creds["access_key"],
        aws_secret_access_key=creds["secret_key"],
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=creds["bucket"])
