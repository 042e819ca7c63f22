"""Finance downloads in the console and the payments page's lookup."""

from __future__ import annotations

import io
from urllib.parse import quote

from flask.testing import FlaskClient
from openpyxl import load_workbook

from tests.console.conftest import Seeded
from worker.samples import id_number


def test_ledger_download_is_xlsx_with_text_ids(logged_in: tuple[FlaskClient, str],
                                                 seeded: Seeded) -> None:
    client, _ = logged_in
    page = client.get("/reports").get_data(as_text=True)
    assert 'href="/reports/ledger.xlsx"' in page and 'href="/reports/audit.csv"' in page
    r = client.get("/reports/ledger.xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert quote("开票台账.xlsx") in r.headers["Content-Disposition"]
    assert r.headers["Cache-Control"] == "no-store"
    ws = load_workbook(io.BytesIO(r.data)).active
    assert ws["B1"].value == "发票号码" and ws["B2"].value == "00000001" and ws["B2"].data_type == "s"
    assert ws["I2"].value == 450 and ws["I2"].number_format == "0.00"
    dated = client.get("/reports?from=2018-09-01&to=2018-09-30").get_data(as_text=True)
    assert 'href="/reports/ledger.xlsx?from=2018-09-01&amp;to=2018-09-30"' in dated
    csv = client.get("/reports/payments.csv?to=2000-01-01")
    assert csv.status_code == 200 and csv.data.decode("utf-8-sig").count("\n") == 1  # header only
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"  # one charset, not two


def test_bad_report_requests(logged_in: tuple[FlaskClient, str], client: FlaskClient) -> None:
    c, _ = logged_in
    assert c.get("/reports/ledger.xls").status_code == 404
    assert c.get("/reports/secrets.xlsx").status_code == 404
    assert c.get("/reports/ledger.xlsx?from=2018-02-30").status_code == 400
    assert c.get("/reports/ledger.xlsx?from=2018-09-02&to=2018-09-01").status_code == 400
    for kind in ("ledger", "queue", "payments", "audit"):  # out of range: 400, never a 500
        assert c.get(f"/reports/{kind}.csv?from=0001-01-01").status_code == 400
        assert c.get(f"/reports/{kind}.xlsx?to=9999-12-31").status_code == 400


def test_reports_need_login(client: FlaskClient) -> None:
    r = client.get("/reports/ledger.xlsx")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_payment_lookup_by_order_name_or_id(logged_in: tuple[FlaskClient, str],
                                            seeded: Seeded) -> None:
    client, _ = logged_in

    def found(q: str) -> str:
        return client.get("/payments", query_string={"q": q}).get_data(as_text=True)

    refunded_id = id_number("120223", "19930303", 93)
    assert "卫喆" in found("B90002") and "已退款" in found("B90002")
    assert "B90002" in found("卫喆")
    assert "B90002" in found(refunded_id.lower())              # lower-case x is the same
    assert "B90002" in found(refunded_id[-6:])                 # the end of the ID, read out
    assert "B90002" in found("Ｂ９０００２")                   # full-width as typed in an IME
    hit = found("C00001")
    assert "00000001" in hit and f"/applications/{seeded.accepted}" in hit
    assert "没有找到“%_”" in found("%_")                       # LIKE wildcards are just text
