"""The application form (线上缴费发票申请表): classify attachments, parse forms, write blanks.

Everything that touches spreadsheet bytes from a mailbox goes through here; every
third-party failure leaves as FormUnreadable with a Chinese detail for the reply.
"""

from __future__ import annotations

from worker.form.classify import AttachmentKind, classify_attachment
from worker.form.labels import HEADER_FIELDS, LINE_COLUMNS
from worker.form.limits import DEFAULT_LIMITS, FormLimits
from worker.form.model import Line, ParsedForm
from worker.form.reader import read_form

__all__ = [
    "DEFAULT_LIMITS",
    "HEADER_FIELDS",
    "LINE_COLUMNS",
    "AttachmentKind",
    "FormLimits",
    "Line",
    "ParsedForm",
    "classify_attachment",
    "read_form",
    "write_blank_form",
]


def __getattr__(name: str) -> object:
    """``write_blank_form`` on first use: it writes with openpyxl, which reading a form no
    longer needs (importing it costs 0.2 s and 16 MB in every intake process)."""
    if name == "write_blank_form":
        from worker.form.template import write_blank_form

        return write_blank_form
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
