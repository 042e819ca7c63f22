"""What staff see: dashboard, queue filters and search, the application page with
reasons in place, payment upload, print centre and the audit log."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from tests.console.conftest import Seeded
from tests.intake.conftest import World
from worker.db.models import Application, Shipment
from worker.samples import id_number, payments_csv


def ids_in(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/applications/(\d+)"', html)}


def test_dashboard_counts(logged_in: tuple[FlaskClient, str], seeded: Seeded) -> None:
    client, _ = logged_in
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<div class="n">4</div><div class="label">待处理申请', html)
    assert re.search(r'<div class="n">1</div><div class="label">已开具', html)
    for district in ("武清区", "宝坻区", "静海区", "西青区"):
        assert district in html
    assert "最近 14 天收到的申请" in html and "最早" in html


def test_queue_filters_and_search(logged_in: tuple[FlaskClient, str], seeded: Seeded,
                                  world: World) -> None:
    client, _ = logged_in
    held = {seeded.no_recipient, seeded.refunded, seeded.hostile, seeded.unpaid}
    assert ids_in(client.get("/queue").get_data(as_text=True)) == held
    q = lambda s: ids_in(client.get("/queue" + s).get_data(as_text=True))  # noqa: E731
    assert q("?reason=PAYMENT_REFUNDED") == {seeded.refunded}
    assert q("?reason=MISSING_RECIPIENT") == {seeded.no_recipient, seeded.hostile}
    assert q("?district=西青区") == {seeded.unpaid}
    assert q("?status=accepted") == {seeded.accepted}
    assert q("?status=all") == held | {seeded.accepted}
    assert q("?from=2018-09-03&to=2018-09-03") == held
    assert q("?from=2018-09-04") == set()
    assert q("?q=宝坻区某某") == {seeded.refunded}                 # unit
    assert q("?q=B90002") == {seeded.refunded}                      # order number
    assert q("?q=" + id_number("120223", "19930303", 93).lower()) == {seeded.refunded}  # ID no.
    with world.app.sessions() as s:
        waybill = s.scalars(select(Shipment.waybill)).one()
    assert q("?q=" + waybill.lower()) == {seeded.accepted}          # waybill, any status
    assert q("?q=baodi@qq") == {seeded.refunded}                    # sender
    assert q("?q=%25") == set() and q("?q=_") == set()              # LIKE wildcards are text
    assert q("?page=&from=&to=&reason=&status=") == held              # empty = not filtered
    for bad, reason in (("page=abc", "页码"), ("status=bogus", "状态"), ("from=notadate", "日期"),
                        ("reason=NOPE", "原因代码")):
        r = client.get("/queue?" + bad)
        assert r.status_code == 400 and reason in r.get_data(as_text=True), bad


def test_application_page_shows_reasons_where_they_apply(
        logged_in: tuple[FlaskClient, str], seeded: Seeded) -> None:
    client, _ = logged_in
    html = client.get(f"/applications/{seeded.refunded}").get_data(as_text=True)
    row = re.search(r'<tr class=" flagged">.*?</tr>', html, re.S)
    assert row and "B90002" in row.group(0) and "该订单已退款" in row.group(0)
    assert "请从申请表中删除该学员后重新发送" in html  # the advice
    assert "删除此行" in html and "批准开具" in html and "退回并回复单位" in html
    assert "baodi@qq.com" in html and "申请表.xlsx" in html  # the mail and its attachment
    html = client.get(f"/applications/{seeded.no_recipient}").get_data(as_text=True)
    field = re.search(r'<input class="wide bad" type="text" name="recipient_name"[^>]*>\s*'
                      r'<div class="reason">', html)
    assert field, "MISSING_RECIPIENT is shown at the recipient fields"
    assert "请开发票，谢谢" in html  # the mail body


def test_accepted_page_shows_invoices_and_label(logged_in: tuple[FlaskClient, str],
                                                seeded: Seeded, world: World) -> None:
    client, token = logged_in
    html = client.get(f"/applications/{seeded.accepted}").get_data(as_text=True)
    assert "发票 PDF" in html and "面单 PDF" in html and "运费到付" in html
    assert "保存修改" not in html and "批准开具" not in html  # no actions on an issued one
    r = client.post("/print/reprint", data={"csrf_token": token,
                                            "application_id": str(seeded.accepted)},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert f"已重印申请 {seeded.accepted}" in page
    links = re.findall(r'href="(/files/reprint/\d+/\d)"', page)
    assert len(links) == 2
    for link in links:
        got = client.get(link)
        assert got.status_code == 200 and got.data[:5] == b"%PDF-"
    r = client.post("/print/reprint", data={"csrf_token": token,
                                            "application_id": str(seeded.hostile)},
                    follow_redirects=True)
    assert "只有已开具的申请可以重印" in r.get_data(as_text=True)


def test_payment_upload_and_recheck_through_the_form(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, world: World) -> None:
    client, token = logged_in
    data = payments_csv(seeded.unpaid_people) + "E99999,坏行,x,2018,abc,,在线支付,已支付\r\n".encode(
        "gb18030")
    from io import BytesIO

    r = client.post("/payments", data={"csrf_token": token, "file": (BytesIO(data), "平台导出.csv")},
                    content_type="multipart/form-data", follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "已导入 平台导出.csv：共 3 行，新增 2" in html and "有问题 1 行" in html
    assert "平台导出.csv:4" in html  # the bad row, with its line
    r = client.post("/payments/recheck", data={"csrf_token": token}, follow_redirects=True)
    assert "其中 1 份现在可以批准" in r.get_data(as_text=True)
    with world.app.sessions() as s:
        assert s.get(Application, seeded.unpaid).reasons == []  # type: ignore[union-attr]
    r = client.post("/payments", data={"csrf_token": token,
                                       "file": (BytesIO(b"\x00\x01junk"), "x.xlsx")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "无法读取 x.xlsx" in r.get_data(as_text=True)


def test_print_centre_and_audit_log(logged_in: tuple[FlaskClient, str], seeded: Seeded) -> None:
    client, token = logged_in
    html = client.get("/print").get_data(as_text=True)
    assert "invoices.pdf" in html and "labels.pdf" in html and "取件清单" in html
    client.post(f"/applications/{seeded.hostile}/reject",
                data={"csrf_token": token, "message": "<b>请重新申请</b>"})
    html = client.get("/audit").get_data(as_text=True)
    assert "李老师" in html and "退回" in html and "&lt;b&gt;请重新申请&lt;/b&gt;" in html
    assert "暂无记录" in client.get("/audit?action=approve").get_data(as_text=True)
