"""Staff actions as plain functions: one transaction each, audited, refusing to act
twice, and approving exactly as the worker issues."""

from __future__ import annotations

import json
import threading
from email import message_from_bytes
from email.policy import default
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.console.conftest import Seeded
from tests.intake.conftest import World
from worker.db.models import Application, AuditEntry, Invoice, OutboxMessage, Reason
from worker.replies.draft import outbox_bytes
from worker.samples import payments_csv
from worker.staff import ActionRefused, Actor, actions
from worker.staff.payments import import_upload, upload_name


def app_of(world: World, app_id: int) -> dict[str, Any]:
    with world.app.sessions() as s:
        app = s.get(Application, app_id)
        assert app is not None
        return {"status": app.status, "codes": sorted((r.code, r.line) for r in app.reasons),
                "recipient": app.recipient_name, "dropped": [ln.dropped for ln in app.lines]}


def audit(world: World, app_id: int | None = None) -> list[tuple[str, str, dict[str, Any], str]]:
    with world.app.sessions() as s:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if app_id is not None:
            stmt = stmt.where(AuditEntry.application_id == app_id)
        return [(e.actor, e.action, json.loads(e.changes), e.note) for e in s.scalars(stmt)]


def invoices(world: World) -> int:
    with world.app.sessions() as s:
        return s.scalar(select(func.count()).select_from(Invoice)) or 0


def export_of(world: World, unit: str) -> dict[str, Any]:
    return next(a for a in world.export() if a["unit"] == unit)


RECIPIENT = {"recipient_name": "赵玥", "recipient_phone": "13820000001",
             "recipient_address": "天津市武清区雍阳西道88号"}


def test_correct_recipient_then_approve_issues_like_the_worker(
        world: World, seeded: Seeded, staff: Actor) -> None:
    cfg, sessions = world.app.config, world.app.sessions
    result = actions.correct_fields(sessions, cfg, staff, seeded.no_recipient, RECIPIENT,
                                    note="电话确认")
    assert result.message.endswith("检查通过，可以批准开具")
    assert app_of(world, seeded.no_recipient) == {
        "status": "held", "codes": [], "recipient": "赵玥", "dropped": [False, False]}
    ((who, action, changes, note),) = audit(world, seeded.no_recipient)
    assert (who, action, note) == ("李老师", "correct", "电话确认")
    assert changes["recipient_name"] == ["", "赵玥"]
    assert changes["reasons"] == [["MISSING_RECIPIENT"], []]

    before = invoices(world)
    done = actions.approve(sessions, cfg, staff, seeded.no_recipient)
    assert done.status == "accepted" and done.warnings == []
    exported = export_of(world, "天津市武清区雍阳科技有限公司")
    assert exported["status"] == "accepted" and exported["reasons"] == []
    assert [i["orders"] for i in exported["invoices"]] == [["A00000", "A00001"]]
    assert exported["shipment"]["recipient"] == "赵玥"
    assert invoices(world) == before + 1
    # The documents module rendered the PDFs right after the approval.
    assert exported["invoices"][0]["pdf"] and exported["shipment"]["label_pdf"]
    last = audit(world, seeded.no_recipient)[-1]
    assert last[1] == "approve" and last[2]["status"] == ["held", "accepted"]
    assert last[2]["invoices"] == [exported["invoices"][0]["number"]]
    assert last[2]["waybill"] == exported["shipment"]["waybill"]


def test_approve_refuses_a_reason_this_version_does_not_know(
        world: World, seeded: Seeded, staff: Actor) -> None:
    """Stored by a later version (then rolled back): nobody can say what it meant, so the
    console's button is off, and the action refuses a direct request alike."""
    actions.correct_fields(world.app.sessions, world.app.config, staff, seeded.no_recipient,
                           RECIPIENT)
    with world.app.sessions.begin() as s:
        app = s.get(Application, seeded.no_recipient)
        assert app is not None
        app.reasons.append(Reason(code="FROM_A_LATER_VERSION", detail="?"))
    before = invoices(world)
    with pytest.raises(ActionRefused, match="未知原因 FROM_A_LATER_VERSION"):
        actions.approve(world.app.sessions, world.app.config, staff, seeded.no_recipient)
    assert app_of(world, seeded.no_recipient)["status"] == "held" and invoices(world) == before


def test_approve_queues_the_followup_in_the_same_transaction(
        world: World, seeded: Seeded, staff: Actor) -> None:
    actions.correct_fields(world.app.sessions, world.app.config, staff, seeded.no_recipient,
                           RECIPIENT)
    actions.approve(world.app.sessions, world.app.config, staff, seeded.no_recipient)
    with world.app.sessions() as s:
        kinds = [(m.kind, m.recipient) for m in s.scalars(
            select(OutboxMessage).where(OutboxMessage.application_id == seeded.no_recipient))]
    assert ("followup", "zhaoyue@163.com") in kinds


def test_drop_refunded_line_then_waive_total(world: World, seeded: Seeded, staff: Actor) -> None:
    cfg, sessions = world.app.config, world.app.sessions
    with sessions() as s:
        line_id = next(ln.id for ln in s.get(Application, seeded.refunded).lines  # type: ignore[union-attr]
                       if ln.order_no == "B90002")
    result = actions.drop_line(sessions, cfg, staff, seeded.refunded, line_id)
    # The unit's 合计 row still says 3: dropping a line makes the totals disagree.
    assert app_of(world, seeded.refunded)["codes"] == [("TOTAL_MISMATCH", None)]
    assert "合计" in result.message
    with pytest.raises(ActionRefused, match="合计"):
        actions.approve(sessions, cfg, staff, seeded.refunded)
    assert app_of(world, seeded.refunded)["status"] == "held"  # refused: nothing changed
    with pytest.raises(ActionRefused, match="不能忽略"):
        actions.approve(sessions, cfg, staff, seeded.refunded, waive=["PAYMENT_REFUNDED"])
    actions.approve(sessions, cfg, staff, seeded.refunded, waive=["TOTAL_MISMATCH"],
                    note="单位电话确认退款学员不开票")
    exported = export_of(world, "天津市宝坻区某某学校")
    assert exported["status"] == "accepted"
    assert [o for i in exported["invoices"] for o in i["orders"]] == ["B00000", "B00001"]
    entry = audit(world, seeded.refunded)[-1]
    assert entry[2]["waived"] == ["TOTAL_MISMATCH"] and entry[3] == "单位电话确认退款学员不开票"
    drop = audit(world, seeded.refunded)[0]
    assert drop[1] == "drop_line" and drop[2]["dropped"] == [False, True]


def test_restore_a_dropped_line(world: World, seeded: Seeded, staff: Actor) -> None:
    cfg, sessions = world.app.config, world.app.sessions
    with sessions() as s:
        line_id = s.get(Application, seeded.refunded).lines[0].id  # type: ignore[union-attr]
    actions.drop_line(sessions, cfg, staff, seeded.refunded, line_id)
    with pytest.raises(ActionRefused, match="已经删除"):
        actions.drop_line(sessions, cfg, staff, seeded.refunded, line_id)
    actions.drop_line(sessions, cfg, staff, seeded.refunded, line_id, dropped=False)
    assert app_of(world, seeded.refunded)["codes"] == [("PAYMENT_REFUNDED", 3)]


def test_recheck_after_a_payment_upload(world: World, seeded: Seeded, staff: Actor) -> None:
    cfg, sessions = world.app.config, world.app.sessions
    assert app_of(world, seeded.unpaid)["codes"] == [("PAYMENT_NOT_FOUND", 1),
                                                     ("PAYMENT_NOT_FOUND", 2)]
    result = import_upload(sessions, cfg, staff, "C:\\Users\\张\\导出.csv",
                           payments_csv(seeded.unpaid_people))
    assert (result.source, result.inserted, result.errors) == ("导出.csv", 2, [])
    checked, clean = actions.recheck_held(sessions, cfg, staff)
    assert (checked, clean) == (4, 1)
    assert app_of(world, seeded.unpaid) == {"status": "held", "codes": [], "recipient": "赵玥",
                                            "dropped": [False, False]}
    assert invoices(world) == 1  # re-check never issues
    actions.approve(sessions, cfg, staff, seeded.unpaid)
    assert app_of(world, seeded.unpaid)["status"] == "accepted"
    logged = [a for _, a, _, _ in audit(world)]
    assert logged[0] == "import_payments" and logged.count("recheck") == 4


def test_unreadable_upload_changes_nothing(world: World, staff: Actor) -> None:
    with pytest.raises(ActionRefused, match="订单号"):
        import_upload(world.app.sessions, world.app.config, staff, "x.csv", b"a,b\n1,2\n")
    with pytest.raises(ActionRefused, match="请选择"):
        import_upload(world.app.sessions, world.app.config, staff, "x.csv", b"")
    assert audit(world) == []
    assert upload_name("../../etc/passwd\x00") == "passwd"


def test_reject_sends_the_message_and_closes(world: World, seeded: Seeded, staff: Actor) -> None:
    cfg, sessions = world.app.config, world.app.sessions
    with pytest.raises(ActionRefused, match="退回说明"):
        actions.reject(sessions, cfg, staff, seeded.hostile, "   ")
    actions.reject(sessions, cfg, staff, seeded.hostile, "请使用单位全称重新申请")
    assert app_of(world, seeded.hostile)["status"] == "rejected"
    (entry,) = audit(world, seeded.hostile)
    assert entry[1:] == ("reject", {"status": ["held", "rejected"]}, "请使用单位全称重新申请")
    with world.app.sessions() as s:
        raw = outbox_bytes(s.scalars(select(OutboxMessage).where(
            OutboxMessage.application_id == seeded.hostile,
            OutboxMessage.kind == "followup")).one(), cfg.output_dir)
    reply = message_from_bytes(raw, policy=default)
    assert "请使用单位全称重新申请" in reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("verb", ["approve", "reject", "correct", "drop", "recheck"])
def test_no_action_on_rejected_or_issued(world: World, seeded: Seeded, staff: Actor,
                                         verb: str) -> None:
    cfg, sessions = world.app.config, world.app.sessions
    actions.reject(sessions, cfg, staff, seeded.hostile, "重复申请")
    with sessions() as s:
        lines = {a: s.get(Application, a).lines[0].id  # type: ignore[union-attr]
                 for a in (seeded.hostile, seeded.accepted)}
    calls = {
        "approve": lambda a: actions.approve(sessions, cfg, staff, a),
        "reject": lambda a: actions.reject(sessions, cfg, staff, a, "再退一次"),
        "correct": lambda a: actions.correct_fields(sessions, cfg, staff, a, {"unit": "新名"}),
        "drop": lambda a: actions.drop_line(sessions, cfg, staff, a, lines[a]),
        "recheck": lambda a: actions.recheck(sessions, cfg, staff, a),
    }
    entries = len(audit(world))
    for app_id, state in ((seeded.hostile, "已退回"), (seeded.accepted, "已开具")):
        with pytest.raises(ActionRefused, match=state):
            calls[verb](app_id)
    assert len(audit(world)) == entries and invoices(world) == 1


def test_approving_twice_issues_once(world: World, seeded: Seeded, staff: Actor) -> None:
    cfg, sessions = world.app.config, world.app.sessions
    actions.correct_fields(sessions, cfg, staff, seeded.no_recipient, RECIPIENT)
    actions.approve(sessions, cfg, staff, seeded.no_recipient)
    with pytest.raises(ActionRefused, match="已开具"):
        actions.approve(sessions, cfg, staff, seeded.no_recipient)
    assert invoices(world) == 2


def test_concurrent_approvals_issue_once(world: World, seeded: Seeded, staff: Actor,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Two staff press approve at the same moment: the row lock makes one wait and
    then find the application already issued."""
    cfg, sessions = world.app.config, world.app.sessions
    actions.correct_fields(sessions, cfg, staff, seeded.no_recipient, RECIPIENT)
    monkeypatch.setattr(actions, "render_pending", lambda *a: None)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def press() -> None:
        barrier.wait()
        try:
            outcomes.append(actions.approve(sessions, cfg, staff, seeded.no_recipient).status)
        except ActionRefused as e:
            outcomes.append(str(e))

    threads = [threading.Thread(target=press) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes)[0] == "accepted" and outcomes.count("accepted") == 1
    assert all("已开具" in o for o in outcomes if o != "accepted")
    assert invoices(world) == 2
    assert [a for _, a, _, _ in audit(world, seeded.no_recipient)].count("approve") == 1


def test_unknown_fields_and_overlong_values_are_refused(
        world: World, seeded: Seeded, staff: Actor) -> None:
    cfg, sessions = world.app.config, world.app.sessions
    with pytest.raises(ActionRefused, match="不能修改"):
        actions.correct_fields(sessions, cfg, staff, seeded.no_recipient, {"status": "accepted"})
    with pytest.raises(ActionRefused, match="过长"):
        actions.correct_fields(sessions, cfg, staff, seeded.no_recipient, {"district": "区" * 40})
    result = actions.correct_fields(sessions, cfg, staff, seeded.no_recipient,
                                    {"recipient_address": "天津市\r\n武清区\t某路１号"})
    assert result.changes["recipient_address"][1] == "天津市 武清区 某路1号"


def test_a_mail_without_a_form_cannot_be_approved(world: World, staff: Actor) -> None:
    from tests.console.conftest import WHEN
    from worker.samples import mail

    world.deliver(mail(sender="x@163.com", subject="发票", body="收件人：张三 电话：13800000000 "
                       "地址：天津市武清区某路1号", date=WHEN))
    world.run()
    with world.app.sessions() as s:
        app_id = s.scalars(select(Application.id)).one()
    assert app_of(world, app_id)["codes"] == [("NO_FORM", None)]
    actions.recheck(world.app.sessions, world.app.config, staff, app_id)
    assert app_of(world, app_id)["codes"] == [("NO_FORM", None)]  # still no form
    with pytest.raises(ActionRefused, match="邮件中没有找到发票申请表附件"):
        actions.approve(world.app.sessions, world.app.config, staff, app_id)
