"""The four finance reports (issue 11 item 4) read from the database.

``start``/``end`` are local dates (Asia/Shanghai, the config's zone), both included,
either may be None; each report filters on its own date: the ledger on the issue date,
the queue on when the application arrived, payments on the payment time, the audit
log on the entry's time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload, selectinload

from worker.config import Config
from worker.db.models import Application, AuditEntry, Invoice, InvoiceItem, Payment
from worker.reports.sheet import Column, Kind, Report
from worker.status import ApplicationStatus
from worker.validation import explain

T, M, N, D, DT = Kind.TEXT, Kind.MONEY, Kind.INT, Kind.DATE, Kind.DATETIME


def bounds(start: date | None, end: date | None, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """[start 00:00, end+1 00:00) local, as aware datetimes."""
    lo = datetime.combine(start, time(), tz) if start else None
    hi = datetime.combine(end + timedelta(days=1), time(), tz) if end else None
    return lo, hi


def _between(stmt: Select[Any], column: Any, lo: datetime | None, hi: datetime | None) -> Select[Any]:
    if lo is not None:
        stmt = stmt.where(column >= lo)
    if hi is not None:
        stmt = stmt.where(column < hi)
    return stmt


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


def ledger(session: Session, config: Config, start: date | None, end: date | None) -> Report:
    """开票台账: one row per issued invoice, in number order."""
    tz = config.tz
    report = Report("ledger", "开票台账", [
        Column("发票代码", T, 14), Column("发票号码", T, 12), Column("开票日期", D, 12),
        Column("发票类型", T, 16), Column("购买方名称", T, 32), Column("纳税人识别号", T, 22),
        Column("金额（不含税）", M, 14), Column("税额", M, 10), Column("价税合计", M, 12),
        Column("税率", T, 6), Column("订单号", T, 30), Column("学员", T, 30), Column("人数", N, 6),
        Column("申请编号", N, 9), Column("单位", T, 30), Column("所属区", T, 9),
        Column("运单号", T, 16), Column("开票人", T, 9)])
    stmt = (select(Invoice).options(selectinload(Invoice.items),
                                    joinedload(Invoice.application).joinedload(Application.shipment))
            .order_by(Invoice.code, Invoice.number))
    for inv in session.scalars(_between(stmt, Invoice.issued_at, *bounds(start, end, tz))):
        app, items = inv.application, list(inv.items)
        names = list(dict.fromkeys(i.name for i in items))
        report.rows.append([
            inv.code, inv.number, inv.issued_at.astimezone(tz).date(), inv.invoice_type,
            inv.buyer_name, inv.tax_id, inv.net, inv.tax, inv.amount, _percent(inv.tax_rate),
            "、".join(i.order_no for i in items), "、".join(names), len(names), app.id, app.unit,
            app.district, app.shipment.waybill if app.shipment else "",
            inv.issuer or config.invoice.issuer])
    return report


def queue(session: Session, config: Config, start: date | None, end: date | None) -> Report:
    """The exception queue: every held application with its reasons, oldest first."""
    tz = config.tz
    report = Report("queue", "待处理申请", [
        Column("申请编号", N, 9), Column("收到时间", DT, 19), Column("单位", T, 30),
        Column("所属区", T, 9), Column("发件人", T, 24), Column("附件", T, 20), Column("经办人", T, 9),
        Column("经办人电话", T, 14), Column("人数", N, 6), Column("合计金额", M, 11),
        Column("原因", T, 60)])
    stmt = (select(Application).options(joinedload(Application.mail), selectinload(Application.reasons),
                                        selectinload(Application.lines))
            .where(Application.status == ApplicationStatus.HELD).order_by(Application.id))
    for app in session.scalars(_between(stmt, Application.created_at, *bounds(start, end, tz))):
        lines = [line for line in app.lines if not line.dropped]
        reasons = [explain(r.code, config.programme).title
                   + (f"（第 {r.line} 行）" if r.line is not None else "")
                   + (f"：{r.detail}" if r.detail else "") for r in app.reasons]
        report.rows.append([
            app.id, _local(app.created_at, tz), app.unit, app.district, app.mail.sender,
            app.attachment or "", app.contact, app.contact_phone, len(lines),
            sum((line.amount for line in lines if line.amount is not None), Decimal("0.00")),
            "；".join(reasons)])
    return report


def payments(session: Session, config: Config, start: date | None, end: date | None) -> Report:
    """Payment records with the invoice (if any) each order is on, by payment time."""
    tz = config.tz
    report = Report("payments", "缴费记录", [
        Column("订单号", T, 20), Column("姓名", T, 9), Column("身份证号", T, 21),
        Column("培训年度", N, 9), Column("金额", M, 9), Column("支付时间", DT, 19),
        Column("支付方式", T, 9), Column("状态", T, 8), Column("发票号码", T, 11),
        Column("申请编号", N, 9)])
    stmt = (select(Payment, Invoice.number, Invoice.application_id)
            .outerjoin(InvoiceItem, InvoiceItem.order_no == Payment.order_no)
            .outerjoin(Invoice, Invoice.id == InvoiceItem.invoice_id)
            .order_by(Payment.paid_at, Payment.order_no))
    for pay, number, app_id in session.execute(_between(stmt, Payment.paid_at, *bounds(start, end, tz))):
        report.rows.append([pay.order_no, pay.name, pay.id_number, pay.year, pay.amount,
                            _local(pay.paid_at, tz), pay.method, pay.status, number or "", app_id])
    return report


def audit(session: Session, config: Config, start: date | None, end: date | None) -> Report:
    """The audit log, oldest first, with the changes as the console words them."""
    from worker.console.filters import ACTIONS, change_lines
    from worker.staff.audit import changes_of

    tz = config.tz
    report = Report("audit", "操作记录", [
        Column("时间", DT, 19), Column("操作人", T, 10), Column("操作", T, 12),
        Column("申请编号", N, 9), Column("改动", T, 60), Column("说明", T, 40)])
    stmt = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    for entry in session.scalars(_between(stmt, AuditEntry.at, *bounds(start, end, tz))):
        report.rows.append([
            _local(entry.at, tz), entry.actor, ACTIONS.get(entry.action, entry.action),
            entry.application_id, "\n".join(change_lines(changes_of(entry), config.programme)),
            entry.note])
    return report


def _percent(rate: str) -> str:
    try:
        return f"{float(rate) * 100:g}%"
    except ValueError:
        return rate


REPORTS: dict[str, Callable[[Session, Config, date | None, date | None], Report]] = {
    "ledger": ledger, "queue": queue, "payments": payments, "audit": audit}
