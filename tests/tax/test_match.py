"""Matching issued invoices to planned ones: exact or reported, never attached silently."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

from openpyxl import load_workbook

from tests.tax.builders import SELLER_TAX_ID, TAX_CODE, number, planned, platform_xml
from worker.tax import columns as C
from worker.tax.match import Outcome, match_invoices
from worker.tax.model import PlannedInvoice, PlannedLine, PlatformInvoiceType
from worker.tax.workbook import write_workbooks
from worker.tax.xml import parse_issued_xml


def _issued(n: int, inv: PlannedInvoice, **kw):
    return parse_issued_xml(platform_xml(number(n), inv, **kw))


def test_exact_match_is_issued():
    a, b = planned("TJZG00000001", 1), planned("TJZG00000002", 2, lines=2, special=True)
    results = match_invoices([_issued(1, a), _issued(2, b)], [a, b], seller_tax_id=SELLER_TAX_ID)
    assert [(r.outcome, r.planned.serial) for r in results] == [
        (Outcome.ISSUED, "TJZG00000001"), (Outcome.ISSUED, "TJZG00000002")]


def test_unknown_serial_and_missing_reference_are_unmatched():
    a = planned("TJZG00000001", 1)
    unknown = _issued(1, a, remark="申请编号 1 流水号 TJZG00000099")
    bare = _issued(2, a, remark="培训费")
    results = match_invoices([unknown, bare], [a])
    assert [r.outcome for r in results] == [Outcome.UNMATCHED, Outcome.UNMATCHED]
    assert "TJZG00000099" in results[0].detail and "无法对应" in results[1].detail


def test_amount_buyer_and_application_differences_are_listed():
    a = planned("TJZG00000001", 1)
    wrong = _issued(1, a, total="160.00", buyer_name="别的公司", remark="申请编号 2 流水号 TJZG00000001")
    [result] = match_invoices([wrong], [a])
    assert result.outcome is Outcome.MISMATCH and result.planned is a
    assert {d.field for d in result.differences} == {"价税合计", "购买方名称", "申请编号"}
    assert "价税合计应为 150.00，发票为 160.00" in result.detail


def test_seller_type_and_line_count_are_checked():
    a = planned("TJZG00000001", 1, lines=2)
    issued = _issued(1, a, kind="增值税专用发票")
    [result] = match_invoices([issued], [a], seller_tax_id="91120000000000000X")
    assert {d.field for d in result.differences} == {"销售方纳税人识别号", "发票类型"}
    three = _issued(2, replace(a, lines=a.lines * 2), total="300.00")
    [result] = match_invoices([three], [a])
    assert {d.field for d in result.differences} == {"明细行数", "税额"}


def test_full_width_remark_and_spacing_still_match():
    a = planned("TJZG00000001", 7)
    issued = _issued(1, a, remark="申请编号：７ 流水号：TJZG00000001；请查收")
    assert match_invoices([issued], [a])[0].outcome is Outcome.ISSUED


def test_application_only_reference_matches_the_one_invoice_of_that_amount():
    a = planned("TJZG00000001", 5, lines=1)
    b = planned("TJZG00000002", 5, lines=2)
    issued = _issued(1, b, remark="申请编号 5")
    [result] = match_invoices([issued], [a, b])
    assert result.outcome is Outcome.ISSUED and result.planned is b


def test_duplicates_same_number_same_file_same_serial():
    a, b = planned("TJZG00000001", 1), planned("TJZG00000002", 2)
    first = _issued(1, a)
    again = _issued(1, a)
    stolen = _issued(3, a)  # another number claiming a's 流水号
    results = match_invoices([first, again, stolen], [a, b])
    assert [r.outcome for r in results] == [Outcome.ISSUED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert "不止一次" in results[1].detail and number(1) in results[2].detail
    # a later import of the same zip: everything is a duplicate, nothing attached twice
    later = match_invoices([first], [a, b], recorded={number(1): "TJZG00000001"},
                           recorded_digests={first.digest})
    assert later[0].outcome is Outcome.DUPLICATE and "已导入过" in later[0].detail
    reissued = match_invoices([_issued(4, a)], [a], recorded={number(1): "TJZG00000001"})
    assert reissued[0].outcome is Outcome.DUPLICATE and "已开具发票" in reissued[0].detail


def test_red_letter_linked_to_a_recorded_blue_invoice():
    a = planned("TJZG00000001", 1)
    red = parse_issued_xml(platform_xml(number(9), a, red_of=number(1)))
    [linked] = match_invoices([red], [], recorded={number(1): "TJZG00000001"})
    assert linked.outcome is Outcome.RED and linked.blue_number == number(1)
    [stranger] = match_invoices([red], [])
    assert stranger.outcome is Outcome.UNMATCHED and "不是本系统开具的" in stranger.detail


def _platform_issues(workbook: bytes, first_number: int) -> list[bytes]:
    """What the platform does with our workbook: one XML per 1-发票基本信息 row."""
    book = load_workbook(io.BytesIO(workbook))
    lines = defaultdict(list)
    for row in book[C.DETAIL_SHEET].iter_rows(min_row=4, values_only=True):
        if row[0]:
            lines[row[0]].append(row)
    out = []
    for n, row in enumerate(book[C.BASIC_SHEET].iter_rows(min_row=4, values_only=True), first_number):
        if not row[0]:
            continue
        kind = PlatformInvoiceType(row[1])
        plan_lines = tuple(
            PlannedLine(d[1], d[2], d[3] or "", d[4] or "", Decimal(d[5]), Decimal(d[6]),
                        (Decimal(d[7]) / (1 + Decimal(d[8]))).quantize(Decimal("0.01")), Decimal(d[8]),
                        Decimal(d[7]) - (Decimal(d[7]) / (1 + Decimal(d[8]))).quantize(Decimal("0.01")))
            for d in lines[row[0]]
        )
        seen = PlannedInvoice(row[0], 0, kind, row[5], row[6] or "", plan_lines, remark=row[22] or "")
        out.append(platform_xml(number(n), seen))
    return out


def test_round_trip_plan_workbook_platform_xml_match():
    invoices = [planned(f"TJZG{n:08d}", 100 + n // 2, lines=1 + n % 3, special=n % 4 == 0)
                for n in range(1, 9)]
    [workbook] = write_workbooks(invoices)
    issued = [parse_issued_xml(x) for x in _platform_issues(workbook, 1)]
    results = match_invoices(issued, invoices, seller_tax_id=SELLER_TAX_ID)
    assert [r.outcome for r in results] == [Outcome.ISSUED] * len(invoices)
    assert [r.planned.serial for r in results] == [inv.serial for inv in invoices]
    assert all(r.issued.total == r.planned.total for r in results)
    assert all(line.tax_code == TAX_CODE for r in results for line in r.issued.lines)
