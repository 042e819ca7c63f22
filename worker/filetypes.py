"""Content types mail clients give spreadsheets: the message stage uses them to find
attachments, the form stage to classify them; one list so the two never disagree."""

from __future__ import annotations

from pathlib import PurePath

SPREADSHEET_TYPES = frozenset({
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel.sheet.macroenabled.12",
    "application/x-xls",
    "application/x-excel",
    "application/excel",
    "application/msexcel",
    "application/vnd.ms-office",
    "application/kset",  # WPS 表格 (.et)
    "application/wps-office.et",
    "application/wps-office.xls",
    "application/wps-office.xlsx",
})

#: Names of files that are, or may hold, an application form: spreadsheets in every
#: format a unit can send, and the containers forms travel in.
FORM_CARRIER_SUFFIXES = frozenset({
    ".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlt", ".xlsb", ".et", ".ett", ".ods",
    ".csv", ".zip", ".rar", ".7z", ".dat",
})
_FORM_CARRIER_MAGICS = (
    b"PK\x03\x04",  # xlsx, ods, zip
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # xls, et, encrypted xlsx
    b"\x78\x9f\x3e\x22",  # winmail.dat
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
)


def may_carry_form(filename: str | None, content_type: str, data: bytes) -> bool:
    """Whether a file is, or may hold, a spreadsheet (by name, type or first bytes).

    Cheap and generous: it only decides that subject words alone must not ignore the
    mail (issue 9); the form stage decides what the file really is."""
    suffix = PurePath((filename or "").strip()).suffix.lower()
    ctype = content_type.split(";", 1)[0].strip().lower()
    return (suffix in FORM_CARRIER_SUFFIXES or ctype in SPREADSHEET_TYPES
            or ctype in ("application/ms-tnef", "application/vnd.ms-tnef", "text/csv",
                         "application/vnd.oasis.opendocument.spreadsheet")
            or data.startswith(_FORM_CARRIER_MAGICS))
