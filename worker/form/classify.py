"""Sorting a mail's attachments: the form, things that should have been the form, noise.

The caller (mail processing) turns "unsupported" into UNSUPPORTED_ATTACHMENT when no
form came along, and drops "other" silently (signature images, calendar invites,
winmail.dat).  Bytes outrank names and Content-Types, which mail clients get wrong.
"""

from __future__ import annotations

import io
import re
from typing import Literal

from worker.filetypes import SPREADSHEET_TYPES
from worker.form.reader import suffix
from worker.form.sniff import Format, sniff

AttachmentKind = Literal["form", "unsupported", "other"]

#: Images this small are logos and signature pictures, not a photo of a form.
INLINE_IMAGE_MAX = 20 * 1024

FORM_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlt", ".xlsb", ".et", ".ett",
                           ".ods", ".csv"})
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".webp"}
)
UNSUPPORTED_SUFFIXES = IMAGE_SUFFIXES | {
    ".doc", ".docx", ".docm", ".dot", ".dotx", ".wps", ".wpt", ".rtf", ".odt",
    ".pdf", ".ofd", ".numbers", ".pages", ".ppt", ".pptx", ".dps",
    ".zip", ".rar", ".7z", ".gz", ".tgz", ".tar", ".bz2", ".xz",
}  # fmt: skip
OTHER_SUFFIXES = frozenset(
    {".ics", ".vcs", ".vcf", ".dat", ".txt", ".html", ".htm", ".mht", ".eml", ".msg",
     ".p7s", ".p7m", ".sig", ".asc", ".xml", ".json", ".log"}
)  # fmt: skip
_WORD_SUFFIXES = frozenset({".doc", ".docx", ".docm", ".dot", ".dotx", ".wps", ".wpt"})
_PPT_SUFFIXES = frozenset({".ppt", ".pptx", ".dps"})

_UNSUPPORTED_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/kswps",
        "application/zip",
        "application/x-zip-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/x-7z-compressed",
    }
)
_APPLE_DOUBLE = b"\x00\x05\x16\x07"
_EXCEL_XML = re.compile(rb"progid=.Excel\.Sheet|urn:schemas-microsoft-com:office:spreadsheet")
_FORM_LIKE_NAME = re.compile(r"申请|发票|开票|报名|学员|名单|表")
_INLINE_NAME = re.compile(r"^(?:image\d|img\d|outlook-|~wrd|att\d|未命名|图片\d)")
_FORM_FORMATS = frozenset({"xlsx", "xlsb", "xls", "ods"})
_UNSUPPORTED_FORMATS = frozenset({"docx", "pptx", "ofd", "doc", "ppt", "pdf", "archive", "rtf"})
_SHEET_TYPES = frozenset({"text/csv", "application/csv", "text/comma-separated-values",
                          "application/vnd.oasis.opendocument.spreadsheet"})


def classify_attachment(filename: str | None, content_type: str, data: bytes,
                        *, kind: Format | None = None) -> AttachmentKind:
    """ "form", "unsupported" (a document that is not our form) or "other" (ignore it).

    ``kind``: what ``sniff(data)`` already said, if the caller has it."""
    ext = suffix(filename)
    if kind is None:
        kind = sniff(data) if data else "unknown"
    if kind in _FORM_FORMATS:
        return "form"
    if _leftover(filename, data):
        return "unsupported"  # only said when no form came along
    if kind == "xml" and _EXCEL_XML.search(data[:4096]):
        return "form"  # Excel's "XML 表格 2003" (.xml): read_form says to save it as .xlsx
    if kind == "encrypted":  # encrypted OOXML hides which app made it; trust the name
        return "unsupported" if ext in _WORD_SUFFIXES | _PPT_SUFFIXES else "form"
    if kind == "ole2":
        return "form" if ext in FORM_SUFFIXES and _xlrd_opens(data) else "unsupported"
    if kind == "zip":
        return "form" if ext in FORM_SUFFIXES else "unsupported"  # a damaged xlsx
    if kind in _UNSUPPORTED_FORMATS:
        return "unsupported"
    if kind == "image":
        return _image_kind(filename, data)
    return _by_name_or_type(filename, ext, content_type, data)


def _leftover(filename: str | None, data: bytes) -> bool:
    """Files a desktop leaves next to the form, attached or zipped along with it: the
    owner file Excel and WPS keep while the form is open (``~$申请表.xlsx``, ~160
    bytes) and macOS's resource fork (``._申请表.xlsx``, AppleDouble).  Never the form:
    beside it nothing to tell the unit about, alone the attachment that should have been
    it (not a "damaged file")."""
    name = re.split(r"[/\\]", filename or "")[-1]
    if name.startswith("~$"):
        return True
    return name.startswith("._") and data.startswith(_APPLE_DOUBLE)


def _by_name_or_type(filename: str | None, ext: str, content_type: str, data: bytes) -> AttachmentKind:
    """No telling magic bytes: the name decides, then the Content-Type."""
    if ext in FORM_SUFFIXES:
        return "form"  # read_form explains what is wrong with it
    if ext in IMAGE_SUFFIXES:
        return _image_kind(filename, data)
    if ext in UNSUPPORTED_SUFFIXES:
        return "unsupported"
    if ext in OTHER_SUFFIXES:
        return "other"
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype in SPREADSHEET_TYPES or ctype in _SHEET_TYPES:
        return "form"
    if ctype.startswith("image/"):
        return _image_kind(filename, data)
    if ctype in _UNSUPPORTED_TYPES:
        return "unsupported"
    return "other"


def _image_kind(filename: str | None, data: bytes) -> AttachmentKind:
    """Small or signature-named pictures are decoration; others may be a photo of the
    form, and so is a picture of any size named like it (申请表.jpg, 发票申请.png: a
    screenshot compresses small), which the unit must hear is not the form."""
    name = (filename or "").strip().lower()
    if name and _FORM_LIKE_NAME.search(name):
        return "unsupported"
    if len(data) <= INLINE_IMAGE_MAX or not name or _INLINE_NAME.match(name):
        return "other"
    return "unsupported"


def _xlrd_opens(data: bytes) -> bool:
    """Whether an OLE2 file without a Workbook stream is still a sheet xlrd reads (WPS .et)."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO())
    except Exception:  # anything xlrd cannot open is not a form we can read
        return False
    book.release_resources()
    return True
