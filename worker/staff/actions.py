"""What staff do to an application, each in one transaction with its audit entry.

The application row is re-read ``FOR UPDATE`` (PostgreSQL; SQLite's BEGIN IMMEDIATE
serialises writers anyway) and its status checked inside the transaction, so two
clicks, two tabs or two staff members cannot approve, reject or edit the same
application twice: the second one finds it no longer held and is refused.
Approval calls the worker's own ``decide`` -- the same checks, the same issuing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.db.models import Application, ApplicationLine
from worker.db.types import utcnow
from worker.decision import decide, set_reasons
from worker.documents import render_pending
from worker.fields import FIELD, FIELDS, Group, in_group, titles
from worker.replies import queue_followup
from worker.staff.accounts import Actor
from worker.staff.audit import reasons_snapshot, record
from worker.staff.checks import current_reasons, pre_reasons
from worker.staff.errors import ActionRefused, NotFound
from worker.status import ApplicationStatus, AuditAction, InvoiceState
from worker.text import normalize
from worker.validation import Code, explain
from worker.validation.reasons import REASONS, WAIVABLE, blocks_approval

log = logging.getLogger(__name__)

#: What staff may correct, ``key -> title`` (``worker.fields``: ``Field.editable``).
EDITABLE: dict[str, str] = titles(f for f in FIELDS if f.editable)
#: The console's two sections of the application, ``key -> title``.
HEADER_FIELDS: dict[str, str] = titles(in_group(Group.HEADER))
RECIPIENT_FIELDS: dict[str, str] = titles(in_group(Group.RECIPIENT))

STATUS_TEXT = {
    ApplicationStatus.HELD: "待处理", ApplicationStatus.ACCEPTED: "已开具",
    ApplicationStatus.REJECTED: "已退回", ApplicationStatus.IGNORED: "已忽略",
}
MAX_MESSAGE = 2000


@dataclass
class ActionResult:
    application_id: int
    status: str
    message: str
    changes: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _locked(session: Session, app_id: int) -> Application:
    app = session.scalars(
        select(Application).where(Application.id == app_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if app is None:
        raise NotFound(f"没有编号为 {app_id} 的申请")
    return app


def _require_held(app: Application, verb: str) -> None:
    if app.status != ApplicationStatus.HELD:
        state = STATUS_TEXT.get(ApplicationStatus(app.status), app.status)
        raise ActionRefused(f"该申请{state}，不能{verb}")


def _refresh(session: Session, app: Application, config: Config) -> dict[str, Any]:
    """Re-run the checks (no issuing) and store the reasons; the change, if any."""
    before = reasons_snapshot(app)
    set_reasons(app, current_reasons(session, app, config))
    app.updated_at = utcnow()
    after = reasons_snapshot(app)
    return {"reasons": [before, after]} if before != after else {}


def _summary(app: Application, config: Config) -> str:
    if not app.reasons:
        return "检查通过，可以批准开具"
    titles = dict.fromkeys(explain(r.code, config.programme).title for r in app.reasons)
    return "仍有问题：" + "；".join(titles)


def _clean(name: str, value: object) -> str:
    text = " ".join(normalize(value).split())  # one line: no CR/LF into labels or mail
    limit = FIELD[name].length
    if len(text) > limit:
        raise ActionRefused(f"“{EDITABLE[name]}”过长（最多 {limit} 个字符）")
    return text


def correct_fields(sessions: sessionmaker[Session], config: Config, actor: Actor, app_id: int,
                   values: Mapping[str, object], note: str = "") -> ActionResult:
    """Change header or recipient fields of a held application, then re-check it."""
    unknown = sorted(set(values) - set(EDITABLE))
    if unknown:
        raise ActionRefused(f"不能修改：{'、'.join(unknown)}")
    cleaned = {name: _clean(name, value) for name, value in values.items()}
    with sessions.begin() as session:
        app = _locked(session, app_id)
        _require_held(app, "修改")
        changes: dict[str, Any] = {}
        for name, new in cleaned.items():
            old = getattr(app, name)
            if old != new:
                changes[name] = [old, new]
                setattr(app, name, new)
        if not changes:
            return ActionResult(app.id, app.status, "没有改动")
        changes.update(_refresh(session, app, config))
        record(session, actor, AuditAction.CORRECT, application_id=app.id, changes=changes, note=note)
        labels = "、".join(EDITABLE[n] for n in cleaned if n in changes)
        return ActionResult(app.id, app.status, f"已修改{labels}；{_summary(app, config)}", changes)


def drop_line(sessions: sessionmaker[Session], config: Config, actor: Actor, app_id: int,
              line_id: int, *, dropped: bool = True, note: str = "") -> ActionResult:
    """Leave a trainee line out of (or, with dropped=False, back into) the application;
    the line stays stored, as the unit wrote it."""
    with sessions.begin() as session:
        app = _locked(session, app_id)
        _require_held(app, "删除学员行" if dropped else "恢复学员行")
        line = session.get(ApplicationLine, line_id)
        if line is None or line.application_id != app.id:
            raise NotFound("该申请没有这一行")
        ref = line.seq if line.seq is not None else line.position
        if line.dropped == dropped:
            raise ActionRefused(f"第 {ref} 行已经{'删除' if dropped else '在申请中'}")
        line.dropped = dropped
        changes: dict[str, Any] = {
            "line": f"序号 {ref} {line.name} {line.order_no}", "dropped": [not dropped, dropped]}
        changes.update(_refresh(session, app, config))
        record(session, actor, AuditAction.DROP_LINE if dropped else AuditAction.RESTORE_LINE,
               application_id=app.id, changes=changes, note=note)
        verb = "删除" if dropped else "恢复"
        return ActionResult(app.id, app.status, f"已{verb}第 {ref} 行；{_summary(app, config)}",
                            changes)


def recheck(sessions: sessionmaker[Session], config: Config, actor: Actor,
            app_id: int) -> ActionResult:
    """Check a held application again (say after a payment import); never issues."""
    with sessions.begin() as session:
        app = _locked(session, app_id)
        _require_held(app, "重新检查")
        changes = _refresh(session, app, config)
        record(session, actor, AuditAction.RECHECK, application_id=app.id, changes=changes)
        return ActionResult(app.id, app.status, _summary(app, config), changes)


def recheck_held(sessions: sessionmaker[Session], config: Config, actor: Actor) -> tuple[int, int]:
    """Re-check every held application, one transaction each; (checked, now clean)."""
    with sessions() as session:
        ids = list(session.scalars(select(Application.id).where(
            Application.status == ApplicationStatus.HELD).order_by(Application.id)))
    clean = 0
    for app_id in ids:
        try:
            result = recheck(sessions, config, actor, app_id)
        except ActionRefused:
            continue  # decided meanwhile by someone else
        clean += result.message.startswith("检查通过")
    return len(ids), clean


def _waivers(codes: Iterable[str]) -> frozenset[Code]:
    out: set[Code] = set()
    for code in codes:
        if code not in Code.__members__ or Code(code) not in WAIVABLE:
            raise ActionRefused(f"“{code}”不能忽略，须先更正")
        out.add(Code(code))
    return frozenset(out)


def approve(sessions: sessionmaker[Session], config: Config, actor: Actor, app_id: int,
            waive: Iterable[str] = (), note: str = "") -> ActionResult:
    """Issue the invoices and the parcel exactly as the worker would (``decide``),
    letting through only the WAIVABLE reasons staff ticked; refuses anything else,
    and a stored sticky reason that blocks approval (rows the reader left unread: no
    check finds it again, so ``decide`` alone would issue for the rows it has), or a
    code this version does not know (as the console's button does)."""
    waived = _waivers(waive)
    with sessions.begin() as session:
        app = _locked(session, app_id)
        _require_held(app, "批准")
        stuck = [r.code for r in app.reasons if blocks_approval(r.code) and (
            r.code not in Code.__members__ or REASONS[Code(r.code)].sticky)]
        if stuck:
            raise ActionRefused("不能批准：" + "；".join(
                REASONS[Code(c)].title if c in Code.__members__ else f"未知原因 {c}"
                for c in stuck) + "。请退回，由单位重新发送")
        before = reasons_snapshot(app)
        found = {r.code for r in current_reasons(session, app, config)}
        status = decide(session, app, config, pre_reasons=pre_reasons(app), waive=waived)
        if status != ApplicationStatus.ACCEPTED:
            raise ActionRefused("未开具，" + _summary(app, config))  # rolls everything back
        for invoice in app.invoices:  # 开票人: who approved it (issue 11), not the config's name
            invoice.issuer = actor.name[:64]
        changes: dict[str, Any] = {
            "status": [ApplicationStatus.HELD.value, ApplicationStatus.ACCEPTED.value],
            "reasons": [before, []],
            "waived": sorted(str(c) for c in waived if c in found),
            # platform mode: the 流水号 until the platform issues (and only live invoices)
            "invoices": [inv.reference for inv in app.invoices
                         if InvoiceState(inv.state).holds_orders],
            "waybill": app.shipment.waybill if app.shipment else None,
        }
        record(session, actor, AuditAction.APPROVE, application_id=app.id, changes=changes, note=note)
        # The reply is queued in this transaction: sent exactly when the decision commits.
        queue_followup(session, app, config, action="approve", note=note)
        result = ActionResult(app.id, app.status, "已批准：发票 " + "、".join(changes["invoices"])
                              + f"，运单 {changes['waybill']}", changes)
    result.warnings += render_after_issue(sessions, config)
    return result


def render_after_issue(sessions: sessionmaker[Session], config: Config) -> list[str]:
    """PDFs are rendered after the commit: a rendering failure must not undo an issued
    invoice, and the print centre can always render what is still pending."""
    try:
        render_pending(sessions, config)
    except Exception as e:  # any failure in rendering; the issue itself is committed
        log.exception("rendering after approval failed")
        return [f"发票已开具，但 PDF 生成失败（{e}），可在打印中心重新生成"]
    return []


def reject(sessions: sessionmaker[Session], config: Config, actor: Actor, app_id: int,
           message: str) -> ActionResult:
    """Close a held application without issuing; the message goes to the unit."""
    message = normalize(message)
    if not message:
        raise ActionRefused("请填写退回说明（将发给单位）")
    if len(message) > MAX_MESSAGE:
        raise ActionRefused(f"退回说明最多 {MAX_MESSAGE} 个字符")
    with sessions.begin() as session:
        app = _locked(session, app_id)
        _require_held(app, "退回")
        app.status = ApplicationStatus.REJECTED
        app.updated_at = utcnow()
        record(session, actor, AuditAction.REJECT, application_id=app.id, note=message, changes={
            "status": [ApplicationStatus.HELD.value, ApplicationStatus.REJECTED.value]})
        queue_followup(session, app, config, action="reject", note=message)
        return ActionResult(app.id, app.status, "已退回，说明将发给单位")
