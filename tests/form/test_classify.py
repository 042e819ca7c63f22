"""Sorting attachments into the form, documents that should have been it, and noise."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.builders.form import build_form_xls, build_form_xlsx, build_ole2, encrypted_ooxml
from worker.form import classify_attachment

XLSX = build_form_xlsx()
XLS = build_form_xls()
OCTET = "application/octet-stream"


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return out.getvalue()


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
ODS = _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"})
PNG_BIG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 50_000
PNG_SMALL = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2_000
JPEG_BIG = b"\xff\xd8\xff\xe0" + b"\x00" * 50_000
TNEF = b"\x78\x9f\x3e\x22" + b"\x00" * 200


@pytest.mark.parametrize(
    ("name", "ctype", "data"),
    [
        ("申请表.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", XLSX),
        ("申请表.xls", "application/vnd.ms-excel", XLS),
        ("申请表.xlsm", OCTET, XLSX),
        ("申请表.dat", OCTET, XLSX),  # renamed by a mail client
        ("ATT00001.bin", OCTET, XLS),
        (None, OCTET, XLSX),
        ("申请表.pdf", "application/pdf", XLSX),  # bytes outrank the name
        ("申请表.et", "application/kset", XLS),  # WPS 表格 saves BIFF8
        ("申请表.xlsx", OCTET, encrypted_ooxml()),  # read_form explains the password
        ("申请表.xlsx", OCTET, XLSX[: len(XLSX) // 2]),  # damaged: read_form explains
        ("申请表.xls", "application/vnd.ms-excel", b"<html><table></table></html>"),
        (None, "application/vnd.ms-excel", b"\x00garbage"),
        ("申请表.csv", "text/csv", "姓名,身份证号\n王伟,1\n".encode("gb18030")),  # read (issue 9)
        ("申请表.ods", OCTET, ODS),  # OpenDocument is read (issue 9)
        ("data", "text/csv", b"a,b\n"),
        # Excel's "XML 表格 2003": was "no Excel attachment" (NO_FORM); read_form names it
        ("申请表.xml", "text/xml", b'<?xml version="1.0"?>\r\n<?mso-application progid="Excel.Sheet"?>'
                                  b'\r\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>'),
    ],
)
def test_forms(name: str | None, ctype: str, data: bytes) -> None:
    assert classify_attachment(name, ctype, data) == "form"


@pytest.mark.parametrize(
    ("name", "ctype", "data"),
    [
        ("申请表.docx", OCTET, DOCX),
        ("申请表.xlsx", OCTET, DOCX),  # a Word file renamed
        ("申请表.doc", "application/msword", build_ole2({"WordDocument": b"x"})),
        ("申请表.wps", OCTET, build_ole2({"WordDocument": b"x"})),
        ("申请表.docx", OCTET, encrypted_ooxml()),
        ("申请表.pdf", "application/pdf", b"%PDF-1.7\n..."),
        ("申请表.png", "image/png", PNG_BIG),
        ("扫描件.jpg", "image/jpeg", JPEG_BIG),
        ("线上缴费发票申请表.jpg", "image/jpeg", JPEG_BIG[:3_000]),  # small, but named as the form
        ("申请表.zip", "application/zip", _zip({"申请表.xlsx": XLSX})),
        ("申请表.rar", OCTET, b"Rar!\x1a\x07\x01\x00" + b"\x00" * 100),
        ("申请表.7z", OCTET, b"7z\xbc\xaf\x27\x1c" + b"\x00" * 100),
        ("申请表.et", OCTET, build_ole2({"Other": b"x"})),  # OLE2, but not a workbook
        (None, "application/pdf", b"\x00unknown"),
        # what a desktop leaves beside the form: Excel's/WPS's owner file, macOS's fork
        ("~$申请表.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         b"\x06\x00" + "张三".encode("utf-16-le") + b" " * 150),
        ("申请表/~$申请表.xls", OCTET, b"\x06\x00" + b" " * 160),
        ("._申请表.xlsx", OCTET, b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "),
    ],
)
def test_unsupported(name: str | None, ctype: str, data: bytes) -> None:
    assert classify_attachment(name, ctype, data) == "unsupported"


@pytest.mark.parametrize(
    ("name", "ctype", "data"),
    [
        ("image001.png", "image/png", PNG_SMALL),
        ("image001.png", "image/png", PNG_BIG),  # Outlook's name for inline pictures
        ("logo.png", "image/png", PNG_SMALL),  # small: a signature logo
        (None, "image/jpeg", JPEG_BIG),
        ("invite.ics", "text/calendar", b"BEGIN:VCALENDAR\r\n"),
        ("张三.vcf", "text/vcard", b"BEGIN:VCARD\r\n"),
        ("winmail.dat", "application/ms-tnef", TNEF),
        ("说明.txt", "text/plain", "请查收".encode()),
        ("正文.html", "text/html", b"<html><body>hi</body></html>"),
        (None, "text/plain", b"hello"),
        ("smime.p7s", "application/pkcs7-signature", b"\x30\x82\x01"),
        ("data.xml", "text/xml", b'<?xml version="1.0"?><invoice><no>1</no></invoice>'),
    ],
)
def test_other(name: str | None, ctype: str, data: bytes) -> None:
    assert classify_attachment(name, ctype, data) == "other"


def test_content_type_parameters_are_ignored() -> None:
    ctype = 'application/vnd.ms-excel; name="=?GBK?B?yerH67HtLnhscw==?="'
    assert classify_attachment(None, ctype, b"\x00not-magic") == "form"


def test_quoted_and_fullwidth_names() -> None:
    assert classify_attachment('"申请表.PDF"', OCTET, b"\x00") == "unsupported"
    assert classify_attachment("申请表．ｘｌｓｘ", OCTET, b"\x00") == "form"
