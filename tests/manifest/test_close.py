"""Closing out pickups: each parcel on exactly one manifest, re-sends never re-manifest."""

from __future__ import annotations

from decimal import Decimal

from tests.manifest.conftest import RecordingMailer, Site
from worker.manifest.sheet import HEADERS
from worker.manifest.xlsx import FIRST_TABLE_ROW


def waybills_in(result_xlsx: object) -> list[str]:
    from openpyxl import load_workbook

    ws = load_workbook(result_xlsx).active
    assert ws is not None
    rows = list(ws.iter_rows(min_row=FIRST_TABLE_ROW + 1, values_only=True))
    return [r[1] for r in rows if isinstance(r[0], int)]


def test_a_manifest_run_twice_lists_each_parcel_once(site: Site) -> None:
    first_batch = site.issue(3)
    mailer = RecordingMailer()
    first = site.close(mailer)
    assert (first.parcels, first.manifest_id, first.emailed) == (3, 1, "recorded")
    assert first.xlsx and first.pdf and first.xlsx.is_file() and first.pdf.is_file()
    assert waybills_in(first.xlsx) == first_batch

    again = site.close(mailer)
    assert (again.parcels, again.xlsx, again.pdf, again.manifest_id) == (0, None, None, None)
    assert again.as_json() == {"parcels": 0, "xlsx": None, "pdf": None, "manifest": None,
                               "emailed": None, "resent": []}
    assert len(mailer.sent) == 1 and len(site.manifests()) == 1
    assert sorted(p.name for p in first.xlsx.parent.iterdir()) == [
        first.pdf.name, first.xlsx.name]

    second_batch = site.issue(2)
    second = site.close(mailer)
    assert second.parcels == 2 and second.manifest_id == 2
    assert waybills_in(second.xlsx) == second_batch
    assert site.close(mailer).parcels == 0

    by_manifest = {s.waybill: s.manifest_id for s in site.shipments()}
    assert by_manifest == {**dict.fromkeys(first_batch, 1), **dict.fromkeys(second_batch, 2)}
    m1, m2 = site.manifests()
    assert (m1.parcels, m2.parcels) == (3, 2)
    assert m1.postage_total == sum((s.postage_due for s in site.shipments()[:3]), Decimal(0))
    assert m1.emailed_at is not None and m2.emailed_at is not None
    assert (m1.xlsx_path, m1.pdf_path) == ("manifests/1-2018-09-03.xlsx",
                                           "manifests/1-2018-09-03.pdf")
    assert len(mailer.sent) == 2


def test_a_failed_mail_is_resent_once_without_a_new_manifest(site: Site) -> None:
    waybills = site.issue(2)
    failed = site.close(RecordingMailer(fail=True))
    assert failed.parcels == 2 and failed.emailed is None
    assert failed.unsent == (1,) and "Connection refused" in str(failed.error)
    (m,) = site.manifests()
    assert m.emailed_at is None
    assert {s.manifest_id for s in site.shipments()} == {1}

    mailer = RecordingMailer()
    resent = site.close(mailer)
    assert (resent.parcels, resent.manifest_id, resent.resent) == (0, None, (1,))
    assert resent.error is None
    (msg,) = mailer.sent
    assert msg["Subject"].startswith("取件清单 第1号 2018-09-03 共2件")
    assert [s.waybill for s in site.shipments() if s.manifest_id == 1] == waybills
    (m,) = site.manifests()
    assert m.emailed_at is not None

    assert site.close(mailer).resent == () and len(mailer.sent) == 1


def test_an_unsent_manifest_goes_out_before_the_new_one(site: Site) -> None:
    site.issue(1)
    site.close(RecordingMailer(fail=True))
    site.issue(2)
    mailer = RecordingMailer()
    result = site.close(mailer)
    assert (result.manifest_id, result.parcels, result.emailed, result.resent) == (
        2, 2, "recorded", (1,))
    assert [m["Subject"].split()[1] for m in mailer.sent] == ["第1号", "第2号"]


def test_files_removed_before_the_resend_are_written_again(site: Site) -> None:
    site.issue(2)
    failed = site.close(RecordingMailer(fail=True))
    assert failed.xlsx and failed.pdf
    failed.xlsx.unlink()
    mailer = RecordingMailer()
    assert site.close(mailer).resent == (1,)
    assert failed.xlsx.is_file()
    names = [a.get_filename() for a in mailer.sent[0].iter_attachments()]
    assert names == ["取件清单-第1号-2018-09-03.xlsx", "取件清单-第1号-2018-09-03.pdf"]


def test_the_mail_carries_both_files_and_a_summary(site: Site) -> None:
    waybills = site.issue(3)
    mailer = RecordingMailer()
    result = site.close(mailer)
    assert result.xlsx and result.pdf
    (msg,) = mailer.sent
    assert msg["To"] == "pickup@courier.example"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == "取件清单 第1号 2018-09-03 共3件 到付合计38.00元"
    xlsx, pdf = msg.iter_attachments()
    assert xlsx.get_content() == result.xlsx.read_bytes()
    assert pdf.get_content() == result.pdf.read_bytes()
    assert xlsx.get_content_type().endswith("spreadsheetml.sheet")
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert all(w in text for w in waybills) and "到付合计：38.00 元" in text


def test_headers_are_the_spec_columns() -> None:
    assert HEADERS[1:] == ("运单号", "收件人", "电话", "地址", "区", "件数", "重量(kg)", "到付金额(元)")
