"""Reading OpenDocument spreadsheets (.ods: LibreOffice, and WPS's "OpenDocument 表格").

The zip is vetted like an xlsx (``check_zip``: member count, inflated size, ratio, no
DTD) and ``content.xml`` is streamed with defusedxml, keeping at most ``max_rows`` rows
of ``max_cols`` cells: ``number-rows-repeated``/``number-columns-repeated`` (a sheet's
empty tail is one row repeated a million times) are expanded only within those bounds.
Element and attribute names follow ODF 1.2 part 1, section 9 (tables).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

from worker.errors import FormUnreadable
from worker.form.cells import Row, Sheet, trim
from worker.form.limits import FormLimits
from worker.form.xlsx import CORRUPT, check_zip
from worker.form.xmlscan import UNSAFE_XML

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
T_TABLE, T_ROW, T_CELL, T_COVERED = (f"{{{_TABLE}}}{n}" for n in
                                     ("table", "table-row", "table-cell", "covered-table-cell"))
T_P = f"{{{_TEXT}}}p"
A_NAME, A_ROWS, A_COLS, A_VISIBILITY = (f"{{{_TABLE}}}{n}" for n in
                                        ("name", "number-rows-repeated", "number-columns-repeated",
                                         "visibility"))
#: ODF 1.2 19.749 table:visibility of a row the unit does not see: filtered out by an
#: AutoFilter, or hidden by hand / in a collapsed group.
_UNSEEN = ("filter", "collapse")
A_TYPE, A_VALUE, A_DATE, A_BOOL = (f"{{{_OFFICE}}}{n}" for n in
                                   ("value-type", "value", "date-value", "boolean-value"))


def read_ods(data: bytes, limits: FormLimits) -> list[Sheet]:
    """All tables' values, each bounded to max_rows x max_cols."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    check_zip(data, limits)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("content.xml") as xml:
            return _sheets(iterparse(xml, events=("start", "end")), limits)
    except FormUnreadable:
        raise
    except DefusedXmlException as e:
        raise FormUnreadable(UNSAFE_XML) from e
    except Exception as e:  # third-party boundary: a broken part is "cannot open"
        raise FormUnreadable(CORRUPT) from e


def _count(element: Any, name: str, cap: int) -> int:
    try:
        return max(1, min(int(element.get(name, "1")), cap))
    except ValueError:
        return 1


def _value(cell: Any) -> object:
    kind = cell.get(A_TYPE)
    if kind in ("float", "percentage", "currency"):
        try:
            return float(cell.get(A_VALUE, ""))
        except ValueError:
            pass
    if kind == "boolean":
        return cell.get(A_BOOL) == "true"
    if kind == "date":
        # ODF 1.2 19.372: an ISO 8601 date or date-time, as xlsx and xls dates are read
        # (a number in a date-formatted cell is one: worker.form.cells._typed_number)
        value = cell.get(A_DATE)
        try:
            return dt.datetime.fromisoformat(value) if value else value
        except ValueError:
            return value  # a date Python cannot hold (year 0, a time zone): its text
    text = "\n".join("".join(p.itertext()) for p in cell.iter(T_P))
    return text or None


def _sheets(events: Any, limits: FormLimits) -> list[Sheet]:
    sheets: list[Sheet] = []
    rows: list[Row] = []
    row: list[object] = []
    hidden: set[int] = set()
    truncated = False
    for event, element in events:
        tag = element.tag
        if event == "start":
            if tag == T_TABLE:
                if len(sheets) >= limits.max_sheets:
                    raise FormUnreadable(f"附件中的工作表过多（超过 {limits.max_sheets} 个）")
                rows, hidden, truncated = [], set(), False
            elif tag == T_ROW:
                row = []
            continue
        if tag in (T_CELL, T_COVERED):
            room = limits.max_cols - len(row)
            if room > 0:
                row.extend([_value(element) if tag == T_CELL else None]
                           * _count(element, A_COLS, room))
            element.clear()
        elif tag == T_ROW:
            trimmed = trim(row)
            repeat = _count(element, A_ROWS, limits.max_rows + 1)
            if trimmed:  # empty rows repeated to the end of the sheet are not materialised
                unseen = element.get(A_VISIBILITY) in _UNSEEN
                for _ in range(repeat):
                    if len(rows) >= limits.max_rows:
                        truncated = True
                        break
                    if unseen:
                        hidden.add(len(rows))
                    rows.append(trimmed)
            elif len(rows) < limits.max_rows:
                rows.extend([()] * min(repeat, limits.max_rows - len(rows)))
            element.clear()
        elif tag == T_TABLE:
            while rows and not rows[-1]:
                rows.pop()
            sheets.append(Sheet(str(element.get(A_NAME) or f"Sheet{len(sheets) + 1}"), rows,
                                truncated, hidden_rows=frozenset(hidden)))
            element.clear()
    return sheets
