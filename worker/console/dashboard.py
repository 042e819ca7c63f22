"""The first page: how many applications in each state, district and day, how many
invoices in each state with the tax platform, and what is waiting for someone (held
applications, PDFs, parcels, outgoing mail)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from flask import Blueprint, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from worker.console import health
from worker.console.db import config, sessions
from worker.console.tax import state_counts
from worker.db.models import Application, OutboxMessage, PaymentImport, Shipment
from worker.db.types import utcnow
from worker.staff.printing import pending_counts
from worker.status import OUTBOX_QUEUED, ApplicationStatus

bp = Blueprint("dashboard", __name__)
DAYS = 14


@bp.get("/")
def index() -> str:
    with sessions()() as db:
        return render_template("console/dashboard.html", **_figures(db), **health.figures(db, config()))


def _figures(db: Session) -> dict[str, object]:
    by_status = {s: n for s, n in db.execute(
        select(Application.status, func.count()).group_by(Application.status))}
    districts: dict[str, dict[str, int]] = defaultdict(dict)
    for district, status, n in db.execute(
            select(Application.district, Application.status, func.count())
            .group_by(Application.district, Application.status)):
        districts[district or "（未填写）"][status] = n
    tz = config().tz
    today = utcnow().astimezone(tz).date()
    first = today - timedelta(days=DAYS - 1)
    days: dict[date, dict[str, int]] = {first + timedelta(days=i): {} for i in range(DAYS)}
    for created, status in db.execute(
            select(Application.created_at, Application.status)
            .where(Application.created_at >= utcnow() - timedelta(days=DAYS + 1))):
        day = created.astimezone(tz).date()
        if day in days:
            days[day][status] = days[day].get(status, 0) + 1
    invoices, labels = pending_counts(db)
    oldest = db.scalar(select(func.min(Application.created_at))
                       .where(Application.status == ApplicationStatus.HELD))
    return {
        "by_status": by_status,
        "districts": sorted(districts.items(), key=lambda kv: -sum(kv[1].values())),
        "days": sorted(days.items(), reverse=True),
        "held": by_status.get(ApplicationStatus.HELD, 0),
        "oldest_held": oldest,
        "pending_invoices": invoices,
        "pending_labels": labels,
        "unmanifested": db.scalar(select(func.count()).select_from(Shipment)
                                  .where(Shipment.manifest_id.is_(None))) or 0,
        "outbox_waiting": db.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.status.in_(OUTBOX_QUEUED))) or 0,
        "invoice_states": state_counts(db),
        "last_import": db.scalars(select(PaymentImport)
                                  .order_by(PaymentImport.id.desc()).limit(1)).first(),
    }
