"""Read the platform's failure workbook for a batch (导入失败明细: 流水号 + reason).

No official description of this file was found. A public parser of it (Python,
``parse_failure_workbook``) finds the header row among the first rows of every sheet
by labels — ``发票流水号``, ``发票类型``, ``购买方名称``, ``购买方纳税人识别号`` and a
reason column titled ``导入失败原因`` / ``失败原因`` / ``错误原因`` / ``导入结果`` — and
reasons are prefixed with the sheet they concern (``2-发票明细信息:税率…``). This
reader does the same, tolerantly: on every sheet (visible or not), the first row within
``HEADER_SCAN_ROWS`` that has a 流水号 label and a reason label is the header; rows
below it with both a 流水号 and a reason are failures; a blank row ends nothing (the
platform may leave gaps), the sheet's end does.

The file is read through ``worker.form.reader.read_sheets``: the same zip-bomb,
entity and size limits as a unit's application form, .xlsx or .xls alike.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from worker.errors import FailureWorkbookUnreadable, FormUnreadable
from worker.form.cells import Sheet, cell_text
from worker.form.limits import FormLimits
from worker.form.reader import read_sheets
from worker.tax.model import FailedRow
from worker.text import normalize, number_text

HEADER_SCAN_ROWS = 20
MAX_REASON = 500  # a platform reason is one sentence; longer text is cut, not trusted
SERIAL_LABELS = ("发票流水号", "流水号", "开票流水号")
REASON_LABELS = ("导入失败原因", "失败原因", "错误原因", "错误信息", "错误描述", "失败描述", "失败信息",
                 "导入结果", "原因")
BUYER_LABELS = ("购买方名称",)
_SPACE = re.compile(r"\s+")
_HINT = re.compile(r"[(（][^()（）]*[)）]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SERIAL = re.compile(r"[A-Za-z0-9]{1,20}")


def _label(value: object) -> str:
    """A header cell as its label: the first line, without a bracketed hint
    (``发票流水号（必填）``, ``发票流水号\n必填（限20字符）``), spaces, stars, colons."""
    text = cell_text(value).split("\n", 1)[0]
    return _SPACE.sub("", _HINT.sub("", text)).strip("*＊:：")


def _find(header: list[str], labels: tuple[str, ...], *, prefix: bool = False) -> int | None:
    """The column titled with one of ``labels`` (the more specific first); ``prefix``:
    also one titled a label and more (失败原因说明)."""
    for wanted in labels:
        for index, text in enumerate(header):
            if text == wanted:
                return index
    if prefix:
        for wanted in labels:
            for index, text in enumerate(header):
                if text.startswith(wanted) and len(wanted) >= 4:
                    return index
    return None


def _rows_of(sheet: Sheet) -> list[FailedRow]:
    for number, row in enumerate(sheet.rows[:HEADER_SCAN_ROWS], 1):
        header = [_label(v) for v in row]
        serial_col, reason_col = _find(header, SERIAL_LABELS), _find(header, REASON_LABELS, prefix=True)
        if serial_col is None or reason_col is None:
            continue
        buyer_col = _find(header, BUYER_LABELS)
        found = []
        for offset, data in enumerate(sheet.rows[number:], number + 1):
            def at(col: int | None, data: tuple[object, ...] = data) -> str:
                if col is None or col >= len(data):
                    return ""
                value = data[col]  # the platform's words as written (no NFKC for text)
                return value if isinstance(value, str) else cell_text(value)

            # 流水号 typed or pasted: full-width letters, invisible characters, a ' prefix
            serial = number_text(normalize(at(serial_col)))
            reason = _CONTROL.sub("", at(reason_col)).strip()
            if not serial:
                if reason:  # a reason with no 流水号 (a formula, or a blank): not silently dropped
                    raise FailureWorkbookUnreadable(
                        f"失败明细第 {offset} 行有失败原因，但没有可读的发票流水号")
                continue
            # A listed row failed, even when the platform's reason cell is blank (or a
            # formula with no value): it is reported with that said, never skipped.
            reason = reason or "失败明细中未写明失败原因"
            found.append(FailedRow(serial=serial, reason=reason[:MAX_REASON], sheet=sheet.title,
                                   row=offset, buyer_name=at(buyer_col).strip()))
        return found
    return []


def read_failures(data: bytes, filename: str | None = None,
                  limits: FormLimits | None = None) -> list[FailedRow]:
    """Every failed row of every sheet, in file order; FailureWorkbookUnreadable when
    the file cannot be opened or no sheet has a 流水号 and a reason column."""
    try:
        sheets = read_sheets(filename, data, limits or FormLimits())
    except FormUnreadable as e:
        raise FailureWorkbookUnreadable(f"失败明细无法打开：{e.detail}") from e
    rows: list[FailedRow] = []
    headed = False
    for sheet in sheets:
        found = _rows_of(sheet)
        headed = headed or bool(found) or _has_header(sheet)
        rows += found
    if not headed:
        raise FailureWorkbookUnreadable("不是税务平台的失败明细：找不到“发票流水号”和“失败原因”列")
    bad = [r for r in rows if not _SERIAL.fullmatch(r.serial)]
    if bad:
        raise FailureWorkbookUnreadable(
            f"失败明细第 {bad[0].row} 行的发票流水号“{bad[0].serial[:30]}”不是本系统的流水号格式"
        )
    return rows


def _has_header(sheet: Sheet) -> bool:
    return any(
        _find(h, SERIAL_LABELS) is not None and _find(h, REASON_LABELS, prefix=True) is not None
        for h in ([_label(v) for v in row] for row in sheet.rows[:HEADER_SCAN_ROWS])
    )


def reasons_by_serial(rows: Iterable[FailedRow]) -> dict[str, list[str]]:
    """流水号 -> its distinct reasons in order (one invoice may fail on several lines)."""
    out: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row.reason not in out[row.serial]:
            out[row.serial].append(row.reason)
    return dict(out)
