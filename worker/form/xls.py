"""Reading Excel 97-2003 .xls (and WPS .et, the same format) with xlrd."""

from __future__ import annotations

import io
from typing import Any

from worker.errors import FormUnreadable
from worker.form.cells import Row, Sheet, trim
from worker.form.limits import FormLimits
from worker.form.xlsx import CORRUPT, ENCRYPTED


def read_xls(data: bytes, limits: FormLimits) -> list[Sheet]:
    """All worksheets' values, bounded like .xlsx; sheets are loaded one at a time."""
    import xlrd

    log = io.StringIO()  # xlrd writes warnings to stdout by default
    try:
        # formatting_info: xlrd reads the ROW records (which rows are hidden) only then
        book = xlrd.open_workbook(file_contents=data, on_demand=True, ragged_rows=True, logfile=log,
                                  formatting_info=True)
    except xlrd.XLRDError as e:
        if "encrypted" in str(e).lower():
            raise FormUnreadable(ENCRYPTED) from e
        book = _without_formatting(data, log)
    except Exception:  # third-party boundary: try once more without the formatting
        book = _without_formatting(data, log)
    try:
        if book.nsheets > limits.max_sheets:
            raise FormUnreadable(f"附件中的工作表过多（超过 {limits.max_sheets} 个）")
        sheets = []
        for index in range(book.nsheets):
            sheets.append(_read_sheet(book, index, limits))
            book.unload_sheet(index)
        return sheets
    except FormUnreadable:
        raise
    except Exception as e:
        raise FormUnreadable(CORRUPT) from e
    finally:
        book.release_resources()


def _without_formatting(data: bytes, log: io.StringIO) -> Any:
    """The workbook without its formatting records, for a file whose formatting xlrd
    cannot read (its values may still be readable: hidden rows are then not known)."""
    import xlrd

    try:
        return xlrd.open_workbook(file_contents=data, on_demand=True, ragged_rows=True, logfile=log)
    except Exception as e:  # third-party boundary: any failure is "cannot open"
        raise FormUnreadable(CORRUPT) from e


def _read_sheet(book: Any, index: int, limits: FormLimits) -> Sheet:
    sheet = book.sheet_by_index(index)
    nrows = min(sheet.nrows, limits.max_rows)
    ncols = min(sheet.ncols, limits.max_cols)
    rows = [_row(book, sheet.row_types(r, 0, ncols), sheet.row_values(r, 0, ncols)) for r in range(nrows)]
    return Sheet(
        title=str(sheet.name),
        rows=rows,
        truncated=sheet.nrows > limits.max_rows,
        hidden=bool(getattr(sheet, "visibility", 0)),
        hidden_rows=frozenset(r for r, info in getattr(sheet, "rowinfo_map", {}).items()
                              if r < nrows and getattr(info, "hidden", 0)),
    )


def _row(book: Any, types: list[int], values: list[object]) -> Row:
    import xlrd

    out: list[object] = []
    for kind, value in zip(types, values, strict=False):
        if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
            out.append(None)
        elif kind == xlrd.XL_CELL_DATE:
            try:
                out.append(xlrd.xldate_as_datetime(value, book.datemode))
            except Exception:  # out-of-range serials stay numbers
                out.append(value)
        elif kind == xlrd.XL_CELL_BOOLEAN:
            out.append(bool(value))
        else:
            out.append(value)
    return trim(out)
