"""A payment export's rows as its file holds them: CSV (any delimiter, Excel's
``sep=`` line), .xlsx (vetted as a unit's form is), .xls, or a web page saved as .xls;
``worker.payments`` reads the records out of them."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from typing import TypeVar

from worker.errors import FormUnreadable, PaymentFileError
from worker.form.body import html_table_sheet
from worker.form.delimited import decode_text
from worker.form.limits import FormLimits
from worker.form.sniff import OLE2_MAGIC, sniff
from worker.form.xlsx import check_zip

_S = TypeVar("_S")
# An HTML export is read whole by the form's table reader; a year's payments fit.
# A season's export, not a unit's form: far more rows, but a workbook still has to pass
# the form reader's zip vetting (size inflated, compression ratio, encryption, members,
# unsafe XML) before openpyxl opens it: a 1.5 MB upload that inflates to 1.5 GB took
# 3 GB of memory and 20 s, then failed with a misleading message.
_LIMITS = FormLimits(max_rows=500_000, max_cols=50, max_uncompressed=256 * 1024 * 1024)
# Excel's first line naming the delimiter of a CSV it should open (``sep=;``).
_SEP_LINE = re.compile(r"sep=(.)[ \t]*(?:\r\n|\r|\n|$)", re.IGNORECASE)


def table_rows(name: str, data: bytes) -> Iterator[tuple[int, list[object]]]:
    """(line number, cells) of the export ``name``, by what its bytes are (not its
    name: platforms call a CSV or a web page .xls). Raises PaymentFileError when the
    file as a whole cannot be read."""
    if data[:4] == b"PK\x03\x04":
        return _xlsx_rows(name, data)
    if data[:8] == OLE2_MAGIC:
        return _xls_rows(name, data)
    if sniff(data) == "html":
        return _html_rows(name, data)
    return _csv_rows(name, data)


def _csv_rows(name: str, data: bytes) -> Iterator[tuple[int, list[object]]]:
    text = decode_text(data)
    first = 1
    sep = _SEP_LINE.match(text)
    if sep:  # Excel's "sep=;" line: the delimiter is named, not guessed
        text, first = text[sep.end():], 2
        dialect: type[csv.Dialect] | csv.Dialect = csv.excel
        delimiter = sep.group(1)
    else:
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        delimiter = dialect.delimiter
    reader = csv.reader(io.StringIO(text), dialect, delimiter=delimiter)
    try:
        for lineno, row in enumerate(reader, start=first):
            yield lineno, list(row)
    except csv.Error as e:  # a NUL, a stray quote: the file as a whole is unusable
        raise PaymentFileError(f"{name}:{reader.line_num + first - 1}: 无法按 CSV 读取（{e}）") from e


def _xlsx_rows(name: str, data: bytes) -> Iterator[tuple[int, list[object]]]:
    from openpyxl import load_workbook

    try:
        check_zip(data, _LIMITS)
    except FormUnreadable as e:
        raise PaymentFileError(f"{name}: 不是可读取的 .xlsx 文件（{e.detail}）") from e
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many unrelated types on bad files
        raise PaymentFileError(f"{name}: 不是可读取的 .xlsx 文件（{e}）") from e
    try:
        ws = _first_visible(name, wb.worksheets, lambda sheet: sheet.sheet_state == "visible")
        rows = ws.iter_rows(values_only=True)  # read as iterated: a broken sheet fails here
        for lineno in itertools.count(1):
            try:
                row = next(rows)
            except StopIteration:
                break
            except Exception as e:  # a malformed sheet (a bad tag, an undefined entity)
                raise PaymentFileError(f"{name}: 不是可读取的 .xlsx 文件（第 {lineno} 行附近已损坏："
                                       f"{e}）") from e
            yield lineno, list(row)
    finally:
        wb.close()


def _html_rows(name: str, data: bytes) -> Iterator[tuple[int, list[object]]]:
    """An "Excel" export that is a web page (an HTML table named .xls), as web platforms
    write them; read as the form reader reads one (``worker.form.body``)."""
    sheet = html_table_sheet(decode_text(data), _LIMITS)
    if sheet is None:
        raise PaymentFileError(f"{name}: 是一个没有表格的网页，不是培训平台的导出文件")
    if sheet.truncated:
        raise PaymentFileError(f"{name}: 超过 {_LIMITS.max_rows} 行")
    for lineno, row in enumerate(sheet.rows, start=1):
        yield lineno, list(row)


def _first_visible(name: str, sheets: list[_S], visible: Callable[[_S], bool]) -> _S:
    """The export's sheet: the first one shown.  A hidden sheet before it holds the
    lists behind drop-downs (WPS, Excel templates), never the records."""
    if not sheets:
        raise PaymentFileError(f"{name}: 工作簿中没有工作表")
    return next((sheet for sheet in sheets if visible(sheet)), sheets[0])


def _xls_rows(name: str, data: bytes) -> Iterator[tuple[int, list[object]]]:
    """Excel 97-2003 exports (some platform versions still write them)."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
        sheet = _first_visible(name, [book.sheet_by_index(i) for i in range(book.nsheets)],
                               lambda sheet: sheet.visibility == 0)
    except Exception as e:  # xlrd raises bare Exceptions for bad files
        raise PaymentFileError(f"{name}: 不是可读取的 .xls 文件（{e}）") from e
    for r in range(sheet.nrows):
        cells: list[object] = []
        for cell in sheet.row(r):
            if cell.ctype == xlrd.XL_CELL_DATE:
                cells.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
            else:
                cells.append(cell.value)
        yield r + 1, cells
