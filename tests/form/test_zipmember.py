"""read_member gives what ZipFile.read gives: the same bytes or the same exception."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from worker.form.zipmember import deflate_stream, deflated, read_member


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return out.getvalue()


def _outcome(read, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, object]:
    try:
        return "ok", read(archive, info)
    except Exception as e:  # noqa: BLE001 (the exception itself is what is compared)
        return type(e).__name__, str(e)


def _same_as_zipfile(data: bytes) -> None:
    archive = zipfile.ZipFile(io.BytesIO(data))
    for info in archive.infolist():
        assert _outcome(read_member, archive, info) == _outcome(
            lambda a, i: a.read(i), archive, info)


def _patched(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value):]


BODY = b"<worksheet>" + b"<row><c><v>1</v></c></row>" * 200 + b"</worksheet>"


def test_plain_members_read_the_same() -> None:
    data = _zip({"a.xml": BODY, "empty.xml": b"", "名字.xml": "中文".encode()})
    _same_as_zipfile(data)
    _same_as_zipfile(_zip({"a.xml": BODY}, zipfile.ZIP_STORED))


def test_a_bad_crc_raises_as_zipfile_does() -> None:
    archive = zipfile.ZipFile(io.BytesIO(_zip({"a.xml": BODY})))
    info = archive.infolist()[0]
    info.CRC ^= 1
    assert _outcome(read_member, archive, info)[0] == "BadZipFile"
    assert _outcome(read_member, archive, info) == _outcome(lambda a, i: a.read(i), archive, info)


@pytest.mark.parametrize("declared", [-1, +1, -100])
def test_a_wrong_declared_size_reads_as_zipfile_does(declared: int) -> None:
    archive = zipfile.ZipFile(io.BytesIO(_zip({"a.xml": BODY})))
    info = archive.infolist()[0]
    info.file_size += declared
    assert _outcome(read_member, archive, info) == _outcome(lambda a, i: a.read(i), archive, info)


def test_a_local_header_that_disagrees_raises_as_zipfile_does() -> None:
    data = _zip({"a.xml": BODY})
    _same_as_zipfile(_patched(data, 30, b"b"))  # the local header's name
    _same_as_zipfile(_patched(data, 0, b"PK\x05\x05"))  # its signature


def test_a_damaged_stream_raises_as_zipfile_does() -> None:
    data = _zip({"a.xml": BODY})
    start = 30 + len("a.xml")
    _same_as_zipfile(_patched(data, start + 5, b"\xff\xff\xff\xff"))


def _over(data: bytes, stored: bytes) -> zipfile.ZipFile:
    """The directory of ``data`` over other stored bytes (a cut or crafted archive)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    archive.fp = io.BytesIO(stored)
    return archive


def test_a_truncated_archive_reads_as_zipfile_does() -> None:
    data = _zip({"a.xml": BODY, "b.xml": BODY})
    second = zipfile.ZipFile(io.BytesIO(data)).infolist()[1].header_offset
    for cut in (second + 10, second + 40, second + 200):
        archive = _over(data, data[:cut])
        for info in archive.infolist():
            assert _outcome(read_member, archive, info) == _outcome(
                lambda a, i: a.read(i), archive, info)


def test_a_stream_longer_than_declared_is_left_to_zipfile() -> None:
    longer = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = longer.compress(BODY * 10) + longer.flush()
    data = _zip({"a.xml": BODY})
    header = struct.unpack("<4s2B4HL2L2H", data[:30])
    archive = _over(data, data[: 30 + header[10] + header[11]] + stream)
    info = archive.infolist()[0]
    info.compress_size = len(stream)
    assert _outcome(read_member, archive, info) == _outcome(lambda a, i: a.read(i), archive, info)
    info.CRC = zlib.crc32((BODY * 10)[: info.file_size])  # the declared bytes' own CRC
    assert _outcome(read_member, archive, info) == _outcome(lambda a, i: a.read(i), archive, info)


def test_a_member_that_lies_about_its_size_is_not_inflated_past_it() -> None:
    """A few kilobytes declared, 64 MB in the stream (a 1.4 MB mail held 1 GiB so):
    the same error as ZipFile.read, without inflating the rest first."""
    import tracemalloc

    squeezed = zlib.compressobj(1, zlib.DEFLATED, -15)
    stream = squeezed.compress(b" " * (64 << 20)) + squeezed.flush()
    data = _zip({"xl/worksheets/sheet1.xml": BODY})
    header = struct.unpack("<4s2B4HL2L2H", data[:30])
    archive = _over(data, data[: 30 + header[10] + header[11]] + stream)
    info = archive.infolist()[0]
    info.compress_size = len(stream)
    info.file_size = 4000
    tracemalloc.start()
    try:
        outcome = _outcome(read_member, archive, info)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome[0] == "BadZipFile"
    assert peak < 4 << 20
    assert outcome == _outcome(lambda a, i: a.read(i), archive, info)


def _stream_outcome(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, object] | None:
    """What the deflate-stream route gives, or None where it leaves the member to zipfile."""
    stream = deflate_stream(archive, info)
    found = None if stream is None else deflated(stream, info.file_size, info.CRC)
    return None if found is None else ("ok", found)


@pytest.mark.parametrize("data", [
    _zip({"a.xml": BODY, "empty.xml": b"", "名字.xml": "中文".encode()}),
    _zip({"a.xml": BODY}, zipfile.ZIP_STORED),
    _patched(_zip({"a.xml": BODY}), 30, b"b"),  # the local header's name
    _patched(_zip({"a.xml": BODY}), 0, b"PK\x05\x05"),  # its signature
    _patched(_zip({"a.xml": BODY}), 30 + 5 + 5, b"\xff\xff\xff\xff"),  # the stream
])
def test_the_stream_route_gives_what_zipfile_gives_or_leaves_it(data: bytes) -> None:
    archive = zipfile.ZipFile(io.BytesIO(data))
    for info in archive.infolist():
        found = _stream_outcome(archive, info)
        assert found is None or found == _outcome(lambda a, i: a.read(i), archive, info)


def test_a_plain_deflated_member_takes_the_stream_route() -> None:
    archive = zipfile.ZipFile(io.BytesIO(_zip({"a.xml": BODY})))
    assert _stream_outcome(archive, archive.infolist()[0]) == ("ok", BODY)


def test_a_cp437_name_is_read_as_zipfile_reads_it() -> None:
    """A name without the UTF-8 flag: non-ASCII bytes go through cp437, ASCII as itself."""
    data = _zip({"a.xml": BODY})
    cp437 = _patched(data, 30, b"\x82")  # the local name "\x82.xml" against "a.xml": refused
    archive = zipfile.ZipFile(io.BytesIO(cp437))
    info = archive.infolist()[0]
    assert _outcome(read_member, archive, info) == _outcome(lambda a, i: a.read(i), archive, info)
    assert _stream_outcome(archive, info) is None
    info.orig_filename = info.filename = "é.xml"  # what cp437 reads \x82 as
    assert _outcome(read_member, archive, info) == _outcome(lambda a, i: a.read(i), archive, info)
    assert _stream_outcome(archive, info) == _outcome(lambda a, i: a.read(i), archive, info)
