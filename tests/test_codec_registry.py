"""The codec registry (DataJoint 2.x's names: ``_codec_registry``, ``get_codec``,
``resolve_dtype``...), the built-in codec classes, and the references fetched from stores:
``NpyRef`` (``lazy=True``) and ``ObjectRef``, on every backend."""

from __future__ import annotations

import io
import itertools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import djframe as dj
from djframe.builtin_codecs import (
    BlobCodec,
    HashCodec,
    NpyCodec,
    NpyRef,
    ObjectCodec,
    SchemaCodec,
)
from djframe.codecs import (
    _codec_registry,
    get_codec,
    is_codec_registered,
    list_codecs,
    lookup_codec,
    parse_type_spec,
    resolve_dtype,
    unregister_codec,
)
from djframe.objectref import ObjectRef

_numbers = itertools.count()


@pytest.fixture
def scratch_codecs() -> Iterator[None]:
    """Codecs named ``reg_*`` are removed after the test."""
    yield
    for name in [n for n in _codec_registry if n.startswith("reg_")]:
        unregister_codec(name)


def define(name: str, dtype: str, *, register: bool = True) -> type[dj.Codec]:
    """A codec class that appends ``|name`` to text on encode and removes it on decode."""

    def get_dtype(self: dj.Codec, is_store: bool) -> str:
        return dtype

    def encode(self: dj.Codec, value: Any, **_: Any) -> Any:
        return f"{value}|{name}"

    def decode(self: dj.Codec, stored: Any, **_: Any) -> Any:
        return str(stored).removesuffix(f"|{name}")

    body = {"name": name, "get_dtype": get_dtype, "encode": encode, "decode": decode}
    return type(f"Codec_{name}", (dj.Codec,), body, register=register)


# -- the registry --------------------------------------------------------------------------
def test_subclassing_registers_one_shared_instance(scratch_codecs: None) -> None:
    define("reg_text", "varchar(40)")
    assert is_codec_registered("reg_text") and is_codec_registered("<reg_text@cold>")
    codec = get_codec("reg_text")
    assert codec is get_codec("<reg_text>") is _codec_registry["reg_text"]
    assert lookup_codec("<reg_text@cold>") == (codec, "cold")
    assert "reg_text" in list_codecs() and list_codecs() == sorted(list_codecs())


def test_unregistered_and_abstract_codecs_are_not_in_the_registry(scratch_codecs: None) -> None:
    define("reg_skipped", "bytes", register=False)

    class Base(dj.Codec):  # no name: an abstract base
        pass

    assert not is_codec_registered("reg_skipped") and "" not in _codec_registry
    with pytest.raises(dj.UnknownTypeError, match="Unknown codec <reg_skipped>"):
        get_codec("reg_skipped")


def test_a_second_class_of_the_same_name_is_refused(scratch_codecs: None) -> None:
    define("reg_dup", "bytes")
    with pytest.raises(dj.DefinitionError, match="already registered"):
        type("Another", (dj.Codec,), {"name": "reg_dup"})


def test_unregister_removes_the_codec(scratch_codecs: None) -> None:
    define("reg_gone", "bytes")
    unregister_codec("<reg_gone>")
    assert not is_codec_registered("reg_gone")
    with pytest.raises(dj.UnknownTypeError, match="not registered"):
        unregister_codec("reg_gone")


def test_codecs_of_installed_packages_load_on_first_use(
    scratch_codecs: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package declaring ``[project.entry-points."djframe.codecs"]`` (here a dist-info on
    ``sys.path``, as pip installs it) is imported when its codec is first asked for."""
    package = tmp_path / "reg_plugin_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import djframe as dj\n\n"
        "class Shout(dj.Codec):\n"
        "    name = 'reg_shout'\n"
        "    def get_dtype(self, is_store): return 'varchar(20)'\n"
        "    def encode(self, value): return value.upper()\n"
        "    def decode(self, stored): return stored.lower()\n"
    )
    info = tmp_path / "reg_plugin_pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: reg-plugin-pkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[djframe.codecs]\nreg_shout = reg_plugin_pkg:Shout\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(dj.codecs, "_entry_points_loaded", [])
    monkeypatch.delitem(sys.modules, "reg_plugin_pkg", raising=False)
    assert get_codec("<reg_shout>").encode("hi") == "HI"
    assert type(get_codec("reg_shout")).__module__ == "reg_plugin_pkg"


def test_parse_type_spec() -> None:
    assert parse_type_spec("<blob@cold>") == ("blob", "cold")
    assert parse_type_spec("<npy@>") == ("npy", "")
    assert parse_type_spec("graph") == ("graph", None)


def test_resolve_dtype_follows_chains(scratch_codecs: None) -> None:
    define("reg_inner", "varchar(64)")
    define("reg_outer", "<reg_inner>")
    final, chain, store = resolve_dtype("<reg_outer>")
    assert (final, [c.name for c in chain], store) == (
        "varchar(64)",
        ["reg_outer", "reg_inner"],
        None,
    )
    value = "x"
    for codec in chain:
        value = codec.encode(value)
    assert value == "x|reg_outer|reg_inner"
    for codec in reversed(chain):
        value = codec.decode(value)
    assert value == "x"
    assert resolve_dtype("float64") == ("float64", [], None)


def test_resolve_dtype_of_store_types() -> None:
    final, chain, store = resolve_dtype("<blob@cold>")
    assert (final, [c.name for c in chain], store) == ("uuid", ["blob", "hash"], "cold")
    assert resolve_dtype("<npy@>")[0::2] == ("uuid", "")
    assert resolve_dtype("<npy>", store_name="cold")[2] == "cold"
    final, chain, store = resolve_dtype("<filepath@raw>")
    assert (final, [c.name for c in chain], store) == ("json", ["filepath"], "raw")
    assert resolve_dtype("<blob>")[0:2] == ("bytes", [get_codec("blob")])


def test_circular_chains_are_refused(scratch_codecs: None) -> None:
    define("reg_a", "<reg_b>")
    define("reg_b", "<reg_a>")
    with pytest.raises(dj.DefinitionError, match="Circular codec reference"):
        resolve_dtype("<reg_a>")


# -- the built-in classes --------------------------------------------------------------------
def test_builtin_codec_classes() -> None:
    assert isinstance(get_codec("npy"), NpyCodec) and isinstance(NpyCodec(), SchemaCodec)
    assert isinstance(get_codec("hash"), HashCodec) and isinstance(get_codec("blob"), BlobCodec)
    assert BlobCodec().get_dtype(is_store=False) == "bytes"
    assert BlobCodec().get_dtype(is_store=True) == "<hash>"
    with pytest.raises(dj.DefinitionError, match="requires @"):
        NpyCodec().get_dtype(is_store=False)
    with pytest.raises(dj.DataError, match=r"requires numpy\.ndarray"):
        NpyCodec().validate([1, 2])
    with pytest.raises(dj.DataError, match="object dtype"):
        NpyCodec().validate(np.array([{}, []], dtype=object))


def test_object_codec_takes_streams() -> None:
    codec = ObjectCodec()
    ref = codec.decode(codec.encode((".csv", io.BytesIO(b"a,b\n"))))
    assert isinstance(ref, ObjectRef) and (ref.ext, ref.size, ref.read()) == (".csv", 4, b"a,b\n")
    assert ref.verify()


def test_object_ref_json_round_trip() -> None:
    meta = {
        "path": "s/T/id=1/data.zarr",
        "size": None,
        "hash": None,
        "ext": ".zarr",
        "is_dir": True,
        "timestamp": "2025-01-15T10:30:00+00:00",
        "item_count": 4,
    }
    ref = ObjectRef.from_json(json.dumps(meta))
    assert (ref.is_dir, ref.item_count, ref.timestamp.year, str(ref)) == (
        True,
        4,
        2025,
        meta["path"],
    )
    assert ref.to_json() == meta
    assert "folder" in repr(ref) and meta["path"] in repr(ref)
    with pytest.raises(dj.StoreError, match="metadata only"):
        ref.listdir()


# -- stored values, on every backend ---------------------------------------------------------
@pytest.fixture
def sschema(conn: dj.Connection, tmp_path: Path) -> Iterator[dj.Schema]:
    name = f"codecs_{os.getpid()}_{next(_numbers)}"
    created = dj.Schema(name, connection=conn, store=dj.Store(tmp_path / "store"))
    yield created
    created.drop(prompt=False)


def test_lazy_npy_values_are_npy_refs(sschema: dj.Schema) -> None:
    @sschema
    class Trace(dj.Manual):
        definition = """
        trace_id : int32
        ---
        samples = null : <npy@>
        """

    arrays = {i: np.arange(12 * (i + 1), dtype="float32").reshape(-1, 4) for i in range(3)}
    Trace.insert([{"trace_id": i, "samples": a} for i, a in arrays.items()] + [{"trace_id": 9}])
    rows = Trace.to_dicts(order_by="trace_id", lazy=True)
    refs = [row["samples"] for row in rows]
    assert refs[3] is None and all(isinstance(r, NpyRef) for r in refs[:3])
    assert [r.shape for r in refs[:3]] == [(3, 4), (6, 4), (9, 4)]
    assert not any(r.is_loaded for r in refs[:3])
    first = refs[0]
    assert (first.dtype, first.ndim, first.size, first.nbytes, len(first)) == (
        np.dtype("float32"),
        2,
        12,
        48,
        3,
    )
    assert first.load() is first.load() and first.is_loaded and not refs[1].is_loaded
    assert np.mean(refs[1]) == np.mean(arrays[1]) and refs[2][1, 2] == arrays[2][1, 2]
    assert np.array_equal(np.add(refs[2], 1), arrays[2] + 1)
    mapped = refs[2].load(mmap_mode="r")
    assert isinstance(mapped, np.memmap) and np.array_equal(mapped, arrays[2])
    assert "not loaded" in repr((Trace & {"trace_id": 0}).fetch1("samples", lazy=True))
    assert np.array_equal((Trace & {"trace_id": 0}).fetch1("samples"), arrays[0])  # default


def test_blob_in_a_store_goes_through_hash(sschema: dj.Schema) -> None:
    @sschema
    class Packed(dj.Manual):
        definition = """
        packed_id : int32
        ---
        value : <blob@>
        """

    Packed.insert1({"packed_id": 1, "value": {"a": [1, 2, 3]}})
    assert Packed.fetch1("value") == {"a": [1, 2, 3]}


def test_attachments_with_the_same_name_are_kept_apart(
    sschema: dj.Schema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @sschema
    class Note(dj.Manual):
        definition = """
        note_id : int32
        ---
        text : <attach@>
        """

    source = tmp_path / "note.txt"
    for i in range(2):
        source.write_text(f"version {i}")
        Note.insert1({"note_id": i, "text": source})
    downloads = tmp_path / "downloads"
    monkeypatch.setitem(dj.config._runtime, "download_path", str(downloads))
    first, second = Note.to_arrays("text", order_by="note_id")
    assert isinstance(first, str) and first != second
    assert Path(first).read_text() == "version 0" and Path(second).read_text() == "version 1"
    assert (Note & {"note_id": 0}).fetch1("text") == first  # the same file, not a third


def test_fetched_object_refs(sschema: dj.Schema, tmp_path: Path) -> None:
    @sschema
    class Asset(dj.Manual):
        definition = """
        asset_id : int32
        ---
        data : <object@>
        """

    file = tmp_path / "table.csv"
    file.write_text("a,b\n1,2\n")
    folder = tmp_path / "scan"
    (folder / "sub").mkdir(parents=True)
    (folder / "one.txt").write_text("1")
    (folder / "sub" / "two.txt").write_text("22")
    Asset.insert(
        [
            {"asset_id": 1, "data": str(file)},
            {"asset_id": 2, "data": folder},
            {"asset_id": 3, "data": (".txt", io.BytesIO(b"from a stream"))},
        ]
    )
    one, two, three = (row["data"] for row in Asset.to_dicts(order_by="asset_id"))
    assert (one.ext, one.size, one.is_dir, one.name) == (".csv", 8, False, "table.csv")
    assert one.timestamp is not None and one.path and one.path != two.path
    assert one.read() == b"a,b\n1,2\n" and one.exists() and one.verify()
    with one.open(mode="r") as handle:
        assert handle.read() == "a,b\n1,2\n"
    assert one.download(tmp_path / "out").read_bytes() == b"a,b\n1,2\n"
    assert (two.is_dir, two.item_count, two.size) == (True, 2, 3)
    assert two.listdir() == ["one.txt", "sub"] and two.listdir("sub") == ["two.txt"]
    assert list(two.walk()) == [("", ["sub"], ["one.txt"]), ("sub", [], ["two.txt"])]
    with two.open("sub/two.txt") as handle:
        assert handle.read() == b"22"
    assert two.exists("sub/two.txt") and not two.exists("nothing.txt")
    assert (three.ext, three.read()) == (".txt", b"from a stream")
    lazy = (Asset & {"asset_id": 1}).fetch1("data", lazy=True)
    assert lazy.load().path == one.path == Asset.as_of(0).to_dicts()[0]["data"].path
    with pytest.raises(dj.DataError, match="Cannot read"):
        two.read()
    with pytest.raises(dj.DataError, match="Cannot listdir"):
        one.listdir()
    with pytest.raises(dj.DataError, match="not found"):
        Asset.insert1({"asset_id": 4, "data": str(tmp_path / "missing.bin")})


# -- what codecs are given ---------------------------------------------------------------------
def test_codecs_get_the_keywords_they_declare(scratch_codecs: None, sschema: dj.Schema) -> None:
    seen: list[tuple[Any, ...]] = []

    class Tagged(SchemaCodec):
        name = "reg_tagged"

        def encode(
            self, value: Any, *, key: Any = None, context: Any = None, store_name: Any = None
        ) -> bytes:
            schema, table, field, primary_key = self._extract_context(key, context)
            seen.append((schema, table, field, primary_key, store_name))
            assert self._codec_config(key, context) is dj.config
            return str(value).encode()

        def decode(self, stored: Any, *, context: Any = None) -> str:
            assert context == {"config": dj.config}
            return bytes(stored.data).decode()

    class Plain(dj.Codec):  # declares neither key nor context: called with the value only
        name = "reg_plain"

        def get_dtype(self, is_store: bool) -> str:
            return "varchar(20)"

        def encode(self, value: Any) -> str:
            return value.upper()

        def decode(self, stored: Any) -> str:
            return stored.lower()

    @sschema
    class Sample(dj.Manual):
        definition = """
        sample_id : int32
        ---
        tag : <reg_tagged@>
        word : <reg_plain>
        """

    Sample.insert(
        [{"sample_id": 1, "tag": "one", "word": "a"}, {"sample_id": 2, "tag": 2, "word": "b"}]
    )
    assert seen == [
        (sschema.name, "Sample", "tag", {"sample_id": 1}, ""),
        (sschema.name, "Sample", "tag", {"sample_id": 2}, ""),
    ]
    assert Sample.to_dicts(order_by="sample_id") == [
        {"sample_id": 1, "tag": "one", "word": "a"},
        {"sample_id": 2, "tag": "2", "word": "b"},
    ]


def test_extract_context_reads_the_older_key_convention() -> None:
    codec = NpyCodec()
    context = {"schema": "lab", "table": "Subject", "field": "scan", "config": "cfg"}
    assert codec._extract_context({"subject_id": 7}, context) == (
        "lab",
        "Subject",
        "scan",
        {"subject_id": 7},
    )
    legacy = {
        "_schema": "lab",
        "_table": "Subject",
        "_field": "scan",
        "_config": "cfg",
        "subject_id": 7,
    }
    with pytest.warns(DeprecationWarning, match="declare `context`"):
        assert codec._extract_context(legacy) == ("lab", "Subject", "scan", {"subject_id": 7})
    assert codec._extract_context({"subject_id": 7}) == (
        "unknown",
        "unknown",
        "data",
        {"subject_id": 7},
    )
    assert (
        dj.Codec._codec_config(legacy, None) == "cfg"
        and dj.Codec._codec_config(None, context) == "cfg"
    )
    assert dj.Codec._codec_config(None, None) is None


def test_blob_fields_of_structured_arrays(schema: dj.Schema) -> None:
    @schema
    class Mixed(dj.Manual):
        definition = """
        mixed_id : int32
        ---
        value : <blob>
        number : <blob>
        """

    Mixed.insert(
        [
            {"mixed_id": 0, "value": 3, "number": 1.5},
            {"mixed_id": 1, "value": {"k": np.zeros((2, 2))}, "number": 2.5},
            {"mixed_id": 2, "value": np.ones((4, 2)), "number": 3.5},
        ]
    )
    records = Mixed.to_arrays(order_by="mixed_id")
    assert records["value"].dtype == object and records["value"][0] == 3
    assert records["value"][2].shape == (4, 2)
    assert records["number"].dtype == np.float64 and records["number"].tolist() == [1.5, 2.5, 3.5]


def test_structured_arrays_in_npy(sschema: dj.Schema) -> None:
    @sschema
    class Events(dj.Manual):
        definition = """
        events_id : int32
        ---
        events : <npy@>
        """

    kind = np.dtype([("t", "<f8"), ("channel", "<i4"), ("label", "U6")])
    events = np.array([(0.5, 1, "spike"), (1.25, 3, "burst")], dtype=kind)
    Events.insert1({"events_id": 1, "events": events})
    back = Events.fetch1("events")
    assert back.dtype == kind and np.array_equal(back, events)
    ref = Events.fetch1("events", lazy=True)
    assert ref.dtype == kind and ref.shape == (2,) and ref[1]["label"] == "burst"
    assert Events.to_polars()["events"][0]["channel"].tolist() == [1, 3]


def test_update1_encodes_codec_values(
    sschema: dj.Schema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @sschema
    class Thing(dj.Manual):
        definition = """
        thing_id : int32
        ---
        params = null : <blob>
        picture = null : <attach@>
        trace = null : <npy@>
        """

    Thing.insert1({"thing_id": 1, "params": np.zeros((2, 3))})
    picture = tmp_path / "picture.dat"
    picture.write_bytes(b"\x01\x02")
    Thing.update1({"thing_id": 1, "params": np.ones((3, 2)), "picture": picture})
    Thing.update1({"thing_id": 1, "trace": np.arange(5)})
    monkeypatch.setitem(dj.config._runtime, "download_path", str(tmp_path / "downloads"))
    row = Thing.fetch1()
    assert row["params"].shape == (3, 2) and Path(row["picture"]).read_bytes() == b"\x01\x02"
    assert np.array_equal(row["trace"], np.arange(5))
    Thing.update1({"thing_id": 1, "picture": None, "trace": None})
    assert Thing.fetch1("picture", "trace") == (None, None)
    assert np.array_equal(Thing.as_of(2).fetch1("trace"), np.arange(5))  # kept in the history
