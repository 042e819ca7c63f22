"""The variety of SPEC §2 through the whole pass: every client style, encoding, form
layout and file type ends as the application the unit meant, or with the right reason."""

from __future__ import annotations

import pytest

from tests.builders.form import (
    build_form_xls,
    build_form_xlsx,
    default_header,
    form_grid,
    grid_to_xlsx,
    make_line,
    make_lines,
)
from tests.builders.mail import XLS, attachment_part, build_auto_reply, build_bounce, build_mail
from tests.builders.payments import Pay
from tests.intake.conftest import World
from worker.payments import read_payment_file, store_payments

LINES = make_lines(3)


def pay_lines(world: World, lines: list[dict[str, object]], **changes: dict[str, str]) -> None:
    from tests.builders.payments import payments_csv

    rows = []
    for line in lines:
        values = {"order_no": str(line["order_no"]), "name": str(line["name"]),
                  "id_number": str(line["id_number"]), "year": line["year"],
                  "amount": line["amount"]}
        values.update(changes.get(str(line["order_no"]), {}))
        rows.append(Pay(**values))  # type: ignore[arg-type]
    parsed, errors = read_payment_file("p.csv", payments_csv(rows), world.app.config.tz)
    with world.app.sessions.begin() as s:
        store_payments(s, "p.csv", parsed, errors)


XLSX_FORM = build_form_xlsx(default_header(), LINES)

ACCEPTED = {
    "163 gbk body, rfc2047-b gbk name": dict(charset="gb2312", filename_style="rfc2047-b",
                                             filename_charset="gbk"),
    "qq html-only, rfc2231": dict(body=None, html="<div>收件人：张三</div><div>电话：13800000000"
                                  "</div><div>地址：天津市武清区杨村街道和平路1号</div>",
                                  charset="utf-8", filename_style="rfc2231"),
    "foxmail raw gbk name": dict(charset="gbk", filename_style="raw-gbk"),
    "outlook": dict(charset="gb2312", filename_style="outlook", body_encoding="quoted-printable"),
    "wps name-only": dict(filename_style="name-only"),
    "rfc2231 continuations": dict(filename_style="rfc2231-cont"),
    "rfc2047-q": dict(filename_style="rfc2047-q"),
    "gb18030 body": dict(charset="gb18030"),
}


@pytest.mark.parametrize("style", sorted(ACCEPTED))
def test_client_styles_are_accepted(world: World, style: str) -> None:
    pay_lines(world, LINES)
    name = "天津市武清区某某公司发票申请表（2018年度）.xlsx"
    world.deliver(build_mail(attachments=[(name, XLSX_FORM)], **ACCEPTED[style]))
    world.run()
    (app,) = world.export()
    assert app["status"] == "accepted", app["reasons"]
    assert app["attachment"] == name
    assert app["shipment"]["recipient"] == "张三"
    assert app["shipment"]["phone"] == "13800000000"


@pytest.mark.parametrize("layout", ["standard", "inline", "shuffled", "numbers", "fullwidth"])
@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_form_layouts_are_accepted(world: World, layout: str, fmt: str) -> None:
    pay_lines(world, LINES)
    build = build_form_xlsx if fmt == "xlsx" else build_form_xls
    data = build(default_header(), LINES, layout=layout)
    att = ("申请表.xlsx", data) if fmt == "xlsx" else ("申请表.xls", data, XLS)
    world.deliver(build_mail(attachments=[att]))
    world.run()
    (app,) = world.export()
    if layout == "numbers":
        # 18-digit IDs typed as numbers lose their last digits in Excel: the unit is
        # told exactly that, line by line; amounts and order numbers as numbers are fine.
        id_reasons = [r for r in app["reasons"] if r["code"] == "INVALID_ID_NUMBER"]
        assert app["status"] == "held" and [r["line"] for r in id_reasons] == [1, 2, 3]
        assert all("Excel" in r["detail"] for r in id_reasons)
        return
    assert app["status"] == "accepted", app["reasons"]
    assert app["invoices"][0]["orders"] == [str(line["order_no"]) for line in LINES]
    assert app["invoices"][0]["amount"] == "450.00"


@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_year_and_fee_typed_into_date_formatted_cells_are_accepted(world: World, fmt: str) -> None:
    """The unit's sheet shows 1905/7/10 and 1900/5/29 where it typed 2018 and 150 (a
    date format on the column): the file holds the numbers, and they are what it meant.
    Before, the unit was told its year was not in the fee table."""
    import datetime as dt

    pay_lines(world, LINES)
    as_dates = [{**line, "year": dt.datetime(1905, 7, 10), "amount": dt.datetime(1900, 5, 29)}
                for line in LINES]
    build = build_form_xlsx if fmt == "xlsx" else build_form_xls
    # the 合计 row's =SUM() in the same column shows 1901/3/25
    data = build(default_header(), as_dates, total=("3人", dt.datetime(1901, 3, 25)))
    world.deliver(build_mail(attachments=[("申请表.xlsx", data) if fmt == "xlsx"
                                          else ("申请表.xls", data, XLS)]))
    world.run()
    (app,) = world.export()
    assert app["status"] == "accepted", app["reasons"]
    assert app["invoices"][0]["amount"] == "450.00"


QUOTED_REPLY = ("\n\n------------------ 原始邮件 ------------------\n发件人: \"发票\"<fapiao@example.cn>\n"
                "主题: Re: 线上缴费发票申请\n\n天津市武清区某某公司：\n  1. 缺少收件信息。请在邮件正文中写明"
                "收件人姓名、联系电话和收件地址，"
                "例如：“收件人：张三 电话：13800000000 地址：天津市武清区……”。\n")
QUOTED_OLD = "\n\n> 收件人：旧收件\n> 电话：13820000000\n> 地址：天津市武清区旧地址1号\n"


@pytest.mark.parametrize(("body", "in_form", "status", "recipient"), [
    # answering our reply above its quote, the recipient now in the form: the form's
    ("已在申请表中填写收件信息，请查收。" + QUOTED_REPLY, True, "accepted", "李明"),
    # ... or still nowhere: held again, never our example 张三
    ("您好，已补充。" + QUOTED_REPLY, False, "held", None),
    # moved: the corrected form over the old details quoted below
    ("收件信息已改，见申请表。" + QUOTED_OLD, True, "accepted", "李明"),
    # a forwarded mail with the details, nothing in the form: the quote fills the gap
    ("请开票。" + QUOTED_OLD, False, "accepted", "旧收件"),
])
def test_the_recipient_from_a_reply_that_quotes_mail(world: World, body: str, in_form: bool,
                                                     status: str, recipient: str | None) -> None:
    pay_lines(world, LINES)
    form = build_form_xlsx(default_header(recipient=in_form), LINES)
    world.deliver(build_mail(body=body, attachments=[("表.xlsx", form)]))
    world.run()
    (app,) = world.export()
    assert app["status"] == status, app["reasons"]
    if recipient is None:
        assert [r["code"] for r in app["reasons"]] == ["MISSING_RECIPIENT"]
    else:
        assert app["shipment"]["recipient"] == recipient


def test_recipient_from_the_form_when_the_body_has_none(world: World) -> None:
    pay_lines(world, LINES)
    form = build_form_xlsx(default_header(recipient=True), LINES)
    world.deliver(build_mail(body="附件是申请表，谢谢。", attachments=[("表.xlsx", form)]))
    world.run()
    (app,) = world.export()
    assert app["status"] == "accepted", app["reasons"]
    assert app["shipment"]["recipient"] == "李明"


@pytest.mark.parametrize("cell", ["13820000001/022-23391756", "13820000001（手机）",
                                  "13820000001 李明"])
def test_a_form_phone_cell_is_read_as_a_body_line_is(world: World, cell: str) -> None:
    """The form's 收件电话 holding a second number or a note: its first valid number,
    as in the mail body - not INVALID_PHONE for a number that is valid."""
    pay_lines(world, LINES)
    form = build_form_xlsx(default_header(recipient=True, recipient_phone=cell), LINES)
    world.deliver(build_mail(body="附件是申请表，谢谢。", attachments=[("表.xlsx", form)]))
    world.run()
    (app,) = world.export()
    assert app["status"] == "accepted", app["reasons"]
    assert app["shipment"]["phone"] == "13820000001"


def test_a_form_sent_without_any_name_is_read(world: World) -> None:
    """A workbook as application/octet-stream with no name and no disposition (a
    script's or an OA system's mail): read by its bytes, not "the mail has no form"."""
    pay_lines(world, LINES)
    part = attachment_part(None, XLSX_FORM, "application/octet-stream", disposition=None)
    world.deliver(build_mail(parts=[part]))
    world.run()
    (app,) = world.export()
    assert app["status"] == "accepted", app["reasons"]


@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_a_formula_error_in_the_form_is_never_invoiced_or_shipped_to(world: World,
                                                                     fmt: str) -> None:
    """发票抬头 and 收件地址 pulled by a VLOOKUP that found nothing: the cells are
    error cells (t="e" in the xlsx, an error record in the xls) reading #REF! and #N/A.
    Held, both named with what the sheet shows; no invoice, no parcel."""
    pay_lines(world, LINES)
    build = build_form_xlsx if fmt == "xlsx" else build_form_xls
    header = default_header(recipient=True, buyer_name="#REF!", recipient_address="#N/A")
    world.deliver(build_mail(body="附件是申请表，谢谢。", attachments=[(f"表.{fmt}",
                                                                  build(header, LINES))]))
    world.run()
    (app,) = world.export()
    assert app["status"] == "held" and not app["invoices"] and app["shipment"] is None
    (reason,) = app["reasons"]
    assert reason["code"] == "FORM_INCOMPLETE"
    assert "发票抬头（表格中显示为 #REF!" in reason["detail"]
    assert "收件地址（表格中显示为 #N/A" in reason["detail"]


REASONS = {
    "pdf instead of form": ({"attachments": [("申请表.pdf", b"%PDF-1.4 ...")]},
                            {"UNSUPPORTED_ATTACHMENT"}),
    "docx instead of form": ({"attachments": [("申请表.docx", b"PK\x03\x04word")]},
                             {"UNSUPPORTED_ATTACHMENT"}),
    "rar archive": ({"attachments": [("申请表.rar", b"Rar!\x1a\x07\x00")]},
                    {"UNSUPPORTED_ATTACHMENT"}),
    "163 large attachment link": (
        {"body": "收件人：张三 电话：13800000000 地址：天津市武清区1号\n"
                 "从网易163邮箱发来的超大附件\n申请表.xlsx (25M, 2018年12月1日 10:00 到期)\n"
                 "进入下载页面：http://mail.163.com/large-attachment-download/index.html?p=X"},
        {"UNSUPPORTED_ATTACHMENT"}),
    "no attachment": ({"attachments": []}, {"NO_FORM"}),
    "corrupt xlsx": ({"attachments": [("申请表.xlsx", b"PK\x03\x04garbage")]},
                     {"FORM_UNREADABLE"}),
    "urban district": ({"attachments": [("a.xlsx", build_form_xlsx(
        default_header(district="和平区"), LINES))]}, {"NOT_SUBURBAN_DISTRICT"}),
    "unknown district": ({"attachments": [("a.xlsx", build_form_xlsx(
        default_header(district="海淀区"), LINES))]}, {"UNKNOWN_DISTRICT"}),
    "missing unit": ({"attachments": [("a.xlsx", build_form_xlsx(
        default_header(unit=""), LINES))]}, {"FORM_INCOMPLETE"}),
    "special invoice without bank": ({"attachments": [("a.xlsx", build_form_xlsx(
        default_header(invoice_type="增值税专用发票", address_phone="天津市武清区1号 022-29341234",
                       bank_account=None), LINES))]}, {"SPECIAL_INVOICE_INCOMPLETE"}),
    "bad tax id": ({"attachments": [("a.xlsx", build_form_xlsx(
        default_header(tax_id="911202220000000000"), LINES))]}, {"INVALID_TAX_ID"}),
    "no recipient": ({"body": "申请表见附件", "attachments": [("a.xlsx", XLSX_FORM)]},
                     {"MISSING_RECIPIENT"}),
    "bad phone": ({"body": "收件人：张三 电话：1234 地址：天津市武清区1号",
                   "attachments": [("a.xlsx", XLSX_FORM)]}, {"INVALID_PHONE"}),
    "total mismatch": ({"attachments": [("a.xlsx", build_form_xlsx(
        default_header(), LINES, total=(4, "600.00")))]}, {"TOTAL_MISMATCH"}),
    "duplicate line": ({"attachments": [("a.xlsx", build_form_xlsx(
        default_header(), [*LINES, {**LINES[0], "seq": 4}]))]}, {"DUPLICATE_LINE"}),
    "bad id number": ({"attachments": [("a.xlsx", build_form_xlsx(default_header(), [
        *LINES[:2], {**LINES[2], "id_number": "120101198001010000"}]))]},
        {"INVALID_ID_NUMBER", "PAYMENT_MISMATCH"}),
    "unknown order": ({"attachments": [("a.xlsx", build_form_xlsx(
        default_header(), [*LINES, make_line(9)]))]}, {"PAYMENT_NOT_FOUND"}),
    "wrong fee": ({"attachments": [("a.xlsx", build_form_xlsx(
        default_header(), [*LINES[:2], {**LINES[2], "amount": "160.00"}]))]},
        {"FEE_MISMATCH", "PAYMENT_MISMATCH"}),
    "past deadline": ({"date": "Tue, 01 Jan 2019 08:00:00 +0800",
                       "attachments": [("a.xlsx", XLSX_FORM)]}, {"PAST_DEADLINE"}),
}


@pytest.mark.parametrize("case", sorted(REASONS))
def test_reasons_through_the_pass(world: World, case: str) -> None:
    pay_lines(world, LINES)
    kwargs, expected = REASONS[case]
    world.deliver(build_mail(**kwargs))  # type: ignore[arg-type]
    world.run()
    (app,) = world.export()
    assert app["status"] == "held"
    assert {r["code"] for r in app["reasons"]} == expected
    assert all(r["detail"] for r in app["reasons"])
    assert app["invoices"] == [] and app["shipment"] is None


@pytest.mark.parametrize(("change", "code"), [
    ({"status": "已退款"}, "PAYMENT_REFUNDED"),
    ({"method": "学习卡"}, "STUDY_CARD"),
    ({"paid_at": "2018-12-05 10:00:00"}, "PAID_OUTSIDE_WINDOW"),
    ({"name": "别人"}, "PAYMENT_MISMATCH"),
])
def test_payment_reasons_through_the_pass(world: World, change: dict[str, str], code: str) -> None:
    pay_lines(world, LINES, **{str(LINES[1]["order_no"]): change})
    world.deliver(build_mail(attachments=[("a.xlsx", XLSX_FORM)]))
    world.run()
    (app,) = world.export()
    assert [(r["code"], r["line"]) for r in app["reasons"]] == [(code, 2)]


def test_auto_replies_and_bounces_are_ignored_and_filed(world: World) -> None:
    original = build_mail(attachments=[("a.xlsx", XLSX_FORM)])
    world.deliver(build_auto_reply(), build_bounce(original))
    world.run()
    assert {a["status"] for a in world.export()} <= {"ignored"}
    assert world.folder("INBOX") == [] and len(world.folder("Processed")) == 2


def test_trainees_below_a_blank_row_hold_the_form_until_it_comes_whole(world: World) -> None:
    """SPEC 2.2: the lines end at an empty row. A unit that left one between trainees
    used to get invoices for those above it only, told nothing (a second parcel, its
    postage paid again, for the rest). Now the application is held, the reply names the
    rows, and a re-check (nothing in the stored lines shows it) keeps the reason."""
    from email import message_from_bytes
    from email.policy import default

    from sqlalchemy import select

    from worker.db.models import Application, ApplicationLine, OutboxMessage
    from worker.replies.draft import outbox_bytes
    from worker.staff import Actor, actions

    pay_lines(world, LINES)
    # its 合计 row (3人, 450) is right: no TOTAL_MISMATCH asking to fix or delete it, at
    # intake nor after a re-check (LINES_BELOW_BLANK_ROW explains it)
    (sheet,) = form_grid(default_header(), LINES)
    last = max(i for i, row in enumerate(sheet.rows) if LINES[2]["order_no"] in row)
    sheet.rows.insert(last, [])  # the third trainee now sits below an empty row
    world.deliver(build_mail(attachments=[("a.xlsx", grid_to_xlsx([sheet]))]))
    world.run()
    (app,) = world.export()
    assert app["status"] == "held"
    assert [(r["code"], r["detail"]) for r in app["reasons"]] == [
        ("LINES_BELOW_BLANK_ROW",
         f"第 {last + 2} 行的 1 名学员在空行之下，没有读取（名单在第一个空行处结束）")]
    with world.app.sessions() as s:
        app_id = s.scalars(select(Application.id)).one()
        assert len(s.scalars(select(ApplicationLine)).all()) == 2  # the two above it
        (reply,) = s.scalars(select(OutboxMessage)).all()
        sent = message_from_bytes(outbox_bytes(reply, world.app.config.output_dir), policy=default)
    body = sent.get_body(("plain",))
    assert body is not None and f"第 {last + 2} 行" in body.get_content()
    actions.recheck(world.app.sessions, world.app.config, Actor(None, "李老师"), app_id)
    assert [r["code"] for r in world.export()[0]["reasons"]] == ["LINES_BELOW_BLANK_ROW"]
    # Nor can staff approve it (the console's button is off; the action refuses too):
    # it would issue for two of the three trainees.
    with pytest.raises(actions.ActionRefused, match="空行以下的学员未被读取"):
        actions.approve(world.app.sessions, world.app.config, Actor(None, "李老师"), app_id)
    (after,) = world.export()
    assert after["status"] == "held" and after["invoices"] == []


def test_trainees_in_filtered_rows_are_never_invoiced(world: World) -> None:
    """An AutoFilter showing this unit's staff of a district-wide list: the unit sees 2
    trainees, the file holds 3. Invoicing all 3 (600 for 300) is a wrong invoice; the
    application is held naming the hidden rows, and a re-check keeps it so."""
    from sqlalchemy import select

    from worker.db.models import Application
    from worker.staff import Actor, actions

    pay_lines(world, LINES)
    (sheet,) = form_grid(default_header(), LINES, total=None)
    hidden = 1 + max(i for i, row in enumerate(sheet.rows) if LINES[1]["order_no"] in row)
    sheet.hidden_rows = {hidden}
    world.deliver(build_mail(attachments=[("a.xlsx", grid_to_xlsx([sheet]))]))
    world.run()
    (app,) = world.export()
    assert app["status"] == "held" and app["invoices"] == []
    assert [(r["code"], r["detail"]) for r in app["reasons"]] == [
        ("HIDDEN_ROWS", f"第 {hidden} 行是隐藏行（表格设置了筛选或隐藏了这些行），其中的 1 名学员没有读取")]
    with world.app.sessions() as s:
        app_id = s.scalars(select(Application.id)).one()
    actions.recheck(world.app.sessions, world.app.config, Actor(None, "李老师"), app_id)
    assert [r["code"] for r in world.export()[0]["reasons"]] == ["HIDDEN_ROWS"]
