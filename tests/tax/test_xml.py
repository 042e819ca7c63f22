"""Issued-invoice XML: the platform's variants read, hostile and broken files reported."""

from __future__ import annotations

import tracemalloc
from decimal import Decimal

import pytest

from tests.tax.builders import billion_laughs, number, planned, platform_xml
from worker.errors import TaxXmlUnreadable
from worker.tax.xml import parse_issued_xml


def test_reads_number_buyer_totals_lines_remark():
    inv = planned("TJZG00000007", 42, lines=3, special=True)
    issued = parse_issued_xml(platform_xml(number(7), inv))
    assert issued.number == "24120000000000000007"
    assert issued.issue_time == "2024-03-01 10:12:13"
    assert (issued.buyer_name, issued.buyer_tax_id) == (inv.buyer_name, inv.buyer_tax_id)
    assert issued.seller_name == "天津市政工师进修学院"
    assert (issued.total_net, issued.total_tax, issued.total) == (inv.total_net, inv.total_tax, inv.total)
    assert issued.total == Decimal("450.00")
    assert issued.remark == "申请编号 42 流水号 TJZG00000007"
    assert issued.kind == "增值税专用发票"
    assert len(issued.lines) == 3
    first = issued.lines[0]
    assert (first.amount, first.tax, first.tax_rate) == (Decimal("145.63"), Decimal("4.37"), Decimal("0.03"))
    assert first.tax_code == "3070201020000000000" and first.item_name == "*非学历教育服务*培训费"
    assert not issued.is_red and len(issued.digest) == 64


@pytest.mark.parametrize("variant", [
    {"namespace": "http://www.chinatax.gov.cn/eInvoice"},
    {"encoding": "GBK"},
    {"encoding": "gb18030"},
])
def test_variants_read_alike(variant):
    plain = parse_issued_xml(platform_xml(number(1)))
    other = parse_issued_xml(platform_xml(number(1), **variant))
    assert (other.number, other.buyer_name, other.total, other.remark, len(other.lines)) == (
        plain.number, plain.buyer_name, plain.total, plain.remark, len(plain.lines))


def test_bom_and_missing_eiid_are_fine():
    data = b"\xef\xbb\xbf" + platform_xml(number(3), eiid="")
    assert parse_issued_xml(data).number == number(3)


def test_red_letter_names_the_blue_invoice():
    red = parse_issued_xml(platform_xml(number(9), red_of=number(1)))
    assert red.is_red and red.total == Decimal("-150.00")
    assert red.red.original_number == number(1)
    assert red.red.confirmation_number == "12011824000000000001"


@pytest.mark.parametrize(("data", "words"), [
    (lambda: platform_xml(number(1))[:-40], "不完整"),
    (lambda: billion_laughs(), "DTD"),
    (lambda: b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
             b"<EInvoice>&e;</EInvoice>", "DTD"),
    (lambda: b"<Invoice><InvoiceNumber>1</InvoiceNumber></Invoice>", "根元素为 Invoice"),
    (lambda: platform_xml("12345"), "20 位数字"),
    (lambda: platform_xml(number(1), eiid=number(2)), "发票号码不一致"),
    (lambda: platform_xml(number(1)).replace(b"<TotalTaxAm>4.37", b"<TotalTaxAm>9.37"), "金额不一致"),
    (lambda: platform_xml(number(1)).replace(b"<TotalTax-includedAmount>150.00",
                                             b"<TotalTax-includedAmount>abc"), "不是数字"),
    (lambda: b"   ", "为空"),
    (lambda: b"\xff\xfe\x00garbage", "XML"),
    (lambda: platform_xml(number(1), red_of="").replace(b"<AdditionalInformation>",
        b"<SpecificInformation><RedEInvoice><CreditNoteNumber>1</CreditNoteNumber></RedEInvoice>"
        b"</SpecificInformation><AdditionalInformation>"), "蓝字发票号码"),
])
def test_bad_files_raise_a_typed_error_with_a_reason(data, words):
    with pytest.raises(TaxXmlUnreadable) as e:
        parse_issued_xml(data())
    assert words in e.value.detail


def test_billion_laughs_is_refused_before_expansion():
    tracemalloc.start()
    try:
        with pytest.raises(TaxXmlUnreadable):
            parse_issued_xml(billion_laughs(levels=12))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024


def test_oversized_file_is_refused_unparsed():
    huge = platform_xml(number(1)).replace(b"<Remark>", b"<Remark>" + b"x" * (3 * 1024 * 1024))
    with pytest.raises(TaxXmlUnreadable, match="过大"):
        parse_issued_xml(huge)
