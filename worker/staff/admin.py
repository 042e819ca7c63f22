"""Managing console accounts (issue 11 item 5): list, disable, enable; admins only.

The first account made is an admin (someone must be able to manage the others), and
``staff add --admin`` makes more. Disabling an account ends its console sessions at
their next request (``console.auth`` checks ``active``). The last active admin cannot
be disabled, nor can staff disable themselves: the console is never left without
someone who can let people back in. Each change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from worker.db.models import Staff
from worker.staff.accounts import Actor, clean_name, create_staff, find_staff
from worker.staff.audit import record
from worker.staff.errors import ActionRefused, NotFound
from worker.status import AuditAction


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    active: bool
    is_admin: bool
    created_at: datetime
    last_login_at: datetime | None


def list_staff(session: Session) -> list[Account]:
    return [Account(s.id, s.name, s.active, s.is_admin, s.created_at, s.last_login_at)
            for s in session.scalars(select(Staff).order_by(Staff.name))]


def is_admin(session: Session, staff_id: int | None) -> bool:
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    return bool(staff and staff.active and staff.is_admin)


def add_staff(session: Session, name: str, password: str, *, admin: bool = False) -> Staff:
    """``create_staff`` plus the role: an admin if asked, or if it is the first account."""
    first = not session.scalar(select(func.count()).select_from(Staff))
    staff = create_staff(session, name, password)
    staff.is_admin = admin or first
    return staff


def set_active(sessions: sessionmaker[Session], actor: Actor, name: str, active: bool) -> Account:
    """Disable or enable ``name``; refuses a no-op, oneself, and the last active admin."""
    verb = "启用" if active else "停用"
    with sessions.begin() as session:
        staff = find_staff(session, clean_name(name))
        if staff is None:
            raise NotFound(f"没有用户 {name}")
        if staff.active == active:
            raise ActionRefused(f"用户 {staff.name} 已经是{verb}状态")
        if not active and actor.id is not None and staff.id == actor.id:
            raise ActionRefused("不能停用自己的账号")
        if not active and staff.is_admin:
            admins = session.scalar(select(func.count()).select_from(Staff).where(
                Staff.is_admin.is_(True), Staff.active.is_(True))) or 0
            if admins <= 1:
                raise ActionRefused(f"{staff.name} 是唯一启用的管理员，不能停用")
        staff.active = active
        record(session, actor, AuditAction.ENABLE_STAFF if active else AuditAction.DISABLE_STAFF,
               changes={"account": staff.name, "active": [not active, active]})
        return Account(staff.id, staff.name, staff.active, staff.is_admin, staff.created_at,
                       staff.last_login_at)


def run_cli(sessions: sessionmaker[Session], command: str, name: str | None,
            tz: ZoneInfo) -> tuple[int, str]:
    """``staff list|disable NAME|enable NAME`` from the shell: (exit code, text to print).
    The audit log names the actor ``命令行`` (the shell user is the server's, not a person)."""
    if command == "list":
        with sessions() as session:
            rows = list_staff(session)
        lines = [f"{'name':<20} {'active':<7} {'admin':<6} last login"]
        for a in rows:
            last = a.last_login_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if a.last_login_at else "-"
            lines.append(f"{a.name:<20} {'yes' if a.active else 'no':<7} "
                         f"{'yes' if a.is_admin else 'no':<6} {last}")
        return 0, "\n".join(lines)
    assert name is not None
    try:
        account = set_active(sessions, Actor(None, "命令行"), name, command == "enable")
    except ActionRefused as e:
        return 1, f"invoice-worker: {e}"
    return 0, f"staff {account.name} {'enabled' if account.active else 'disabled'}"
