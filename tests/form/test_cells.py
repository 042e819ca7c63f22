"""Cell values as the unit sees them (issue 9, kind 7)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from tests.builders.form import build_form_xls, build_form_xlsx, default_header, form_grid, make_line
from tests.builders.formats import grid_to_ods
from worker.form import read_form
from worker.form.cells import (
    ShownWhole,
    cell_amount,
    cell_int,
    cell_text,
    cell_year,
    excel_general,
    id_text,
    order_text,
)


@pytest.mark.parametrize(("value", "shown"), [
    (120114198503031008.0, "1.20114E+17"),   # an 18-digit ID typed into a number cell
    (1.20114198503031e17, "1.20114E+17"),
    (120000000000000000.0, "1.2E+17"),       # trailing zeros dropped, as Excel does
    (99999999999999999.0, "1E+17"),          # rounding up moves the exponent
    (120114850303070.0, "1.20115E+14"),      # a 15-digit (first-generation) ID
    (123456789012.0, "1.23457E+11"),         # 12 digits no longer fit
    (12345678901.0, "12345678901"),          # 11 digits still do
    (150.0, "150"),
    (-120114198503031008.0, "-1.2011E+17"),
])
def test_excel_general(value: float, shown: str) -> None:
    assert excel_general(value) == shown


def test_id_text_keeps_exact_integers_and_text() -> None:
    assert id_text(120101198001010018) == "120101198001010018"  # some writers store ints
    assert id_text(" 12010119800101001x ") == "12010119800101001X"
    assert id_text(1.2010119800101e17) == "1.20101E+17"


@pytest.mark.parametrize("build", [build_form_xlsx, build_form_xls])
def test_an_id_typed_as_a_number_reads_as_excel_shows_it(build) -> None:
    line = make_line(1, id_number="120114198503030701")
    form = read_form("a.x", build(default_header(), [line], layout="numbers"))
    assert form.lines[0].id_number == "1.20114E+17"


@pytest.mark.parametrize(("code", "shown"), [
    ("0", "120114198503031000"),       # 数值, 0 位小数: 15 digits, rounded, then zeros
    ("0_ ", "120114198503031000"),     # the same as Chinese Excel and WPS write it
    ("General", "1.20114E+17"),
    ("0.00", "1.20114E+17"),           # not a whole-number format: General's text stands
])
def test_an_id_in_a_whole_number_format_reads_as_its_digits(code: str, shown: str) -> None:
    """The sheet shows 120114198503031000 (Excel keeps 15 digits), so that is what a
    reason quotes; General shows 1.20114E+17."""
    from openpyxl import load_workbook

    line = make_line(1, id_number="120114198503030701")
    book = load_workbook(io.BytesIO(build_form_xlsx(default_header(), [line], layout="numbers")))
    for row in book.active.iter_rows():
        for cell in row:
            if isinstance(cell.value, float) and cell.value > 1e17:
                cell.number_format = code
    out = io.BytesIO()
    book.save(out)
    assert read_form("a.xlsx", out.getvalue()).lines[0].id_number == shown


# A number typed into a date-formatted cell (the template's column, the format painter):
# the sheet shows 1905/7/10, the file holds 2018.
YEAR_AS_DATE = dt.datetime(1905, 7, 10)
FEE_AS_DATE = dt.datetime(1900, 5, 29)            # 150
CENTS_AS_DATE = dt.datetime(1900, 8, 27, 8, 24)   # 240.35


@pytest.mark.parametrize(("value", "year", "amount"), [
    (YEAR_AS_DATE, 2018, Decimal("2018.00")),
    (YEAR_AS_DATE.date(), 2018, Decimal("2018.00")),           # a reader giving a date
    (FEE_AS_DATE, 150, Decimal("150.00")),
    (CENTS_AS_DATE, None, Decimal("240.35")),                  # not a whole number of years
    (dt.datetime(1900, 1, 1), 1, Decimal("1.00")),             # Excel's day 1
    (dt.datetime(1900, 3, 1), 61, Decimal("61.00")),           # after its 1900-02-29
    (dt.datetime(1909, 12, 31, 23, 45, 36), None, Decimal("3653.99")),
    (dt.datetime(1910, 1, 1), None, None),                     # a date someone typed
    (dt.datetime(1899, 12, 31), None, None),                   # no number shows as it
    (dt.datetime(1, 1, 1), None, None),                        # an ODS date-value can be
    (dt.date(2018, 1, 1), None, None),                          # "2018-1" becomes this
    (dt.datetime(1905, 7, 10, tzinfo=dt.UTC), None, None),
    (dt.time(12, 0), None, None),
    (dt.timedelta(days=2018), None, None),
])
def test_a_number_in_a_date_format_is_the_number(value: object, year: int | None,
                                                 amount: Decimal | None) -> None:
    assert cell_int(value) == year
    assert cell_amount(value) == amount


def _build_ods(header: dict[str, object], lines: list[dict[str, object]], **kw: object) -> bytes:
    return grid_to_ods(form_grid(header, lines, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("build", [build_form_xlsx, build_form_xls, _build_ods])
def test_year_and_fee_in_date_formatted_cells_read_as_typed(build) -> None:
    """What Excel and WPS save: the serial number with a date style. Read as the numbers
    the unit typed; a real date in the year column is its year (a ``yyyy`` format shows
    2018 for it), its text kept for quoting."""
    lines = [make_line(1, year=YEAR_AS_DATE, amount=FEE_AS_DATE),
             make_line(2, year=dt.datetime(2018, 1, 1), amount=CENTS_AS_DATE)]
    form = read_form("a.x", build(default_header(), lines, total=None))
    first, second = form.lines
    assert (first.year, first.amount) == (2018, Decimal("150.00"))
    assert (second.year, second.year_raw) == (2018, "2018-01-01")
    assert second.amount == Decimal("240.35")


@pytest.mark.parametrize(("value", "year"), [
    (dt.datetime(2018, 1, 1), 2018),            # yyyy-formatted, or "2018-1" as typed
    (dt.date(2018, 3, 5), 2018),
    (dt.datetime(2018, 1, 1, tzinfo=dt.UTC), 2018),
    (YEAR_AS_DATE, 2018),                        # a number in a date format
    (dt.datetime(1, 1, 1), None),                # an ODS date before any sheet's day 1
    ("2018年度", 2018), (2018, 2018), (None, None),
    # the note units add to 补训 lines: the year, the note kept in year_raw
    ("2017（补训）", 2017), ("2017年补训", 2017), ("补训2017", 2017), ("2016年度(补训)", 2016),
    # not one year and a note: unreadable, FEE_MISMATCH says how to write it
    ("2016-2017", None), ("2017年3月", None), ("补训", None), ("二〇一七", None),
    ("2017年补训（2016年未参加培训）", None),
])
def test_a_year_cell(value: object, year: int | None) -> None:
    assert cell_year(value) == year


def test_a_year_with_a_note_is_read_and_quoted_as_written(fmt: str) -> None:
    build = build_form_xlsx if fmt == "xlsx" else build_form_xls
    form = read_form(f"a.{fmt}", build(default_header(), [make_line(1, year="2017（补训）")]))
    (line,) = form.lines
    assert (line.year, line.year_raw) == (2017, "2017(补训)")


def test_an_order_number_typed_into_a_number_cell_is_quoted_as_the_sheet_shows_it() -> None:
    """16+ digits in a number cell kept 15: quoted as the unit sees them, not as the
    float's binary digits (201805100930000992, which nobody typed); fewer are exact."""
    lost = 2.01805100930001e17
    assert order_text(lost, cell_text(lost)) == "2.01805E+17"
    assert order_text(ShownWhole(lost), cell_text(lost)) == "201805100930001000"
    assert order_text(201800000000001.0, cell_text(201800000000001.0)) == "201800000000001"
    assert order_text(201800000000001, "201800000000001") == "201800000000001"
    assert order_text("201805100930001234", "201805100930001234") == "201805100930001234"


@pytest.mark.parametrize(("text", "cut"), [
    ("120222198001011000", True),    # an 18-digit ID a 数值 cell kept 15 digits of
    ("201805100930001000", True),
    ("2018051009300012340", False),  # past the 15th digit not all zeros: not a cell's cut
    ("120222198001010013", False),
    ("201800000000001", False),      # 15 digits: kept exactly
    ("00120222198001011", False),    # leading zeros are not significant
    ("12022219800101100X", False),
])
def test_what_a_number_cell_leaves_of_a_long_number(text: str, cut: bool) -> None:
    from worker.text import cut_by_number_cell

    assert cut_by_number_cell(text) is cut
