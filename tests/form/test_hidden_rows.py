"""Rows the sheet hides (an AutoFilter showing one unit's staff of a district-wide list,
a trainee "removed" by hiding the row): the unit neither sees nor prints them, so they
are never read as its lines, and their trainees are named (HIDDEN_ROWS), never invoiced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest

from tests.builders.form import GridSheet, grid_to_xls, grid_to_xlsx, make_id_number, rewrite_xlsx
from tests.builders.formats import grid_to_ods
from tests.form.util import TABLE_HEADER
from worker.form import FormLimits, read_form
from worker.form.xlsxsheet import bound_sheet

HEAD = [["单位名称", "某某公司", None, "所属区", "武清区"], []]
NAMES = ("王伟", "外单位甲", "李娜", "外单位乙")
LINES = [[n, name, make_id_number(seq=n), f"20180000000000{n}", "2018", "150"]
         for n, name in enumerate(NAMES, start=1)]
# rows 1-2 header block, 3 table header, 4-7 lines: the filter hides rows 5 and 7
FILTERED = {5, 7}

WRITERS: dict[str, Callable[[list[GridSheet]], bytes]] = {
    "xlsx": grid_to_xlsx,
    "xls": grid_to_xls,
    "ods": lambda sheets: grid_to_ods(sheets, tail_rows=10),
}


def _sheet(*extra: list[object], hidden: set[int] = FILTERED) -> list[GridSheet]:
    return [GridSheet("申请表", [*HEAD, list(TABLE_HEADER), *LINES, *extra], hidden_rows=set(hidden))]


@pytest.mark.parametrize("fmt", WRITERS)
def test_filtered_rows_are_not_lines_and_are_named(fmt: str) -> None:
    form = read_form(f"form.{fmt}", WRITERS[fmt](_sheet()), FormLimits())
    assert [ln.name for ln in form.lines] == ["王伟", "李娜"]
    assert form.hidden_rows == [5, 7]


@pytest.mark.parametrize("fmt", WRITERS)
def test_total_the_unit_sees_matches_the_lines_read(fmt: str) -> None:
    """SUBTOTAL under a filter shows the visible rows' count and sum: what is read."""
    form = read_form(f"form.{fmt}", WRITERS[fmt](_sheet(["合计", "2人", None, None, None, 300])),
                     FormLimits())
    assert (len(form.lines), form.total_count, form.total_amount) == (2, 2, Decimal("300.00"))


def test_hidden_empty_row_or_note_does_not_end_the_lines() -> None:
    """What the unit does not see cannot end its list: a hidden empty row or note is skipped."""
    rows = [*HEAD, list(TABLE_HEADER), LINES[0], [], ["注：本行已作废"], LINES[2]]
    data = grid_to_xlsx([GridSheet("申请表", rows, hidden_rows={5, 6})])
    form = read_form("form.xlsx", data, FormLimits())
    assert [ln.name for ln in form.lines] == ["王伟", "李娜"]
    assert form.hidden_rows == []  # nobody hidden: nothing to tell the unit


def test_a_sheet_without_hidden_rows_has_none() -> None:
    form = read_form("form.xlsx", grid_to_xlsx(_sheet(hidden=set())), FormLimits())
    assert len(form.lines) == 4 and form.hidden_rows == []


def test_hidden_rows_survive_the_rewrite_of_an_unusual_sheet() -> None:
    """A sheet whose rows lack their ``r`` is rewritten before calamine reads it
    (xlsxsheet._rewrite): the rows it hides must still be known."""
    def without_row_refs(xml: bytes) -> bytes:  # the row numbers follow the previous one
        changed = re.sub(rb'<row r="\d+"( [^>]*hidden="1")', rb"<row\1", xml)
        assert changed != xml
        return changed

    data = rewrite_xlsx(grid_to_xlsx(_sheet()), {"xl/worksheets/sheet1.xml": without_row_refs})
    form = read_form("form.xlsx", data, FormLimits())
    assert [ln.name for ln in form.lines] == ["王伟", "李娜"]
    assert form.hidden_rows == [5, 7]


@pytest.mark.parametrize("attribute", [b'hidden="1"', b'hidden="true"', b"hidden='1'"])
def test_bound_sheet_reads_every_spelling_of_hidden(attribute: bytes) -> None:
    xml = (b'<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
           b'<row r="2" ' + attribute + b'><c r="A2"><v>2</v></c></row>'
           b'<row r="3" hidden="0"><c r="A3"><v>3</v></c></row></sheetData></worksheet>')
    assert bound_sheet(xml, FormLimits()).hidden_rows == frozenset({1})
