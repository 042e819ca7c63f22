"""A streaming pass over an xlsx's XML parts before any parser builds values from them.

A parser materialises whole rows and every shared string before we can drop what we do
not need: one row of three million cells costs over a gigabyte, yet zips to a few
megabytes when the values vary enough to pass the ratio check.  A regex pass over the
inflated bytes (C speed, constant memory) bounds cells per row, cells per sheet and
shared strings, and refuses DOCTYPEs, which OOXML never has.

A part in another encoding than UTF-8 (which no spreadsheet program writes, but XML
allows) would hide every tag from these byte patterns, so it is converted to UTF-8
first and the converted copy is what the scan counts and the reader reads.

Counting is done a chunk at a time with C-level list counts; only a chunk where a row
could pass 16384 cells or where the row limit is reached is walked tag by tag, so the
outcome is the same as counting every tag in order.
"""

from __future__ import annotations

import re
import zipfile
from functools import lru_cache

from worker.errors import FormUnreadable
from worker.form.limits import FormLimits
from worker.form.zipmember import deflate_stream, deflated, read_member

EXCEL_MAX_COLUMNS = 16384  # no valid row has more cells than Excel has columns
UNSAFE_XML = "附件无法打开：文件含有不安全的 XML 内容"
TOO_MANY_CELLS = "附件无法打开：表格单元格数量异常"

PREFIX = rb"(?:[A-Za-z_][\w.\-]*:)?"  # an element's namespace prefix, if it has one
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.\-]*:")


def pair(template: bytes, flags: int = 0) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """``template`` compiled for unprefixed elements only and for any prefix (``{P}``).

    Nearly every part names its elements without a prefix; a pattern without the
    optional prefix group is two to four times faster.
    """
    return (re.compile(template.replace(b"{P}", b""), flags),
            re.compile(template.replace(b"{P}", PREFIX), flags))


_NAME = re.compile(rb"[A-Za-z_][\w.\-]*")
_FEW_COLONS = 32


def prefixed(xml: bytes, start: int = 0, stop: int | None = None) -> bool:
    """Whether an element in ``xml[start:stop]`` is written with a namespace prefix.

    A prefix needs a colon: without one (a memchr, not a regex stop at every tag) the
    answer is no.  A part's few colons (its ``xmlns`` URIs) are looked at one by one: a
    ``_PREFIXED`` match ending at a colon can only start at the last '<' before it (a
    name holds no '<'), so the regex need not try every tag of the part; past a few
    colons (times in text, say) the regex decides.
    """
    stop = len(xml) if stop is None else stop
    colon = xml.find(b":", start, stop)
    for _ in range(_FEW_COLONS):
        if colon < 0:
            return False
        tag = xml.rfind(b"<", start, colon)
        if tag >= 0 and _NAME.fullmatch(xml, tag + 1, colon) is not None:
            return True
        colon = xml.find(b":", colon + 1, stop)
    return colon >= 0 and _PREFIXED.search(xml, start, stop) is not None


_TAG = pair(rb"<{P}(row|c|si)(?=[\s/>])")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CHUNK = 1 << 20
_DECLARED = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)[\"']")
_DECLARATION = re.compile(r"^\ufeff?<\?xml[^>]*\?>")
_CARRY = 64  # longer than any tag we look for, so none is split between chunks


def scan_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: FormLimits) -> bytes | None:
    """Raise FormUnreadable if this XML part carries a DTD or too many cells/strings.

    Returns the part's bytes when it fits in one chunk (so a reader need not inflate it
    again) or had to be converted to UTF-8 (then as ``Converted``), else None.  Nothing
    is inflated much past the size the directory declares, which check_zip bounded
    (``read_member``; ``ZipExtFile.read(n)`` chunk by chunk below).
    Raises ValueError for an encoding that cannot be decoded.
    """
    if info.file_size <= _REMEMBERED_SIZE and info.compress_size <= _REMEMBERED_STREAM:
        stream = deflate_stream(archive, info)
        if stream is not None:
            vetted = _vetted(stream, info.file_size, info.CRC, limits.max_rows, limits.max_cells)
            if vetted is not None:
                return vetted
    content = None
    if info.file_size <= _CHUNK:
        content = as_utf8(read_member(archive, info))
    else:
        with archive.open(info) as member:
            if encoding(member.read(256)) != "utf-8":
                content = as_utf8(read_member(archive, info))
    if content is not None:
        if len(content) <= _REMEMBERED_SIZE:
            _scan_remembered(content, limits)
        else:
            _scan_whole(content, limits)
        return content
    counter = _Counter(limits)
    carry = b""
    with archive.open(info) as member:
        while True:
            chunk = member.read(_CHUNK)
            buffer = carry + chunk
            if _DTD.search(buffer):
                raise FormUnreadable(UNSAFE_XML)
            end = max(0, len(buffer) - _CARRY) if chunk else len(buffer)
            tag = _TAG[1]
            tags = tag.findall(buffer)
            if end < len(buffer):  # tags that start in the carried tail are counted next time
                del tags[len(tags) - len(tag.findall(buffer, end)):]
            if counter.seen_all(tags):
                return None  # past max_rows: the reader cuts the sheet there too
            if not chunk:
                return None
            carry = buffer[end:]


def _scan_whole(content: bytes, limits: FormLimits) -> None:
    """Raise FormUnreadable if a part held whole carries a DTD or too many cells/strings."""
    # Both start with "<!": a byte search (a sheet has none but CDATA and comments) spares
    # the regex's pass over the whole part.
    if b"<!" in content and _DTD.search(content):
        raise FormUnreadable(UNSAFE_XML)
    named = prefixed(content)
    if not named and _below_limits(content, limits):
        return
    _Counter(limits).seen_all(_TAG[named].findall(content))


def _below_limits(content: bytes, limits: FormLimits) -> bool:
    """Whether a part without prefixed elements has too few ``<c`` and ``<si`` to pass
    any limit the tags are counted for: every cell tag starts with ``<c``, every string
    with ``<si`` (some other tags too, so the counts are upper bounds), and a part of at
    most ``min(max_cells, EXCEL_MAX_COLUMNS)`` cells fits every row and the sheet.
    Two C-speed counts, where listing the tags (``_TAG``) took five times as long; none
    for a part too short to hold that many (each ``<c`` takes two bytes, each ``<si``
    three: a sheet under 32 KB cannot pass 16,384 cells)."""
    cells = min(limits.max_cells, EXCEL_MAX_COLUMNS)
    if len(content) // 2 <= cells and len(content) // 3 <= limits.max_cells:
        return True
    return content.count(b"<c") <= cells and content.count(b"<si") <= limits.max_cells


# Most parts of a form are byte for byte those of the last form from the same program
# (theme, styles, relationships, content types): a small part that passed is not
# scanned again.  Keyed by the whole content, never a checksum; a refusal is not kept.
_REMEMBERED_SIZE = 32 * 1024
_scan_remembered = lru_cache(maxsize=128)(_scan_whole)
# A small part is remembered by its deflate stream too: the same stream, size and CRC
# inflate to the same bytes (keyed by the whole stream, never its checksum), so a part
# seen before costs one lookup, not an inflate, a look at its encoding and a scan.
_REMEMBERED_STREAM = 8 * 1024


@lru_cache(maxsize=128)
def _vetted(stream: bytes, size: int, crc: int, max_rows: int, max_cells: int) -> bytes | None:
    """A small part's bytes as ``scan_member`` returns them, from its deflate stream
    (``zipmember.deflate_stream``); None when the stream does not inflate to ``size``
    bytes with ``crc`` (``zipfile`` decides then).  The scan reads only ``max_rows`` and
    ``max_cells`` of the limits (``_Counter``, ``_below_limits``): they are the key, not
    the whole FormLimits (whose hash is a Python-level call).  Raises as ``_scan_whole``
    and ``as_utf8`` do; a refusal is not remembered."""
    data = deflated(stream, size, crc)
    if data is None:
        return None
    content = as_utf8(data)
    _scan_whole(content, _scan_limits(max_rows, max_cells))
    return content


@lru_cache(maxsize=8)
def _scan_limits(max_rows: int, max_cells: int) -> FormLimits:
    """Limits with these two (all the scan reads), made once: a frozen dataclass's
    ``__init__`` costs more than the lookup."""
    return FormLimits(max_rows=max_rows, max_cells=max_cells)


def encoding(head: bytes) -> str:
    """The encoding an XML document's first bytes declare (XML 1.0, appendix F)."""
    if head.startswith((b"\xff\xfe", b"<\x00")):
        return "utf-16-le"
    if head.startswith((b"\xfe\xff", b"\x00<")):
        return "utf-16-be"
    found = _DECLARED.match(head)
    name = found.group(1).decode().lower() if found else "utf-8"
    return "utf-8" if name in ("utf-8", "utf8") else name


class Converted(bytes):
    """A part's bytes converted to UTF-8: a reader must be given these, not the stored ones."""


def as_utf8(content: bytes) -> bytes:
    """The document in UTF-8, its declaration saying so.  Raises ValueError (LookupError,
    UnicodeDecodeError) for an encoding Python does not know or bytes that break it."""
    codec = encoding(content[:256])
    if codec == "utf-8":
        return content
    text = content.decode(codec)
    text = _DECLARATION.sub('<?xml version="1.0" encoding="UTF-8"?>', text.lstrip("\ufeff"), 1)
    return Converted(text.encode())


class _Counter:
    """Running counts for one XML part."""

    def __init__(self, limits: FormLimits) -> None:
        self.limits = limits
        self.rows = 0
        self.in_row = 0
        self.cells = 0
        self.strings = 0

    def seen_all(self, tags: list[bytes]) -> bool:
        """Count a chunk's tags in order; True when the rest of the part does not matter."""
        rows = tags.count(b"row")
        cells = tags.count(b"c")
        if self.rows + rows > self.limits.max_rows or self.in_row + cells > EXCEL_MAX_COLUMNS:
            return any(self.seen(tag) for tag in tags)  # the exact order matters here
        self.rows += rows
        self.cells += cells
        self.strings += len(tags) - rows - cells
        if rows:  # cells after the chunk's last row tag belong to the row still open
            self.in_row = tags[len(tags) - tags[::-1].index(b"row"):].count(b"c")
        else:
            self.in_row += cells
        if self.cells > self.limits.max_cells or self.strings > self.limits.max_cells:
            raise FormUnreadable(TOO_MANY_CELLS)
        return False

    def seen(self, tag: bytes) -> bool:
        """Count one tag; True when the rest of the part does not matter."""
        if tag == b"row":
            self.rows += 1
            self.in_row = 0
            return self.rows > self.limits.max_rows
        if tag == b"c":
            self.in_row += 1
            self.cells += 1
            if self.in_row > EXCEL_MAX_COLUMNS or self.cells > self.limits.max_cells:
                raise FormUnreadable(TOO_MANY_CELLS)
            return False
        self.strings += 1
        if self.strings > self.limits.max_cells:
            raise FormUnreadable(TOO_MANY_CELLS)
        return False
