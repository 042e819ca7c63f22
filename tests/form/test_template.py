"""The shipped blank form: it looks like the official one and parses back."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.builders.form import DEFAULT_VALUES, VALID_TAX_ID, make_id_number
from tests.builders.formulas import HOSTILE, formula_cells
from worker.form import HEADER_FIELDS, read_form, write_blank_form
from worker.form.labels import split_label
from worker.form.template import DEFAULT_TITLE


@pytest.fixture
def blank(tmp_path: Path) -> Path:
    path = tmp_path / "申请表.xlsx"
    write_blank_form(path)
    return path


def test_blank_form_parses_back(blank: Path) -> None:
    form = read_form(blank.name, blank.read_bytes())
    assert form.header == {key: "" for key in HEADER_FIELDS}
    assert form.lines == []
    assert form.has_total_row
    assert form.total_count is None and form.total_amount is None


def test_blank_form_layout(blank: Path) -> None:
    ws = load_workbook(blank).active
    assert ws.title == "申请表"
    assert ws["A1"].value == DEFAULT_TITLE
    values = [[cell.value for cell in row] for row in ws.iter_rows()]
    header_row = next(i for i, row in enumerate(values) if row[:2] == ["序号", "姓名"])
    assert values[header_row][:6] == ["序号", "姓名", "身份证号", "订单号", "培训年度", "金额（元）"]
    numbers = [row[0] for row in values[header_row + 1 : header_row + 31]]
    assert numbers == list(range(1, 31))
    assert values[header_row + 31][0] == "合计"
    # 18-digit IDs and order numbers stay text when typed in
    assert ws.cell(row=header_row + 2, column=3).number_format == "@"
    assert ws.cell(row=header_row + 2, column=4).number_format == "@"
    assert ws.column_dimensions["C"].width >= 18
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == f"${header_row + 1}:${header_row + 1}"


def test_blank_form_drop_downs(tmp_path: Path) -> None:
    path = tmp_path / "blank.xlsx"
    write_blank_form(path, districts=["武清区", "宝坻区"], title="2019年申请表")
    ws = load_workbook(path).active
    assert ws["A1"].value == "2019年申请表"
    lists = {dv.formula1 for dv in ws.data_validations.dataValidation if dv.type == "list"}
    assert '"增值税普通发票,增值税专用发票"' in lists
    assert '"合并开具,每人一张"' in lists
    assert '"武清区,宝坻区"' in lists


def test_notes_never_read_as_labels(blank: Path) -> None:
    ws = load_workbook(blank).active
    label_cells = [
        cell.value
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and split_label(cell.value)
    ]
    assert len(label_cells) == len(HEADER_FIELDS)
    assert all(split_label(text)[1] is None for text in label_cells)  # type: ignore[index]


def _fill(path: Path, values: dict[str, str], lines: list[list[object]], total: list) -> None:
    """Fill the blank form as a person would: type next to each label, then the table."""
    book = load_workbook(path)
    ws = book.active
    for row in ws.iter_rows():
        for cell in row:
            found = split_label(cell.value) if isinstance(cell.value, str) else None
            if found and found[0] in values:
                ws.cell(row=cell.row, column=cell.column + 1, value=values[found[0]])
    first = next(r for r in range(1, 60) if ws.cell(row=r, column=1).value == 1)
    for offset, line in enumerate(lines):
        for col, value in enumerate(line, start=2):
            ws.cell(row=first + offset, column=col, value=value)
    total_row = next(r for r in range(1, 80) if ws.cell(row=r, column=1).value == "合计")
    ws.cell(row=total_row, column=2, value=total[0])
    ws.cell(row=total_row, column=6, value=total[1])
    book.save(path)


def test_filled_blank_form(blank: Path) -> None:
    ids = [make_id_number(seq=1), make_id_number(seq=2)]
    lines = [
        ["王伟", ids[0], "201800000000001", 2018, 150],
        ["李娜", ids[1], "201800000000002", "2016", "150.00"],
    ]
    _fill(blank, DEFAULT_VALUES, lines, [2, 300])
    form = read_form(blank.name, blank.read_bytes())
    assert form.header == {
        **{key: "" for key in HEADER_FIELDS},
        **DEFAULT_VALUES,
    }
    assert form.header["tax_id"] == VALID_TAX_ID
    assert [(ln.seq, ln.name, ln.id_number, ln.year) for ln in form.lines] == [
        (1, "王伟", ids[0], 2018),
        (2, "李娜", ids[1], 2016),
    ]
    assert (form.total_count, form.total_amount) == (2, Decimal("300.00"))


def test_blank_form_holds_no_formula_whatever_the_config_says(tmp_path: Path) -> None:
    """Title and district names come from config; even hostile ones are text."""
    path = tmp_path / "form.xlsx"
    write_blank_form(path, title=HOSTILE[0], districts=("武清区", '=1+"x"', "@SUM(1)"))
    assert formula_cells(path) == []
    ws = load_workbook(path).active
    assert ws["A1"].value == HOSTILE[0] and ws["A1"].data_type == "s"
    (districts,) = [dv for dv in ws.data_validations.dataValidation if "武清区" in dv.formula1]
    assert districts.formula1 == '"武清区,=1+""x"",@SUM(1)"'  # one quoted list literal
