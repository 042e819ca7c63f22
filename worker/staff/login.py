"""Logging in: every try recorded, guessing slowed by growing waits, and never a lock
the account's owner cannot pass.

The rules follow what trusted systems do: NIST SP 800-63B §5.2.2 (limit consecutive
failed attempts; prefer delays that grow over a permanent lock), the OWASP
Authentication Cheat Sheet (lockout time that grows with each failure, counted per
account and per source) and OWASP's "Slow Down Online Guessing Attacks with Device
Cookies" (a browser the owner has logged in from is not held back by other people's
failures on the same name).

Three counters, each over the last ``WINDOW``, each counting only *counted* failures:

- per **name**, for tries from browsers without a device cookie for that name;
- per **address**, for tries without a device cookie, whatever the name;
- per **device**, for tries from a browser that holds that name's device cookie.

The first ``FREE_FAILURES`` failures cost nothing; after that the next try must wait
``FIRST_WAIT`` after the last failure, doubling with each further failure up to
``MAX_WAIT``. A try made while waiting is refused without the password being checked
and recorded as ``throttled``: it never lengthens the wait, so one try every few
minutes cannot keep anyone out. A success restarts the name's and the device's count
(not the address's: one machine trying many names stays slowed). Because a stranger's
failures do not touch the owner's device counter, the owner's browser always gets in.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
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

FREE_FAILURES = 5
FIRST_WAIT = timedelta(seconds=30)
MAX_WAIT = timedelta(minutes=15)
WINDOW = timedelta(hours=24)
MAX_KEY = 64  # the columns' length
WRONG = "用户名或密码错误"
THROTTLED = "登录失败次数过多，请稍后再试"


@dataclass(frozen=True)
class FailureNotice:
    """Failed tries on a name since its previous login, shown to its owner after login.

    ``count`` includes ``throttled`` (tries refused unchecked while waiting);
    ``last_at``/``last_address`` describe the newest one; ``since`` is the previous
    login (None: the account's first login)."""

    count: int
    throttled: int
    last_at: datetime
    last_address: str
    since: datetime | None


@dataclass(frozen=True)
class LoginResult:
    """``actor`` is None when refused; then ``error`` says why (``WRONG`` or a
    ``THROTTLED`` text) and ``retry_after`` how long to wait (zero unless throttled).
    On success ``device`` is the id the browser's device cookie should carry and
    ``failures`` the notice for the owner (None: nothing failed since last login)."""

    actor: Actor | None
    error: str | None = None
    password_fingerprint: str = ""
    retry_after: timedelta = timedelta(0)
    device: str | None = None
    failures: FailureNotice | None = None


def wait_after(failures: int) -> timedelta:
    """How long after the last of ``failures`` counted failures the next try must wait."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    doublings = min(failures - FREE_FAILURES, 16)  # 30 s * 2**16 is far past the cap
    return min(FIRST_WAIT * 2**doublings, MAX_WAIT)


def wait_text(wait: timedelta) -> str:
    """A wait as staff read it: 30 秒, 2 分钟."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    return f"{seconds} 秒" if seconds < 60 else f"{math.ceil(seconds / 60)} 分钟"


def _counted(session: Session, since: datetime, after: datetime | None,
             *where: ColumnElement[bool]) -> tuple[int, Any]:
    """Counted failures at or after ``since`` and strictly after ``after`` (a success):
    how many, and when the newest was."""
    stmt = select(func.count(), func.max(LoginAttempt.at)).where(
        LoginAttempt.ok.is_(False), LoginAttempt.throttled.is_(False),
        LoginAttempt.at >= since, *where)
    if after is not None:
        stmt = stmt.where(LoginAttempt.at > after)
    row = session.execute(stmt).one()
    return int(row[0] or 0), row[1]


def _last_success(session: Session, name: str) -> datetime | None:
    return session.scalar(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.name == name,
                                                LoginAttempt.ok.is_(True)))


def remaining_wait(session: Session, name: str, address: str, device: str | None,
                   now: datetime) -> timedelta:
    """How long this name/address/device must still wait (zero: it may try now)."""
    since = now - WINDOW
    success = _last_success(session, name)
    if device:
        counters = [_counted(session, since, success, LoginAttempt.name == name,
                             LoginAttempt.device == device)]
    else:
        counters = [
            _counted(session, since, success, LoginAttempt.name == name,
                     LoginAttempt.device.is_(None)),
            _counted(session, since, None, LoginAttempt.address == address,
                     LoginAttempt.device.is_(None)),
        ]
    wait = timedelta(0)
    for count, last in counters:
        if last is not None:
            wait = max(wait, last + wait_after(count) - now)
    return wait


def fingerprint(staff: Staff) -> str:
    """Changes whenever the password does: a session remembers it, so setting a new
    password ends every session opened with the old one."""
    return hashlib.sha256(staff.password_hash.encode()).hexdigest()[:16]


def failures_since(session: Session, name: str, since: datetime | None,
                   until: datetime) -> FailureNotice | None:
    """Failed tries on ``name`` after ``since`` (a previous login) and before ``until``."""
    where = [LoginAttempt.name == name, LoginAttempt.ok.is_(False), LoginAttempt.at <= until]
    if since is not None:
        where.append(LoginAttempt.at > since)
    count, throttled = session.execute(
        select(func.count(), func.count().filter(LoginAttempt.throttled.is_(True)))
        .where(and_(*where))).one()
    if not count:
        return None
    last = session.scalars(select(LoginAttempt).where(*where)
                           .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
                           .limit(1)).one()
    return FailureNotice(int(count), int(throttled or 0), last.at, last.address, since)


def clean_key(text: str) -> str:
    """A name or address as the counters key it: NFKC, trimmed, without control
    characters (PostgreSQL refuses NUL), at most the column's length."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(c for c in text if c.isprintable()).strip()[:MAX_KEY]


def login(sessions: sessionmaker[Session], name: str, password: str, address: str,
          now: datetime | None = None, device: str | None = None) -> LoginResult:
    """Check a login try and record it (one transaction).

    ``device`` is the id from the browser's device cookie, only when that cookie was
    issued for this same name (the web layer verifies its signature and name)."""
    now = now or utcnow()
    key = clean_key(name)
    address = clean_key(address) or "unknown"
    device = clean_key(device or "")[:32] or None
    with sessions.begin() as session:
        wait = remaining_wait(session, key, address, device, now)
        if wait > timedelta(0):
            session.add(LoginAttempt(name=key, address=address, ok=False, at=now,
                                     throttled=True, device=device))
            return LoginResult(None, THROTTLED, retry_after=wait)
        staff = find_staff(session, key) if key else None
        if staff is None or not staff.active:
            burn_time(password)
            ok = False
        else:
            ok = verify_password(password, staff.password_hash)
        session.add(LoginAttempt(name=key, address=address, ok=ok, at=now, device=device))
        if not ok or staff is None:
            return LoginResult(None, WRONG)
        notice = failures_since(session, key, staff.last_login_at, now)
        staff.last_login_at = now
        if needs_rehash(staff.password_hash):
            staff.password_hash = hash_password(password)
        return LoginResult(Actor(staff.id, staff.name), None, fingerprint(staff),
                           device=device or secrets.token_urlsafe(16), failures=notice)


def current_staff(session: Session, staff_id: object, fp: object) -> Actor | None:
    """The staff member if the account is still active and its password unchanged
    since ``fp`` was taken; else None (the session is over)."""
    if not isinstance(staff_id, int) or not isinstance(fp, str):
        return None
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active or fingerprint(staff) != fp:
        return None
    return Actor(staff.id, staff.name)
