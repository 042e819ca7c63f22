"""One reply per application mail, through the pass and a real SMTP server (aiosmtpd):
what the unit reads, how it threads, and who never gets one."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

import worker.intake
from tests.builders.mail import build_auto_reply, build_bounce, build_mail
from tests.intake.test_pass import BODY, trainees, unit
from tests.replies.conftest import ReplyWorld, body
from worker.db.models import Mail
from worker.replies import queue_mail_reply
from worker.samples import Trainee, form_xlsx, id_number
from worker.validation import Code, explain

UNIT = "武清区某某公司 <unit@163.com>"


def form_mail(u: object, *, name: str = "申请表.xlsx", body_text: str = BODY, **kw: object) -> bytes:
    return build_mail(subject="线上缴费发票申请", body=body_text, sender=UNIT,
                      attachments=[(name, form_xlsx(u))], **kw)  # type: ignore[arg-type]


def test_accepted_mail_gets_one_threaded_reply_with_invoices_and_waybill(
        reply_world: ReplyWorld) -> None:
    people = trainees("A", 3)
    reply_world.world.pay(people)
    raw = form_mail(unit(people), message_id="<orig-1@163.com>",
                    references=["<earlier-1@163.com>"], reply_to="财务室 <office@qq.com>")
    reply_world.world.deliver(raw)
    assert reply_world.world.run() == {"accepted": 1}

    (got,) = reply_world.received()
    assert got.mail_from == "xy23391756@163.com"
    assert got.rcpt_tos == ["office@qq.com"]          # Reply-To wins over From
    assert got.data.split(b"\r\n\r\n", 1)[0].isascii()
    msg = got.message()
    assert msg["To"] == "office@qq.com"
    assert msg["From"] == "天津市政工师进修学院 <xy23391756@163.com>"
    assert msg["Subject"] == "Re: 线上缴费发票申请"
    assert msg["In-Reply-To"] == "<orig-1@163.com>"
    assert msg["References"].split() == ["<earlier-1@163.com>", "<orig-1@163.com>"]
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert re.fullmatch(r"<reply-\d+\.[0-9a-f]{10}@163\.com>", msg["Message-ID"])
    text = body(msg)
    assert "天津市武清区雍阳科技有限公司：" in text            # greeting: the unit
    assert "申请已受理，发票已开具" in text
    assert "附件《申请表.xlsx》：已受理" in text
    assert "发票号码 00000001（发票代码 012001800111）：450.00 元" in text
    assert "合计 450.00 元" in text and "学员A0、学员A1、学员A2" in text
    assert "运单号 SF1400000000001" in text and "顺丰速运" in text
    assert "运费到付：12.00 元" in text
    assert "赵玥，13820000001，天津市武清区雍阳西道88号" in text
    assert "022-23391756" in text and "天津市政工师进修学院" in text
    (row,) = reply_world.outbox()
    assert (row.key, row.kind, row.status, row.attempts) == (
        f"reply:mail:{row.mail_id}", "reply", "sent", 1)
    assert row.recipient == "office@qq.com" and row.sent_at is not None


def test_held_reply_gives_every_reason_with_its_line_and_what_to_do(
        reply_world: ReplyWorld) -> None:
    good = trainees("C", 2)
    card = Trainee("褚堃", id_number("120223", "19920101", 82), "C90001", method="学习卡")
    refunded = Trainee("卫喆", id_number("120223", "19930303", 93), "C90002", status="已退款")
    reply_world.world.pay([*good, card, refunded])
    reply_world.world.deliver(form_mail(unit([*good, card, refunded]), body_text="请开发票"))
    assert reply_world.world.run() == {"held": 1}
    (msg,) = reply_world.replies()
    text = body(msg)
    programme = reply_world.app.config.programme
    assert "申请暂未受理" in text and "问题（3 个）" in text
    card_words = explain(Code.STUDY_CARD, programme)
    assert (f"第3行（褚堃）：{card_words.title}——订单号 C90001 为学习卡支付。{card_words.advice}"
            in text)
    assert programme.card_window in card_words.advice
    refund_words = explain(Code.PAYMENT_REFUNDED, programme)
    assert f"第4行（卫喆）：{refund_words.title}——订单号 C90002 已退款。{refund_words.advice}" in text
    assert explain(Code.MISSING_RECIPIENT, programme).advice in text
    assert "其他学员的发票也暂不开具" in text   # held means nothing issued, say so
    assert "发票号码" not in text and "运单号" not in text


def test_urban_district_is_told_the_in_person_route(reply_world: ReplyWorld) -> None:
    people = trainees("U", 2)
    reply_world.world.pay(people)
    reply_world.world.deliver(form_mail(unit(people, district="和平区"), body_text="请开发票"))
    reply_world.world.run()
    text = body(reply_world.replies()[0])
    programme = reply_world.app.config.programme
    assert explain(Code.NOT_SUBURBAN_DISTRICT, programme).title in text
    assert programme.in_person_address in text and "309" in text and "308" in text
    assert "到现场开具发票" in text
    # No parcel will be sent: do not ask for a recipient, do not ask to resend.
    assert explain(Code.MISSING_RECIPIENT, programme).title not in text
    assert "重新发送（可直接回复" not in text


def test_the_same_form_sent_again_is_told_nothing_is_to_be_done(reply_world: ReplyWorld) -> None:
    """Every trainee invoiced before (a resend of an accepted form): the reply says the
    mail needs nothing, not "fix the form and send it again" (which would have the unit
    delete every trainee). A form with one new trainee beside them is still to fix."""
    people, new = trainees("D", 2), trainees("E", 1)
    reply_world.world.pay(people + new)
    reply_world.world.deliver(form_mail(unit(people)))
    reply_world.world.run()
    reply_world.world.deliver(form_mail(unit(people), body_text=BODY + "\n（重发）"))
    reply_world.world.deliver(form_mail(unit(people + new), body_text=BODY + "\n（补充一人）"))
    assert reply_world.world.run() == {"held": 2}
    again, more = (body(m) for m in reply_world.replies()[1:])
    assert "无需处理，也无需再次发送" in again and "修改申请表后重新发送" not in again
    assert "修改申请表后重新发送" in more and "无需再次发送" not in more


def test_several_forms_in_one_mail_get_one_reply_naming_each(reply_world: ReplyWorld) -> None:
    ok, bad = trainees("M", 2), trainees("N", 1)
    reply_world.world.pay(ok)                      # N0 has no payment record
    raw = build_mail(subject="三个单位的发票申请", body=BODY, sender=UNIT, attachments=[
        ("武清一厂.xlsx", form_xlsx(unit(ok))), ("武清二厂.xlsx", form_xlsx(unit(bad)))])
    reply_world.world.deliver(raw)
    assert reply_world.world.run() == {"held": 1}
    (msg,) = reply_world.replies()
    text = body(msg)
    assert "共 2 份申请表：1 份已受理，1 份暂未受理" in text
    assert "【1】附件《武清一厂.xlsx》：已受理，发票已开具" in text
    assert "【2】附件《武清二厂.xlsx》：暂未受理" in text
    assert "发票号码 00000001" in text and "订单号 N00000（学员N0）没有缴费记录" in text
    assert len(reply_world.outbox()) == 1


def test_no_reply_to_machines_or_ourselves(reply_world: ReplyWorld) -> None:
    people = trainees("Q", 1)
    reply_world.world.pay(people)
    form = [("申请表.xlsx", form_xlsx(unit(people)))]
    reply_world.world.deliver(
        build_auto_reply(),
        build_auto_reply(subject="Out of Office", extra_headers=()),
        build_bounce(),
        build_mail(sender="天津市政工师进修学院 <xy23391756@163.com>", subject="Re: 发票申请"),
        build_mail(sender="postmaster@qq.com", attachments=form),
        build_mail(subject="发票申请", extra_headers=[("Precedence", "bulk")], attachments=form),
    )
    reply_world.world.run()
    assert reply_world.received() == [] and reply_world.outbox() == []
    reply_world.world.deliver(form_mail(unit(people)))   # a person: answered
    reply_world.world.run()
    assert len(reply_world.received()) == 1


def test_a_mail_without_form_is_answered_but_not_an_answer_to_our_reply(
        reply_world: ReplyWorld) -> None:
    earlier = trainees("P", 1)
    reply_world.world.pay(earlier)
    reply_world.world.deliver(build_mail(subject="发票申请", body=BODY,
                                         attachments=[("申请表.xlsx", form_xlsx(unit(earlier)))]))
    reply_world.world.run()  # the unit wrote before, with a form: its form-less mail is answered
    reply_world.world.deliver(build_mail(subject="发票", message_id="<noform-1@163.com>"))
    reply_world.world.run()
    (_, first) = reply_world.replies()
    text = body(first)
    assert explain(Code.NO_FORM, reply_world.app.config.programme).advice in text
    # A form-less mail answering our reply (a thank-you, or an auto-responder that
    # ignores Auto-Submitted) gets none: that is where a mail loop would start.
    reply_world.world.deliver(build_mail(
        subject="Re: 发票", body="收到，谢谢", references=["<noform-1@163.com>", first["Message-ID"]],
        in_reply_to=first["Message-ID"]))
    reply_world.world.run()
    assert len(reply_world.received()) == 2
    assert reply_world.outbox()[-1].last_error.startswith("loop: ")  # staff see why
    # The corrected form sent as a reply to ours is answered as usual.
    people = trainees("R", 1)
    reply_world.world.pay(people)
    reply_world.world.deliver(form_mail(unit(people), references=[first["Message-ID"]]))
    reply_world.world.run()
    assert len(reply_world.received()) == 3


def test_rerun_and_redelivery_queue_no_second_reply(reply_world: ReplyWorld) -> None:
    people = trainees("D", 2)
    reply_world.world.pay(people)
    raw = form_mail(unit(people))
    reply_world.world.deliver(raw)
    reply_world.world.run()
    reply_world.world.run()
    reply_world.world.deliver(raw)                 # the same mail again: same Message-ID
    reply_world.world.run()
    assert len(reply_world.received()) == 1 and len(reply_world.outbox()) == 1
    with reply_world.app.sessions.begin() as s:    # asking again returns the queued one
        mail = s.scalars(select(Mail)).one()
        assert queue_mail_reply(s, mail, reply_world.app.config).key == f"reply:mail:{mail.id}"
    assert len(reply_world.outbox()) == 1


def test_the_reply_commits_with_the_outcome(reply_world: ReplyWorld) -> None:
    people = trainees("O", 1)
    reply_world.world.deliver(form_mail(unit(people)))
    summary = reply_world.process()                # the pass only: queued, not sent
    (row,) = reply_world.outbox()
    assert row.status == "pending" and row.mail_id == summary.mail_ids[0]
    assert reply_world.received() == []


def test_subject_injection_makes_no_header(reply_world: ReplyWorld) -> None:
    people = trainees("I", 1)
    reply_world.world.pay(people)
    # The CR/LF arrive RFC 2047-encoded, as a hostile sender would write them.
    raw = build_mail(subject="发票申请\r\nBcc: x@evil.example\r\nX-Evil: 1", body=BODY, sender=UNIT,
                     attachments=[("申请表.xlsx", form_xlsx(unit(people)))])
    reply_world.world.deliver(raw)
    reply_world.world.run()
    (got,) = reply_world.received()
    assert got.rcpt_tos == ["unit@163.com"]
    head = got.data.split(b"\r\n\r\n", 1)[0]
    names = {line.split(b":", 1)[0].lower() for line in head.split(b"\r\n") if line[:1] not in b" \t"}
    assert b"bcc" not in names and b"x-evil" not in names
    assert got.message()["Subject"] == "Re: 发票申请 Bcc: X-Evil: 1"  # one line, no address


def test_a_failed_mail_is_told_staff_will_handle_it(reply_world: ReplyWorld,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object) -> None:
        raise RuntimeError("a bug")

    people = trainees("S", 1)
    reply_world.world.pay(people)
    reply_world.world.deliver(form_mail(unit(people)))
    reply_world.world.run()  # a unit known from its earlier form
    monkeypatch.setattr(worker.intake, "analyse", boom)
    reply_world.world.deliver(build_mail(subject="发票申请", sender=UNIT))
    assert reply_world.world.run() == {"failed": 1}
    text = body(reply_world.replies()[-1])
    assert "已转给工作人员人工处理，无需重新发送" in text
    assert "a bug" not in text and "Traceback" not in text


def test_how_to_fix_is_said_once_per_application() -> None:
    """A form typed with number cells: each line's reason keeps what is its own (the
    name, what the sheet shows) and points to the first item for the same steps."""
    from worker.replies.content import ReasonView, _told_once

    steps = "这一列是数字格式。请右键选“设置单元格格式”→“文本”，再重新输入"
    views = _told_once([
        ReasonView("第1行", "身份证号不正确", f"王伟 的身份证号显示为 1.2E+17：{steps}", "请核对身份证号。"),
        ReasonView("第2行", "身份证号不正确", f"李娜 的身份证号显示为 1.3E+17：{steps}", "请核对身份证号。"),
        ReasonView("", "缺少收件人", "", "请在正文写明收件人。"),
    ])
    first, second, third = (v.text for v in views)
    assert "设置单元格格式" in first and "请核对身份证号" in first and "同第" not in first
    assert second == ("第2行：身份证号不正确——李娜 的身份证号显示为 1.3E+17：这一列是数字格式"
                      "（修改方法同第 1 条）。")
    assert third == "缺少收件人。请在正文写明收件人。"
