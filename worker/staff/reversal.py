"""红冲: staff record that an issued invoice was reversed on the tax platform.

The reversal itself happens on the 电子发票服务平台 (the seller applies for a
红字发票信息确认单, the platform issues the red-letter invoice); this action records it
here, in one transaction with its audit entry:

- an ``InvoiceReversal`` row (the 红字确认单 number, the reason, who, when); the red
  invoice's own number is linked later when its XML is imported (``tax import``);
- the invoice becomes ``REVERSED`` and its items inactive, so its orders are free
  (``InvoiceState.holds_orders``; the partial unique index on active order numbers);
- its application goes back to HELD with an ``INVOICE_REVERSED`` reason, so staff
  correct it if need be, re-check and approve it through the usual actions
  (``worker.staff.actions``), which plan the freed orders again.

Concurrency: the application, then the invoice, are re-read ``FOR UPDATE`` (the
order approval locks in: application first), so two clicks or two staff members
record one reversal; the second is refused because the invoice is no longer issued.
SQLite's BEGIN IMMEDIATE serialises writers anyway. ``invoice_reversals.invoice_id``
is unique as the last guard.

The 红字确认单 number: 20 digits on the 数电 platform (the platform's
``hzqrdbh`` "<= 20 字符", e.g. the 乐企 API's 数电红字确认单确认), or the 16-digit
红字发票信息表编号 of the older tax-control software (paper stock, print mode). Staff
may type it with spaces or full-width digits; it is stored as digits only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.db.models import Application, Invoice, InvoiceReversal
from worker.db.models import Reason as ReasonRow
from worker.db.types import utcnow
from worker.staff.accounts import Actor
from worker.staff.audit import reasons_snapshot, record
from worker.staff.errors import ActionRefused, NotFound
from worker.status import ApplicationStatus, AuditAction, InvoiceState
from worker.text import squash
from worker.validation import Code

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONFIRMATION = re.compile(r"\d{20}|\d{16}")
MAX_REASON = 500

STATE_VERB = {
    InvoiceState.PLANNED: "尚未导出到税务平台", InvoiceState.EXPORTED: "尚未在税务平台开具",
    InvoiceState.FAILED: "在税务平台开具失败", InvoiceState.REVERSED: "已经红冲",
}


@dataclass(frozen=True)
class ReversalResult:
    application_id: int
    invoice_id: int
    message: str
    orders: tuple[str, ...]


def clean_confirmation(text: object) -> str:
    """The 红字确认单 number as stored: digits only, 20 (数电) or 16 (信息表) of them.
    Raises ActionRefused with a Chinese reason otherwise."""
    value = squash(text)
    if not CONFIRMATION.fullmatch(value) or not value.isascii():
        raise ActionRefused("红字确认单编号应为 20 位数字（数电发票）或 16 位数字（红字发票信息表）")
    return value


def clean_reason(text: object) -> str:
    """One line of text as typed (NFC, not NFKC: Chinese punctuation stays full-width),
    control characters removed; ActionRefused if empty or over ``MAX_REASON``."""
    value = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", str(text or ""))).split())
    if not value:
        raise ActionRefused("请填写红冲原因（如：购买方名称开错）")
    if len(value) > MAX_REASON:
        raise ActionRefused(f"红冲原因最多 {MAX_REASON} 个字符")
    return value


def label(invoice: Invoice) -> str:
    """How staff name the invoice: ``发票 <number>``, or ``流水号 <serial>`` before issue."""
    return f"发票 {invoice.number}" if invoice.number else invoice.reference


def _locked(session: Session, invoice_id: int,
            application_id: int | None) -> tuple[Application, Invoice]:
    app_id = session.scalar(select(Invoice.application_id).where(Invoice.id == invoice_id))
    if app_id is None or application_id not in (None, app_id):
        raise NotFound(f"没有编号为 {invoice_id} 的发票")
    app = session.scalars(select(Application).where(Application.id == app_id).with_for_update()
                          .execution_options(populate_existing=True)).one()
    invoice = session.scalars(select(Invoice).where(Invoice.id == invoice_id).with_for_update()
                              .execution_options(populate_existing=True)).one()
    return app, invoice


def reverse_invoice(sessions: sessionmaker[Session], actor: Actor, invoice_id: int,
                    confirmation_no: object, reason: object, *,
                    application_id: int | None = None) -> ReversalResult:
    """Record the 红冲 of issued invoice ``invoice_id``; see the module docstring.

    ``application_id``, when given, must be the invoice's (the console's URL names both).
    Raises NotFound for an unknown invoice, ActionRefused (nothing changed) for a bad
    confirmation number or reason, an invoice that is not ``issued`` (planned, exported,
    failed, already reversed), or a confirmation number already recorded for another
    invoice (one 红字确认单 reverses one blue invoice)."""
    number = clean_confirmation(confirmation_no)
    why = clean_reason(reason)
    with sessions.begin() as session:
        app, invoice = _locked(session, invoice_id, application_id)
        name = label(invoice)
        if invoice.state != InvoiceState.ISSUED:
            verb = STATE_VERB.get(InvoiceState(invoice.state), invoice.state)
            raise ActionRefused(f"{name}{verb}，不能红冲")
        used = session.scalar(select(InvoiceReversal.invoice_id)
                              .where(InvoiceReversal.confirmation_no == number))
        if used is not None:
            raise ActionRefused(f"红字确认单 {number} 已登记在另一张发票上")
        before_status, before_reasons = app.status, reasons_snapshot(app)
        session.add(InvoiceReversal(invoice_id=invoice.id, confirmation_no=number, reason=why,
                                    actor=actor.name[:64]))
        invoice.state = InvoiceState.REVERSED
        orders = tuple(item.order_no for item in invoice.items if item.active)
        for item in invoice.items:
            item.active = False
        app.reasons.append(ReasonRow(code=str(Code.INVOICE_REVERSED), line=None,
                                     detail=f"{name}已红冲（红字确认单 {number}）：{why}"))
        app.status = ApplicationStatus.HELD
        app.updated_at = utcnow()
        changes: dict[str, Any] = {
            "invoice": name, "confirmation_no": number,
            "state": [InvoiceState.ISSUED.value, InvoiceState.REVERSED.value],
            "orders": list(orders), "reasons": [before_reasons, reasons_snapshot(app)],
        }
        if before_status != app.status:
            changes["status"] = [before_status, app.status]
        record(session, actor, AuditAction.REVERSE, application_id=app.id, changes=changes,
               note=why)
        return ReversalResult(app.id, invoice.id, f"已登记{name}红冲，{len(orders)} 个订单可重新开票；"
                              "申请已转为待处理，核对后重新检查并批准开具", orders)
