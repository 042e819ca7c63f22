"""Logging in, with every try recorded and guessing slowed to a crawl.

Five failures in fifteen minutes for one name, or from one address, and that name or
address is refused (without even checking the password) until the window has passed.
Counting by name stops a spread-out attack on one account; counting by address stops
one machine trying many names. A success clears the name's count, not the address's.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from worker.db.models import LoginAttempt, Staff
from worker.db.types import utcnow
from worker.staff.accounts import (
    Actor,
    burn_time,
    find_staff,
    hash_password,
    needs_rehash,
    verify_password,
)

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
WRONG = "用户名或密码错误"
LOCKED = "登录失败次数过多，请 15 分钟后再试"


@dataclass(frozen=True)
class LoginResult:
    actor: Actor | None
    error: str | None = None
    password_fingerprint: str = ""


def _failures(session: Session, since: datetime, after: datetime | None = None,
              **where: str) -> int:
    (column, value), = where.items()
    stmt = select(func.count()).select_from(LoginAttempt).where(
        getattr(LoginAttempt, column) == value, LoginAttempt.ok.is_(False),
        LoginAttempt.at >= since)
    if after is not None:
        stmt = stmt.where(LoginAttempt.at > after)
    return session.scalar(stmt) or 0


def _last_success(session: Session, name: str) -> datetime | None:
    return session.scalar(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.name == name,
                                                LoginAttempt.ok.is_(True)))


def is_locked(session: Session, name: str, address: str, now: datetime) -> bool:
    since = now - WINDOW
    return (_failures(session, since, _last_success(session, name), name=name) >= MAX_FAILURES
            or _failures(session, since, address=address) >= MAX_FAILURES)


def fingerprint(staff: Staff) -> str:
    """Changes whenever the password does: a session remembers it, so setting a new
    password ends every session opened with the old one."""
    return hashlib.sha256(staff.password_hash.encode()).hexdigest()[:16]


def login(sessions: sessionmaker[Session], name: str, password: str, address: str,
          now: datetime | None = None) -> LoginResult:
    now = now or utcnow()
    key = unicodedata.normalize("NFKC", name).strip()[:64]
    address = (address or "unknown")[:64]
    with sessions.begin() as session:
        if is_locked(session, key, address, now):
            session.add(LoginAttempt(name=key, address=address, ok=False, at=now))
            return LoginResult(None, LOCKED)
        staff = find_staff(session, key) if key else None
        if staff is None or not staff.active:
            burn_time(password)
            ok = False
        else:
            ok = verify_password(password, staff.password_hash)
        session.add(LoginAttempt(name=key, address=address, ok=ok, at=now))
        if not ok or staff is None:
            return LoginResult(None, WRONG)
        staff.last_login_at = now
        if needs_rehash(staff.password_hash):
            staff.password_hash = hash_password(password)
        return LoginResult(Actor(staff.id, staff.name), None, fingerprint(staff))


def current_staff(session: Session, staff_id: object, fp: object) -> Actor | None:
    """The session's staff member if the account is still active and its password
    unchanged since the session began; else None (the session is over)."""
    if not isinstance(staff_id, int) or not isinstance(fp, str):
        return None
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active or fingerprint(staff) != fp:
        return None
    return Actor(staff.id, staff.name)
