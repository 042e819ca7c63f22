"""The writer: text stays text (IDs, formulas), amounts are numbers with two decimals."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from worker.reports import ReportError, write
from worker.reports.sheet import Column, Kind, Report

ID = "12022219800101001X"
LONG_DIGITS = "120222198001010011"


def sample() -> Report:
    return Report("t", "测试", [Column("身份证号"), Column("单位"), Column("金额", Kind.MONEY),
                               Column("日期", Kind.DATE), Column("时间", Kind.DATETIME),
                               Column("人数", Kind.INT)],
                  [[LONG_DIGITS, "=HYPERLINK(\"http://x\",\"点我\")", Decimal("150"),
                    date(2018, 9, 3), datetime(2018, 9, 3, 10, 15), 3],
                   [ID, "-1+2", Decimal("1234.5"), None, None, None]])


def test_xlsx_keeps_text_as_text_and_amounts_as_numbers(tmp_path: Path) -> None:
    ws = load_workbook(write(sample(), tmp_path / "r.xlsx")).active
    assert [c.value for c in ws[1]] == ["身份证号", "单位", "金额", "日期", "时间", "人数"]
    digits, formula, amount, day, moment, count = ws[2]
    assert (digits.value, digits.data_type, digits.number_format) == (LONG_DIGITS, "s", "@")
    assert formula.data_type == "s" and formula.value.startswith("=HYPERLINK")  # not a formula
    assert (amount.value, amount.data_type, amount.number_format) == (150, "n", "0.00")
    assert day.value == datetime(2018, 9, 3) and day.number_format == "yyyy-mm-dd"
    assert moment.value == datetime(2018, 9, 3, 10, 15) and count.value == 3
    assert ws["A3"].value == ID and ws["B3"].data_type == "s" and ws["C3"].value == 1234.5
    assert ws["D3"].value is None


def test_csv_is_utf8_with_bom_and_defuses_formulas(tmp_path: Path) -> None:
    raw = write(sample(), tmp_path / "r.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[1] == [LONG_DIGITS, "'=HYPERLINK(\"http://x\",\"点我\")", "150.00", "2018-09-03",
                       "2018-09-03 10:15:00", "3"]
    assert rows[2][:3] == [ID, "'-1+2", "1234.50"]


def test_other_suffixes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"\.xlsx or \.csv"):
        write(sample(), tmp_path / "r.xls")
    assert not list(tmp_path.iterdir())
