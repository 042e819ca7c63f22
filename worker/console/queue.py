"""The exception queue: filter by reason, district, date and status; search by unit,
order number, ID number, waybill, invoice number or sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from worker.console.db import config, sessions
from worker.console.params import BadParameter, date_arg, page_arg
from worker.db.models import Application, ApplicationLine, Invoice, Mail, Reason, Shipment
from worker.db.types import UtcDateTime
from worker.status import ApplicationStatus
from worker.validation import Code

bp = Blueprint("queue", __name__)
PAGE = 50


@dataclass(frozen=True)
class Filters:
    status: str
    reason: str
    district: str
    date_from: date | None
    date_to: date | None
    q: str
    page: int


def _filters() -> Filters:
    """The query string's filters; a malformed page or date is a 400 (``params``)."""
    a = request.args
    q = " ".join(a.get("q", "").split())[:100]
    default = "all" if q else ApplicationStatus.HELD.value
    status = a.get("status", "") or default
    if status != "all" and status not in {s.value for s in ApplicationStatus}:
        raise BadParameter(f"状态“{status[:20]}”无效")
    reason = a.get("reason", "")
    if reason and reason not in Code.__members__:
        raise BadParameter(f"原因代码“{reason[:40]}”无效")
    return Filters(status, reason, a.get("district", "")[:32],
                   date_arg("from"), date_arg("to"), q, page_arg())


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _query(f: Filters) -> Select[tuple[Application]]:
    stmt = select(Application).join(Mail, Application.mail_id == Mail.id)
    if f.status != "all":
        stmt = stmt.where(Application.status == f.status)
    if f.reason:
        stmt = stmt.where(Application.reasons.any(Reason.code == f.reason))
    if f.district:
        stmt = stmt.where(Application.district == f.district)
    tz = config().tz
    arrived = func.coalesce(Mail.received_at, Mail.date, type_=UtcDateTime)  # old rows: Date
    if f.date_from:
        stmt = stmt.where(arrived >= datetime.combine(f.date_from, time(), tz))
    if f.date_to:
        stmt = stmt.where(arrived < datetime.combine(f.date_to + timedelta(days=1), time(), tz))
    if f.q:
        like, exact = _like(f.q), f.q.replace(" ", "")
        stmt = stmt.where(or_(
            Application.unit.ilike(like, escape="\\"),
            Application.buyer_name.ilike(like, escape="\\"),
            Mail.sender.ilike(like, escape="\\"),
            Application.lines.any(or_(ApplicationLine.order_no == exact,
                                      ApplicationLine.id_number == exact.upper(),
                                      ApplicationLine.name == exact)),
            Application.shipment.has(Shipment.waybill == exact.upper()),
            Application.invoices.any(or_(Invoice.number == exact,
                                         Invoice.serial == exact.upper())),
        ))
    return stmt


@bp.get("/queue")
def index() -> str:
    f = _filters()
    stmt = _query(f)
    with sessions()() as db:
        total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        order = (Application.id.asc() if f.status == ApplicationStatus.HELD
                 else Application.id.desc())  # held: oldest first, it has waited longest
        apps = db.scalars(stmt.order_by(order).offset((f.page - 1) * PAGE).limit(PAGE).options(
            selectinload(Application.mail), selectinload(Application.reasons),
            selectinload(Application.shipment))).all()
        districts = sorted(d for d in db.scalars(select(Application.district).distinct()) if d)
        return render_template("console/queue.html", apps=apps, f=f, total=total,
                               pages=max(1, -(-total // PAGE)), districts=districts)
