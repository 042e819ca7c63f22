"""The audit log: one entry per staff action, written in the action's transaction."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from worker.db.models import Application, AuditEntry
from worker.staff.accounts import Actor
from worker.status import AuditAction


def record(session: Session, actor: Actor, action: AuditAction, *, application_id: int | None = None,
           changes: dict[str, Any] | None = None, note: str = "") -> AuditEntry:
    entry = AuditEntry(
        staff_id=actor.id, actor=actor.name[:64], action=AuditAction(action), application_id=application_id,
        changes=json.dumps(changes or {}, ensure_ascii=False, default=str, sort_keys=True),
        note=note,
    )
    session.add(entry)
    session.flush()
    return entry


def reasons_snapshot(app: Application) -> list[str]:
    """Reasons as short strings, so the log shows what a re-check changed."""
    return [f"{r.code}" + (f"@{r.line}" if r.line is not None else "") for r in app.reasons]


def changes_of(entry: AuditEntry) -> dict[str, Any]:
    try:
        data = json.loads(entry.changes or "{}")
    except ValueError:
        return {"raw": entry.changes}
    return data if isinstance(data, dict) else {"value": data}
