"""Health on the console: the dashboard's top panel (passes, errors, number ranges,
given-up replies with a retry button, amounts per district and month) and
``/healthz`` for a monitor (no login, no details: 200 ``ok`` or 503 ``unhealthy``)."""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, flash, redirect, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from worker.config import Config
from worker.console import charts
from worker.console.db import actor, config, sessions
from worker.db.models import Application, Invoice
from worker.health.report import check
from worker.staff.errors import ActionRefused
from worker.staff.outbox import retry_given_up

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
MONTHS = 12
JOB_NAMES = {"pass": "收信处理", "manifest": "取件清单", "replies": "发送回复"}
ERROR_KINDS = {"mailbox": "邮箱", "smtp": "发信", "storage": "数据库", "numbers": "号段",
               "render": "PDF", "other": "其他"}


@bp.get("/healthz")
def healthz() -> Response:
    try:
        with sessions()() as db:
            healthy = check(db, config()).ok
    except SQLAlchemyError as e:
        log.warning("healthz: database unavailable: %s", e)
        healthy = False
    body, code = ("ok\n", 200) if healthy else ("unhealthy\n", 503)
    return Response(body, status=code, mimetype="text/plain",
                    headers={"Cache-Control": "no-store"})


@bp.post("/outbox/<int:message_id>/retry")
def retry(message_id: int) -> Response:
    try:
        recipient = retry_given_up(sessions(), actor(), message_id)
    except ActionRefused as e:
        flash(str(e), "error")
    else:
        flash(f"发给 {recipient} 的邮件已重新排队，worker 将在一分钟内发送", "ok")
    return redirect(url_for("dashboard.index"))


def figures(db: Session, cfg: Config) -> dict[str, Any]:
    """What the dashboard's health panel and charts need."""
    per_district = db.execute(
        select(Application.district, func.sum(Invoice.amount))
        .join(Invoice, Invoice.application_id == Application.id)
        .group_by(Application.district).order_by(func.sum(Invoice.amount).desc())).all()
    months: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for issued_at, amount in db.execute(select(Invoice.issued_at, Invoice.amount)):
        months[issued_at.astimezone(cfg.tz).strftime("%Y-%m")] += amount
    recent = sorted(months.items())[-MONTHS:]
    return {
        "health": check(db, cfg), "JOB_NAMES": JOB_NAMES, "ERROR_KINDS": ERROR_KINDS,
        "district_chart": charts.bars([(d or "（未填写）", Decimal(a or 0)) for d, a in per_district],
                                      "各区开票金额（元）"),
        "month_chart": charts.columns([(m[2:].replace("-", "年") + "月", a) for m, a in recent],
                                      "每月开票金额（元）"),
    }
