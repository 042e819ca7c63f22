"""The audit log: who did what, when, to which application, and what changed."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from worker.console.db import sessions
from worker.db.models import AuditEntry
from worker.staff.audit import changes_of

bp = Blueprint("audit", __name__)
LIMIT = 200


@bp.get("/audit")
def index() -> str:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(LIMIT)
    actor = request.args.get("actor", "").strip()[:64]
    action = request.args.get("action", "").strip()[:64]
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    with sessions()() as db:
        entries = db.scalars(stmt).all()
        return render_template("console/audit.html", entries=[(e, changes_of(e)) for e in entries],
                               actor=actor, action=action)
