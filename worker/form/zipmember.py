"""Inflating a member of an in-memory zip without ``zipfile``'s file machinery.

``ZipFile.read`` opens a shared file handle, a ``ZipExtFile`` and a decompressor and
reads in Python-level steps: for the small XML parts of a form that costs several times
the inflating itself, for every part, on every mail.  ``read_member`` inflates a
deflated member of an archive held in a ``BytesIO`` straight from its bytes, and hands
anything unusual (another compression, a local header that disagrees with the
directory, a stream that does not end where the directory says, a bad CRC) to
``ZipFile.read``, so the result, or the exception, is always the one ``zipfile`` gives.
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
    """``archive.read(info)``: the same bytes, or the same exception.

    Output is bounded by the size the directory declares (plus one byte to see that
    the stream goes on, which ``ZipFile.read`` is then left to report).
    """
    fp = archive.fp
    if (info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > 0
            and not info.flag_bits & _SPECIAL_FLAGS and type(fp) is io.BytesIO):
        with fp.getbuffer() as view:
            data = _inflate(view, info)
        if data is not None:
            return data
    return archive.read(info)


def _inflate(view: memoryview, info: zipfile.ZipInfo) -> bytes | None:
    """The member's bytes when every check ``ZipFile.open``/``read`` makes passes and
    the deflate stream yields exactly ``file_size`` bytes with the right CRC; None
    when ``zipfile`` must decide."""
    start = info.header_offset
    header = view[start:start + _LOCAL_HEADER.size]
    if len(header) != _LOCAL_HEADER.size:
        return None
    fields = _LOCAL_HEADER.unpack(header)
    if fields[0] != _LOCAL_MAGIC:
        return None
    name_start = start + _LOCAL_HEADER.size
    name_length, extra_length = fields[10], fields[11]
    try:
        name = bytes(view[name_start:name_start + name_length]).decode(
            "utf-8" if fields[3] & _UTF8_NAME else "cp437")
    except UnicodeDecodeError:
        return None
    if name != info.orig_filename:
        return None
    begin = name_start + name_length + extra_length
    compressed = view[begin:begin + info.compress_size]
    if len(compressed) != info.compress_size:
        return None
    if info.compress_size <= _REMEMBERED_SIZE and info.file_size <= _REMEMBERED_INFLATED:
        return _remembered(bytes(compressed), info.file_size, info.CRC)
    return _deflated(compressed, info.file_size, info.CRC)


def _deflated(compressed: bytes | memoryview, size: int, crc: int) -> bytes | None:
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
_remembered = lru_cache(maxsize=128)(_deflated)



_STORED_LOCAL = struct.Struct("<4s5H3L2H")  # zipfile.structFileHeader, STORED
_STORED_CENTRAL = struct.Struct("<4s6H3L5HL")  # zipfile.structCentralDir up to the offset
_END = struct.Struct("<4s4H2LH")  # zipfile.structEndArchive
_DOS_DAY_ONE = (1 << 5) | 1  # 1980-01-01, the earliest date a zip header holds


@lru_cache(maxsize=256)
def _stored_headers(name: str, crc: int, size: int) -> tuple[bytes, bytes, bytes]:
    """A stored member's local header with its name, its central entry up to its
    offset, and its name as written (forms from one program repeat most members, so
    these are built once each)."""
    if name.isascii():
        raw, flags = name.encode(), 0
    else:
        raw, flags = name.encode("utf-8"), _UTF8_NAME
    local = _STORED_LOCAL.pack(_LOCAL_MAGIC, 20, flags, 0, 0, _DOS_DAY_ONE, crc, size, size,
                               len(raw), 0) + raw
    central = _STORED_CENTRAL.pack(b"PK\x01\x02", 20, 20, flags, 0, 0, _DOS_DAY_ONE, crc, size,
                                   size, len(raw), 0, 0, 0, 0, 0)
    return local, central, raw


def stored_zip(members: list[tuple[str, bytes, int]]) -> bytes:
    """A zip of ``(name, content, CRC-32)`` members, none compressed: what
    ``ZipFile.writestr`` with ``ZIP_STORED`` writes, without its per-member Python
    machinery (a reader of it then inflates nothing).  Names as ``zipfile`` encodes
    them: ASCII, else UTF-8 with the flag that says so."""
    body: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, content, crc in members:
        local, entry, raw = _stored_headers(name, crc, len(content))
        body += (local, content)
        central += (entry, offset.to_bytes(4, "little"), raw)
        offset += len(local) + len(content)
    size = sum(map(len, central))
    body += central
    body.append(_END.pack(b"PK\x05\x06", 0, 0, len(members), len(members), size, offset, 0))
    return b"".join(body)
