"""The eight inputs of ``shared/cases/mail-in-the-wild`` (issue 9), each built in code the
way the mail client or spreadsheet program wrote it, through a whole pass: each was
wrong before and stands for a kind of fault (neighbours: tests/intake/test_attachments.py,
tests/message, tests/form, tests/mailbox)."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy

from tests.builders.form import build_form_xlsx, default_header, form_grid, make_lines
from tests.builders.formats import grid_to_html
from tests.builders.mail import XLSX, attachment_part, b64_chunked, build_mail, build_tnef, build_zip
from tests.builders.payments import Pay, payments_csv
from tests.intake.conftest import World
from worker.form.cells import excel_general
from worker.message import SHANGHAI
from worker.payments import read_payment_file, store_payments

LINES = make_lines(2)
FORM = build_form_xlsx(default_header(), LINES)
NAME = "线上缴费发票申请表.xlsx"
BODY = ("老师您好：\n附件是我单位线上缴费发票申请表。\n"
        "收件人：邓春梅\n电话：13812340007\n地址：天津市武清区杨村街光明路17号")


def pay(world: World, lines: list[dict[str, object]] = LINES) -> None:
    rows = [Pay(str(x["order_no"]), str(x["name"]), str(x["id_number"])) for x in lines]
    parsed, errors = read_payment_file("p.csv", payments_csv(rows), world.app.config.tz)
    with world.app.sessions.begin() as s:
        store_payments(s, "p.csv", parsed, errors)


def only_app(world: World) -> dict[str, object]:
    world.run()
    (app,) = world.export()
    return app


def test_rw06_spreadsheet_with_content_id_and_no_disposition_is_the_form(world: World) -> None:
    pay(world)
    part = attachment_part(NAME, FORM, XLSX, style="name-only", disposition=None,
                           content_id="5C6ED72F8A5DD549B1633A9448941407@wq-unit.cn")
    world.deliver(build_mail(body=BODY, charset="utf-8", parts=[part]))
    app = only_app(world)
    assert app["status"] == "accepted", app["reasons"]
    assert app["attachment"] == NAME


def test_rw09_form_inside_winmail_dat_is_read(world: World) -> None:
    pay(world)
    tnef = build_tnef([(NAME, FORM)])
    world.deliver(build_mail(body=BODY, charset="gb2312",
                             attachments=[("winmail.dat", tnef, "application/ms-tnef")]))
    app = only_app(world)
    assert app["status"] == "accepted", app["reasons"]
    assert app["attachment"] == NAME  # the name the Outlook user gave it


def test_rw10_base64_padded_after_every_chunk_decodes_to_the_form(world: World) -> None:
    pay(world)
    part = attachment_part(NAME, FORM, XLSX, style="rfc2047-b", encoded=b64_chunked(FORM, chunk=570))
    world.deliver(build_mail(body=BODY, charset="utf-8", parts=[part]))
    app = only_app(world)
    assert app["status"] == "accepted", app["reasons"]


def test_rw14_date_written_gmt_plus_offset_is_judged_by_its_arrival(world: World) -> None:
    pay(world)
    raw = build_mail(body=BODY, charset="utf-8", date="Mon, 31 Dec 2018 20:30:00 GMT +0800",
                     attachments=[(NAME, FORM)])
    world.deliver(raw, arrival=datetime(2018, 12, 31, 20, 31, tzinfo=SHANGHAI))
    app = only_app(world)
    assert app["status"] == "accepted", app["reasons"]


def test_rw22_form_inside_a_zip_is_opened(world: World) -> None:
    pay(world)
    archive = build_zip([(NAME, FORM)], names="utf-8")
    world.deliver(build_mail(body=BODY, attachments=[("申请表.zip", archive, "application/x-zip-compressed")],
                             filename_style="rfc2047-b"))
    app = only_app(world)
    assert app["status"] == "accepted", app["reasons"]
    assert app["attachment"] == f"申请表.zip/{NAME}"


def test_rw24_form_pasted_as_an_html_table_is_read(world: World) -> None:
    pay(world)
    recipient = "<p>收件人：唐浩然<br>电话：13812340025<br>地址：天津市武清区杨村街光明路35号</p>"
    markup = grid_to_html(form_grid(default_header(), LINES, total=None, notes=False),
                          outro=recipient)
    world.deliver(build_mail(body=None, html=markup, charset="utf-8"))
    app = only_app(world)
    assert app["status"] == "accepted", app["reasons"]
    assert app["attachment"] is None
    assert app["shipment"]["recipient"] == "唐浩然"
    assert app["invoices"][0]["orders"] == [str(x["order_no"]) for x in LINES]


def test_rw28_person_answering_an_auto_reply_with_a_form_is_not_ignored(world: World) -> None:
    pay(world)
    raw = build_mail(body=BODY, charset="gb2312", subject="回复：自动回复：线上缴费发票申请",
                     in_reply_to="<autoreply.20181201@163.com>",
                     references=["<rw-first.20181130@wq-unit.cn>", "<autoreply.20181201@163.com>"],
                     attachments=[(NAME, FORM)])
    world.deliver(raw)
    app = only_app(world)
    assert app["status"] == "accepted", app["reasons"]


def test_rw18_id_typed_as_a_number_is_quoted_as_the_unit_sees_it(world: World) -> None:
    lines = make_lines(2)
    pay(world, lines)
    form = build_form_xlsx(default_header(), lines, layout="numbers")  # IDs typed as numbers
    world.deliver(build_mail(body=BODY, charset="utf-8", attachments=[(NAME, form)]))
    app = only_app(world)
    assert app["status"] == "held"
    assert sorted({(r["code"], r["line"]) for r in app["reasons"]}) == [
        ("INVALID_ID_NUMBER", 1), ("INVALID_ID_NUMBER", 2), ("PAYMENT_MISMATCH", 1),
        ("PAYMENT_MISMATCH", 2)]
    shown = [excel_general(float(x["id_number"])) for x in lines]
    assert shown[0].endswith("E+17") and len(shown[0]) == 11
    for reason in app["reasons"]:
        assert shown[reason["line"] - 1] in reason["detail"]
    (reply,) = (world.root / "out" / "outbox").glob("*.eml")
    text = message_from_bytes(reply.read_bytes(), policy=policy.default).get_body().get_content()
    assert shown[0] in text and "设置单元格格式" in text and "WPS" in text
