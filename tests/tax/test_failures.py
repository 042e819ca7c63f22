"""The platform's failure workbook: found by its labels, reasons kept in its words."""

from __future__ import annotations

import pytest

from tests.tax.builders import failure_workbook, zip_of
from worker.errors import FailureWorkbookUnreadable
from worker.tax.failures import read_failures, reasons_by_serial


def test_rows_below_a_title_line():
    data = failure_workbook([
        ("TJZG00000001", "1-发票基本信息:购买方纳税人识别号格式不正确"),
        ("TJZG00000002", "2-发票明细信息:税率不合法，请使用如下税率：1%"),
    ])
    rows = read_failures(data, "失败明细.xlsx")
    assert [(r.serial, r.reason, r.row) for r in rows] == [
        ("TJZG00000001", "1-发票基本信息:购买方纳税人识别号格式不正确", 3),
        ("TJZG00000002", "2-发票明细信息:税率不合法，请使用如下税率：1%", 4),
    ]
    assert rows[0].sheet == "导入失败明细" and rows[0].buyer_name == "天津市武清区某某科技有限公司"


@pytest.mark.parametrize("label", ["导入失败原因", "错误原因", "失败原因"])
def test_reason_column_aliases_without_title(label):
    rows = read_failures(failure_workbook([("TJZG00000003", "购买方名称不能为空")], title_row=False,
                                          reason_label=label))
    assert [(r.serial, r.reason) for r in rows] == [("TJZG00000003", "购买方名称不能为空")]


@pytest.mark.parametrize("label", ["失败原因（必填）", "失败原因\n（平台填写）", "失败原因说明", "错误描述"])
def test_reason_column_titled_with_a_hint_or_more_words(label):
    """A title with a bracketed hint, a second line, or more words: the workbook was
    refused as "not a failure workbook" and its failed invoices stayed waiting."""
    rows = read_failures(failure_workbook([("TJZG00000001", "税率不合法")], reason_label=label), "f.xlsx")
    assert [(r.serial, r.reason) for r in rows] == [("TJZG00000001", "税率不合法")]


def test_serials_typed_or_pasted_by_staff_are_read_as_written_by_us():
    """Full-width letters, a zero-width space pasted from a chat, a trailing space:
    the whole workbook was refused over one row's 流水号."""
    data = failure_workbook([("ＴＪＺＧ00000001", "原因一"), ("\u200bTJZG00000002 ", "原因二")])
    assert [r.serial for r in read_failures(data, "f.xlsx")] == ["TJZG00000001", "TJZG00000002"]


def test_several_reasons_for_one_serial_grouped():
    rows = read_failures(failure_workbook([("TJZG00000004", "金额不能为空"), ("TJZG00000004", "税率不合法"),
                                           ("TJZG00000004", "金额不能为空")]))
    assert reasons_by_serial(rows) == {"TJZG00000004": ["金额不能为空", "税率不合法"]}


def test_a_listed_row_with_a_blank_reason_is_still_a_failure():
    """A row the platform listed as failed is never skipped for want of its reason."""
    (row,) = read_failures(failure_workbook([("TJZG00000007", "")]))
    assert (row.serial, row.reason) == ("TJZG00000007", "失败明细中未写明失败原因")


def test_a_reason_without_a_readable_serial_is_reported():
    with pytest.raises(FailureWorkbookUnreadable, match="没有可读的发票流水号"):
        read_failures(failure_workbook([("", "购买方名称不能为空")]))


def test_empty_failure_list_is_fine():
    assert read_failures(failure_workbook([])) == []


@pytest.mark.parametrize(("data", "words"), [
    (lambda: failure_workbook([("x", "y")], reason_label="备注"), "找不到"),
    (lambda: b"not a spreadsheet at all", "失败明细无法打开"),
    (lambda: zip_of({"a.txt": b"x"}), "失败明细无法打开"),
    (lambda: failure_workbook([("../../etc/passwd", "x")]), "不是本系统的流水号格式"),
])
def test_unusable_files_are_reported(data, words):
    with pytest.raises(FailureWorkbookUnreadable) as e:
        read_failures(data(), "失败明细.xlsx")
    assert words in e.value.detail
