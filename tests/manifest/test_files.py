"""The manifest files read back: the workbook with openpyxl, the PDF with pdftotext."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader

from tests.manifest.conftest import RECIPIENTS, RecordingMailer, Site
from worker.db.models import Shipment
from worker.documents.fetcher import AssetFetcher
from worker.manifest.pdf import render_html, write_manifest_pdf
from worker.manifest.sheet import HEADERS, ManifestSheet, Parcel

CENT = Decimal("0.01")


def dec(value: object) -> Decimal:
    return Decimal(str(value))


def table(path: Path) -> tuple[list[tuple[object, ...]], tuple[object, ...], object]:
    """(parcel rows, totals row, worksheet), found by the header row, not by position."""
    ws = load_workbook(path).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    header = rows.index(HEADERS)
    body = rows[header + 1:]
    end = next(i for i, r in enumerate(body) if str(r[0]).startswith("合计"))
    return body[:end], body[end], ws


def test_the_workbook_lists_every_parcel_with_totals(site: Site) -> None:
    site.issue(7)
    result = site.close(RecordingMailer())
    assert result.xlsx
    parcels, totals, ws = table(result.xlsx)
    shipments: list[Shipment] = site.shipments()
    assert len(parcels) == 7
    for seq, (row, s) in enumerate(zip(parcels, shipments, strict=True), start=1):
        assert row[:7] == (seq, s.waybill, s.recipient, s.phone, s.address, s.district, s.pieces)
        assert dec(row[7]) == Decimal(s.weight_grams) / 1000
        assert dec(row[8]).quantize(CENT) == s.postage_due
        assert isinstance(row[3], str)  # phones stay text
    postage = sum((s.postage_due for s in shipments), Decimal(0))
    assert "共 7 件" in str(totals[0])
    assert totals[6] == 7
    assert dec(totals[7]) == sum(Decimal(s.weight_grams) for s in shipments) / 1000
    assert dec(totals[8]).quantize(CENT) == postage
    text = " ".join(str(c) for r in ws.iter_rows(values_only=True) for c in r if c)  # type: ignore[attr-defined]
    for expected in ("顺丰速运 取件清单", "第1号", "2018-09-03", "天津市政工师进修学院",
                     "022-23391756", "取件人签字"):
        assert expected in text


def test_the_workbook_is_set_up_for_printing(site: Site) -> None:
    site.issue(2)
    result = site.close(RecordingMailer())
    assert result.xlsx
    ws = load_workbook(result.xlsx).active
    assert ws is not None
    assert ws.page_setup.orientation == "landscape"
    assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == "$5:$5"
    assert ws.freeze_panes == "A6"
    assert ws.column_dimensions["E"].width > ws.column_dimensions["C"].width
    assert ws["B6"].number_format == "@" and ws["I6"].number_format == "#,##0.00"


def test_the_pdf_has_the_waybills_names_and_collect_totals(site: Site) -> None:
    waybills = site.issue(5)
    result = site.close(RecordingMailer())
    assert result.pdf
    text = subprocess.run(["pdftotext", "-layout", str(result.pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    for waybill in waybills:
        assert waybill in text
    for name, phone, district, _address in RECIPIENTS:
        assert name in text and phone in text and district in text
    total = sum((s.postage_due for s in site.shipments()), Decimal(0))
    assert f"到付合计 ¥{total:.2f}" in text
    assert "合计（共 5 件）" in text and "取件人签字" in text and "运费到付" in text
    reader = PdfReader(result.pdf)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert box.width > box.height  # A4 landscape


def test_a_long_manifest_repeats_the_header_on_every_page(site: Site) -> None:
    site.issue(45)
    result = site.close(RecordingMailer())
    assert result.pdf
    pages = PdfReader(result.pdf).pages
    assert len(pages) >= 2
    for page in pages:
        assert "运单号" in page.extract_text()
    assert "合计（共 45 件）" in pages[-1].extract_text()


def sheet_with(recipient: str, address: str) -> ManifestSheet:
    parcel = Parcel(1, "SF1", recipient, "13800000000", address, "武清区", 1, Decimal("0.086"),
                    Decimal("12.00"))
    return ManifestSheet(1, datetime(2018, 9, 3, 8, tzinfo=UTC), date(2018, 9, 3), "顺丰速运",
                         "学院", "022-1", "天津", (parcel,))


def test_what_units_typed_stays_text_and_nothing_is_fetched(tmp_path: Path) -> None:
    sheet = sheet_with('<img src="http://127.0.0.1:9/x.png">',
                       '<link rel=stylesheet href="file:///etc/passwd">')
    html = render_html(sheet)
    assert "<img" not in html and "<link rel=stylesheet" not in html
    assert "&lt;img src=&#34;http://127.0.0.1:9/x.png&#34;&gt;" in html
    fetchers: list[AssetFetcher] = []

    def recording() -> AssetFetcher:
        fetchers.append(AssetFetcher())
        return fetchers[-1]

    out = write_manifest_pdf(sheet, tmp_path / "m.pdf", fetcher=recording)
    assert out.pages == 1 and [f.asked for f in fetchers] == [[]]
    text = subprocess.run(["pdftotext", str(out.path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert '<img src="http://127.0.0.1:9/x.png">' in text


def test_the_pdf_is_the_same_for_the_same_manifest(tmp_path: Path) -> None:
    sheet = sheet_with("赵玥", "天津市武清区")
    a = write_manifest_pdf(sheet, tmp_path / "a.pdf").path.read_bytes()
    b = write_manifest_pdf(sheet, tmp_path / "b.pdf").path.read_bytes()
    assert a == b
