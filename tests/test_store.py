"""Store-typed attributes kept in Delta Lake: every codec on every backend, both store kinds
(a local folder, S3 served by moto on the loopback) and both places a value's bytes can be
(inline in the Delta index, or a payload file of its own), versions and time travel, garbage
collection after deletes and after a killed writer, and concurrent writers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import djframe as dj
from djframe.codecs import Payload
from djframe.objectref import ObjectRef
from djframe.session import commit_context
from djframe.store import ObjectTable, delta, object_table
from djframe.store.columns import LazyValue
from djframe.store.delta import list_objects, new_object_ids, write_objects
from djframe.store.files import payload_files
from djframe.store.identity import new_identity

_numbers = iter(range(10**6))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_options() -> Iterator[dict[str, str]]:
    """A moto S3 server in its own process (deltalake calls that hold the GIL would
    deadlock against a server thread in this process), with a bucket ``djframe``."""
    boto3 = pytest.importorskip("boto3")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    options = {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    client = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="djframe")
    yield options
    server.terminate()
    server.wait(10)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dj.Store:
    if request.param == "local":
        return dj.Store(tmp_path / "store")
    options = request.getfixturevalue("s3_options")
    return dj.Store(f"s3://djframe/run{os.getpid()}_{next(_numbers)}", options)


@pytest.fixture(params=["inline", "files"])
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where values go: "inline" (the tests' small values stay in the index) or "files"
    (every value, even an empty one, gets a payload file of its own)."""
    if request.param == "files":
        monkeypatch.setattr(delta, "INLINE_BYTES", -1)
    return str(request.param)


@pytest.fixture
def oschema(conn: dj.Connection, store: dj.Store, layout: str) -> Iterator[dj.Schema]:
    name = f"store_{os.getpid()}_{next(_numbers)}"
    created = dj.Schema(name, connection=conn, store=store)
    yield created
    created.drop(prompt=False)


def declare_results(schema: dj.Schema) -> type[dj.Manual]:
    @schema
    class Result(dj.Manual):
        definition = """
        result_id : int32
        ---
        label = null : varchar(20)
        trace = null : <npy@>
        frame = null : <frame@>
        obj = null : <object@>
        attachment = null : <attach@>
        packed = null : <blob@>
        """

    return Result


def stored_files(store: dj.Store, uri: str) -> list[str]:
    return payload_files(store, uri).listing("_objects")


def test_every_store_codec_round_trips(
    oschema: dj.Schema, layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Result = declare_results(oschema)
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A")
    (folder / "sub" / "b.bin").write_bytes(b"\x01\x02")
    note = tmp_path / "note.txt"
    note.write_text("attached")
    frame = pl.DataFrame({"x": [1, 2, 3], "y": ["a", None, "c"]})
    trace = np.random.default_rng(1).random((20, 3)).astype("float32")
    Result.insert(
        [
            {
                "result_id": 1,
                "trace": trace,
                "frame": frame,
                "obj": b"bytes",
                "attachment": note,
                "packed": {"k": [1, 2]},
            },
            {
                "result_id": 2,
                "trace": np.arange(4),
                "frame": None,
                "obj": folder,
                "attachment": None,
                "packed": None,
            },
            {
                "result_id": 3,
                "trace": None,
                "frame": None,
                "obj": str(note),
                "attachment": None,
                "packed": None,
            },
        ]
    )
    downloads = tmp_path / "downloads"
    monkeypatch.setitem(dj.config._runtime, "download_path", str(downloads))
    rows = Result.to_dicts(order_by="KEY")
    assert rows[0]["trace"].dtype == np.float32 and np.array_equal(rows[0]["trace"], trace)
    assert rows[0]["frame"].equals(frame)
    assert rows[0]["obj"] == b"bytes" and rows[0]["packed"] == {"k": [1, 2]}
    assert rows[0]["attachment"] == str(downloads / "note.txt")  # text, as in DataJoint
    assert (downloads / "note.txt").read_text() == "attached"
    ref = rows[1]["obj"]
    assert isinstance(ref, ObjectRef) and ref.is_dir
    assert ref.listdir() == ["a.txt", "sub"] and ref.listdir("sub") == ["b.bin"]
    assert ref.read("sub/b.bin") == b"\x01\x02" and ref.item_count == 2
    assert (ref.download(tmp_path / "out") / "a.txt").read_text() == "A"
    assert rows[2]["obj"].read() == b"attached" and rows[2]["trace"] is None
    # Polars: Object columns; fetch1 and lazy references
    polars_rows = Result.to_polars(order_by="KEY")
    assert polars_rows.schema["trace"] == pl.Object
    assert np.array_equal((Result & {"result_id": 2}).fetch1("trace"), np.arange(4))
    lazy = (Result & {"result_id": 1}).fetch1("trace", lazy=True)
    assert isinstance(lazy, dj.NpyRef) and not lazy.is_loaded
    assert lazy.shape == trace.shape and lazy.dtype == trace.dtype
    assert np.array_equal(lazy.load(), trace) and np.array_equal(np.asarray(lazy), trace)
    assert isinstance((Result & {"result_id": 1}).fetch1("frame", lazy=True), LazyValue)
    # the objects are in one Delta table per djframe table, readable without djframe
    uri = oschema.store.table_uri(oschema.name, "result")
    objects = pl.read_delta(uri, storage_options=oschema.store.storage_options or None)
    assert {"result_id", "_attribute", "_oid", "_size", "_path", "_payload"} <= set(objects.columns)
    records = objects.filter(pl.col("_op").is_not_null())  # the rows themselves, as committed
    assert sorted(records["result_id"]) == [1, 2, 3] and records["_oid"].null_count() == 3
    objects = objects.filter(pl.col("_oid").is_not_null())
    assert objects.height == 8
    in_files = objects.filter(pl.col("_path").is_not_null())
    assert in_files.height == (8 if layout == "files" else 0)
    assert in_files["_payload"].null_count() == in_files.height
    assert sorted(in_files["_path"]) == stored_files(oschema.store, uri)
    assert Result.history().height == 1  # one insert call, one commit


def test_projection_and_join_keep_decoding(oschema: dj.Schema) -> None:
    Result = declare_results(oschema)
    Result.insert([{"result_id": i, "trace": np.full(3, i)} for i in range(4)])
    renamed = Result.proj(signal="trace") & "result_id > 1"
    values = renamed.to_dicts(order_by="KEY")
    assert [int(v["signal"][0]) for v in values] == [2, 3]
    assert list(Result.to_pandas()["trace"].iloc[3]) == [3, 3, 3]


def test_skip_duplicates_writes_only_new_objects(oschema: dj.Schema) -> None:
    Result = declare_results(oschema)
    Result.insert1({"result_id": 1, "trace": np.zeros(2)})
    Result.insert(
        [{"result_id": 1, "trace": np.ones(2)}, {"result_id": 2, "trace": np.ones(3)}],
        skip_duplicates=True,
    )
    target = object_table(oschema.connection, f"{oschema.name}.result", "")
    assert list_objects(target).num_rows == 2
    assert np.array_equal((Result & {"result_id": 1}).fetch1("trace"), np.zeros(2))


def test_time_travel_after_replace_and_reinsert(oschema: dj.Schema) -> None:
    Result = declare_results(oschema)
    token = commit_context.set({"job_id": "job-1", "code_version": "v1"})
    try:
        Result.insert(
            [{"result_id": 1, "trace": np.zeros(3)}, {"result_id": 2, "trace": np.ones(2)}]
        )
    finally:
        commit_context.reset(token)
    Result.insert1({"result_id": 1, "trace": np.full(3, 7.0)}, replace=True)
    (Result & {"result_id": 2}).delete()
    Result.insert1({"result_id": 2, "trace": np.full(2, 9.0)})
    history = Result.history()
    assert history["version"].to_list() == [3, 2, 1, 0]
    assert history["action"].to_list() == ["insert", "delete", "insert", "insert"]
    first = history.filter(pl.col("version") == 0).row(0, named=True)
    assert first["job_id"] == "job-1" and first["code_version"] == "v1"
    assert first["table"] == "Result" and first["operation"] == "WRITE"  # the class, not SQL
    assert first["action"] == "insert"
    assert np.array_equal((Result & {"result_id": 1}).fetch1("trace"), np.full(3, 7.0))
    before = {r["result_id"]: r["trace"] for r in Result.as_of(0).to_dicts()}
    assert np.array_equal(before[1], np.zeros(3)) and np.array_equal(before[2], np.ones(2))
    middle = Result.as_of(1)
    assert np.array_equal((middle & {"result_id": 1}).fetch1("trace"), np.full(3, 7.0))
    assert np.array_equal((middle & {"result_id": 2}).fetch1("trace"), np.ones(2))
    assert [r["result_id"] for r in Result.as_of(2).to_dicts()] == [1]  # 2 was deleted
    when = history.filter(pl.col("version") == 3)["timestamp"][0]
    latest = Result.as_of(when).to_dicts()
    assert np.array_equal(latest[1]["trace"], np.full(2, 9.0))
    with pytest.raises(dj.StoreError, match="no version 9"):
        Result.as_of(9).to_polars()


def test_gc_after_delete_then_vacuum(oschema: dj.Schema, layout: str) -> None:
    Result = declare_results(oschema)
    Result.insert([{"result_id": i, "trace": np.full(4, i), "obj": b"x"} for i in range(5)])
    (Result & "result_id < 2").delete()
    Result.insert1({"result_id": 4, "trace": np.zeros(1)}, replace=True)
    young = oschema.gc()  # all younger than min_age: found, and spared
    assert young["unreferenced"].to_list() == [5] and young["spared"].to_list() == [5]
    assert oschema.gc(dry_run=False)["removed"].to_list() == [0]
    report = oschema.gc(min_age_seconds=0)
    assert report["unreferenced"].to_list() == [5] and report["removed"].to_list() == [0]
    assert report["spared"].to_list() == [0]
    assert report["table"].to_list() == ["Result"]  # named by class, as every report is
    report = oschema.gc(dry_run=False, min_age_seconds=0)
    assert report["removed"].to_list() == [5]
    assert report["orphan_files"].to_list() == [0]  # earlier versions still name them
    written = report["objects"][0] if layout == "files" else 0
    assert oschema.gc(min_age_seconds=0)["unreferenced"].to_list() == [0]
    assert len(Result.to_dicts()) == 3
    assert np.array_equal((Result & {"result_id": 4}).fetch1("trace"), np.zeros(1))
    # removed objects stay readable in earlier versions until vacuum
    assert len(Result.as_of(0).to_dicts()) == 5
    uri = oschema.store.table_uri(oschema.name, "result")
    assert len(stored_files(oschema.store, uri)) == written
    vacuumed = oschema.gc(dry_run=False, min_age_seconds=0, retention_hours=0)
    assert vacuumed["vacuumed_files"].to_list()[0] >= 1
    assert vacuumed["orphan_files"].to_list() == [5 if layout == "files" else 0]
    assert len(stored_files(oschema.store, uri)) == max(written - 5, 0)
    with pytest.raises((dj.StoreError, OSError)):
        Result.as_of(0).to_dicts()
    assert len(Result.to_dicts()) == 3


def test_large_values_get_files_small_ones_stay_inline(
    conn: dj.Connection, store: dj.Store
) -> None:
    name = f"sizes_{os.getpid()}_{next(_numbers)}"
    schema = dj.Schema(name, connection=conn, store=store)
    try:
        Result = declare_results(schema)
        big = np.random.default_rng(2).random((300, 100)).astype("float32")  # 120 kB
        Result.insert(
            [{"result_id": 1, "trace": big, "obj": b"small"}, {"result_id": 2, "trace": big[:2]}]
        )
        uri = store.table_uri(name, "result")
        index = pl.read_delta(uri, storage_options=store.storage_options or None)
        by_size = index.filter(pl.col("_oid").is_not_null()).sort("_size")
        assert by_size["_size"].to_list() == [5, big[:2].nbytes, big.nbytes]
        assert by_size["_path"].is_null().to_list() == [True, True, False]
        assert stored_files(store, uri) == [by_size["_path"][2]]
        assert by_size["_path"][2] == f"_objects/{by_size['_oid'][2]}"
        back = (Result & {"result_id": 1}).fetch1("trace")
        assert back.dtype == np.float32 and np.array_equal(back, big)
        lazy = (Result & {"result_id": 1}).fetch1("trace", lazy=True)
        assert np.array_equal(lazy.load(), big)
        assert np.array_equal(Result.as_of(0).to_dicts()[1]["trace"], big[:2])
    finally:
        schema.drop(prompt=False)


def test_failed_index_commit_leaves_no_rows_and_no_files(oschema: dj.Schema) -> None:
    from deltalake import write_deltalake

    Result = declare_results(oschema)
    uri = oschema.store.table_uri(oschema.name, "result")
    # a Delta table of another shape where the index should go: the append is refused
    write_deltalake(
        uri, pa.table({"other": [1]}), storage_options=oschema.store.storage_options or None
    )
    with pytest.raises(dj.StoreError, match="object"):
        Result.insert1({"result_id": 1, "trace": np.zeros(40_000)})
    assert len(Result) == 0
    assert stored_files(oschema.store, uri) == []


def test_missing_payload_file_is_a_clear_error(oschema: dj.Schema, layout: str) -> None:
    Result = declare_results(oschema)
    Result.insert1({"result_id": 1, "trace": np.arange(5)})
    uri = oschema.store.table_uri(oschema.name, "result")
    files = payload_files(oschema.store, uri)
    if layout == "inline":
        assert files.listing("_objects") == []
        return
    files.delete(files.listing("_objects"))
    with pytest.raises(dj.StoreError, match="missing"):
        Result.fetch1("trace")


def test_named_store_from_config(conn: dj.Connection, tmp_path: Path) -> None:
    name = f"named_{os.getpid()}_{next(_numbers)}"
    schema = dj.Schema(name, connection=conn, store=tmp_path / "default")
    stores = {"cold": {"location": str(tmp_path / "cold"), "options": {}}}
    try:
        with dj.config.override(stores=stores):

            @schema
            class Cold(dj.Manual):
                definition = """
                k : int32
                ---
                a : <npy@cold>
                b : <npy@>
                """

            Cold.insert1({"k": 1, "a": np.ones(2), "b": np.zeros(2)})
            assert (tmp_path / "cold" / name / "cold" / "_delta_log").is_dir()
            assert (tmp_path / "default" / name / "cold" / "_delta_log").is_dir()
            assert set(Cold.history()["store"]) == {"cold", "@"}
            assert np.array_equal(Cold.fetch1("a"), np.ones(2))
        with pytest.raises(dj.StoreError, match="'cold' is not configured"):
            Cold.fetch1("a")
        with pytest.raises(dj.StoreError, match="'cold' is not configured"):
            Cold.insert1({"k": 2, "a": np.ones(2), "b": np.zeros(2)})
        assert len(Cold) == 1
    finally:
        schema.drop(prompt=False)


def test_wrong_value_type_writes_nothing(oschema: dj.Schema) -> None:
    Result = declare_results(oschema)
    with pytest.raises(dj.DataError, match=r"Result\.trace .*numpy.ndarray values; got a list"):
        Result.insert([{"result_id": 1, "trace": np.zeros(2)}, {"result_id": 2, "trace": [1, 2]}])
    with pytest.raises(dj.DataError, match="was not found"):
        Result.insert1({"result_id": 1, "obj": "/no/such/file"})
    with pytest.raises(dj.DataError, match="Polars DataFrames"):
        Result.insert1({"result_id": 1, "frame": {"a": 1}})
    with pytest.raises(dj.DuplicateError):
        Result.insert(
            [{"result_id": 1, "trace": np.zeros(2)}, {"result_id": 1, "trace": np.zeros(2)}]
        )
    assert len(Result) == 0
    assert Result.history().height == 0  # no Delta table was even created


def test_default_store_next_to_duckdb_file(tmp_path: Path) -> None:
    conn = dj.connect(f"duckdb:///{tmp_path / 'db' / 'lab.duckdb'}")
    try:
        schema = dj.Schema("lab", connection=conn)

        @schema
        class Trace(dj.Manual):
            definition = """
            k : int32
            ---
            t : <npy@>
            """

        Trace.insert1({"k": 1, "t": np.arange(3)})
        assert (tmp_path / "db" / "djframe-store" / "lab" / "trace" / "_delta_log").is_dir()
    finally:
        conn.close()


# -- crashes and concurrency --------------------------------------------------------------

KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import djframe as dj

    conn = dj.connect(sys.argv[1])
    lab = dj.virtual_schema(sys.argv[2], connection=conn)
    with conn.transaction:
        lab.Result.insert([{"result_id": i, "trace": np.full(20_000, i)} for i in range(3)])
        print("objects written", flush=True)
        time.sleep(120)
    """
)

KILLED_BEFORE_COMMIT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import djframe as dj
    from djframe.store import delta

    def stuck(*args, **kwargs):
        print("files written", flush=True)
        time.sleep(120)

    delta.commit_rows = stuck  # the process dies between its files and its index commit
    conn = dj.connect(sys.argv[1])
    lab = dj.virtual_schema(sys.argv[2], connection=conn)
    lab.Result.insert([{"result_id": i, "trace": np.full(20_000, i)} for i in range(3)])
    """
)


def killed_writer(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, code: str, signal_line: str
) -> tuple[dj.Connection, dj.Schema, str]:
    """Run ``code`` in a child that writes to a fresh schema; SIGKILL it once it prints
    ``signal_line``. Returns a connection, the schema and its name."""
    url = (
        f"duckdb:///{tmp_path / 'k.duckdb'}"
        if backend == "duckdb"
        else request.getfixturevalue("pg_url")
    )
    name = f"killed_{os.getpid()}_{next(_numbers)}"
    root = tmp_path / "store"
    conn = dj.connect(url)
    schema = dj.Schema(name, connection=conn, store=root)
    declare_results(schema)
    if backend == "duckdb":
        conn.close()  # DuckDB lets one process open the file
    env = {**os.environ, "DJFRAME_STORE": str(root)}
    child = subprocess.Popen(
        [sys.executable, "-c", code, url, name], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == signal_line
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    if backend == "duckdb":
        conn = dj.connect(url)
    return conn, dj.Schema(name, connection=conn, store=root), name


def test_gc_after_killed_writer(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    conn, schema, name = killed_writer(backend, tmp_path, request, KILLED_WRITER, "objects written")
    try:
        lab = dj.virtual_schema(name, connection=conn)
        assert len(lab.Result) == 0
        report = schema.gc(dry_run=False, min_age_seconds=0)
        assert report["objects"].to_list() == [3] and report["removed"].to_list() == [3]
        assert report["orphan_files"].to_list() == [0]  # the version that wrote them names them
        report = schema.gc(dry_run=False, min_age_seconds=0, retention_hours=0)
        assert report["objects"].to_list() == [0] and report["orphan_files"].to_list() == [3]
        store = dj.Store(tmp_path / "store")
        assert stored_files(store, store.table_uri(name, "result")) == []
    finally:
        schema.drop(prompt=False)
        conn.close()


def test_gc_after_writer_killed_before_its_index_commit(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    conn, schema, name = killed_writer(
        backend, tmp_path, request, KILLED_BEFORE_COMMIT, "files written"
    )
    try:
        store = dj.Store(tmp_path / "store")
        uri = store.table_uri(name, "result")
        assert len(stored_files(store, uri)) == 3
        assert schema.gc().height == 0  # no index yet, and the files are too young
        report = schema.gc(min_age_seconds=0)
        assert report["objects"].to_list() == [None] and report["orphan_files"].to_list() == [3]
        assert len(stored_files(store, uri)) == 3  # a dry run
        assert schema.gc(dry_run=False, min_age_seconds=0)["orphan_files"].to_list() == [3]
        assert stored_files(store, uri) == []
        assert schema.gc(min_age_seconds=0).height == 0
    finally:
        schema.drop(prompt=False)
        conn.close()


def _append_many(target: ObjectTable, writer: int, count: int) -> None:
    for i in range(count):
        oid = new_object_ids(1)
        keys = pa.table({"k": pa.array([writer * 1000 + i], pa.int32())})
        write_objects(target, keys, ["a"], oid, [Payload(np.full(16, i).tobytes(), {})])


def test_two_processes_write_one_table(store: dj.Store) -> None:
    uri = store.table_uri("concurrent", f"t{next(_numbers)}")
    target = ObjectTable(store, uri, "concurrent.t", new_identity("concurrent", "test:db"))
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_many, args=(target, w, 12)) for w in range(2)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(180)
        assert process.exitcode == 0
    listed = list_objects(target, ["k"])
    assert listed is not None and listed.num_rows == 24
    assert sorted(listed.column("k").to_pylist()) == sorted(
        w * 1000 + i for w in range(2) for i in range(12)
    )


def test_virtual_schema_reads_objects_from_the_store_it_is_given(
    oschema: dj.Schema, store: dj.Store
) -> None:
    Result = declare_results(oschema)
    trace = np.arange(6, dtype="int16").reshape(2, 3)
    Result.insert1({"result_id": 1, "trace": trace})
    lab = dj.virtual_schema(oschema.name, connection=oschema.connection, store=store)
    assert np.array_equal(lab.Result.fetch1("trace"), trace)


def test_virtual_schema_on_a_fresh_connection_reads_its_own_store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Classes made by virtual_schema(store=S) on a connection that never saw the schema
    are bound to it, so their objects are read from S, not from the default store."""
    url = (
        f"duckdb:///{tmp_path}/fresh.duckdb"
        if backend == "duckdb"
        else str(request.getfixturevalue("pg_url"))
    )
    store = dj.Store(tmp_path / "elsewhere")
    name = f"fresh_{os.getpid()}_{next(_numbers)}"
    trace = np.arange(5, dtype="float64")
    with dj.connect(url) as first:
        schema = dj.Schema(name, connection=first, store=store)
        declare_results(schema).insert1({"result_id": 1, "trace": trace})
    with dj.connect(url) as second:
        lab = dj.virtual_schema(name, connection=second, store=store)
        assert lab.Result._schema is lab.schema
        assert np.array_equal(lab.Result.fetch1("trace"), trace)
        lab.schema.drop(prompt=False)


def test_compaction_keeps_every_version(
    oschema: dj.Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deltalake import DeltaTable

    monkeypatch.setattr(delta, "MAINTAIN_EVERY", 4)
    Result = declare_results(oschema)
    for i in range(10):
        Result.insert1({"result_id": i, "trace": np.full(3, float(i))})
    uri = oschema.store.table_uri(oschema.name, "result")
    table = DeltaTable(uri, storage_options=oschema.store.storage_options or None)
    assert len(table.file_uris()) < 10  # compacted at versions 4 and 8 (and checkpointed)
    assert table.version() == 11  # 10 inserts and 2 compactions
    history = Result.history()
    assert history.height == 10 and set(history["action"]) == {"insert"}
    assert sorted(r["result_id"] for r in Result.as_of(0).to_dicts()) == [0]
    assert sorted(r["result_id"] for r in Result.as_of(6).to_dicts()) == list(range(6))
    assert np.array_equal((Result & {"result_id": 9}).fetch1("trace"), np.full(3, 9.0))
    assert oschema.gc(min_age_seconds=0)["unreferenced"].to_list() == [0]
    # a vacuum past the retention ends history there; the versions after it stay readable
    oschema.gc(dry_run=False, min_age_seconds=0, retention_hours=0)
    with pytest.raises((dj.StoreError, OSError)):
        Result.as_of(0).to_dicts()
    assert len(Result.as_of(int(history["version"][0])).to_dicts()) == 10
    assert np.array_equal((Result & {"result_id": 3}).fetch1("trace"), np.full(3, 3.0))
