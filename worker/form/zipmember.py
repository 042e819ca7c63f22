"""Inflating a member of an in-memory zip without ``zipfile``'s file machinery.

``ZipFile.read`` opens a shared file handle, a ``ZipExtFile`` and a decompressor and
reads in Python-level steps: for the small XML parts of a form that costs several times
the inflating itself, for every part, on every mail.  ``read_member`` inflates a
deflated member of an archive held in a ``BytesIO`` straight from its bytes, and hands
anything unusual (another compression, a local header that disagrees with the
directory, a stream that does not end where the directory says, a bad CRC) to
``zipfile``, so the result, or the exception, is the one ``zipfile`` gives; but never
inflating more than the directory declares. ``ZipFile.read`` itself inflates all the
compressed bytes hold before cutting at the declared size: a 1.4 MB mail whose member
declared 4 KB took 1 GiB of memory there (``check_zip`` bounds the declared sizes).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from functools import lru_cache

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader
_LOCAL_MAGIC = b"PK\x03\x04"
# Encrypted (bit 0), compressed patched data (bit 5), strong encryption (bit 6).
_SPECIAL_FLAGS = 0x1 | 0x20 | 0x40
_UTF8_NAME = 0x800


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """``archive.read(info)``: the same bytes, or the same exception, inflating no more
    than the size the directory declares plus one byte (``read_declared``)."""
    fp = archive.fp
    if (info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > 0
            and not info.flag_bits & _SPECIAL_FLAGS and type(fp) is io.BytesIO):
        with fp.getbuffer() as view:
            data = _inflate(view, info)
        if data is not None:
            return data
    return read_declared(archive, info)


def read_declared(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """``archive.read(info)``, inflating only about what the directory declares.

    ``ZipExtFile`` cuts its output at ``file_size`` and checks the CRC there, so both
    give the same bytes or the same error; but ``read()`` asks zlib for everything the
    compressed bytes hold before cutting, where ``read(n)`` asks for about ``n`` (one
    more than declared: a zero-size member is still read to its CRC check)."""
    with archive.open(info) as member:
        return member.read(info.file_size + 1)


def deflate_stream(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The member's deflate stream when ``read_member`` would inflate it itself (a
    deflated member of an in-memory archive whose local header passes every check
    ``ZipFile.open`` makes); None when ``zipfile`` must decide.  Inflated with
    ``deflated(stream, info.file_size, info.CRC)``, it is what ``read_member`` gives
    when that is not None."""
    fp = archive.fp
    if (info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > 0
            and not info.flag_bits & _SPECIAL_FLAGS and type(fp) is io.BytesIO):
        with fp.getbuffer() as view:
            stream = _stream(view, info)
            return None if stream is None else bytes(stream)
    return None


def _inflate(view: memoryview, info: zipfile.ZipInfo) -> bytes | None:
    """The member's bytes when every check ``ZipFile.open``/``read`` makes passes and
    the deflate stream yields exactly ``file_size`` bytes with the right CRC; None
    when ``zipfile`` must decide."""
    compressed = _stream(view, info)
    if compressed is None:
        return None
    if info.compress_size <= _REMEMBERED_SIZE and info.file_size <= _REMEMBERED_INFLATED:
        return _remembered(bytes(compressed), info.file_size, info.CRC)
    return deflated(compressed, info.file_size, info.CRC)


def _stream(view: memoryview, info: zipfile.ZipInfo) -> memoryview | None:
    """The member's compressed bytes when its local header passes every check
    ``ZipFile.open`` makes; None when ``zipfile`` must decide."""
    start = info.header_offset
    name_start = start + _LOCAL_HEADER.size
    if start < 0 or name_start > len(view):
        return None
    fields = _LOCAL_HEADER.unpack_from(view, start)  # no slice: a memoryview each
    if fields[0] != _LOCAL_MAGIC:
        return None
    name_length, extra_length = fields[10], fields[11]
    raw = bytes(view[name_start:name_start + name_length])
    if raw.isascii():  # nearly every name: cp437 and UTF-8 both read ASCII as itself,
        name = raw.decode("ascii")  # and cp437's codec is a Python-level charmap call
    else:
        try:
            name = raw.decode("utf-8" if fields[3] & _UTF8_NAME else "cp437")
        except UnicodeDecodeError:
            return None
    if name != info.orig_filename:
        return None
    begin = name_start + name_length + extra_length
    compressed = view[begin:begin + info.compress_size]
    if len(compressed) != info.compress_size:
        return None
    return compressed


def deflated(compressed: bytes | memoryview, size: int, crc: int) -> bytes | None:
    """The deflate stream's bytes if it yields exactly ``size`` bytes with ``crc``."""
    try:
        data = zlib.decompressobj(-15).decompress(compressed, size + 1)
    except zlib.error:
        return None
    if len(data) != size or zlib.crc32(data) != crc:
        return None
    return data


# Forms from one program share most parts byte for byte (theme, styles, relationships):
# the same compressed bytes, size and CRC inflate to the same bytes, so small members
# are inflated once (keyed by the whole compressed stream, not by its checksum).
_REMEMBERED_SIZE = 8 * 1024
_REMEMBERED_INFLATED = 32 * 1024
_remembered = lru_cache(maxsize=128)(deflated)
