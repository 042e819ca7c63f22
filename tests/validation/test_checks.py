"""Every reason code of SPEC §3 from the checks themselves (no mail, no storage)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from worker.config import load_config
from worker.fields import FIELD
from worker.form.cells import shows_error
from worker.samples import id_number, tax_id
from worker.validation import Code, Draft, Line, Lookups, PaymentRow, check_application
from worker.validation import normalize as norm
from worker.validation.reasons import REASONS, explain

TZ = ZoneInfo("Asia/Shanghai")
PROGRAMME = load_config().programme
TAX_ID = tax_id("91120222MA05JGUY2")
IDS = [id_number("120101", "19800101", 1), "", id_number("120101", "19900303", 3)]
IDS[1] = next(i for n in range(2, 60) if (i := id_number("120101", "19850202", n)).endswith("X"))
BAD_TAX_ID = TAX_ID[:-1] + ("0" if TAX_ID[-1] != "0" else "1")


def pay(order: str, name: str, idn: str, year: int = 2018, amount: str = "150.00", **kw: object,
        ) -> PaymentRow:
    base = dict(order_no=order, name=name, id_number=idn, year=year, amount=Decimal(amount),
                paid_at=datetime(2018, 5, 1, 10, tzinfo=TZ), method="在线支付", status="已支付")
    base.update(kw)
    return PaymentRow(**base)  # type: ignore[arg-type]


def good_draft() -> tuple[Draft, dict[str, PaymentRow]]:
    lines = [
        Line(1, 1, "张堃", IDS[0], "A001", 2018, Decimal("150.00")),
        Line(2, 2, "李喆", IDS[1].lower(), "A002", 2015, Decimal("160.00")),
        Line(3, 3, "王镕", IDS[2], "A003", 2016, Decimal("150.00")),
    ]
    draft = Draft(unit="天津市武清区某某有限公司", district="武清区", tax_id=TAX_ID, contact="赵玥",
                  contact_phone="13800000000", recipient_name="赵玥",
                  recipient_phone="13800000000", recipient_address="天津市武清区雍阳西道1号",
                  lines=lines, total_count=3, total_amount=Decimal("460.00"),
                  received_at=datetime(2018, 6, 1, 9, tzinfo=TZ))
    payments = {
        "A001": pay("A001", "张堃", IDS[0]),
        "A002": pay("A002", "李喆", IDS[1], 2015, "160.00"),
        "A003": pay("A003", "王镕", IDS[2], 2016),
    }
    return draft, payments


def codes(draft: Draft, payments: dict[str, PaymentRow], invoiced: dict[str, str] | None = None,
          ) -> list[tuple[str, int | None]]:
    reasons = check_application(draft, PROGRAMME, Lookups(payments, invoiced or {}))
    return [(str(r.code), r.line) for r in reasons]


def test_a_good_application_has_no_reasons() -> None:
    draft, payments = good_draft()
    assert codes(draft, payments) == []


def test_every_reason_code_has_words() -> None:
    for code in Code:
        text = explain(code, PROGRAMME)
        assert text.title and text.advice and "{" not in text.advice, code
    assert set(REASONS) == set(Code)


@pytest.mark.parametrize(("change", "expected"), [
    ({"district": "和平区"}, [("NOT_SUBURBAN_DISTRICT", None)]),
    ({"district": "朝阳区"}, [("UNKNOWN_DISTRICT", None)]),
    ({"unit": "", "contact_phone": " "}, [("FORM_INCOMPLETE", None)]),
    ({"recipient_address": ""}, [("MISSING_RECIPIENT", None)]),
    ({"recipient_phone": "1380000"}, [("INVALID_PHONE", None)]),
    ({"tax_id": BAD_TAX_ID}, [("INVALID_TAX_ID", None)]),
    ({"tax_id": "1234567890"}, [("INVALID_TAX_ID", None)]),
    ({"raw_invoice_type": "增值税专用发票", "address_phone": "天津市 022-1"},
     [("SPECIAL_INVOICE_INCOMPLETE", None)]),
    ({"total_count": 4}, [("TOTAL_MISMATCH", None)]),
    ({"total_amount": Decimal("450.00")}, [("TOTAL_MISMATCH", None)]),
    ({"below_blank": [12]}, [("LINES_BELOW_BLANK_ROW", None)]),
    ({"hidden_rows": [9, 11]}, [("HIDDEN_ROWS", None)]),
    ({"received_at": datetime(2019, 1, 1, 0, 0, 1, tzinfo=TZ)}, [("PAST_DEADLINE", None)]),
    ({"raw_invoice_type": "收据"}, [("FORM_INCOMPLETE", None)]),
    ({"lines": [], "total_count": None, "total_amount": None}, [("FORM_INCOMPLETE", None)]),
])
def test_header_reasons(change: dict[str, object], expected: list[tuple[str, None]]) -> None:
    draft, payments = good_draft()
    assert codes(replace(draft, **change), payments) == expected


def test_deadline_is_inclusive_in_shanghai_time() -> None:
    draft, payments = good_draft()
    on_time = datetime(2018, 12, 31, 23, 59, 59, tzinfo=TZ)
    assert codes(replace(draft, received_at=on_time), payments) == []
    # The deadline's whole last second, as the payment window's.
    within = on_time.replace(microsecond=700_000)
    assert codes(replace(draft, received_at=within), payments) == []
    late = datetime(2019, 1, 1, tzinfo=TZ)
    assert codes(replace(draft, received_at=late), payments) == [("PAST_DEADLINE", None)]


def test_form_incomplete_names_every_missing_field() -> None:
    draft, payments = good_draft()
    reasons = check_application(replace(draft, unit="", tax_id="", contact=""), PROGRAMME,
                                Lookups(payments, {}))
    detail = next(r.detail for r in reasons if r.code == Code.FORM_INCOMPLETE)
    for label in ("单位名称", "纳税人识别号", "经办人"):
        assert label in detail


@pytest.mark.parametrize("shown", ["#REF!", "#N/A", "#VALUE!", " #n/a ", "Err:502"])
@pytest.mark.parametrize("key", ["unit", "buyer_name", "contact", "tax_id", "district",
                                 "address_phone", "recipient_name", "recipient_phone",
                                 "recipient_address"])
def test_a_field_showing_a_formula_error_is_named_once(key: str, shown: str) -> None:
    """A VLOOKUP that found nothing shows #N/A: not a name to invoice nor an address to
    ship to. FORM_INCOMPLETE names the field and what the sheet shows, and no other
    reason says the same cell is an invalid 税号, phone or district."""
    draft, payments = good_draft()
    reasons = check_application(replace(draft, **{key: shown}), PROGRAMME, Lookups(payments, {}))
    assert [r.code for r in reasons] == [Code.FORM_INCOMPLETE]
    assert f"{FIELD[key].title}（表格中显示为 {shown.strip()}" in reasons[0].detail


def test_text_with_a_hash_is_still_text() -> None:
    assert not shows_error("#1 号楼") and not shows_error("Err:5") and shows_error("#DIV/0!")
    draft, payments = good_draft()
    assert codes(replace(draft, recipient_address="#12 幢 3 单元（天津市武清区）"), payments) == []


def line_case(index: int, *, line: dict[str, object] | None = None,
              payment: dict[str, object] | None = None, drop_payment: bool = False,
              ) -> list[tuple[str, int | None]]:
    draft, payments = good_draft()
    lines = list(draft.lines)
    if line:
        lines[index] = replace(lines[index], **line)
    order = draft.lines[index].order_no
    if payment:
        payments[order] = payments[order]._replace(**payment)
    if drop_payment:
        del payments[order]
    total = sum((x.amount or Decimal(0) for x in lines), Decimal(0))
    return codes(replace(draft, lines=lines, total_amount=total), payments)


def test_an_order_number_that_lost_its_digits_says_how_to_fix_it() -> None:
    """Typed into a number cell: the reply quotes what the sheet shows and says to make
    the column text, or the unit retypes the same digits into the same cell."""
    from worker.validation import check_application as check

    draft, payments = good_draft()
    for shown, words in (("2.01805E+17", "显示为 2.01805E+17"), ("201805100930001000", "设为文本格式")):
        lines = [replace(draft.lines[0], order_no=shown), *draft.lines[1:]]
        reasons = check(replace(draft, lines=lines), PROGRAMME, Lookups(payments, {}))
        (found,) = [r for r in reasons if r.code == Code.PAYMENT_NOT_FOUND]
        assert words in found.detail
    lines = [replace(draft.lines[0], order_no="A009"), *draft.lines[1:]]
    reasons = check(replace(draft, lines=lines), PROGRAMME, Lookups(payments, {}))
    (found,) = [r for r in reasons if r.code == Code.PAYMENT_NOT_FOUND]
    assert "文本" not in found.detail


@pytest.mark.parametrize(("typed", "hint"), [("120222198001011000", True),
                                             ("120222198001010013", False)])
def test_the_number_format_hint_only_for_an_id_a_number_cell_cut(typed: str, hint: bool) -> None:
    """An 18-digit ID ending in 000 is what a number cell keeps; a typo in a text cell
    is told to check the number, not to change a format it does not have."""
    from worker.validation import check_application as check

    draft, payments = good_draft()
    lines = [replace(draft.lines[0], id_number=typed), *draft.lines[1:]]
    reasons = check(replace(draft, lines=lines), PROGRAMME, Lookups(payments, {}))
    (found,) = [r for r in reasons if r.code == Code.INVALID_ID_NUMBER]
    assert ("文本格式" in found.detail) is hint


def test_a_line_without_order_number_is_told_so_truly() -> None:
    """An empty 订单号 is PAYMENT_NOT_FOUND (SPEC's table has no code of its own), and
    the reply's title and advice must hold for it: not "this order number is not in
    the records", which sends the unit to look for a number it never wrote."""
    assert line_case(1, line={"order_no": ""}) == [("PAYMENT_NOT_FOUND", 2)]
    draft, payments = good_draft()
    lines = [replace(draft.lines[0], order_no=""), *draft.lines[1:]]
    (reason,) = check_application(replace(draft, lines=lines), PROGRAMME, Lookups(payments, {}))
    assert "未填写订单号" in reason.detail
    text = explain(reason.code, PROGRAMME)
    assert "订单号" not in text.title and "填写" in text.advice


@pytest.mark.parametrize(("status", "said"), [("部分退款", "已部分退款"), ("退款中", "正在办理退款")])
def test_a_refund_in_part_or_under_way_is_not_told_as_refunded(status: str, said: str) -> None:
    """部分退款 was stored 已退款 and the unit told the order was refunded, though the
    trainee still paid part of the fee."""
    draft, payments = good_draft()
    order = draft.lines[0].order_no
    payments[order] = payments[order]._replace(status=status)
    (reason,) = check_application(draft, PROGRAMME, Lookups(payments, {}))
    assert reason.detail == f"订单号 {order} {said}"
    text = explain(reason.code, PROGRAMME)
    assert "已退款" not in text.title and PROGRAMME.contact_phone in text.advice


@pytest.mark.parametrize("mask", [
    lambda i: i[:6] + "*" * 8 + i[-4:], lambda i: i[:4] + "****" + i[-4:],
    lambda i: i[:3] + "＊" * 11 + i[-4:], lambda i: "*" * 18,
])
def test_a_record_the_platform_masked_is_compared_by_what_shows(mask: Callable[[str], str]) -> None:
    """Exports with 120222********0011: every line was held "身份证号…与缴费记录不一致",
    telling units their right numbers were wrong."""
    from worker.text import normalize

    masked = normalize(mask(IDS[0]))  # as the importer reads it
    assert line_case(0, payment={"id_number": masked, "name": "张*"}) == []
    shown = IDS[2][:6] + "*" * 8 + IDS[2][-4:]
    assert line_case(0, payment={"id_number": shown}) == [("PAYMENT_MISMATCH", 1)]
    assert line_case(0, payment={"name": "李*"}) == [("PAYMENT_MISMATCH", 1)]


def test_line_reasons_cite_the_trainee_seq() -> None:
    assert line_case(0, line={"id_number": IDS[0][:-1] + ("0" if IDS[0][-1] != "0" else "1")}) == [
        ("INVALID_ID_NUMBER", 1), ("PAYMENT_MISMATCH", 1)]
    assert line_case(1, drop_payment=True) == [("PAYMENT_NOT_FOUND", 2)]
    assert line_case(2, payment={"status": "已退款"}) == [("PAYMENT_REFUNDED", 3)]
    assert line_case(2, payment={"status": "部分退款"}) == [("PAYMENT_PARTLY_REFUNDED", 3)]
    assert line_case(2, payment={"status": "退款中"}) == [("PAYMENT_REFUNDING", 3)]
    assert line_case(2, payment={"method": "学习卡"}) == [("STUDY_CARD", 3)]
    assert line_case(0, payment={"paid_at": datetime(2018, 12, 1, 0, 0, tzinfo=TZ)}) == [
        ("PAID_OUTSIDE_WINDOW", 1)]
    assert line_case(0, payment={"paid_at": datetime(2018, 2, 28, 23, 59, tzinfo=TZ)}) == [
        ("PAID_OUTSIDE_WINDOW", 1)]
    assert line_case(0, line={"amount": Decimal("160.00")},
                     payment={"amount": Decimal("160.00")}) == [("FEE_MISMATCH", 1)]
    assert line_case(0, line={"year": 2013, "year_raw": "2013"},
                     payment={"year": 2013}) == [("FEE_MISMATCH", 1)]


def test_a_number_shown_as_a_date_is_quoted_with_the_date_the_sheet_shows() -> None:
    """A fee of 160 in a date-formatted cell reads as 160 (worker.form.cells) but shows as
    1900/6/8: the reason says both, and why, or the unit looks for 160 and finds a date."""
    draft, payments = good_draft()
    lines = list(draft.lines)
    lines[0] = replace(lines[0], amount=Decimal("160.00"), amount_raw="1900-06-08",
                       year=2017, year_raw="1905-07-09")
    payments["A001"] = payments["A001"]._replace(year=2018)
    reasons = check_application(replace(draft, lines=lines, total_amount=None), PROGRAMME,
                                Lookups(payments, {}))
    details = {r.code: r.detail for r in reasons}
    assert "160.00（该单元格是日期格式，表格中显示为 1900-06-08" in details[Code.FEE_MISMATCH]
    assert "培训年度（表中 2017（该单元格是日期格式，表格中显示为 1905-07-09，请设为“常规”格式），" \
        in details[Code.PAYMENT_MISMATCH]
    # a cell that shows its number is quoted as before
    lines[0] = replace(lines[0], amount=Decimal("160.00"), amount_raw="160", year=2018,
                       year_raw="2018年")
    payments["A001"] = payments["A001"]._replace(year=2017)
    reasons = check_application(replace(draft, lines=lines, total_amount=None), PROGRAMME,
                                Lookups(payments, {}))
    details = {r.code: r.detail for r in reasons}
    assert details[Code.FEE_MISMATCH].endswith("表中为 160.00")
    assert "培训年度（表中 2018年，缴费记录 2017）" in details[Code.PAYMENT_MISMATCH]


def test_more_counted_than_read_says_rows_under_a_blank_row_are_not_read() -> None:
    draft, payments = good_draft()
    (more,) = check_application(replace(draft, total_count=5), PROGRAMME, Lookups(payments, {}))
    assert "合计人数 5，明细 3 行" in more.detail and "空行" in more.detail
    (fewer,) = check_application(replace(draft, total_count=2), PROGRAMME, Lookups(payments, {}))
    assert "空行" not in fewer.detail


def test_payment_mismatch_says_which_fields_differ() -> None:
    draft, payments = good_draft()
    payments["A001"] = payments["A001"]._replace(name="张坤", year=2017)
    reasons = check_application(draft, PROGRAMME, Lookups(payments, {}))
    (mismatch,) = [r for r in reasons if r.code == Code.PAYMENT_MISMATCH]
    assert mismatch.line == 1
    assert "姓名" in mismatch.detail and "培训年度" in mismatch.detail
    assert "金额" not in mismatch.detail


@pytest.mark.parametrize("typed", ["阿依古丽•买买提", "阿依古丽・买买提", "阿依古丽.买买提",
                                   "阿依古丽．买买提", "阿依古丽 买买提", "阿依古丽。买买提",
                                   "阿依古丽-买买提", "阿依古丽买买提"])
def test_a_transliterated_name_with_another_dot_is_the_same_name(typed: str) -> None:
    """The platform writes 阿依古丽·买买提 (middle dot); units type whatever dot their
    input method gives, a space, or nothing: that was PAYMENT_MISMATCH on the name.
    Another name is still another name."""
    from worker.text import normalize

    assert line_case(0, line={"name": normalize(typed)}, payment={"name": "阿依古丽·买买提"}) == []
    assert line_case(0, line={"name": "阿依古丽·买提"}, payment={"name": "阿依古丽·买买提"}) == [
        ("PAYMENT_MISMATCH", 1)]


def test_payment_mismatch_never_quotes_the_records_identity() -> None:
    """The detail is mailed to whoever sent the form: knowing an order number must not
    reveal the trainee's name or 身份证号 on record."""
    draft, payments = good_draft()
    other_id = "11010519491231002X"
    payments["A001"] = payments["A001"]._replace(name="曾卫东", id_number=other_id)
    reasons = check_application(draft, PROGRAMME, Lookups(payments, {}))
    (mismatch,) = [r for r in reasons if r.code == Code.PAYMENT_MISMATCH]
    assert "姓名" in mismatch.detail and "身份证号" in mismatch.detail
    assert "曾卫东" not in mismatch.detail and other_id not in mismatch.detail
    assert draft.lines[0].name in mismatch.detail  # what the unit typed is theirs to see


def test_already_invoiced_and_duplicate_lines() -> None:
    draft, payments = good_draft()
    assert codes(draft, payments, {"A002": "00000007"}) == [("ALREADY_INVOICED", 2)]
    dup = replace(draft.lines[0], position=4, seq=4)
    twice = replace(draft, lines=[*draft.lines, dup], total_count=4, total_amount=Decimal("610"))
    assert codes(twice, payments) == [("DUPLICATE_LINE", 4)]


def test_each_repeat_of_an_order_names_its_first_line_and_empty_orders_are_no_repeats() -> None:
    draft, payments = good_draft()
    again = [replace(draft.lines[1], position=p, seq=p) for p in (4, 5)]
    empty = [replace(draft.lines[2], position=p, seq=p, order_no="") for p in (6, 7)]
    lines = [*draft.lines, *again, *empty]
    reasons = check_application(replace(draft, lines=lines, total_count=None, total_amount=None),
                                PROGRAMME, Lookups(payments, {}))
    assert [(str(r.code), r.line, r.detail) for r in reasons] == [
        ("DUPLICATE_LINE", 4, "订单号 A002 与第 2 行重复"),
        ("DUPLICATE_LINE", 5, "订单号 A002 与第 2 行重复"),
        ("PAYMENT_NOT_FOUND", 6, "王镕 未填写订单号"),
        ("PAYMENT_NOT_FOUND", 7, "王镕 未填写订单号"),
    ]


def test_all_reasons_are_collected_not_only_the_first() -> None:
    draft, payments = good_draft()
    bad = replace(draft, district="南开区", tax_id="123", recipient_phone="abc", total_count=9)
    del payments["A003"]
    found = {c for c, _ in codes(bad, payments, {"A001": "00000001"})}
    assert found == {"NOT_SUBURBAN_DISTRICT", "INVALID_TAX_ID", "INVALID_PHONE",
                     "TOTAL_MISMATCH", "PAYMENT_NOT_FOUND", "ALREADY_INVOICED"}


@pytest.mark.parametrize(("raw", "expected"), [
    ("武清", "武清区"), ("武清区", "武清区"), ("天津市武清区", "武清区"), ("滨海", "滨海新区"),
    ("塘沽", "滨海新区"), ("蓟县", "蓟州区"), ("ｗｕ", None), ("北京市朝阳区", None), ("和平", "和平区"),
    ("静 海", "静海区"),
    # the district with where in it the unit is; two districts named stay unknown
    ("滨海新区（塘沽）", "滨海新区"), ("武清区(杨村)", "武清区"), ("天津市武清区杨村街道", "武清区"),
    ("塘沽（滨海新区）", "滨海新区"), ("西青区/北辰区", None), ("滨海新区塘沽区", None),
    ("和平（南京路）", "和平区"),
])
def test_district_names(raw: str, expected: str | None) -> None:
    assert norm.district(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("", "合并开具"), ("合并开具", "合并开具"), ("汇总开一张", "合并开具"), ("统一开具", "合并开具"),
    ("每人一张", "每人一张"), ("每位学员一张", "每人一张"), ("各开一张", "每人一张"),
    ("分别开具", "每人一张"), ("按人开具", "每人一张"),
    # "not combined" is one per person, not 合并开具 because it says 合并
    ("不合并开具", "每人一张"), ("不合并", "每人一张"), ("不需要合并", "每人一张"), ("无需合并", "每人一张"),
    ("合并开具，每人一张", None), ("随便", None),
])
def test_issue_modes_as_units_type_them(raw: str, expected: str | None) -> None:
    assert norm.issue_mode(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("", "增值税普通发票"), ("电子普票", "增值税普通发票"), ("增值税专用发票", "增值税专用发票"),
    ("专票", "增值税专用发票"),
    # a type said with "not" is not that type
    ("不要专票", "增值税普通发票"), ("不开专票", "增值税普通发票"), ("非专用发票", "增值税普通发票"),
    ("普通发票（非专票）", "增值税普通发票"), ("专用发票（不要普票）", "增值税专用发票"),
    ("专票或普票", None), ("不要普票", None), ("收据", None),
])
def test_invoice_types_as_units_type_them(raw: str, expected: str | None) -> None:
    assert norm.invoice_type(raw) == expected


@pytest.mark.parametrize("zone", [TZ, UTC])
def test_payment_window_is_inclusive_whatever_zone_the_payment_is_in(zone: tzinfo) -> None:
    # Payments come back from storage in UTC; the window is configured in Shanghai time.
    # The whole last second is in: 23:59:59.500 was held (exported with milliseconds).
    start, end = PROGRAMME.payment_window_start, PROGRAMME.payment_window_end
    for paid, expected in ((start, []), (end, []), (end + timedelta(microseconds=500_000), []),
                           (end + timedelta(microseconds=999_999), []),
                           (start - timedelta(microseconds=1), [1]),
                           (end + timedelta(seconds=1), [1])):
        found = line_case(0, payment={"paid_at": paid.astimezone(zone)})
        assert found == [("PAID_OUTSIDE_WINDOW", 1) for _ in expected]


def test_trainees_in_hidden_rows_are_named_and_explain_the_total() -> None:
    """A filter hides trainees the unit does not see: their rows are named, and a 合计
    that counts them (SUM, not SUBTOTAL) is explained by that, not a second reason."""
    draft, payments = good_draft()
    found = check_application(replace(draft, hidden_rows=[9, 11], total_count=5), PROGRAMME,
                              Lookups(payments, {}))
    assert [(r.code, r.detail) for r in found] == [
        (Code.HIDDEN_ROWS, "第 9、11 行是隐藏行（表格设置了筛选或隐藏了这些行），其中的 2 名学员没有读取")]
    assert not REASONS[Code.HIDDEN_ROWS].waivable and REASONS[Code.HIDDEN_ROWS].sticky


def test_trainees_below_a_blank_row_are_named_by_their_rows() -> None:
    draft, payments = good_draft()
    few = check_application(replace(draft, below_blank=[12, 13]), PROGRAMME, Lookups(payments, {}))
    assert [(r.code, r.detail) for r in few] == [
        (Code.LINES_BELOW_BLANK_ROW, "第 12、13 行的 2 名学员在空行之下，没有读取（名单在第一个空行处结束）")]
    many = check_application(replace(draft, below_blank=list(range(20, 28))), PROGRAMME,
                             Lookups(payments, {}))
    assert many[0].detail.startswith("第 20、21、22、23、24 等行的 8 名学员")
    assert not REASONS[Code.LINES_BELOW_BLANK_ROW].waivable  # one parcel: resend it whole
    # A 合计 row counting them too is right: TOTAL_MISMATCH ("请核对合计行（或删除合计行）")
    # would send the unit the wrong way; LINES_BELOW_BLANK_ROW explains it.
    counted = replace(draft, total_count=4)
    alone = check_application(counted, PROGRAMME, Lookups(payments, {}))
    both = check_application(replace(counted, below_blank=[12]), PROGRAMME, Lookups(payments, {}))
    assert [r.detail for r in alone] == [
        "合计人数 4，明细 3 行（学员之间如有空行，空行以下的学员未被读取，请删除空行）"]
    assert [r.code for r in both] == [Code.LINES_BELOW_BLANK_ROW]


def _details(index: int, line: dict[str, object]) -> list[tuple[str, str]]:
    """The reasons for good_draft with one line changed, its 合计 as the unit wrote it."""
    draft, payments = good_draft()
    lines = list(draft.lines)
    lines[index] = replace(lines[index], **line)
    found = check_application(replace(draft, lines=lines), PROGRAMME, Lookups(payments, {}))
    return [(str(r.code), r.detail) for r in found]


def test_an_unreadable_year_is_said_to_be_so_never_out_of_the_schedule_it_is_in() -> None:
    """``2017-2018`` cannot be read as one year: the reason says how to write it, not
    "不在收费标准内（…2017…）" beside "表中 2017-2018，缴费记录 2017"."""
    assert _details(2, {"year": None, "year_raw": "2016-2017"}) == [
        ("FEE_MISMATCH", "培训年度“2016-2017”无法识别：请只填写一个年份数字"
                         "（2014、2015、2016、2017、2018 之一），补训等说明请写在备注中")]
    assert _details(2, {"year": None, "year_raw": ""}) == [
        ("FEE_MISMATCH", "未填写培训年度（收费标准内的年度：2014、2015、2016、2017、2018）")]
    assert _details(0, {"year": 2013, "year_raw": "2013"}) == [
        ("FEE_MISMATCH", "培训年度 2013 不在收费标准内（2014、2015、2016、2017、2018）"),
        ("PAYMENT_MISMATCH", "订单号 A001：培训年度（表中 2013，缴费记录 2018）")]


def test_an_unreadable_amount_is_one_reason_asking_for_figures() -> None:
    """Not FEE_MISMATCH + PAYMENT_MISMATCH "表中 待定，缴费记录 150.00" + TOTAL_MISMATCH
    "明细合计 …" (a sum without that line): one reason, saying to write the figure."""
    assert _details(0, {"amount": None, "amount_raw": "待定"}) == [
        ("FEE_MISMATCH", "金额“待定”无法识别：请用阿拉伯数字填写金额（2018 年度应为 150.00）")]
    assert _details(0, {"amount": None, "amount_raw": ""}) == [
        ("FEE_MISMATCH", "未填写金额（2018 年度应为 150.00 元）")]
    # the year not in the schedule either: the record's amount is quoted beside it
    assert _details(0, {"amount": None, "amount_raw": "待定", "year": 2013, "year_raw": "2013"}) == [
        ("FEE_MISMATCH", "培训年度 2013 不在收费标准内（2014、2015、2016、2017、2018）"),
        ("PAYMENT_MISMATCH", "订单号 A001：培训年度（表中 2013，缴费记录 2018）；"
                             "金额（表中“待定”无法识别，缴费记录 150.00）")]
