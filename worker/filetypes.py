"""Content types mail clients give spreadsheets: the message stage uses them to find
attachments, the form stage to classify them; one list so the two never disagree."""

from __future__ import annotations

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
