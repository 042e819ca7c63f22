"""``read_form``: from attachment bytes to a ParsedForm, or a FormUnreadable saying why."""

from __future__ import annotations

import re
from pathlib import PurePath

from worker.errors import FormUnreadable
from worker.form.body import html_table_sheet
from worker.form.cells import Row, Sheet, find_header
from worker.form.decrypt import decrypt_default
from worker.form.delimited import decode_text, read_csv
from worker.form.limits import DEFAULT_LIMITS, FormLimits, check_size
from worker.form.model import ParsedForm
from worker.form.ods import read_ods
from worker.form.sniff import Format, sniff
from worker.form.table import (
    Table,
    TableHeader,
    find_table_header,
    missing_columns_detail,
    parse_table,
)
from worker.form.xls import read_xls
from worker.form.xlsx import CORRUPT, ENCRYPTED, read_xlsx
from worker.text import normalize

NO_FORM = "附件中没有找到申请表（缺少“序号 姓名 身份证号 订单号 培训年度 金额”表头）"
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlt", ".et", ".ett", ".ods")
UNRECOGNISED = ("附件的文件格式无法识别（不是 Excel、WPS 表格、OpenDocument 表格或 CSV 文件），"
                "请用 Excel 或 WPS 打开后另存为 .xlsx 再发送")

# Formats named, not read: the unit is told what the file is and what to save it as.
_FORMAT_DETAILS = {
    "encrypted": ENCRYPTED,  # still encrypted after the default password: cannot happen
    "xlsb": "附件是 Excel 二进制工作簿（.xlsb），请用 Excel 另存为 .xlsx 后重新发送",
    "xml": "附件是 Excel 2003 XML 表格，请用 Excel 打开后另存为 .xlsx 后重新发送",
    "docx": "附件是 Word 文档，不是 Excel 申请表",
    "doc": "附件是 Word 文档，不是 Excel 申请表",
    "pdf": "附件是 PDF 文件，不是 Excel 申请表",
    "image": "附件是图片，不是 Excel 申请表",
}


def suffix(filename: str | None) -> str:
    """Lower-case extension of a mail attachment name ('' when absent)."""
    name = normalize(filename or "").strip("\"' ")
    return PurePath(name).suffix.lower() if name else ""


def read_form(filename: str | None, data: bytes, limits: FormLimits = DEFAULT_LIMITS,
              *, kind: Format | None = None) -> ParsedForm:
    """Parse an application form (.xlsx strict or transitional, .xlsm, .xls BIFF2-8,
    WPS .et, .ods, .csv, an HTML table saved as .xls), whatever it is named.

    The format comes from the bytes, not the name (``kind``: what ``sniff(data)``
    already said, if the caller has it).  Raises FormUnreadable with a Chinese detail
    for anything that is not a readable form within ``limits``.
    """
    check_size(data, limits)
    return build_form(read_sheets(filename, data, limits, kind=kind), limits)


def read_sheets(filename: str | None, data: bytes, limits: FormLimits,
                *, kind: Format | None = None, decrypted: bool = False) -> list[Sheet]:
    """Every sheet's bounded values, dispatching on the detected container format.

    An encrypted workbook is tried once with Excel's built-in password (``decrypt``).
    """
    if kind is None:
        kind = sniff(data)
    if kind == "encrypted" and not decrypted:
        return _read_decrypted(filename, data, limits)
    if kind == "xlsx" or (kind == "zip" and suffix(filename) in SPREADSHEET_SUFFIXES):
        return read_xlsx(data, limits)  # a damaged one fails there, with the cause chained
    if kind in ("xls", "ole2"):
        try:
            return read_xls(data, limits)
        except FormUnreadable as e:
            if e.detail != ENCRYPTED or decrypted:
                raise
            return _read_decrypted(filename, data, limits)  # BIFF8 with a FILEPASS record
    if kind == "ods":
        return read_ods(data, limits)
    if kind == "html":  # "Excel" exports from web systems: an HTML table named .xls
        sheet = html_table_sheet(decode_text(data), limits)
        if sheet is None:
            raise FormUnreadable("附件是网页格式的文件，其中没有表格，请用 Excel 另存为 .xlsx 后重新发送")
        return [sheet]
    if suffix(filename) == ".csv" and kind in ("unknown", "csv"):
        return read_csv(data, limits)
    if kind in _FORMAT_DETAILS:
        raise FormUnreadable(_FORMAT_DETAILS[kind])
    if kind == "unknown" and suffix(filename) in (".xls", ".xlt", ".et"):
        return read_xls(data, limits)  # BIFF2-4 files have no OLE2 wrapper
    if suffix(filename) in SPREADSHEET_SUFFIXES:
        raise FormUnreadable(CORRUPT)
    if kind in ("zip", "archive"):
        raise FormUnreadable("附件是压缩包，请直接附上 .xlsx 或 .xls 文件")
    raise FormUnreadable(UNRECOGNISED)


def _read_decrypted(filename: str | None, data: bytes, limits: FormLimits) -> list[Sheet]:
    plain = decrypt_default(data, limits)
    return read_sheets(filename, plain, limits, decrypted=True)


# A sheet named as instructions or an example (填写说明, 填写示例, 样表), and what marks
# the rows just above an example table (填写示例：).
_EXAMPLE_TITLE = re.compile(r"说明|示例|样例|范例|样表|模板示例")
_EXAMPLE_MARK = re.compile(r"示例|样例|范例|例如|举例")
_ABOVE = 3  # rows above a table's header looked at for such a mark


def _is_example(sheet: Sheet, header: TableHeader) -> bool:
    """Whether a table is an example of how to fill the form, not the unit's own: its
    sheet is named so, or a cell just above its header says so (填写示例：)."""
    if _EXAMPLE_TITLE.search(normalize(sheet.title)):
        return True
    return any(isinstance(value, str) and len(value) <= 40 and _EXAMPLE_MARK.search(value)
               for row in sheet.rows[max(0, header.index - _ABOVE):header.index] for value in row)


def _has_header_block(sheet: Sheet, table: Table) -> bool:
    """Whether the sheet names the applying unit (单位名称, 所属区) beside its table: the
    form itself, not a page of instructions."""
    found = find_header(_rows_outside(sheet, table.used))
    return bool(found.get("unit") or found.get("district"))


def _choose(sheets: list[Sheet], limits: FormLimits) -> tuple[Sheet, Table]:
    """The sheet holding the trainee table: visible before hidden, filled before blank,
    the unit's own before an example.

    A workbook may keep the blank template next to the filled copy, or a 填写说明 sheet
    with a filled-in 填写示例 table before the form: of the tables with lines, the first
    that is not an example and has the header block (单位名称, 所属区) wins, then the
    first not an example, then the first; else the first table found.
    """
    ordered = [s for s in sheets if not s.hidden] + [s for s in sheets if s.hidden]
    first: tuple[Sheet, Table] | None = None
    filled: list[tuple[tuple[bool, bool], Sheet, Table]] = []
    partial: TableHeader | None = None
    for sheet in ordered:
        header, near = find_table_header(sheet)
        if header is not None:
            table = parse_table(sheet, header, limits)
            if table.lines:
                if len(sheets) == 1:
                    return sheet, table  # the common case: nothing to choose between
                example = _is_example(sheet, header)
                rank = (example, example or not _has_header_block(sheet, table))
                if rank == (False, False):
                    return sheet, table
                filled.append((rank, sheet, table))
            first = first or (sheet, table)
        elif near is not None and (partial is None or len(near.missing) < len(partial.missing)):
            partial = near
    if filled:
        _, sheet, table = min(filled, key=lambda found: found[0])  # the first of the best
        return sheet, table
    if first is not None:
        return first
    if partial is not None:
        raise FormUnreadable(missing_columns_detail(partial))
    raise FormUnreadable(NO_FORM)


def build_form(sheets: list[Sheet], limits: FormLimits) -> ParsedForm:
    """Find and parse the table, then read header labels around it (and on other sheets)."""
    sheet, table = _choose(sheets, limits)
    header = find_header(_rows_outside(sheet, table.used))
    for other in sheets:
        # labels kept on a separate sheet, but never an example's (经办人：张三)
        if other is not sheet and not _EXAMPLE_TITLE.search(normalize(other.title)):
            for key, value in find_header(enumerate(other.rows)).items():
                header.setdefault(key, value)  # labels kept on a separate sheet
    return ParsedForm(
        sheet=sheet.title,
        header=header,
        lines=table.lines,
        total_count=table.total_count,
        total_amount=table.total_amount,
        has_total_row=table.has_total_row,
        below_blank=table.below_blank,
        hidden_rows=table.hidden,
    )


def _rows_outside(sheet: Sheet, used: range) -> list[tuple[int, Row]]:
    return [(i, row) for i, row in enumerate(sheet.rows) if i not in used]
