"""Attachments built to hurt: every one ends as FormUnreadable with a Chinese detail.

Limits are lowered per test where that keeps the test cheap; the defaults are checked
where the input is cheap to make anyway.  No timing assertions: a test that hangs or
exhausts memory fails on its own.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest

from tests.builders.form import (
    billion_laughs,
    build_form_xls,
    build_form_xlsx,
    build_ole2,
    default_header,
    encrypted_ooxml,
    encrypted_xls,
    make_lines,
    rewrite_xlsx,
    with_many_rows,
    with_shared_strings,
    zip_with_member,
)
from worker.errors import FormUnreadable
from worker.form import FormLimits, read_form
from worker.form.decrypt import LOCKED, UNKNOWN_ENCRYPTION

SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture(scope="module")
def valid() -> bytes:
    return build_form_xlsx(default_header(), make_lines(2))


def unreadable(data: bytes, name: str | None = "申请表.xlsx", **limits: int) -> FormUnreadable:
    with pytest.raises(FormUnreadable) as info:
        read_form(name, data, FormLimits(**limits))
    return info.value


@pytest.mark.parametrize(
    "data",
    [
        b"\x00" * 1000,
        b"PK\x03\x04" + b"\xff" * 500,
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
        "单位名称，所属区\n某某公司，武清区\n".encode("gb18030"),
    ],
    ids=["zeros", "zip-magic-garbage", "ole2-magic-garbage", "csv-named-xlsx"],
)
def test_garbage_named_like_a_spreadsheet(data: bytes) -> None:
    assert unreadable(data).detail == "附件无法打开：文件已损坏"


def test_truncated_zip(valid: bytes) -> None:
    error = unreadable(valid[: len(valid) // 2])
    assert error.detail == "附件无法打开：文件已损坏"
    assert error.__cause__ is not None  # the third-party error is chained, not lost


def test_truncated_xls() -> None:
    data = build_form_xls()
    assert unreadable(data[: len(data) // 2], "a.xls").detail == "附件无法打开：文件已损坏"


def test_malformed_sheet_xml(valid: bytes) -> None:
    data = rewrite_xlsx(valid, {SHEET: lambda xml: xml[: len(xml) // 2]})
    assert unreadable(data).detail == "附件无法打开：文件已损坏"


def test_missing_workbook_part(valid: bytes) -> None:
    data = rewrite_xlsx(valid, {"xl/workbook.xml": None})
    assert unreadable(data).detail == "附件无法打开：文件已损坏"


@pytest.mark.parametrize("name", ["申请表.xlsx", "申请表.xls", None])
def test_encrypted_ooxml(name: str | None) -> None:
    # An EncryptionInfo no Office version writes: held, saying it is encrypted.
    assert unreadable(encrypted_ooxml(), name).detail == UNKNOWN_ENCRYPTION


def test_encrypted_xls() -> None:
    # XOR-obfuscated with a password that is not Excel's default: a real password.
    assert unreadable(encrypted_xls(), "a.xls").detail == LOCKED


def test_zip_member_flagged_encrypted(valid: bytes) -> None:
    data = bytearray(valid)
    at = data.find(b"PK\x01\x02")
    while at != -1:  # set bit 0 of every central-directory entry's flags
        data[at + 8] |= 1
        at = data.find(b"PK\x01\x02", at + 4)
    assert unreadable(bytes(data)).detail == "附件已加密，请取消密码后重新发送"


def test_ole2_word_document_named_xlsx() -> None:
    data = build_ole2({"WordDocument": b"\x00" * 100})
    assert "Word" in unreadable(data).detail


def test_over_max_bytes(valid: bytes) -> None:
    assert unreadable(valid, max_bytes=1000).detail == "附件过大（超过 1000 字节）"
    big = valid + b"\x00" * (10 * 1024 * 1024)
    assert unreadable(big).detail == "附件过大（超过 10 MB）"


def test_empty_attachment() -> None:
    assert "为空" in unreadable(b"").detail


def test_zip_bomb_total_size(valid: bytes) -> None:
    bomb = zip_with_member(valid, "xl/media/image1.bin", 60 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024  # small in the mailbox...
    assert unreadable(bomb).detail == "附件解压后过大（超过 50 MB）"  # ...huge inflated


def test_zip_bomb_ratio(valid: bytes) -> None:
    bomb = zip_with_member(valid, "xl/media/image1.bin", 4 * 1024 * 1024)
    assert "压缩比异常" in unreadable(bomb).detail
    # the same member is fine once it is below the size where ratios matter
    assert read_form("a.xlsx", bomb, FormLimits(ratio_min_size=8 * 1024 * 1024)).lines


def test_too_many_zip_members(valid: bytes) -> None:
    assert "部件过多" in unreadable(valid, max_members=5).detail


def test_billion_laughs_in_shared_strings(valid: bytes) -> None:
    data = with_shared_strings(valid, billion_laughs("sst"))
    assert unreadable(data).detail == "附件无法打开：文件含有不安全的 XML 内容"


def test_billion_laughs_in_sheet(valid: bytes) -> None:
    def laugh(xml: bytes) -> bytes:
        decls = billion_laughs("worksheet").split(b"]>")[0] + b"]>"
        xml = xml.replace(b"<t>", b"<t>&lol9;", 1)
        return decls.replace(b"<?xml", b"<?xml", 1) + b"\n" + xml

    data = rewrite_xlsx(valid, {SHEET: laugh})
    assert unreadable(data).detail == "附件无法打开：文件含有不安全的 XML 内容"


def test_doctype_hidden_deep_in_a_part(valid: bytes) -> None:
    sst = billion_laughs("sst").replace(b"\n<!DOCTYPE", b"\n<!--" + b"x" * 3_000_000 + b"-->\n<!DOCTYPE", 1)
    error = unreadable(with_shared_strings(valid, sst), max_ratio=10**6)  # past chunk 1
    assert error.detail == "附件无法打开：文件含有不安全的 XML 内容"


def test_defusedxml_is_the_second_line(valid: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even without our pre-scan, openpyxl (through defusedxml) refuses entity bombs."""
    monkeypatch.setattr("worker.form.xlsx.scan_member", lambda *args: None)
    error = unreadable(with_shared_strings(valid, billion_laughs("sst")))
    assert error.detail == "附件无法打开：文件含有不安全的 XML 内容"
    chain = []
    cause: BaseException | None = error
    while cause is not None:
        chain.append(type(cause).__module__)
        cause = cause.__cause__
    assert any(module.startswith("defusedxml") for module in chain), chain


def _append_row(cells: int) -> Callable[[bytes], bytes]:
    """A row of ``cells`` cells with varied values (so the zip ratio stays ordinary)."""
    row = b"".join(b"<c><v>%d</v></c>" % (i * 7919 % 100003) for i in range(cells))
    return lambda xml: xml.replace(b"</sheetData>", b'<row r="900">' + row + b"</row></sheetData>")


def test_row_wider_than_excel_allows(valid: bytes) -> None:
    data = rewrite_xlsx(valid, {SHEET: _append_row(16_385)})
    assert unreadable(data).detail == "附件无法打开：表格单元格数量异常"
    assert read_form("a.xlsx", rewrite_xlsx(valid, {SHEET: _append_row(16_384)})).lines


def test_too_many_cells_in_a_sheet(valid: bytes) -> None:
    data = rewrite_xlsx(valid, {SHEET: _append_row(500)})
    assert unreadable(data, max_cells=400).detail == "附件无法打开：表格单元格数量异常"


def test_too_many_shared_strings(valid: bytes) -> None:
    strings = b"".join(b"<si><t>s%d</t></si>" % i for i in range(50))
    ns = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sst = b'<?xml version="1.0"?><sst xmlns="' + ns + b'">' + strings + b"</sst>"
    data = with_shared_strings(valid, sst)
    assert read_form("a.xlsx", data).lines
    assert unreadable(data, max_cells=49).detail == "附件无法打开：表格单元格数量异常"


def test_sheet_claiming_a_million_rows(valid: bytes) -> None:
    def claim(xml: bytes) -> bytes:
        start = xml.index(b"<dimension")
        end = xml.index(b"/>", start) + 2
        stray = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
        xml = xml[:start] + b'<dimension ref="A1:XFD1048576"/>' + xml[end:]
        return xml.replace(b"</sheetData>", stray)

    form = read_form("a.xlsx", rewrite_xlsx(valid, {SHEET: claim}))
    assert len(form.lines) == 2
    assert form.header["unit"]


@pytest.fixture(scope="module")
def million_rows() -> bytes:
    """A form whose table runs on for a million rows (~5 MB zipped, ~70 MB inflated)."""
    base = build_form_xlsx(default_header(), make_lines(2), total=None, notes=False)
    last = max(int(r) for r in _row_numbers(base))
    return with_many_rows(base, 1_000_000, first_row=last + 1)


def _row_numbers(data: bytes) -> list[bytes]:
    import re

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return re.findall(rb'<row r="(\d+)"', archive.read(SHEET))


def test_million_rows_default_limits(million_rows: bytes) -> None:
    assert unreadable(million_rows).detail == "附件解压后过大（超过 50 MB）"


def test_million_rows_hit_the_line_limit(million_rows: bytes) -> None:
    error = unreadable(million_rows, max_uncompressed=1 << 30)
    assert error.detail.startswith("申请表人数过多（超过 2000 人）")


def test_million_rows_hit_the_row_limit(million_rows: bytes) -> None:
    error = unreadable(million_rows, max_uncompressed=1 << 30, max_rows=500)
    assert error.detail == "附件中的表格过大（超过 500 行）"


def test_rows_beyond_the_table_are_not_read(valid: bytes) -> None:
    """Data far below a finished table is outside max_rows and costs nothing."""
    data = with_many_rows(valid, 100_000, first_row=200)
    form = read_form("a.xlsx", data, FormLimits(max_rows=100))
    assert len(form.lines) == 2


def test_columns_beyond_max_cols_are_not_read(valid: bytes) -> None:
    assert read_form("a.xlsx", valid, FormLimits(max_cols=6)).lines
    assert "金额" in unreadable(valid, max_cols=5).detail  # 金额（元） is column 6


def test_too_many_sheets(fmt: str) -> None:
    build = build_form_xlsx if fmt == "xlsx" else build_form_xls
    data = build(layout="shuffled")  # cover + form
    assert "工作表过多" in unreadable(data, f"a.{fmt}", max_sheets=1).detail
    assert read_form(f"a.{fmt}", data, FormLimits(max_sheets=2)).lines


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"<html><body><p>1</p></body></html>", "网页"),  # a table in it is read (issue 9)
        (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>', "XML"),
        (b"%PDF-1.4\n%...", "PDF"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "图片"),
    ],
    ids=["html-xls", "xml-2003", "pdf", "png"],
)  # fmt: skip
def test_not_a_workbook(data: bytes, words: str) -> None:
    assert words in unreadable(data, "申请表.xls").detail


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return out.getvalue()


def test_docx_named_xlsx() -> None:
    data = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    assert "Word" in unreadable(data).detail


def test_xlsb() -> None:
    data = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x00"})
    assert ".xlsb" in unreadable(data, "a.xlsb").detail


def test_plain_zip_not_named_as_spreadsheet(valid: bytes) -> None:
    data = _zip({"申请表.xlsx": valid})
    assert "压缩包" in unreadable(data, "申请表.zip").detail


def test_xlsm_and_misnamed_files_parse(valid: bytes) -> None:
    for name in ("申请表.xlsm", "申请表.dat", "申请表.xls", None):
        assert len(read_form(name, valid).lines) == 2
    assert len(read_form("申请表.xlsx", build_form_xls()).lines) == 3
