"""``worker.sheets``: the one way text goes into a spreadsheet we write."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from tests.builders.formulas import HOSTILE, formula_cells
from worker.sheets import csv_row, put, put_row


def _saved(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_the_check_sees_a_formula_written_the_naive_way() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws["A1"] = HOSTILE[0]
    assert formula_cells(_saved(wb)) == ["Sheet!A1", "xl/worksheets/sheet1.xml: <f>"]


def test_hostile_text_is_stored_as_the_same_text_never_a_formula() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row, text in enumerate(HOSTILE, start=1):
        put(ws, row, 1, text)
    put(ws, 1, 2, "赵玥")
    data = _saved(wb)
    assert formula_cells(data) == []
    back = load_workbook(io.BytesIO(data)).active
    assert back is not None
    # (an XML reader gives a CR back as LF: line-end normalisation, not our change)
    assert [back.cell(r, 1).value for r in range(1, len(HOSTILE) + 1)] == [
        t.replace("\r", "\n") for t in HOSTILE]
    assert all(back.cell(r, 1).quotePrefix for r in range(1, len(HOSTILE) + 1))
    assert back["B1"].value == "赵玥" and not back["B1"].quotePrefix


def test_numbers_stay_numbers_and_control_characters_do_not_break_the_file() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    put_row(ws, 1, [-5, 150.5, Decimal("12.00"), date(2018, 9, 3), None, "张\x00三\x1b", True])
    back = load_workbook(io.BytesIO(_saved(wb))).active
    assert back is not None
    row = [c.value for c in back[1]]
    assert row[:3] == [-5, 150.5, 12] and [c.data_type for c in back[1]][:3] == ["n"] * 3
    assert row[3].date() == date(2018, 9, 3) and row[4] is None
    assert row[5] == "张三" and row[6] is True


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_fields_get_owasps_quote(text: str) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerow(csv_row([text, "赵玥", -2, Decimal("150.00")]))
    (row,) = list(csv.reader(io.StringIO(buf.getvalue())))
    assert row == ["'" + text, "赵玥", "-2", "150.00"]
