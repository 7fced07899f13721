"""DataJoint's ``datajoint.blob`` path: :func:`pack` and :func:`unpack` of its blob format.

A pipeline that reads or writes blobs by hand (``from datajoint.blob import pack, unpack``)
keeps working; the format is DataJoint's own (:mod:`djframe.codecs.djblob`), so the bytes
move between DataJoint and djframe databases. ``use_32bit_dims = True`` reads blobs whose
sizes and dimensions were written as 32-bit numbers (by older MATLAB tools), as DataJoint's
flag of that name does; blobs are always written with 64-bit sizes.
"""

from djframe.codecs.djblob import MatCell, MatStruct, pack, unpack

__all__ = ["MatCell", "MatStruct", "pack", "unpack", "use_32bit_dims"]

use_32bit_dims = False
"""Read sizes and dimensions of blobs as 32-bit numbers (for blobs written that way)."""
