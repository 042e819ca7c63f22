"""The trainee table: where it starts and ends, 合计 rows, odd columns, odd values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.builders.form import GridSheet, grid_to_xls, grid_to_xlsx, make_id_number
from tests.form.util import TABLE_HEADER, Parse
from worker.errors import FormUnreadable
from worker.form import FormLimits, read_form

ID1, ID2, ID3 = (make_id_number(seq=n) for n in (1, 2, 3))
HEAD = [["单位名称", "某某公司", None, "所属区", "武清区"], []]


def line(seq: object, name: str, id_number: str, order: object, amount: object = "150") -> list:
    return [seq, name, id_number, order, "2018", amount]


LINES = [line(1, "王伟", ID1, "201800000000001"), line(2, "李娜", ID2, "201800000000002")]


def test_pre_numbered_blank_rows_are_skipped_and_total_still_found(parse_rows: Parse) -> None:
    blanks = [[n] for n in range(3, 31)]
    form = parse_rows([*HEAD, TABLE_HEADER, *LINES, *blanks, ["合计", "2人", None, None, None, 300]])
    assert [ln.seq for ln in form.lines] == [1, 2]
    assert form.has_total_row
    assert (form.total_count, form.total_amount) == (2, Decimal("300.00"))


def test_template_rows_with_year_and_amount_filled_ahead_are_not_lines(parse_rows: Parse) -> None:
    """Units fill 培训年度 and 金额 down the template before typing the trainees: those
    rows named nobody and came back as lines without name, ID or order number."""
    ahead = [[n, None, None, None, "2018", "150.00"] for n in range(3, 8)]
    form = parse_rows([*HEAD, TABLE_HEADER, *LINES, *ahead, ["合计", "2人", None, None, None, 300]])
    assert [ln.name for ln in form.lines] == ["王伟", "李娜"]
    assert (form.total_count, form.total_amount) == (2, Decimal("300.00"))


def test_line_after_a_gap_of_numbered_rows_is_kept(parse_rows: Parse) -> None:
    rows = [*HEAD, TABLE_HEADER, LINES[0], [2], [3], line(4, "张敏", ID3, "201800000000004")]
    form = parse_rows(rows)
    assert [(ln.seq, ln.name) for ln in form.lines] == [(1, "王伟"), (4, "张敏")]


def test_stray_text_after_a_gap_ends_the_table(parse_rows: Parse) -> None:
    rows = [*HEAD, TABLE_HEADER, *LINES, [3], [4], [None, "以上人员均已缴费"]]
    form = parse_rows(rows)
    assert len(form.lines) == 2
    assert not form.has_total_row


def test_empty_row_ends_the_table(parse_rows: Parse) -> None:
    rows = [*HEAD, TABLE_HEADER, LINES[0], [], LINES[1]]
    assert [ln.name for ln in parse_rows(rows).lines] == ["王伟"]


def test_the_total_below_trainees_after_an_empty_row_is_still_read(parse_rows: Parse) -> None:
    """Units leave a blank row between groups of trainees (2018, 补训).  The lines end
    at it, as the form's rules say; the 合计 row below was lost with them, so the
    application passed with the later trainees silently left out.  Now its count and
    sum are read and disagree with the lines (TOTAL_MISMATCH)."""
    later = [line(3, "张敏", ID3, "201600000000003", "150"), [4, "刘洋", ID1, "201500000000004", "2015", 160]]
    rows = [*HEAD, TABLE_HEADER, *LINES, [], ["补训"], TABLE_HEADER, *later, [],
            ["合计", "4人", None, None, None, 610]]
    form = parse_rows(rows)
    assert [ln.name for ln in form.lines] == ["王伟", "李娜"]
    assert form.has_total_row and (form.total_count, form.total_amount) == (4, Decimal("610.00"))


def test_subtotal_rows_are_neither_lines_nor_the_total(parse_rows: Parse) -> None:
    later = [line(3, "张敏", ID3, "201600000000003")]
    rows = [*HEAD, TABLE_HEADER, *LINES, ["小计", "2人", None, None, None, 300], *later,
            ["小 计：", "1人", None, None, None, 150], ["合计", "3人", None, None, None, 450]]
    form = parse_rows(rows)
    assert [ln.name for ln in form.lines] == ["王伟", "李娜", "张敏"]
    assert (form.total_count, form.total_amount) == (3, Decimal("450.00"))


def test_note_row_ends_the_table(parse_rows: Parse) -> None:
    rows = [*HEAD, TABLE_HEADER, *LINES, ["注：金额请填写数字"], line(3, "张敏", ID3, "3")]
    assert len(parse_rows(rows).lines) == 2


def test_header_labels_below_the_table(parse_rows: Parse) -> None:
    rows = [
        *HEAD,
        TABLE_HEADER,
        *LINES,
        ["经办人：", "赵六", "经办人电话", "13812345678"],
        ["收件地址：天津市武清区1号"],
    ]
    form = parse_rows(rows)
    assert len(form.lines) == 2
    assert form.header["contact"] == "赵六"
    assert form.header["contact_phone"] == "13812345678"
    assert form.header["recipient_address"] == "天津市武清区1号"


def test_repeated_table_header_is_skipped(parse_rows: Parse) -> None:
    form = parse_rows([*HEAD, TABLE_HEADER, LINES[0], TABLE_HEADER, LINES[1]])
    assert [ln.seq for ln in form.lines] == [1, 2]


@pytest.mark.parametrize(
    ("total_row", "count", "amount"),
    [
        (["合计", 2, None, None, None, 300], 2, "300.00"),
        (["合计", "2人", None, None, None, "300.00"], 2, "300.00"),
        (["合计", "共2人", None, None, None, "300元"], 2, "300.00"),
        (["合计：2人 300元"], 2, "300.00"),
        (["合 计：共2人，金额300.00元"], 2, "300.00"),
        (["总计", None, None, None, None, 300], None, "300.00"),
        (["合计", "2人"], 2, None),
        (["合计"], None, None),
        ([None, "合计", None, None, None, "￥300.00"], None, "300.00"),
        (["合计", None, None, None, None, "300", "2人"], 2, "300.00"),
        (["合计", "２人", None, None, None, "３００"], 2, "300.00"),
        (["合计人数：2"], 2, None),
        # in date-formatted cells (the column's format): 1900/1/2 and 1900/10/26 on the sheet
        (["合计", dt.datetime(1900, 1, 2), None, None, None, dt.datetime(1900, 10, 26)], 2, "300.00"),
        (["合计", "2人", None, None, dt.datetime(2018, 3, 5), 300], 2, "300.00"),  # a real date
        # the year filled down into the 合计 row: never the count (合计人数 2018)
        (["合计", None, None, None, 2018, 300], None, "300.00"),
        (["合计", None, None, None, "2018", 300], None, "300.00"),
        (["合计", "2人", None, None, 2018, 300], 2, "300.00"),
        (["合计", None, None, None, "共2人", 300], 2, "300.00"),  # a count written as one
    ],
)
def test_total_row_variants(
    parse_rows: Parse, total_row: list, count: int | None, amount: str | None
) -> None:
    form = parse_rows([*HEAD, TABLE_HEADER, *LINES, total_row])
    assert form.has_total_row
    assert form.total_count == count
    assert form.total_amount == (Decimal(amount) if amount else None)
    assert len(form.lines) == 2


def test_no_total_row(parse_rows: Parse) -> None:
    form = parse_rows([*HEAD, TABLE_HEADER, *LINES])
    assert not form.has_total_row
    assert form.total_count is None and form.total_amount is None


def test_columns_in_any_order_with_extras_and_no_seq(parse_rows: Parse) -> None:
    rows = [
        *HEAD,
        ["备注", "缴费金额", "姓名", "性别", "订单编号", "身份证号码", "培训年度"],
        ["补训", "160元", "王伟", "男", "201800000000001", ID1, "2015年"],
        [None, 150, "李娜", "女", "201800000000002", ID2, 2018],
    ]
    form = parse_rows(rows)
    assert [(ln.seq, ln.name, ln.year, ln.amount) for ln in form.lines] == [
        (None, "王伟", 2015, Decimal("160.00")),
        (None, "李娜", 2018, Decimal("150.00")),
    ]
    assert form.lines[0].id_number == ID1


def test_table_without_header_block(parse_rows: Parse) -> None:
    form = parse_rows([TABLE_HEADER, *LINES])
    assert form.header == {}
    assert len(form.lines) == 2


def test_missing_columns_are_named(parse_rows: Parse) -> None:
    rows = [*HEAD, ["序号", "姓名", "身份证号", "订单号"], LINES[0][:4]]
    with pytest.raises(FormUnreadable) as info:
        parse_rows(rows)
    assert "培训年度" in info.value.detail and "金额" in info.value.detail


def test_no_table_at_all(parse_rows: Parse) -> None:
    with pytest.raises(FormUnreadable) as info:
        parse_rows([*HEAD, ["各位好，申请表见正文"]])
    assert "没有找到申请表" in info.value.detail


def test_too_many_lines(parse_rows: Parse) -> None:
    rows = [TABLE_HEADER] + [line(n, "王伟", ID1, str(n)) for n in range(1, 8)]
    with pytest.raises(FormUnreadable) as info:
        parse_rows(rows, FormLimits(max_lines=5))
    assert "超过 5 人" in info.value.detail
    assert len(parse_rows(rows, FormLimits(max_lines=7)).lines) == 7


@pytest.mark.parametrize(
    ("value", "year"),
    [(2018, 2018), ("2018", 2018), ("2018年", 2018), (2018.0, 2018), ("２０１８年度", 2018),
     ("十八年", None), ("", None)],
)  # fmt: skip
def test_year_values(parse_rows: Parse, value: object, year: int | None) -> None:
    row = [1, "王伟", ID1, "1", value, 150]
    (parsed,) = parse_rows([TABLE_HEADER, row]).lines
    assert parsed.year == year


@pytest.mark.parametrize(
    ("value", "amount", "raw"),
    [
        (150, "150.00", "150"),
        (150.0, "150.00", "150"),
        (160.5, "160.50", "160.5"),
        ("150.00", "150.00", "150.00"),
        ("150元", "150.00", "150元"),
        ("￥150", "150.00", "¥150"),  # NFKC
        ("１５０", "150.00", "150"),
        ("一百五", None, "一百五"),  # spoken: 150 or 105? never guessed
        # as finance staff write money: the figure the unit meant
        ("壹佰伍拾元", "150.00", "壹佰伍拾元"),
        ("壹佰伍拾元（整）", "150.00", "壹佰伍拾元(整)"),
        ("一百五十元", "150.00", "一百五十元"),
        ("人民币150元", "150.00", "人民币150元"),
        ("150元/人", "150.00", "150元/人"),
        ("(150)", None, "(150)"),  # accounting's negative: not 150
        (None, None, ""),
    ],
)
def test_amount_values(parse_rows: Parse, value: object, amount: str | None, raw: str) -> None:
    row = [1, "王伟", ID1, "1", 2018, value]
    (parsed,) = parse_rows([TABLE_HEADER, row]).lines
    assert parsed.amount == (Decimal(amount) if amount else None)
    assert parsed.amount_raw == raw


def test_identifier_normalisation(parse_rows: Parse) -> None:
    rows = [
        TABLE_HEADER,
        ["1", " 王 伟 ", "12010119800101 001x", 201800000000001, 2018, 150],
        ["２", "李娜", "１２０１０１１９８００１０１００２８", 201800000000002.0, 2018, 150],
        ["一", "张敏", ID3, "2018 0000 0000 003", 2018, 150],
    ]
    lines = parse_rows(rows).lines
    assert [ln.seq for ln in lines] == [1, 2, None]
    assert lines[0].name == "王伟"
    assert lines[0].id_number == "12010119800101001X"
    assert lines[0].order_no == "201800000000001"
    assert lines[1].id_number == "120101198001010028"
    assert lines[1].order_no == "201800000000002"
    assert lines[2].order_no == "201800000000003"


def test_identifiers_pasted_with_invisible_characters_or_text_marks(parse_rows: Parse) -> None:
    """Copied from a web page or a chat (zero-width spaces, a BOM), or typed with the
    apostrophe that keeps a long number text: PAYMENT_NOT_FOUND for an order number
    the unit sees exactly as paid, INVALID_ID_NUMBER for a valid ID."""
    rows = [
        TABLE_HEADER,
        ["1", "王\u200b伟", "\u200b" + ID1 + "\u2060", "\ufeff201800000000001\u200b", 2018, 150],
        ["2", "李娜", "'" + ID2.lower(), "'201800000000002", 2018, 150],
    ]
    lines = parse_rows(rows).lines
    assert [(ln.name, ln.id_number, ln.order_no) for ln in lines] == [
        ("王伟", ID1, "201800000000001"), ("李娜", ID2.upper(), "201800000000002")]


def test_date_cells_do_not_crash(fmt: str) -> None:
    rows = [
        ["单位名称", "某某公司", "填表日期", dt.datetime(2018, 5, 2)],
        TABLE_HEADER,
        [1, "王伟", ID1, "1", dt.datetime(2018, 1, 1), dt.datetime(2018, 1, 1, 8, 30)],
    ]
    sheet = GridSheet("申请表", rows)
    data = grid_to_xlsx([sheet]) if fmt == "xlsx" else _xls_with_dates(rows)
    (parsed,) = read_form(f"a.{fmt}", data).lines
    # a date in the year column is its year (a yyyy format shows 2018); in the amount
    # column no amount (worker.form.cells: only dates before 1910 are numbers)
    assert parsed.year == 2018 and parsed.year_raw == "2018-01-01"
    assert parsed.amount is None and parsed.amount_raw.startswith("2018-01-01")


def _xls_with_dates(rows: list) -> bytes:
    import io

    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("申请表")
    style = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.datetime):
                ws.write(r, c, value, style)
            elif value is not None:
                ws.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_header_value_search(parse_rows: Parse) -> None:
    rows = [
        ["单位名称", None, None, "天津市武清区\n某某  公司", None],
        ["所属区", None, "发票类型", "增值税专用发票"],
        ["发票抬头：", "某某公司"],
        ["开票方式：每人一张", "经办人", ""],
        ["经办人电话", 13812345678],
        TABLE_HEADER,
        LINES[0],
    ]
    header = parse_rows(rows).header
    assert header["unit"] == "天津市武清区 某某 公司"
    assert header["district"] == ""  # the next cell is another label
    assert header["invoice_type"] == "增值税专用发票"
    assert header["buyer_name"] == "某某公司"
    assert header["issue_mode"] == "每人一张"
    assert header["contact"] == ""
    assert header["contact_phone"] == "13812345678"


def test_first_non_empty_value_wins(parse_rows: Parse) -> None:
    rows = [["单位名称", None], ["单位名称", "某某公司"], ["单位名称", "别的公司"], TABLE_HEADER]
    assert parse_rows(rows).header["unit"] == "某某公司"


def _two_sheets(fmt: str, first: GridSheet, second: GridSheet) -> bytes:
    return grid_to_xlsx([first, second]) if fmt == "xlsx" else grid_to_xls([first, second])


def test_header_on_another_sheet(fmt: str) -> None:
    info = GridSheet("基本信息", [["单位名称", "某某公司"], ["所属区", "蓟州区"]])
    table = GridSheet("学员名单", [list(TABLE_HEADER), *LINES])
    form = read_form(f"a.{fmt}", _two_sheets(fmt, info, table))
    assert form.sheet == "学员名单"
    assert form.header == {"unit": "某某公司", "district": "蓟州区"}


def test_filled_sheet_wins_over_blank_template(fmt: str) -> None:
    blank = GridSheet("模板", [["单位名称", None], list(TABLE_HEADER), [1], [2], ["合计"]])
    filled = GridSheet("填好的", [["单位名称", "某某公司"], list(TABLE_HEADER), *LINES])
    form = read_form(f"a.{fmt}", _two_sheets(fmt, blank, filled))
    assert form.sheet == "填好的"
    assert form.header["unit"] == "某某公司"
    assert len(form.lines) == 2


def test_hidden_sheet_comes_last() -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    stale = book.active
    stale.title = "旧"
    for row in [list(TABLE_HEADER), line(1, "旧人", ID3, "9")]:
        stale.append(row)
    stale.sheet_state = "hidden"
    current = book.create_sheet("新")
    for row in [list(TABLE_HEADER), *LINES]:
        current.append(row)
    out = io.BytesIO()
    book.save(out)
    form = read_form("a.xlsx", out.getvalue())
    assert form.sheet == "新"
    assert [ln.name for ln in form.lines] == ["王伟", "李娜"]


TWO_ROW_HEADERS = {
    # 序号 姓名 身份证号 merged over both rows; 订单号 培训年度 金额 under 缴费信息
    "group right": ([["序号", "姓名", "身份证号", "缴费信息", None, None],
                     [None, None, None, "订单号", "培训年度", "金额（元）"]],
                    [(1, 1, 2, 1), (1, 2, 2, 2), (1, 3, 2, 3), (1, 4, 1, 6)]),
    # 序号 merged over both rows; everything else under two group titles
    "groups": ([["序号", "学员信息", None, "缴费信息", None, None],
                [None, "姓名", "身份证号", "订单号", "培训年度", "金额（元）"]],
               [(1, 1, 2, 1), (1, 2, 1, 3), (1, 4, 1, 6)]),
}


@pytest.mark.parametrize("shape", sorted(TWO_ROW_HEADERS))
def test_table_titles_over_two_rows_with_merged_cells(fmt: str, shape: str) -> None:
    """A header made of merged cells over two rows: the form was "not found"
    (FORM_UNREADABLE), or its lines lost their 序号."""
    titles, merges = TWO_ROW_HEADERS[shape]
    first = len(HEAD) + 1
    sheet = GridSheet("申请表", [*HEAD, *titles, *LINES, ["合计", "2人", None, None, None, 300]],
                      [(r1 + first - 1, c1, r2 + first - 1, c2) for r1, c1, r2, c2 in merges])
    data = grid_to_xlsx([sheet]) if fmt == "xlsx" else grid_to_xls([sheet])
    form = read_form(f"a.{fmt}", data)
    assert [(ln.seq, ln.name, ln.id_number, ln.order_no) for ln in form.lines] == [
        (1, "王伟", ID1, "201800000000001"), (2, "李娜", ID2, "201800000000002")]
    assert form.total_count == 2


def test_trainees_below_an_empty_row_are_noted_not_read(parse_rows: Parse) -> None:
    """Lines end at an empty row (SPEC 2.2), but trainees below it are not silently
    lost: their spreadsheet rows are noted (LINES_BELOW_BLANK_ROW). A repeated header,
    a group title and a 合计 row are not trainees; a note below ends the search."""
    later = [line(3, "张敏", ID3, "201600000000003"), [4, "刘洋", None, "201500000000004"]]
    rows = [*HEAD, TABLE_HEADER, *LINES, [], ["补训"], TABLE_HEADER, *later,
            ["合计", "4人"], ["注：金额请填写数字"], line(5, "赵磊", ID1, "5")]
    form = parse_rows(rows)
    assert [ln.name for ln in form.lines] == ["王伟", "李娜"]
    first_later = len(HEAD) + 1 + len(LINES) + 3 + 1  # 1-based: empty, 补训, header
    assert form.below_blank == [first_later, first_later + 1]


def test_no_rows_are_noted_for_a_table_that_ends_cleanly(parse_rows: Parse) -> None:
    rows = [*HEAD, TABLE_HEADER, *LINES, [], ["经办人", "张三"], [], ["备注：无"]]
    assert parse_rows(rows).below_blank == []
