"""DataJoint's ``datajoint.blob`` path: :func:`pack` and :func:`unpack` of its blob format.

A pipeline that reads or writes blobs by hand (``from datajoint.blob import pack, unpack``)
keeps working; the format is DataJoint's own (:mod:`djframe.codecs.djblob`), so the bytes
move between DataJoint and djframe databases.
"""

from djframe.codecs.djblob import MatCell, MatStruct, pack, unpack

__all__ = ["MatCell", "MatStruct", "pack", "unpack"]
