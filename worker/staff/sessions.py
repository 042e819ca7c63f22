"""Console sessions kept server-side, so logging out, a new password and "end all
sessions" really end them (a signed cookie alone stays valid until it expires).

The browser's cookie holds a random token (256 bits, ``secrets``); the table holds
only its SHA-256, so reading the database opens no session. A session is live while
it is not ended, not past ``LIFETIME`` from login, its account is active and the
password unchanged since login (``login.fingerprint``): a password set from the shell
(``staff passwd``) ends sessions without the CLI knowing about them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from worker.db.models import ConsoleSession, Staff
from worker.db.types import utcnow
from worker.staff.accounts import Actor, set_password, verify_password
from worker.staff.audit import record
from worker.staff.errors import ActionRefused
from worker.staff.login import clean_key, fingerprint
from worker.status import AuditAction

LIFETIME = timedelta(hours=10)     # a working day; the cookie's lifetime is the same
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
MAX_AGENT = 255


class EndReason(StrEnum):
    LOGOUT = "logout"
    ENDED_BY_OWNER = "ended_by_owner"
    ENDED_BY_STAFF = "ended_by_staff"
    CREDENTIALS_CHANGED = "credentials_changed"
    ACCOUNT_DISABLED = "account_disabled"


@dataclass(frozen=True)
class LiveSession:
    """A session as the web layer holds it during one request."""

    id: int
    actor: Actor


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def open_session(sessions: sessionmaker[Session], actor: Actor, password_fp: str,
                 address: str, user_agent: str, now: datetime | None = None) -> str:
    """A new session for a staff member who just logged in; returns its token
    (for the cookie only: it is not stored)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with sessions.begin() as db:
        db.add(ConsoleSession(
            token_hash=_hash(token), staff_id=actor.id, password_fp=password_fp,
            address=clean_key(address), user_agent=clean_key(user_agent)[:MAX_AGENT]
            if user_agent else "", created_at=now, last_seen_at=now, expires_at=now + LIFETIME))
    return token


def check_session(sessions: sessionmaker[Session], token: object,
                  now: datetime | None = None) -> LiveSession | None:
    """The live session a cookie's token names, or None (then the request is anonymous)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    now = now or utcnow()
    with sessions.begin() as db:
        row = db.scalars(select(ConsoleSession).where(
            ConsoleSession.token_hash == _hash(token))).one_or_none()
        if row is None or row.ended_at is not None or row.expires_at <= now:
            return None
        staff = db.get(Staff, row.staff_id)
        if staff is None or not staff.active:
            row.ended_at, row.end_reason = now, EndReason.ACCOUNT_DISABLED
            return None
        if fingerprint(staff) != row.password_fp:
            row.ended_at, row.end_reason = now, EndReason.CREDENTIALS_CHANGED
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
        return LiveSession(row.id, Actor(staff.id, staff.name))


def end_session(sessions: sessionmaker[Session], token: object, reason: EndReason,
                now: datetime | None = None) -> None:
    """End the session a token names (logout); nothing if it is unknown or over."""
    if not isinstance(token, str):
        return
    with sessions.begin() as db:
        db.execute(update(ConsoleSession)
                   .where(ConsoleSession.token_hash == _hash(token),
                          ConsoleSession.ended_at.is_(None))
                   .values(ended_at=now or utcnow(), end_reason=reason))


def _end(db: Session, reason: EndReason, now: datetime, *, staff_id: int | None = None,
         keep: int | None = None) -> int:
    stmt = update(ConsoleSession).where(ConsoleSession.ended_at.is_(None),
                                        ConsoleSession.expires_at > now)
    if staff_id is not None:
        stmt = stmt.where(ConsoleSession.staff_id == staff_id)
    if keep is not None:
        stmt = stmt.where(ConsoleSession.id != keep)
    result = db.execute(stmt.values(ended_at=now, end_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


def live_sessions(sessions: sessionmaker[Session], staff_id: int,
                  now: datetime | None = None) -> list[ConsoleSession]:
    """A staff member's sessions that are still open, newest first."""
    now = now or utcnow()
    with sessions() as db:
        return list(db.scalars(select(ConsoleSession).where(
            ConsoleSession.staff_id == staff_id, ConsoleSession.ended_at.is_(None),
            ConsoleSession.expires_at > now).order_by(ConsoleSession.id.desc())))


def end_my_other_sessions(sessions: sessionmaker[Session], actor: Actor, current: int,
                          now: datetime | None = None) -> int:
    """End every session of ``actor`` but ``current``; how many ended (audited)."""
    now = now or utcnow()
    with sessions.begin() as db:
        n = _end(db, EndReason.ENDED_BY_OWNER, now, staff_id=actor.id, keep=current)
        record(db, actor, AuditAction.END_SESSIONS, changes={"sessions": n, "whose": "本人其他会话"})
        return n


def end_all_sessions(sessions: sessionmaker[Session], actor: Actor,
                     now: datetime | None = None) -> int:
    """End every open session of every staff member, the caller's own included (for
    a suspected break-in). The console has no roles: every staff member may do this,
    and the audit log says who did. Returns how many ended."""
    now = now or utcnow()
    with sessions.begin() as db:
        n = _end(db, EndReason.ENDED_BY_STAFF, now)
        record(db, actor, AuditAction.END_SESSIONS, changes={"sessions": n, "whose": "所有工作人员"})
        return n


def change_password(sessions: sessionmaker[Session], actor: Actor, current_session: int,
                    old: str, new: str, again: str, now: datetime | None = None) -> int:
    """Set a new password for ``actor`` after checking the old one; every other session
    of theirs ends, this one continues. Returns how many others ended.

    Raises ``ActionRefused`` (Chinese) for a wrong old password, a mismatch, or a new
    one the policy refuses (``accounts.check_password_policy``)."""
    now = now or utcnow()
    if new != again:
        raise ActionRefused("两次输入的新密码不一致")
    with sessions.begin() as db:
        staff = db.get(Staff, actor.id)
        if staff is None or not verify_password(old, staff.password_hash):
            raise ActionRefused("原密码不正确")
        if old == new:
            raise ActionRefused("新密码不能与原密码相同")
        set_password(db, staff.name, new)
        db.flush()
        fp = fingerprint(staff)
        db.execute(update(ConsoleSession).where(ConsoleSession.id == current_session)
                   .values(password_fp=fp))
        n = _end(db, EndReason.CREDENTIALS_CHANGED, now, staff_id=actor.id, keep=current_session)
        record(db, actor, AuditAction.PASSWORD, changes={"sessions": n})
        return n
