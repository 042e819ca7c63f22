"""Sending what is queued in the outbox: each row claimed by one worker, sent outside
any transaction, then marked sent or scheduled again with exponential backoff.

Claiming: a short transaction marks the row ``sending`` and sets ``next_attempt_at``
to the end of a lease (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two workers never
take the same row; SQLite: ``BEGIN IMMEDIATE`` serialises the claims) and records the
claiming process as ``lease_owner`` (``worker.owner``: host, pid, start time). A worker
that dies mid-send leaves the row ``sending``: a worker on the same machine sees that
the owner process is gone and sends it again at once (issue 10 item 8); otherwise the
row is due again once the lease is over.

At-least-once, not exactly-once: a crash (or a lost connection) between the server's
``250 OK`` and our "sent" commit sends that message a second time when the lease ends.
Nothing can close that gap from the client side; the copy is built from the same
stored parts (``worker.replies.draft``: the same bytes, so the same Message-ID), which
mail clients show as the same message.

Building: a row's message is made here, just before it is sent, from its stored parts
(rows queued before migration 0011: its stored bytes). A row that cannot be built (an
attached file gone from ``output.dir``) fails as its own message's fault below.

Failures: an unreachable or refusing server (connection, TLS, login, sender refused,
4xx) is not the message's fault: the batch stops (every other row would fail the same
way), the row waits with backoff, and it is never given up for that. A refusal of this
message (5xx to its recipient or its content, or a message that cannot be built) lets
the batch go on; a 5xx recipient is final at once, other message errors are given up
after ``replies.max_attempts``.
Given-up rows are ``failed`` with ``last_error`` for the console.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from worker.config import RepliesConfig
from worker.db.models import OutboxMessage
from worker.db.types import utcnow
from worker.errors import SmtpError
from worker.mailer import Mailer
from worker.owner import current_owner, owner_gone
from worker.replies.draft import Unbuildable, stored_message
from worker.status import OUTBOX_QUEUED, OutboxStatus

log = logging.getLogger(__name__)


LEASE = timedelta(minutes=15)   # well above smtplib's timeouts for one message
DEFAULT_RETRIES = RepliesConfig(max_attempts=8, backoff_first_minutes=1, backoff_max_minutes=360)

# How a failure is scoped (the prefix of ``last_error``).
SERVER = "server"        # the server is down or refuses us: stop the batch, keep waiting
MESSAGE = "message"      # this message was refused: go on, give up after max_attempts
FINAL = "final"          # this recipient does not exist (5xx): give up now
ERROR = "error"          # a bug while sending: stop the batch, give up after max_attempts


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0       # attempts that failed in this run
    waiting: int = 0      # still queued afterwards (pending, retry, sending)
    given_up: int = 0     # rows that became "failed" in this run
    stopped: str | None = None  # why the batch stopped early (server down), if it did

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _Job:
    id: int
    key: str
    message: bytes | None   # rows queued before migration 0011
    fields: str | None
    body: str | None
    attempts: int
    owner: str


def backoff(attempts: int, retries: RepliesConfig) -> timedelta:
    """1, 2, 4 … minutes after the 1st, 2nd, 3rd failed attempt, capped."""
    minutes = retries.backoff_first_minutes * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(minutes=min(minutes, retries.backoff_max_minutes))


def classify(error: BaseException) -> str:
    """Whose fault: the server's (stop, wait) or this message's (go on)."""
    if isinstance(error, Unbuildable):
        return MESSAGE
    cause = error.__cause__ if isinstance(error, SmtpError) else error
    if isinstance(cause, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in cause.recipients.values()]
        return FINAL if codes and all(500 <= code < 600 for code in codes) else SERVER
    if isinstance(cause, smtplib.SMTPSenderRefused):
        return SERVER  # our From is refused: every message would be
    if isinstance(cause, smtplib.SMTPDataError):
        return MESSAGE if 500 <= cause.smtp_code < 600 else SERVER
    if isinstance(error, SmtpError):
        return SERVER
    return ERROR


def send_due(sessions: sessionmaker[Session], mailer: Mailer, *, now: datetime | None = None,
             limit: int = 100, retries: RepliesConfig | None = None,
             output_dir: Path | None = None) -> SendReport:
    """Send up to ``limit`` due rows, oldest first; never raises for a sending failure.
    ``output_dir``: where the files a reply attaches are (``output.dir``); a row with
    attachments and none given fails as unbuildable."""
    retries = retries or DEFAULT_RETRIES
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = SendReport()
    woken = False
    owner = current_owner()
    for _ in range(limit):
        job = _claim(sessions, clock(), retries, report, owner)
        if job is None:
            break
        try:
            mailer.send(stored_message(job.message, job.fields, job.body, output_dir))
        except Exception as e:  # SmtpError, or a bug: either way the row must not stay "sending"
            scope = classify(e)
            if scope == ERROR:
                log.exception("outbox %s: sending failed unexpectedly", job.key)
            else:
                log.warning("outbox %s: attempt %d failed (%s): %s", job.key, job.attempts, scope, e)
            report.failed += 1
            report.given_up += _failed(sessions, job, f"{scope}: {e}", scope, clock(), retries)
            if scope in (SERVER, ERROR):
                report.stopped = str(e)
                break
            continue
        _sent(sessions, job, clock())
        report.sent += 1
        if not woken:
            woken = True
            _wake(sessions, clock())
    with sessions() as session:
        report.waiting = session.scalar(select(func.count()).select_from(OutboxMessage)
                                         .where(OutboxMessage.status.in_(OUTBOX_QUEUED))) or 0
    return report


def _claim(sessions: sessionmaker[Session], now: datetime, retries: RepliesConfig,
           report: SendReport, owner: str) -> _Job | None:
    """The oldest due row, marked "sending" by ``owner`` until ``now + LEASE``; None when
    none is due. Due: queued and its time has come, or "sending" for an owner process of
    this machine that is gone."""
    while True:
        with sessions.begin() as session:
            leased = session.scalars(select(OutboxMessage.lease_owner).distinct().where(
                OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.next_attempt_at > now,
                OutboxMessage.lease_owner.is_not(None)))
            dead = [o for o in leased if owner_gone(o)]
            query = (select(OutboxMessage)
                     .where(or_(and_(OutboxMessage.status.in_(OUTBOX_QUEUED),
                                     OutboxMessage.next_attempt_at <= now),
                                and_(OutboxMessage.status == OutboxStatus.SENDING,
                                     OutboxMessage.lease_owner.in_(dead))))
                     .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1))
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = session.scalars(query).first()
            if row is None:
                return None
            if row.status == OutboxStatus.SENDING:
                # Its worker died mid-send (or is very slow): the lease is over.
                if row.attempts >= retries.max_attempts:
                    row.status = OutboxStatus.FAILED
                    row.last_error = f"{ERROR}: sending never finished ({row.attempts} attempts)"
                    report.given_up += 1
                    log.error("outbox %s: given up, sending never finished", row.key)
                    continue
                if row.lease_owner in dead:
                    log.warning("outbox %s: its sender %s stopped mid-send; sending again",
                                row.key, row.lease_owner)
                else:
                    log.warning("outbox %s: lease expired while sending; sending again", row.key)
            row.status = OutboxStatus.SENDING
            row.attempts += 1
            row.next_attempt_at = now + LEASE
            row.lease_owner = owner
            return _Job(row.id, row.key, row.message, row.fields, row.body, row.attempts, owner)


def _sent(sessions: sessionmaker[Session], job: _Job, now: datetime) -> None:
    with sessions.begin() as session:
        row = session.get(OutboxMessage, job.id)
        if row is not None and row.status != OutboxStatus.SENT:
            row.status = OutboxStatus.SENT
            row.sent_at = now
    log.info("outbox %s: sent (attempt %d)", job.key, job.attempts)


def _failed(sessions: sessionmaker[Session], job: _Job, error: str, scope: str, now: datetime,
            retries: RepliesConfig) -> int:
    """Schedule the next attempt or give up; 1 if given up."""
    with sessions.begin() as session:
        row = session.get(OutboxMessage, job.id)
        if row is None or row.status != OutboxStatus.SENDING or row.lease_owner != job.owner:
            return 0  # taken over (lease over, or we were thought gone), or sent meanwhile
        row.last_error = error[:2000]
        give_up = scope == FINAL or (scope in (MESSAGE, ERROR) and row.attempts >= retries.max_attempts)
        if give_up:
            row.status = OutboxStatus.FAILED
            log.error("outbox %s: given up after %d attempts: %s", job.key, row.attempts, error)
            return 1
        row.status = OutboxStatus.RETRY
        row.next_attempt_at = now + backoff(row.attempts, retries)
        return 0


def _wake(sessions: sessionmaker[Session], now: datetime) -> None:
    """The server takes mail again: rows that only waited for it are due now, not hours
    later at the end of a long backoff."""
    with sessions.begin() as session:
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.status == OutboxStatus.RETRY,
                               OutboxMessage.last_error.like(f"{SERVER}:%"),
                               OutboxMessage.next_attempt_at > now)
                        .values(next_attempt_at=now))
