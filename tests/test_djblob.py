"""DataJoint's own blob format (issue 13, item 9): the bytes DataJoint 2.3.5 writes (golden
hex below, produced by ``datajoint.blob.pack``) decode in djframe, djframe writes the very same
bytes, MATLAB structs and cells included, and ``<blob>`` columns hold this format on every
backend; ``<attach>`` keeps a file in the row."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import djframe as dj
from djframe.blob import pack, unpack

STRUCT = bytes.fromhex(
    "646a300053020000000000000001000000000000000200000000000000020000006600670009000000"
    "000000000d000000000000f83f0b0000000000000005020000000000000061621b000000000000004101"
    "000000000000000200000000000000090000000000000000010100000000000000ff"
)
CELL = bytes.fromhex(
    "646a300043010000000000000002000000000000002900000000000000410100000000000000020000"
    "000000000006000000000000000000000000000000000000000000f03f0a00000000000000050100000000"
    "00000073"
)
DICT = bytes.fromhex(
    "646a30000407000000000000000a000000000000000501000000000000006e04000000000000000a0100"
    "030a00000000000000050100000000000000783100000000000000410200000000000000020000000000"
    "000002000000000000000c00000000000000010000000300000002000000040000000a00000000000000"
    "05010000000000000074400000000000000001040000000000000002000000000000000b010100000000"
    "000000ff09000000000000000d00000000000004400b00000000000000050200000000000000c3a90d00"
    "0000000000000504000000000000007768656e0d00000000000000747ad834014a988b7c100000000b00"
    "0000000000000502000000000000006964110000000000000075000000000000000000000000000000070c"
    "000000000000000503000000000000006465630d00000000000000640400000000000000312e32350a0000"
    "00000000000501000000000000007a11000000000000000c000000000000f03f0000000000000040"
)


def test_matlab_struct_reads_and_writes_back_the_same_bytes() -> None:
    value = unpack(STRUCT)
    assert isinstance(value, dj.MatStruct) and value.shape == (1, 2)
    assert value.dtype.names == ("f", "g")
    assert value[0, 0]["f"] == 1.5 and value[0, 0]["g"] == "ab"
    np.testing.assert_array_equal(value[0, 1]["f"], np.arange(2, dtype="uint8"))
    assert value[0, 1]["g"] is None
    assert pack(value) == STRUCT


def test_matlab_cell_reads_and_writes_back_the_same_bytes() -> None:
    value = unpack(CELL)
    assert isinstance(value, dj.MatCell) and value.shape == (2,)
    np.testing.assert_array_equal(value[0], np.arange(2.0))
    assert value[1] == "s"
    assert pack(value) == CELL


def test_python_values_are_written_as_datajoint_writes_them() -> None:
    value = {
        "n": 3,
        "x": np.array([[1, 2], [3, 4]], dtype="int32"),
        "t": (True, None, 2.5, "é"),
        "when": dt.datetime(2024, 5, 6, 7, 8, 9, 10),
        "id": uuid.UUID(int=7),
        "dec": Decimal("1.25"),
        "z": 1 + 2j,
    }
    assert pack(value) == DICT
    back = unpack(DICT)
    np.testing.assert_array_equal(back.pop("x"), value.pop("x"))
    assert back == value


def test_large_values_are_compressed_and_damage_is_refused() -> None:
    data = pack(np.zeros(500))
    assert data.startswith(b"ZL123\0") and len(data) < 100
    np.testing.assert_array_equal(unpack(data), np.zeros(500))
    with pytest.raises(dj.DataError, match="damaged"):
        unpack(DICT + b"\0")
    with pytest.raises(dj.DataError, match="cannot hold"):
        pack(object())


def test_blob_column_holds_datajoint_format_and_attach_in_row(
    schema: dj.Schema, conn: dj.Connection, tmp_path: Path
) -> None:
    @schema
    class Record(dj.Manual):
        definition = """
        record_id : int32
        ---
        value : <blob>
        late = null : <blob>
        note = null : <attach>
        """

    (tmp_path / "note.txt").write_text("hello")
    Record.insert1({"record_id": 1, "value": unpack(CELL), "note": str(tmp_path / "note.txt")})
    Record.insert1({"record_id": 2, "value": {"a": 1}, "late": dt.timedelta(days=1)})
    raw = conn.query(f"SELECT value FROM {Record.full_table_name} ORDER BY record_id").fetchall()
    assert bytes(raw[0][0]) == CELL and bytes(raw[1][0]).startswith(b"dj0\0")
    with dj.config.override(download_path=str(tmp_path / "downloads")):
        first, second = Record.to_dicts(order_by="KEY")
    assert isinstance(first["value"], dj.MatCell) and Path(first["note"]).read_text() == "hello"
    assert second["value"] == {"a": 1} and second["late"] == dt.timedelta(days=1)
    assert "attach" in dj.list_codecs() and dj.get_codec("blob").name == "blob"


def test_hash_codec_keeps_bytes_in_the_store(schema: dj.Schema) -> None:
    @schema
    class Raw(dj.Manual):
        definition = """
        raw_id : int32
        ---
        content : <hash@>
        """

    Raw.insert([{"raw_id": 1, "content": b"abc"}, {"raw_id": 2, "content": b"abc"}])
    assert [r["content"] for r in Raw.to_dicts(order_by="KEY")] == [b"abc", b"abc"]
    with pytest.raises(dj.DataError, match="stores bytes"):
        Raw.insert1({"raw_id": 3, "content": "text"})
    with pytest.raises(dj.DefinitionError, match="object store"):

        @schema
        class Inline(dj.Manual):
            definition = """
            inline_id : int32
            ---
            content : <hash>
            """


def test_filepath_refers_to_files_in_the_store(schema: dj.Schema, tmp_path: Path) -> None:
    (tmp_path / "repo" / "sub").mkdir(parents=True)
    (tmp_path / "repo" / "sub" / "a.bin").write_bytes(b"xyz")
    stores = {"repo-local": {"protocol": "file", "location": str(tmp_path / "repo")}}
    with dj.config.override(stores=stores):

        @schema
        class Scan(dj.Manual):
            definition = """
            scan_id : int32
            ---
            image : <filepath@repo-local>
            """

        Scan.insert1({"scan_id": 1, "image": "sub/a.bin"})
        ref = Scan.fetch1("image")
        assert ref.path == "sub/a.bin" and ref.read() == b"xyz"
        assert ref.download(tmp_path / "down").read_bytes() == b"xyz"
        with pytest.raises(dj.DataError, match="not in the store"):
            Scan.insert1({"scan_id": 2, "image": "missing.bin"})
    assert len(Scan) == 1
    with pytest.raises(dj.DefinitionError, match="refers to files in a store"):

        @schema
        class Bare(dj.Manual):
            definition = """
            bare_id : int32
            ---
            image : <filepath>
            """


def test_blobs_with_32_bit_sizes_read_with_use_32bit_dims(monkeypatch: pytest.MonkeyPatch) -> None:
    array = np.arange(6, dtype="float64").reshape(2, 3)
    wide = pack(array, compress=False)
    head = b"mYm\0A" + np.array([2, 2, 3], dtype="<u8").tobytes()
    assert wide.startswith(head)
    narrow = b"mYm\0A" + np.array([2, 2, 3], dtype="<u4").tobytes() + wide[len(head) :]
    monkeypatch.setattr(dj.blob, "use_32bit_dims", True)
    assert np.array_equal(unpack(narrow), array)
    monkeypatch.setattr(dj.blob, "use_32bit_dims", False)
    assert np.array_equal(unpack(wide), array)
    with pytest.raises(dj.DataError):  # 32-bit sizes read as 64-bit ones: garbage
        unpack(narrow)
