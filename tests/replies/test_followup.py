"""Follow-ups: a staff decision that changes an outcome is told to the unit, threaded
under the first reply, each one queued once in the decision's transaction."""

from __future__ import annotations

from sqlalchemy import select

from tests.builders.mail import build_auto_reply
from tests.intake.test_pass import trainees, unit
from tests.replies.conftest import ReplyWorld, body
from tests.replies.test_replies import form_mail
from worker.db.models import Application, Mail
from worker.decision import decide
from worker.replies import queue_followup
from worker.status import ApplicationStatus
from worker.validation import Code, explain


def held_application(rw: ReplyWorld, prefix: str, **kw: object) -> tuple[int, list]:
    people = trainees(prefix, 2)
    rw.world.deliver(form_mail(unit(people, **kw)))   # not paid yet: held
    rw.world.run()
    with rw.app.sessions() as s:
        app_id = s.scalars(select(Application.id).order_by(Application.id.desc())).first()
    return app_id, people


def test_approval_after_payments_arrive_sends_invoices_threaded_under_the_first_reply(
        reply_world: ReplyWorld) -> None:
    app_id, people = held_application(reply_world, "F")
    (first,) = reply_world.replies()
    assert "没有缴费记录" in body(first)
    reply_world.world.pay(people)
    config = reply_world.app.config
    with reply_world.app.sessions.begin() as s:       # what the console's approve does
        app = s.get(Application, app_id)
        assert decide(s, app, config) == ApplicationStatus.ACCEPTED
        row = queue_followup(s, app, config, action=ApplicationStatus.ACCEPTED,
                             note="电话确认过，内部备注")
        assert row is not None and row.key == f"followup:{app_id}:1" and row.kind == "followup"
    reply_world.send()
    _, msg = reply_world.replies()
    assert msg["Subject"] == first["Subject"] == "Re: 线上缴费发票申请"
    assert msg["In-Reply-To"] == first["In-Reply-To"]
    assert msg["References"].split()[-2:] == [first["In-Reply-To"], first["Message-ID"]]
    assert msg["Message-ID"] != first["Message-ID"] and msg["Auto-Submitted"] == "auto-replied"
    text = body(msg)
    assert "附件《申请表.xlsx》，经工作人员审核，已受理并开具发票" in text
    assert "发票号码 00000001" in text and "运单号 SF1400000000001" in text
    assert "运费到付：12.00 元" in text
    assert "内部备注" not in text                   # staff's own remark stays inside


def test_rejection_sends_the_staff_message_and_each_follow_up_is_its_own(
        reply_world: ReplyWorld) -> None:
    app_id, _ = held_application(reply_world, "G")
    config = reply_world.app.config
    note = "经核实，贵单位已在现场办理，\r\n本申请不再开具。\r\nBcc: x@evil.example"
    with reply_world.app.sessions.begin() as s:
        app = s.get(Application, app_id)
        app.status = ApplicationStatus.REJECTED
        assert queue_followup(s, app, config, action="rejected", note=note).key.endswith(":1")
    with reply_world.app.sessions.begin() as s:
        app = s.get(Application, app_id)
        assert queue_followup(s, app, config, action="rejected", note=note).key.endswith(":2")
    reply_world.send()
    _, one, two = reply_world.replies()
    assert one["Message-ID"] != two["Message-ID"]
    text = body(one)
    assert "经工作人员审核，不予开具发票" in text
    assert "工作人员说明：\n  经核实，贵单位已在现场办理，\n  本申请不再开具。\n  Bcc: x@evil.example" in text
    assert one["Bcc"] is None and reply_world.received()[1].rcpt_tos == ["unit@163.com"]


def test_a_recheck_that_still_holds_lists_the_new_reasons(reply_world: ReplyWorld) -> None:
    app_id, _ = held_application(reply_world, "H", district="河西区")
    config = reply_world.app.config
    with reply_world.app.sessions.begin() as s:
        app = s.get(Application, app_id)
        decide(s, app, config)
        queue_followup(s, app, config, action="rechecked")
    reply_world.send()
    text = body(reply_world.replies()[-1])
    assert "经工作人员重新检查，仍需修改" in text
    assert explain(Code.NOT_SUBURBAN_DISTRICT, config.programme).advice in text
    assert "第1行：在培训平台的缴费记录中找不到该学员的订单" in text


def test_no_follow_up_to_an_ignored_mail(reply_world: ReplyWorld) -> None:
    reply_world.world.deliver(build_auto_reply())
    reply_world.world.run()
    with reply_world.app.sessions.begin() as s:
        mail = s.scalars(select(Mail)).one()
        app = mail.applications[0]
        assert queue_followup(s, app, reply_world.app.config, action="rechecked") is None
    assert reply_world.outbox() == []
