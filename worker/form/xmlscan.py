"""A streaming pass over an xlsx's XML parts before openpyxl builds objects from them.

openpyxl materialises a whole ``<row>`` element, and every shared string, before we
can drop what we do not need: one row of three million cells costs over a gigabyte,
yet zips to a few megabytes when the values vary enough to pass the ratio check.  A
regex pass over the inflated bytes (C speed, constant memory) bounds cells per row,
cells per sheet and shared strings, and refuses DOCTYPEs, which OOXML never has.
"""

from __future__ import annotations

import re
import zipfile

from worker.errors import FormUnreadable
from worker.form.limits import FormLimits

EXCEL_MAX_COLUMNS = 16384  # no valid row has more cells than Excel has columns
UNSAFE_XML = "附件无法打开：文件含有不安全的 XML 内容"
TOO_MANY_CELLS = "附件无法打开：表格单元格数量异常"

_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(row|c|si)(?=[\s/>])")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CHUNK = 1 << 20
_CARRY = 64  # longer than any tag we look for, so none is split between chunks


def scan_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: FormLimits) -> None:
    """Raise FormUnreadable if this XML part carries a DTD or too many cells/strings."""
    counter = _Counter(limits)
    carry = b""
    with archive.open(info) as member:
        while True:
            chunk = member.read(_CHUNK)
            buffer = carry + chunk
            if _DTD.search(buffer):
                raise FormUnreadable(UNSAFE_XML)
            end = max(0, len(buffer) - _CARRY) if chunk else len(buffer)
            for match in _TAG.finditer(buffer):
                if match.start() >= end:
                    break
                if counter.seen(match.group(1)):
                    return  # past max_rows: openpyxl will not read further either
            if not chunk:
                return
            carry = buffer[end:]


class _Counter:
    """Running counts for one XML part."""

    def __init__(self, limits: FormLimits) -> None:
        self.limits = limits
        self.rows = 0
        self.in_row = 0
        self.cells = 0
        self.strings = 0

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
