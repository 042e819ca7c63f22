"""The manifest as a workbook a courier's office can print as it is: title block, one
row per parcel, a totals row with values (not formulas, so every reader sees them), a
signature line, and a print setup (A4 landscape, one page wide, header row repeated).

Every cell is written with ``worker.sheets.put``: a recipient, phone or address from a
unit's mail is text in the workbook, never a formula (formula injection)."""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from worker.manifest.sheet import HEADERS, ManifestSheet
from worker.sheets import put

WIDTHS = (6, 18, 10, 15, 46, 10, 6, 10, 14)
TEXT, WEIGHT, MONEY = "@", "0.000", "#,##0.00"
FORMATS = (None, TEXT, TEXT, TEXT, TEXT, TEXT, "0", WEIGHT, MONEY)
"""Waybills and phones as text: Excel must not turn 13820000001 into 1.38E+10."""

FONT = "宋体"
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="D9D9D9")
FIRST_TABLE_ROW = 5


def manifest_xlsx(sheet: ManifestSheet) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"取件清单{sheet.number}"
    last_col = get_column_letter(len(HEADERS))
    _title_block(ws, sheet, last_col)
    header_row = FIRST_TABLE_ROW
    for col, name in enumerate(HEADERS, start=1):
        cell = put(ws, header_row, col, name)
        cell.font = Font(name=FONT, bold=True)
        cell.fill = HEAD_FILL
        cell.border = BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    row = header_row
    for p in sheet.parcels:
        row += 1
        values = (p.seq, p.waybill, p.recipient, p.phone, p.address, p.district, p.pieces,
                  p.weight_kg, p.postage)
        for col, value in enumerate(values, start=1):
            cell = put(ws, row, col, value)
            cell.font = Font(name=FONT)
            cell.border = BOX
            cell.alignment = Alignment(vertical="center", wrap_text=col == 5)
            if FORMATS[col - 1]:
                cell.number_format = FORMATS[col - 1]
    total_row = row + 1
    _totals(ws, sheet, total_row)
    _signatures(ws, total_row + 2, last_col)
    for col, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    _print_setup(ws, sheet, header_row, total_row + 3, last_col)
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _title_block(ws: Worksheet, sheet: ManifestSheet, last_col: str) -> None:
    ws.merge_cells(f"A1:{last_col}1")
    put(ws, 1, 1, sheet.title)
    ws["A1"].font = Font(name=FONT, size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    lines = (
        f"清单号：第{sheet.number}号    取件日期：{sheet.pickup_date.isoformat()}    "
        f"共 {len(sheet.parcels)} 件    到付合计：{sheet.postage:,.2f} 元",
        f"寄件人：{sheet.sender_name}    电话：{sheet.sender_phone}    地址：{sheet.sender_address}",
    )
    for row, text in enumerate(lines, start=2):
        ws.merge_cells(f"A{row}:{last_col}{row}")
        put(ws, row, 1, text).font = Font(name=FONT, size=11)


def _totals(ws: Worksheet, sheet: ManifestSheet, row: int) -> None:
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
    put(ws, row, 1, f"合计（共 {len(sheet.parcels)} 件）")
    values = {7: sheet.pieces, 8: sheet.weight_kg, 9: sheet.postage}
    for col in range(1, len(HEADERS) + 1):
        cell = put(ws, row, col, values[col]) if col in values else ws.cell(row, col)
        if col in values:
            cell.number_format = FORMATS[col - 1] or "General"
        cell.font = Font(name=FONT, bold=True)
        cell.border = BOX
        cell.fill = HEAD_FILL
    ws.cell(row, 1).alignment = Alignment(horizontal="right")


def _signatures(ws: Worksheet, row: int, last_col: str) -> None:
    ws.merge_cells(f"A{row}:{last_col}{row}")
    put(ws, row, 1, "取件人签字：__________________    取件时间：______年____月____日____时____分"
                     "    寄件人签字：__________________").font = Font(name=FONT, size=11)
    ws.row_dimensions[row].height = 28
    ws.cell(row, 1).alignment = Alignment(vertical="bottom")


def _print_setup(ws: Worksheet, sheet: ManifestSheet, header_row: int, last_row: int,
                 last_col: str) -> None:
    ws.print_area = f"A1:{last_col}{last_row}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddHeader.center.text = f"{sheet.title} 第{sheet.number}号"
    ws.oddFooter.center.text = "第 &P 页 / 共 &N 页"
