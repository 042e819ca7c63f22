"""A finance report as one table, written as xlsx (openpyxl) or CSV by the file's suffix.

Text stays text: order numbers, 18-character ID numbers and tax IDs are written as
strings (an xlsx string cell, ``@`` format, so Excel neither rounds 120222198001010011
to 1.20222E+17 nor turns a leading ``=`` into a formula). Amounts are numbers with two
decimals (``0.00``), dates and times are Asia/Shanghai local, as finance reads them.
CSV is UTF-8 with a BOM, which Excel needs to read Chinese; open it as data, not by
double-click, when IDs must stay text (CSV has no cell types).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter

from worker import sheets
from worker.errors import WorkerError


class Kind(StrEnum):
    TEXT = "text"
    MONEY = "money"
    INT = "int"
    DATE = "date"
    DATETIME = "datetime"


FORMATS = {Kind.TEXT: "@", Kind.MONEY: "0.00", Kind.INT: "0", Kind.DATE: "yyyy-mm-dd",
           Kind.DATETIME: "yyyy-mm-dd hh:mm:ss"}


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = Kind.TEXT
    width: int = 14


@dataclass
class Report:
    name: str                     # ledger, queue, payments, audit
    title: str                    # the sheet's title: 开票台账
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)


class ReportError(WorkerError):
    """Raised for a report that cannot be written (unknown suffix, unwritable path)."""


def put(cell: Cell, value: Any, kind: Kind) -> None:
    """Write one cell: THE one place every report cell goes through (a guard against
    formula injection belongs here). Text is stored as a string cell whatever it starts
    with; money as a number with two decimals; times as local naive date-times."""
    if value is None or value == "":
        cell.value = None
    elif kind is Kind.TEXT:
        sheets.put(cell.parent, cell.row, cell.column, str(value))  # never a formula
    elif kind is Kind.MONEY:
        cell.value = Decimal(value).quantize(Decimal("0.01"))
    else:
        cell.value = value
    cell.number_format = FORMATS[kind]


def csv_text(value: Any, kind: Kind) -> str:
    """One CSV field; text that a spreadsheet would run as a formula gets a leading
    apostrophe (OWASP's CSV-injection advice), amounts two decimals."""
    if value is None:
        return ""
    if kind is Kind.MONEY:
        return f"{Decimal(value):.2f}"
    if kind is Kind.DATE and isinstance(value, date):
        return value.isoformat()
    if kind is Kind.DATETIME and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return sheets.csv_field(str(value)) if kind is Kind.TEXT else str(value)


def xlsx_bytes(report: Report) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = report.title[:31]
    for c, column in enumerate(report.columns, start=1):
        ws.cell(row=1, column=c, value=column.title)
        ws.column_dimensions[get_column_letter(c)].width = column.width
    for r, row in enumerate(report.rows, start=2):
        for c, (column, value) in enumerate(zip(report.columns, row, strict=True), start=1):
            put(ws.cell(row=r, column=c), value, column.kind)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(report: Report) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c.title for c in report.columns])
    for row in report.rows:
        writer.writerow([csv_text(v, c.kind) for c, v in zip(report.columns, row, strict=True)])
    return buf.getvalue().encode("utf-8-sig")


def render(report: Report, suffix: str) -> bytes:
    """The file's bytes for ``.xlsx`` or ``.csv``; ReportError for anything else."""
    if suffix.lower() == ".xlsx":
        return xlsx_bytes(report)
    if suffix.lower() == ".csv":
        return csv_bytes(report)
    raise ReportError(f"report files end in .xlsx or .csv, not {suffix or '(nothing)'!r}")


def write(report: Report, path: Path) -> Path:
    """Write atomically (a half-written file never has the final name)."""
    data = render(report, path.suffix)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as e:
        raise ReportError(f"cannot write {path}: {e}") from e
    return path
