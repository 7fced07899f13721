"""Schema identities (issue 14, item 1): a database never deletes, overwrites or reads as its
own the objects of another database that was given the same store: two DuckDB files in one
folder, a copy of a database (a DuckDB file copied; a PostgreSQL database made from another
as a template), a DuckDB and a PostgreSQL pipeline with one ``store=``. Also where a schema
records its store, so that opening it without its classes or its ``store=`` finds the
objects (issue 12, item 5)."""

from __future__ import annotations

import itertools
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pytest

import djframe as dj
from djframe.catalog import PROPERTIES, read_properties

_numbers = itertools.count()


def pipeline(conn: dj.Connection, name: str, store: object = None) -> SimpleNamespace:
    """A schema with one table of stored arrays, declared (or bound) on ``conn``."""
    schema = dj.Schema(name, connection=conn, store=store)

    @schema
    class Trace(dj.Manual):
        definition = """
        r : int32
        ---
        x : <npy@>
        """

    return SimpleNamespace(schema=schema, Trace=Trace)


def collect(schema: dj.Schema) -> None:
    schema.gc(dry_run=False, min_age_seconds=0, retention_hours=0)


def duckdb(path: Path) -> dj.Connection:
    return dj.connect(f"duckdb:///{path}")


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[tuple[dj.Connection, str]]:
    """An admin connection and a fresh database's URL, dropped at the end (for copies)."""
    admin = dj.connect(pg_url)
    name = f"identity_{os.getpid()}_{next(_numbers)}"
    try:
        admin.execute(f"CREATE DATABASE {name}")
    except dj.DjframeError as exc:
        admin.close()
        pytest.skip(f"the test role may not create databases: {exc}")
    parts = urlsplit(pg_url)
    yield admin, urlunsplit(parts._replace(path=f"/{name}"))
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.execute(f"DROP DATABASE IF EXISTS {name}_copy WITH (FORCE)")
    admin.close()


def schema_name() -> str:
    return f"ident_{os.getpid()}_{next(_numbers)}"


# -- two databases, one store -----------------------------------------------------------------
def test_two_duckdb_files_in_one_folder_keep_their_objects(tmp_path: Path) -> None:
    a_conn, b_conn = duckdb(tmp_path / "a.duckdb"), duckdb(tmp_path / "b.duckdb")
    a, b = pipeline(a_conn, "x"), pipeline(b_conn, "x")
    a.Trace.insert1({"r": 1, "x": np.arange(5)})
    with pytest.raises(dj.StoreError, match=r"belongs to another database.*store of its own"):
        b.Trace.insert1({"r": 1, "x": np.arange(7)})
    assert len(b.Trace()) == 0  # the row went with its objects
    with pytest.raises(dj.StoreError, match="belongs to another database"):
        collect(b.schema)
    collect(a.schema)
    assert np.array_equal(a.Trace.fetch1("x"), np.arange(5))
    own = pipeline(b_conn, "x", store=tmp_path / "b-store")  # the fix the error names
    own.Trace.insert1({"r": 1, "x": np.arange(7)})
    collect(own.schema)
    collect(a.schema)
    assert np.array_equal(own.Trace.fetch1("x"), np.arange(7))
    assert np.array_equal(a.Trace.fetch1("x"), np.arange(5))
    a_conn.close()
    b_conn.close()


def test_duckdb_and_postgres_pipelines_given_one_store(pg_url: str, tmp_path: Path) -> None:
    name, store = schema_name(), tmp_path / "shared"
    pg, local = dj.connect(pg_url), duckdb(tmp_path / "local.duckdb")
    first, second = pipeline(pg, name, store), pipeline(local, name, store)
    try:
        first.Trace.insert1({"r": 1, "x": np.arange(3)})
        with pytest.raises(dj.StoreError, match="belongs to another database"):
            second.Trace.insert1({"r": 2, "x": np.arange(4)})
        with pytest.raises(dj.StoreError, match="belongs to another database"):
            second.Trace.history()
        with pytest.raises(dj.StoreError, match="belongs to another database"):
            collect(second.schema)
        collect(first.schema)
        assert np.array_equal(first.Trace.fetch1("x"), np.arange(3))
        # and the other way round: the DuckDB pipeline made the table of the second schema
        other = schema_name()
        pipeline(local, other, store).Trace.insert1({"r": 1, "x": np.arange(2)})
        with pytest.raises(dj.StoreError, match="belongs to another database"):
            pipeline(pg, other, store).Trace.insert1({"r": 1, "x": np.arange(9)})
    finally:
        first.schema.drop(prompt=False)
        dj.Schema(other, connection=pg).drop(prompt=False)
        pg.close()
        local.close()


# -- copies, moves and a database made anew -------------------------------------------------
def test_a_copy_of_a_duckdb_file_reads_but_never_changes_the_original(tmp_path: Path) -> None:
    conn = duckdb(tmp_path / "pipeline.duckdb")
    original = pipeline(conn, "lab")
    original.Trace.insert([{"r": 1, "x": np.arange(3)}, {"r": 2, "x": np.arange(4)}])
    conn.close()
    shutil.copy(tmp_path / "pipeline.duckdb", tmp_path / "experiment.duckdb")
    copy_conn = duckdb(tmp_path / "experiment.duckdb")
    with pytest.warns(UserWarning, match="is a copy of the one in"):
        copy = pipeline(copy_conn, "lab")
    conn = duckdb(tmp_path / "pipeline.duckdb")
    original = pipeline(conn, "lab")
    assert copy.schema.identity.ancestors == (original.schema.identity.identity,)
    assert np.array_equal((copy.Trace & {"r": 2}).fetch1("x"), np.arange(4))  # inherited
    (copy.Trace & {"r": 1}).delete(prompt=False)
    with pytest.raises(dj.StoreError, match=r"copy of.*adopt_objects"):
        collect(copy.schema)  # would remove the original's object of r = 1
    with pytest.raises(dj.StoreError, match="copy of"):
        copy.Trace.insert1({"r": 3, "x": np.arange(5)})
    with pytest.raises(dj.StoreError, match="copy of"):
        copy.Trace.as_of(0).to_polars()
    collect(original.schema)
    assert len(original.Trace()) == 2
    assert np.array_equal((original.Trace & {"r": 1}).fetch1("x"), np.arange(3))
    conn.close()
    copy_conn.close()


def test_a_copy_with_a_copy_of_the_store_owns_its_objects(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    conn = duckdb(tmp_path / "one" / "pipeline.duckdb")
    pipeline(conn, "lab").Trace.insert1({"r": 1, "x": np.arange(3)})
    shutil.copytree(tmp_path / "one", tmp_path / "two")  # the database and its store
    copy_conn = duckdb(tmp_path / "two" / "pipeline.duckdb")
    with pytest.warns(UserWarning, match="is a copy"):
        copy = pipeline(copy_conn, "lab")
    copy.Trace.insert1({"r": 2, "x": np.arange(4)})  # claims the copied object table
    (copy.Trace & {"r": 1}).delete(prompt=False)
    collect(copy.schema)
    original = pipeline(conn, "lab")
    collect(original.schema)
    assert np.array_equal(original.Trace.fetch1("x"), np.arange(3))
    assert np.array_equal(copy.Trace.fetch1("x"), np.arange(4))
    conn.close()
    copy_conn.close()


def test_a_moved_duckdb_file_keeps_its_objects(tmp_path: Path) -> None:
    conn = duckdb(tmp_path / "old" / "pipeline.duckdb")
    before = pipeline(conn, "lab").schema.identity
    pipeline(conn, "lab").Trace.insert1({"r": 1, "x": np.arange(3)})
    conn.close()
    shutil.move(tmp_path / "old", tmp_path / "new")  # with its store folder
    conn = duckdb(tmp_path / "new" / "pipeline.duckdb")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no copy notice
        moved = pipeline(conn, "lab")
    assert moved.schema.identity.identity == before.identity
    assert moved.schema.identity.database == f"duckdb:{tmp_path / 'new' / 'pipeline.duckdb'}"
    moved.Trace.insert1({"r": 2, "x": np.arange(4)})
    collect(moved.schema)
    assert len(moved.Trace.to_polars()) == 2
    conn.close()


def test_a_database_made_anew_claims_the_objects_left_at_its_place(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A DuckDB file deleted and made again, a schema dropped and declared again: the new
    one takes over the object tables (their objects are the dropped rows')."""
    path, name = tmp_path / "pipeline.duckdb", schema_name()
    url = f"duckdb:///{path}" if backend == "duckdb" else request.getfixturevalue("pg_url")
    conn = dj.connect(url)
    first = pipeline(conn, name, tmp_path / "store")
    first.Trace.insert1({"r": 1, "x": np.arange(3)})
    if backend == "duckdb":
        conn.close()
        path.unlink()
        conn = dj.connect(url)
    else:
        first.schema.drop(prompt=False)
    again = pipeline(conn, name, tmp_path / "store")
    assert again.schema.identity.identity != first.schema.identity.identity
    again.Trace.insert1({"r": 1, "x": np.arange(6)})
    report = again.schema.gc(dry_run=False, min_age_seconds=0)
    assert report["removed"].to_list() == [1]  # the old row's object
    assert np.array_equal(again.Trace.fetch1("x"), np.arange(6))
    again.schema.drop(prompt=False)
    conn.close()


def test_a_postgres_database_copied_from_a_template(
    pg_database: tuple[dj.Connection, str], tmp_path: Path
) -> None:
    admin, url = pg_database
    store, name = tmp_path / "store", schema_name()
    conn = dj.connect(url)
    pipeline(conn, name, store).Trace.insert1({"r": 1, "x": np.arange(3)})
    conn.close()
    database = urlsplit(url).path.strip("/")
    admin.execute(f"CREATE DATABASE {database}_copy TEMPLATE {database}")
    copy_url = url.replace(f"/{database}", f"/{database}_copy")
    copy_conn, conn = dj.connect(copy_url), dj.connect(url)
    with pytest.warns(UserWarning, match="is a copy"):
        copy = pipeline(copy_conn, name)  # the recorded store: no store= needed
    original = pipeline(conn, name)
    assert np.array_equal(copy.Trace.fetch1("x"), np.arange(3))
    with pytest.raises(dj.StoreError, match="copy of"):
        copy.Trace.insert1({"r": 2, "x": np.arange(4)})
    copy.Trace.delete(prompt=False)
    with pytest.raises(dj.StoreError, match="copy of"):
        collect(copy.schema)
    collect(original.schema)
    assert np.array_equal(original.Trace.fetch1("x"), np.arange(3))
    # the original is gone (say, the copy was a restore): the copy takes its objects over
    conn.close()
    admin.execute(f"DROP DATABASE {database} WITH (FORCE)")
    copy.schema.adopt_objects()
    copy.Trace.insert1({"r": 2, "x": np.arange(4)})
    collect(copy.schema)
    assert np.array_equal(copy.Trace.fetch1("x"), np.arange(4))
    assert dj.Schema(name, connection=copy_conn).identity == copy.schema.identity
    with pytest.raises(dj.StoreError, match="not a copy"):
        copy.schema.adopt_objects()
    copy_conn.close()


def test_a_schema_of_an_earlier_djframe_gets_an_identity(
    conn: dj.Connection, tmp_path: Path
) -> None:
    """No ``~schema`` table and an object table that names no owner: the schema gets an
    identity when opened, and claims the table when it writes to it."""
    from deltalake import DeltaTable

    name, store = schema_name(), tmp_path / "store"
    first = pipeline(conn, name, store)
    first.Trace.insert1({"r": 1, "x": np.arange(3)})
    uri = dj.Store(store).table_uri(name, "trace")
    DeltaTable(uri).alter.set_table_description("")
    conn.execute(f'DROP TABLE "{name}"."{PROPERTIES}"')
    try:
        again = pipeline(conn, name, store)
        assert again.schema.identity.identity != first.schema.identity.identity
        assert np.array_equal(again.Trace.fetch1("x"), np.arange(3))
        again.Trace.insert1({"r": 2, "x": np.arange(4)})
        assert again.schema.identity.identity in (DeltaTable(uri).metadata().description or "")
        collect(again.schema)
        assert len(again.Trace.to_polars()) == 2
    finally:
        first.schema.drop(prompt=False)


# -- where the objects are ----------------------------------------------------------------
def test_the_store_is_recorded_and_found_without_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"duckdb:///{tmp_path / 'lab.duckdb'}"
        if backend == "duckdb"
        else request.getfixturevalue("pg_url")
    )
    name, secret = schema_name(), "do-not-record-me"
    store = dj.Store(tmp_path / "objects", {"AWS_SECRET_ACCESS_KEY": secret})
    conn = dj.connect(url)
    pipeline(conn, name, store).Trace.insert1({"r": 1, "x": np.arange(3)})
    rows = read_properties(conn.fetch_arrow, name)
    assert rows["store"] == store.location
    assert secret not in str(rows)
    conn.close()
    conn = dj.connect(url)  # a colleague: no classes, no store=
    lab = dj.virtual_schema(name, connection=conn)
    assert np.array_equal(lab.Trace.fetch1("x"), np.arange(3))
    reopened = dj.Schema(name, connection=conn)  # no store configured: the recorded one
    assert reopened.store == store.location
    conn.close()
    conn, elsewhere = dj.connect(url), tmp_path / "elsewhere"
    moved = dj.virtual_schema(name, connection=conn, store=elsewhere)  # store= wins
    with pytest.raises(dj.StoreError, match="does not exist"):
        moved.Trace.fetch1("x")
    assert read_properties(conn.fetch_arrow, name)["store"] == str(elsewhere)
    dj.Schema(name, connection=conn).drop(prompt=False)
    conn.close()


def test_the_default_store_beside_a_duckdb_file_moves_with_it(tmp_path: Path) -> None:
    conn = duckdb(tmp_path / "a" / "pipeline.duckdb")
    pipeline(conn, "lab").Trace.insert1({"r": 1, "x": np.arange(3)})
    assert read_properties(conn.fetch_arrow, "lab")["store"] == "djframe-store"
    conn.close()
    shutil.move(tmp_path / "a", tmp_path / "b")
    conn = duckdb(tmp_path / "b" / "pipeline.duckdb")
    assert np.array_equal(dj.virtual_schema("lab", connection=conn).Trace.fetch1("x"), np.arange(3))
    conn.close()
