"""The built-in codecs, one module each, as in DataJoint 2.x (``datajoint.builtin_codecs``).

- ``<blob>`` (:mod:`.blob`): a Python value in the row; ``<blob@>`` in a store (through
  ``<hash@>``).
- ``<hash@>`` (:mod:`.hash`): bytes in a store, with their MD5 digest.
- ``<npy@>`` (:mod:`.npy`): a numpy array; fetched as an array (an :class:`NpyRef` with
  ``lazy=True``).
- ``<frame@>`` (:mod:`.frame`): a Polars DataFrame.
- ``<object@>`` (:mod:`.object`): bytes, a file or a folder; files and folders come back as
  :class:`~djframe.objectref.ObjectRef`.
- ``<attach>``/``<attach@>`` (:mod:`.attach`): a file with its name.
- ``<filepath@store>`` (:mod:`.filepath`): a file already in a store, by its path.

:class:`SchemaCodec` (:mod:`.schema`) is the base of the codecs whose values live in the
schema's object store only (``npy``, ``frame``, ``object``); subclass it for your own.
Importing this package registers them all.
"""

from djframe.builtin_codecs.attach import AttachCodec
from djframe.builtin_codecs.blob import BlobCodec
from djframe.builtin_codecs.filepath import FilepathCodec, FileRef
from djframe.builtin_codecs.frame import FrameCodec
from djframe.builtin_codecs.hash import HashCodec
from djframe.builtin_codecs.npy import NpyCodec, NpyRef
from djframe.builtin_codecs.object import ObjectCodec
from djframe.builtin_codecs.schema import SchemaCodec
from djframe.objectref import ObjectRef

__all__ = [
    "AttachCodec",
    "BlobCodec",
    "FileRef",
    "FilepathCodec",
    "FrameCodec",
    "HashCodec",
    "NpyCodec",
    "NpyRef",
    "ObjectCodec",
    "ObjectRef",
    "SchemaCodec",
]
