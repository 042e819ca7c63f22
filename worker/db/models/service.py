"""The service's own records beside the applications: staff accounts, their console
sessions and login tries, the audit log, the outbox of mail to send, and job runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, false
from sqlalchemy.orm import Mapped, mapped_column

from worker.db.models.base import Base
from worker.db.types import String, Text, UtcDateTime, utcnow


class Staff(Base):
    """A console account; the password is stored only as a salted slow hash."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # accounts
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LoginAttempt(Base):
    """Every login try, for throttling by name, by address and by known device.

    ``throttled`` marks a try refused unchecked because its name, address or device
    was still waiting (it never lengthens the wait); ``device`` is the id of the
    browser's device cookie when it presented one valid for this name (see
    ``worker.staff.login``)."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    throttled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    device: Mapped[str | None] = mapped_column(String(32))


class ConsoleSession(Base):
    """A console login, server-side: the browser's cookie holds only a random token,
    stored here as its SHA-256 so a copy of the database opens no session. A session
    is live while ``ended_at`` is empty, ``expires_at`` is ahead, the account is
    active and its password unchanged (``password_fp``)."""

    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    password_fp: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_reason: Mapped[str] = mapped_column(String(32), default="")


class AuditEntry(Base):
    """Who did what, when, to which application; ``changes`` is JSON (field: [old, new])."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor: Mapped[str] = mapped_column(String(64))        # staff name, or "worker"
    action: Mapped[str] = mapped_column(String(64))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    changes: Mapped[str] = mapped_column(Text, default="{}")
    note: Mapped[str] = mapped_column(Text, default="")


class OutboxMessage(Base):
    """Mail to send (replies, manifests): queued in the transaction that decided it,
    sent later with retries, each exactly once (``key`` is unique)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mails.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    # Rows queued before migration 0011: the whole RFC 5322 message, sent as it is.
    message: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Since 0011 the message is built when sent (worker.replies.draft): its plain-text
    # body, and its other parts (headers' values, attachments' paths) as JSON.
    body: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(255))   # who is sending (worker.owner)


class JobRun(Base):
    """One run of a job (a mail pass, the pickup close-out, a reply send): when it
    started and ended, what it did (``counts``, JSON) and the error that stopped or
    spoiled it (``error_kind`` mailbox, smtp, storage, render or other). ``status``
    and the console's dashboard read these; a run never finished has no ``finished_at``."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(32))          # worker.health.runs.Job
    trigger: Mapped[str] = mapped_column(String(32))      # scheduler, cli
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    counts: Mapped[str] = mapped_column(Text, default="{}")
    error_kind: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
