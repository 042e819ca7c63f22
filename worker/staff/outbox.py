"""Staff retry a reply the worker gave up on (issue 11 item 3: the dashboard's list).

The row goes back to ``pending`` with its attempts reset, in one transaction with
its audit entry; the scheduler's send job (every minute) or the next pass sends it.
Its last error stays on the row, so the console still shows why it failed before.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.db.models import OutboxMessage
from worker.db.types import utcnow
from worker.staff.accounts import Actor
from worker.staff.audit import record
from worker.staff.errors import ActionRefused, NotFound
from worker.status import AuditAction, OutboxStatus


def retry_given_up(sessions: sessionmaker[Session], actor: Actor, message_id: int) -> str:
    """Queue a given-up message again; refuses one that is not given up (sent, queued,
    or retried already by someone else). Returns the recipient."""
    with sessions.begin() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.id == message_id)
                              .with_for_update()).one_or_none()
        if row is None:
            raise NotFound(f"没有编号为 {message_id} 的邮件")
        if row.status != OutboxStatus.FAILED:
            raise ActionRefused("这封邮件不在“已放弃”状态（可能已有人重发）")
        row.status = OutboxStatus.PENDING
        row.attempts = 0
        row.next_attempt_at = utcnow()
        record(session, actor, AuditAction.RETRY_REPLY, application_id=row.application_id,
               changes={"reply": f"#{row.id} {row.recipient}", "outbox": ["已放弃", "待发送"]},
               note=(row.last_error or "")[:500])
        return row.recipient
