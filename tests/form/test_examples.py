"""A template's 填写说明 sheet with a filled-in 填写示例 table, and its example line in
the table itself: never read as the unit's trainees."""

from __future__ import annotations

import pytest

from tests.builders.form import (
    GridSheet,
    default_header,
    form_grid,
    grid_to_xls,
    grid_to_xlsx,
    make_id_number,
    make_lines,
)
from tests.form.util import TABLE_HEADER
from worker.form import read_form

WRITERS = {"xlsx": grid_to_xlsx, "xls": grid_to_xls}
EXAMPLE_LINE = [1, "张三", make_id_number(seq=99), "201803011234567", 2018, 150]


def _instructions(title: str = "填写说明", mark: str | None = "填写示例：",
                  header: bool = False) -> GridSheet:
    sheet = GridSheet(title)
    sheet.add("1. 请完整填写单位信息和学员信息，身份证号、订单号请设置为文本格式。")
    sheet.add("2. 订单号可在培训网“我的订单”中查看。")
    if header:
        sheet.add("单位名称", "某某单位", None, "经办人", "张三")
    sheet.add()
    if mark is not None:
        sheet.add(mark)
    sheet.add(*TABLE_HEADER)
    sheet.add(*EXAMPLE_LINE)
    return sheet


@pytest.mark.parametrize("fmt", WRITERS)
@pytest.mark.parametrize(("title", "mark"), [
    ("填写说明", "填写示例："),  # named so and marked so
    ("Sheet1", "填写示例："),   # only marked above its table
    ("填写示例", None),        # only named so
])
def test_the_form_is_read_not_the_example_sheet_before_it(fmt: str, title: str,
                                                          mark: str | None) -> None:
    data = WRITERS[fmt]([_instructions(title, mark), *form_grid(default_header(), make_lines(3))])
    form = read_form(f"a.{fmt}", data)
    assert form.sheet == "申请表"
    assert [line.name for line in form.lines] == ["王伟", "李娜", "张敏"]


def test_an_example_sheets_labels_do_not_fill_in_the_form() -> None:
    """Labels on another sheet are read (a cover page may hold them), but the example's
    经办人 (张三) must not stand in for the one the form left out: FORM_INCOMPLETE says so."""
    sheets = [_instructions(header=True), *form_grid(default_header(contact=None), make_lines(1))]
    form = read_form("a.xlsx", grid_to_xlsx(sheets))
    assert "contact" not in form.header


def test_a_sheet_with_the_header_block_beats_a_bare_table_before_it() -> None:
    """Not named nor marked as an example, a bare table before the form (a scratch
    list) still loses to the sheet that names the unit (单位名称, 所属区)."""
    scratch = GridSheet("Sheet1", [list(TABLE_HEADER), EXAMPLE_LINE])
    form = read_form("a.xlsx", grid_to_xlsx([scratch, *form_grid(default_header(), make_lines(2))]))
    assert form.sheet == "申请表" and len(form.lines) == 2


def test_an_example_alone_is_still_read() -> None:
    """With nothing better, the only table is read (its checks then tell the unit)."""
    form = read_form("a.xlsx", grid_to_xlsx([_instructions()]))
    assert [line.name for line in form.lines] == ["张三"]


@pytest.mark.parametrize("fmt", WRITERS)
@pytest.mark.parametrize("word", ["例", "示例", "样例", "填写示例："])
def test_the_templates_example_line_is_not_a_trainee(fmt: str, word: str) -> None:
    (sheet,) = form_grid(default_header(), make_lines(2))
    at = sheet.rows.index(list(TABLE_HEADER)) + 1
    sheet.rows.insert(at, [word, *EXAMPLE_LINE[1:]])
    form = read_form(f"a.{fmt}", WRITERS[fmt]([sheet]))
    assert [line.name for line in form.lines] == ["王伟", "李娜"]
