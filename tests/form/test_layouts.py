"""Every builder layout parses to the same header and lines, in .xlsx and .xls."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.builders.form import (
    DEFAULT_VALUES,
    RECIPIENT_VALUES,
    build_form_xls,
    build_form_xlsx,
    default_header,
    make_line,
    make_lines,
    rewrite_xlsx,
)
from worker.form import HEADER_FIELDS, read_form

BUILDERS = {"xlsx": build_form_xlsx, "xls": build_form_xls}
LAYOUTS = ["standard", "inline", "shuffled", "numbers", "fullwidth", "inline+fullwidth"]


def _build(fmt: str, *args: object, **kwargs: object) -> bytes:
    return BUILDERS[fmt](*args, **kwargs)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_round_trip(fmt: str, layout: str) -> None:
    lines = make_lines(4)
    data = _build(fmt, default_header(recipient=True), lines, layout=layout)
    form = read_form(f"申请表.{fmt}", data)

    assert form.header == {**DEFAULT_VALUES, **RECIPIENT_VALUES}
    assert [line.name for line in form.lines] == [line["name"] for line in lines]
    assert [line.order_no for line in form.lines] == [line["order_no"] for line in lines]
    assert all(line.year == 2018 for line in form.lines)
    assert all(line.amount == Decimal("150.00") for line in form.lines)
    if "numbers" not in layout:  # an ID typed as a number keeps only 15 digits
        assert [line.id_number for line in form.lines] == [line["id_number"] for line in lines]


@pytest.mark.parametrize("layout", ["standard", "inline", "numbers", "fullwidth"])
def test_layout_total_row(fmt: str, layout: str) -> None:
    form = read_form(f"a.{fmt}", _build(fmt, default_header(), make_lines(3), layout=layout))
    assert form.has_total_row
    assert form.total_count == 3
    assert form.total_amount == Decimal("450.00")


def test_standard_layout_line_fields(fmt: str) -> None:
    line = make_line(1, name="王 小 明", amount="160元", year="2015年")
    form = read_form(f"a.{fmt}", _build(fmt, default_header(), [line]))
    (parsed,) = form.lines
    assert parsed.seq == 1
    assert parsed.name == "王小明"
    assert parsed.id_number == line["id_number"]
    assert parsed.year == 2015
    assert parsed.year_raw == "2015年"
    assert parsed.amount == Decimal("160.00")
    assert parsed.amount_raw == "160元"
    # title, blank, 5 rows of label pairs, blank, table header: the row Excel shows
    assert parsed.row == 10


def test_shuffled_layout_reads_second_sheet_after_cover(fmt: str) -> None:
    lines = [make_line(1, 性别="男", 备注="补训"), make_line(2, 性别="女")]
    form = read_form(f"a.{fmt}", _build(fmt, default_header(), lines, layout="shuffled"))
    assert form.sheet == "申请表"
    assert [line.seq for line in form.lines] == [None, None]  # that layout has no 序号
    assert [line.name for line in form.lines] == ["王伟", "李娜"]


def test_custom_sheet_title(fmt: str) -> None:
    form = read_form(f"a.{fmt}", _build(fmt, sheet_title="Sheet1"))
    assert form.sheet == "Sheet1"
    assert len(form.lines) == 3  # builder default: 3 valid lines


def test_missing_and_empty_labels(fmt: str) -> None:
    header = default_header(contact=None, contact_phone="", buyer_name=None)
    form = read_form(f"a.{fmt}", _build(fmt, header, make_lines(1)))
    assert "contact" not in form.header
    assert "buyer_name" not in form.header
    assert form.header["contact_phone"] == ""
    assert form.header["unit"] == DEFAULT_VALUES["unit"]


@pytest.mark.parametrize("decor", ["{}：", "{}:", "*{}", "{} ：", "＊{}*", " {} "])
def test_decorated_labels_in_form(fmt: str, decor: str) -> None:
    header = {decor.format(HEADER_FIELDS[k][0]): v for k, v in DEFAULT_VALUES.items()}
    form = read_form(f"a.{fmt}", _build(fmt, header, make_lines(1)))
    assert form.header == DEFAULT_VALUES


def test_alternative_labels(fmt: str) -> None:
    header = {
        "工作单位": "天津市宝坻区某某厂",
        "区县": "宝坻",
        "购买方名称": "天津市宝坻区某某厂",
        "纳税人识别号/统一社会信用代码": "91120224MA05K2A3BX",
        "经办人联系电话": "022-29341234",
        "经办人": "赵六",
        "邮寄地址": "天津市宝坻区1号",
    }
    form = read_form(f"a.{fmt}", _build(fmt, header, make_lines(1)))
    assert form.header == {
        "unit": "天津市宝坻区某某厂",
        "district": "宝坻",
        "buyer_name": "天津市宝坻区某某厂",
        "tax_id": "91120224MA05K2A3BX",
        "contact_phone": "022-29341234",
        "contact": "赵六",
        "recipient_address": "天津市宝坻区1号",
    }


def test_fullwidth_values_are_normalised(fmt: str) -> None:
    form = read_form(f"a.{fmt}", _build(fmt, default_header(), make_lines(2), layout="fullwidth"))
    assert form.header["tax_id"] == DEFAULT_VALUES["tax_id"]
    assert form.header["contact_phone"] == "13820001234"
    assert form.lines[0].id_number.isascii()
    assert form.lines[0].order_no == "201800000000001"


def test_numbers_keep_what_the_double_kept(fmt: str) -> None:
    """An 18-digit ID typed as a number has lost its last digits: it is kept as the unit
    sees it in Excel/WPS (issue 9, kind 7); 15-digit order numbers survive a double."""
    line = make_line(1)
    form = read_form(f"a.{fmt}", _build(fmt, default_header(), [line], layout="numbers"))
    parsed = form.lines[0]
    assert parsed.id_number == f"{str(line['id_number'])[0]}.{str(line['id_number'])[1:6]}E+17"
    assert parsed.order_no == line["order_no"]


def test_xlsx_big_integer_keeps_every_digit() -> None:
    """Some writers store an 18-digit integer exactly; openpyxl then reads an int."""
    line = make_line(1)
    data = build_form_xlsx(default_header(), [line], layout="numbers")

    def exact(xml: bytes) -> bytes:
        return xml.replace(b"<v>1.2010119800101e+17</v>", f"<v>{line['id_number']}</v>".encode())

    data = rewrite_xlsx(data, {"xl/worksheets/sheet1.xml": exact})
    assert read_form("a.xlsx", data).lines[0].id_number == line["id_number"]
