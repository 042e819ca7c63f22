"""The official blank application form (``invoice-worker form-template PATH``).

Layout choices serve the parser and the people filling it in: labels sit in their own
cells with empty value cells beside them (units type over nothing, so no label is ever
overwritten), 身份证号/订单号 columns are text-formatted so Excel keeps all 18 digits,
and the notes under the 合计 row start with a number so they never read as labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from worker.fields import COLUMNS, FIELDS, Field, Group, Required
from worker.sheets import put

DEFAULT_TITLE = "2018年天津市政工专业人员继续教育网上培训线上缴费发票申请表"
BLANK_ROWS = 30
_WIDTHS = {"A": 14, "B": 12, "C": 18, "D": 22, "E": 12, "F": 16}
_NOTES = (
    "填表说明：",
    "1. 标 * 的为必填项；所属区请填写区名，如“武清区”。",
    "2. 发票类型可选“增值税普通发票”或“增值税专用发票”，不填按普通发票开具；"
    "开具专用发票须填写地址电话和开户行及账号。",
    "3. 发票抬头不填时按单位名称开具；纳税人识别号为 18 位统一社会信用代码。",
    "4. 开票方式可选“合并开具”（全部学员开一张发票）或“每人一张”，不填按合并开具。",
    "5. 订单号为学员在培训平台线上缴费的订单号；身份证号、订单号请按文本填写。",
    "6. 学习卡购买的发票请到售卡窗口开具，不在本表申请。",
    "7. 发票以快递寄回，运费到付；收件人、电话和地址也可写在邮件正文中。",
    "8. 学员超过 30 人时可在合计行上方插入行。",
)
# The header rows and the table's columns come from the field registry (worker.fields).


def _header_rows() -> list[list[Field]]:
    """The registry's fields grouped into the blank form's rows (``Field.form_row``)."""
    rows: dict[int, list[Field]] = {}
    for f in FIELDS:
        if f.form_row is not None:
            rows.setdefault(f.form_row, []).append(f)
    return [rows[n] for n in sorted(rows)]


def write_blank_form(path: str | Path, *, title: str = DEFAULT_TITLE, districts: Sequence[str] = ()) -> None:
    """Write the blank form as .xlsx; ``districts`` (from config) adds a drop-down to 所属区."""
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "申请表"
    styles = _Styles()

    ws.merge_cells("A1:F1")
    put(ws, 1, 1, title)  # from config, but still text: never a formula
    ws["A1"].font = styles.title
    ws["A1"].alignment = styles.center
    ws.row_dimensions[1].height = 36
    ws.merge_cells("A2:F2")
    put(ws, 2, 1, "（请填写完整后作为邮件附件发送至指定邮箱，并在邮件内写明收件人姓名、电话、地址；"
                  "标 * 的为必填项）")
    ws["A2"].font = styles.small
    ws["A2"].alignment = styles.center
    ws.row_dimensions[2].height = 30

    row = 3
    value_cells: dict[str, str] = {}
    for fields in _header_rows():
        if len(fields) > 2:
            raise ValueError(f"blank form row {fields[0].form_row} has more than two fields")
        left, right = fields[0], fields[1] if len(fields) == 2 else None
        _label(ws, f"A{row}", _printed(left), styles)
        _value(ws, f"B{row}", f"C{row}" if right else f"F{row}", styles)
        value_cells[left.key] = f"B{row}"
        if right:
            _label(ws, f"D{row}", _printed(right), styles)
            _value(ws, f"E{row}", f"F{row}", styles)
            value_cells[right.key] = f"E{row}"
        ws.row_dimensions[row].height = 22
        row += 1
    for f in FIELDS:
        if f.as_text and f.key in value_cells:
            ws[value_cells[f.key]].number_format = "@"

    ws.merge_cells(f"A{row}:F{row}")
    put(ws, row, 1, "学员名单（每行一人）")
    ws[f"A{row}"].font = styles.bold
    row += 1

    header_row = row
    for col, column in enumerate(COLUMNS, start=1):
        cell = put(ws, row, col, column.title)
        cell.font = styles.bold
        cell.alignment = styles.center
        cell.border = styles.border
        cell.fill = styles.fill
    first_line = row + 1
    for number in range(1, BLANK_ROWS + 1):
        row += 1
        put(ws, row, 1, number).alignment = styles.center
        for col, column in enumerate(COLUMNS, start=1):
            ws.cell(row=row, column=col).border = styles.border
            if column.number_format:
                ws.cell(row=row, column=col).number_format = column.number_format
    last_line = row

    row += 1
    put(ws, row, 1, "合计").font = styles.bold
    ws.cell(row=row, column=1).alignment = styles.center
    ws.cell(row=row, column=2).number_format = '0"人"'
    ws.cell(row=row, column=6).number_format = "0.00"
    for col in range(1, 7):
        ws.cell(row=row, column=col).border = styles.border

    row += 1
    for note in _NOTES:
        row += 1
        ws.merge_cells(f"A{row}:F{row}")
        put(ws, row, 1, note)
        ws[f"A{row}"].font = styles.small
        ws[f"A{row}"].alignment = styles.wrap
        ws.row_dimensions[row].height = 30 if len(note) > 40 else 18

    _validations(ws, value_cells, districts, first_line, last_line)
    for letter, width in _WIDTHS.items():
        ws.column_dimensions[letter].width = width
    _print_setup(ws, header_row, row)
    book.properties.title = title
    book.properties.creator = "invoice-worker"
    book.save(Path(path))


class _Styles:
    """The handful of styles the form uses, built once per workbook."""

    def __init__(self) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        thin = Side(style="thin")
        self.title = Font(name="宋体", size=16, bold=True)
        self.bold = Font(name="宋体", size=11, bold=True)
        self.small = Font(name="宋体", size=9)
        self.center = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.left = Alignment(horizontal="left", vertical="center", wrap_text=True)
        self.wrap = Alignment(horizontal="left", vertical="top", wrap_text=True)
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.fill = PatternFill("solid", fgColor="DDEBF7")


def _printed(field: Field) -> str:
    """The label as printed: '*' marks what the form itself must carry (recipients may
    come from the mail body instead)."""
    star = field.required is Required.ALWAYS and field.group is Group.HEADER
    return ("*" if star else "") + field.title


def _label(ws: Any, ref: str, text: str, styles: _Styles) -> None:
    cell = ws[ref]
    put(ws, cell.row, cell.column, text)
    cell.font = styles.bold
    cell.alignment = styles.center
    cell.border = styles.border
    cell.fill = styles.fill


def _value(ws: Any, first: str, last: str, styles: _Styles) -> None:
    ws.merge_cells(f"{first}:{last}")
    for row in ws[f"{first}:{last}"]:
        for cell in row:
            cell.border = styles.border
            cell.alignment = styles.left


def _validations(
    ws: Any,
    value_cells: dict[str, str],
    districts: Sequence[str],
    first_line: int,
    last_line: int,
) -> None:
    """Drop-downs that still accept typed values, so a typo is reported, not blocked."""
    from openpyxl.worksheet.datavalidation import DataValidation

    lists = [(value_cells[f.key], f.choices) for f in FIELDS if f.choices and f.key in value_cells]
    if districts:
        lists.append((value_cells["district"], tuple(districts)))
    for ref, options in lists:
        # a list literal: a name from config is quoted text in it ('"' doubled), not formula
        quoted = ",".join(o.replace('"', '""') for o in options)
        dv = DataValidation(type="list", formula1=f'"{quoted}"', allow_blank=True)
        dv.showErrorMessage = False
        dv.add(ref)
        ws.add_data_validation(dv)
    amounts = DataValidation(type="decimal", operator="greaterThan", formula1="0")
    amounts.error = "金额请填写数字，如 150"
    amounts.showErrorMessage = True
    amounts.errorStyle = "warning"
    amounts.add(f"F{first_line}:F{last_line}")
    ws.add_data_validation(amounts)


def _print_setup(ws: Any, header_row: int, last_row: int) -> None:
    """A4 portrait, one page wide, table header repeated on every printed page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_area = f"A1:F{last_row}"
