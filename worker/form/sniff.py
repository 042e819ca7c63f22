"""Telling file formats apart by their bytes, since mail clients mislabel attachments.

Names and Content-Types lie (``申请表.dat``, ``application/octet-stream``); magic
bytes and container directories do not.  Nothing here decompresses anything.
"""

from __future__ import annotations

import io
import threading
import zipfile
from typing import Literal

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

Format = Literal[
    "xlsx", "xlsb", "ods", "docx", "pptx", "ofd", "zip",
    "xls", "encrypted", "doc", "ppt", "ole2",
    "pdf", "image", "archive", "tnef", "html", "xml", "rtf", "csv", "unknown",
]  # fmt: skip

_IMAGE_MAGICS = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
)
#: Archives we cannot open, by magic bytes, with the name a unit knows them by.
ARCHIVE_KINDS: tuple[tuple[bytes, str], ...] = (
    (b"Rar!\x1a\x07", "RAR"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"MSCF\x00\x00\x00\x00", "CAB"),
)
_ARCHIVE_MAGICS = tuple(magic for magic, _ in ARCHIVE_KINDS)
#: Outlook's rich-text container (winmail.dat): TNEF signature 0x223E9F78, little-endian
#: ([MS-OXTNEF] 2.1.3.1).
TNEF_MAGIC = b"\x78\x9f\x3e\x22"
_OLE2_KINDS: tuple[tuple[str, Format], ...] = (
    ("EncryptedPackage", "encrypted"),  # an encrypted OOXML file (any Office app)
    ("Workbook", "xls"),
    ("Book", "xls"),  # BIFF5
    ("WordDocument", "doc"),  # .doc and WPS .wps
    ("PowerPoint Document", "ppt"),
)


def zip_names(data: bytes) -> list[str] | None:
    """Member names of a zip (central directory only), or None if it is not one."""
    archive = _zip(data)
    if archive is None:
        return None
    with archive:
        return archive.namelist()


def _zip(data: bytes) -> zipfile.ZipFile | None:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None


# The workbook last sniffed, with its directory read: a form is sniffed, then read, and
# its reader takes this archive instead of parsing the same central directory again.
# One per thread, for the very same bytes object (immutable: the same directory); it
# holds no file, only those bytes, until the next workbook is sniffed or taken.
_sniffed = threading.local()


def take_archive(data: bytes) -> zipfile.ZipFile | None:
    """The open archive ``sniff`` read for these very bytes (its caller now owns it and
    closes it), or None: then open it anew."""
    held = getattr(_sniffed, "workbook", None)
    _sniffed.workbook = None
    return held[1] if held is not None and held[0] is data else None


def ole2_names(data: bytes) -> set[str]:
    """Stream names of an OLE2 compound file; a byte search when the directory is broken."""
    from xlrd.compdoc import CompDoc  # xlrd's reader is already a dependency

    try:
        doc = CompDoc(data, logfile=io.StringIO())
        return {node.name for node in doc.dirlist}
    except Exception:  # any failure means "look at the raw bytes"
        return {name for name, _ in _OLE2_KINDS if name.encode("utf-16-le") in data}


def _zip_format(data: bytes) -> Format:
    archive = _zip(data)
    if archive is None:
        return "zip"  # truncated or damaged; the reader reports it
    lowered = {name.replace("\\", "/").lower() for name in archive.namelist()}
    if "xl/workbook.xml" in lowered:
        _sniffed.workbook = (data, archive)
        return "xlsx"
    archive.close()  # only a workbook's archive is kept for its reader
    if "xl/workbook.bin" in lowered:
        return "xlsb"
    if "word/document.xml" in lowered:
        return "docx"
    if "ppt/presentation.xml" in lowered:
        return "pptx"
    if "content.xml" in lowered:
        return "ods"  # OpenDocument (ods/odt): not our format either way
    if "ofd.xml" in lowered:
        return "ofd"  # Chinese e-invoice/document format
    return "zip"


def _ole2_format(data: bytes) -> Format:
    names = ole2_names(data)
    for name, kind in _OLE2_KINDS:
        if name in names:
            return kind
    return "ole2"


def _text_format(data: bytes) -> Format:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<html", b"<!doctype html", b"<table", b"mime-version")):
        return "html"  # "Excel" exports that are really web pages
    if head.startswith(b"<?xml"):
        return "xml"  # e.g. Excel 2003 XML spreadsheet
    if head.startswith(b"{\\rtf"):
        return "rtf"
    return "unknown"


def sniff(data: bytes) -> Format:
    """The container format of ``data`` from its first bytes (and zip/OLE2 directory)."""
    if data.startswith(ZIP_MAGICS):
        return _zip_format(data)
    if data.startswith(OLE2_MAGIC):
        return _ole2_format(data)
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(_IMAGE_MAGICS) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return "image"
    if data.startswith(_ARCHIVE_MAGICS):
        return "archive"
    if data.startswith(TNEF_MAGIC):
        return "tnef"
    return _text_format(data)


def archive_kind(data: bytes) -> str:
    """``'RAR'``, ``'7z'``, ... for an archive we cannot open; ``'压缩'`` when unknown."""
    for magic, name in ARCHIVE_KINDS:
        if data.startswith(magic):
            return name
    return "压缩"
