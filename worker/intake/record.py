"""Storing one mail's outcome: the mail row, its applications, checks and issuing,
all in one transaction. Only after it commits may the mail be moved."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from worker.atomic import write_atomic
from worker.config import Config
from worker.db.models import Application, ApplicationLine, Mail
from worker.db.types import utcnow
from worker.decision import draft_from, judge, reason_rows
from worker.fields import LINE_TEXT_LENGTHS, clip
from worker.intake.analyse import AppDraft, safe_suffix
from worker.issuing import issue
from worker.mailbox import MailRef
from worker.message import ParsedMail
from worker.replies import queue_mail_reply
from worker.status import ApplicationStatus, MailStatus
from worker.validation import Code, Line, Reason
from worker.validation.model import draft_values


@dataclass(frozen=True)
class Outcome:
    mail_id: int
    status: MailStatus
    duplicate: bool = False


def store_attachment(output_dir: Path, data: bytes, filename: str | None) -> str:
    """Content-addressed copy of an attachment; the path never comes from the mail."""
    digest = hashlib.sha256(data).hexdigest()
    rel = Path("attachments") / digest[:2] / f"{digest}{safe_suffix(filename)}"
    target = output_dir / rel
    if not target.exists():  # same name, same bytes: a racing worker's copy is as good
        write_atomic(target, data)
    return rel.as_posix()


def mail_status(apps: list[Application], failed: bool) -> MailStatus:
    if failed:
        return MailStatus.FAILED
    statuses = {a.status for a in apps}
    if statuses <= {ApplicationStatus.IGNORED}:
        return MailStatus.IGNORED
    if ApplicationStatus.HELD in statuses:
        return MailStatus.HELD
    return MailStatus.ACCEPTED


def folder_for(status: MailStatus | str, config: Config) -> str:
    """Held and failed mail goes where staff look; the rest is filed as processed."""
    if status in (MailStatus.HELD, MailStatus.FAILED):
        return config.mailbox.exceptions_folder
    return config.mailbox.processed_folder


def find_mail(session: Session, message_id: str) -> Mail | None:
    return session.scalars(select(Mail).where(Mail.message_id == message_id)).one_or_none()


def record(sessions: sessionmaker[Session], config: Config, mailbox: str, ref: MailRef,
           mail: ParsedMail, drafts: list[AppDraft], *, error: str | None = None) -> Outcome:
    """Store and decide; a unique-constraint race (another worker, same mail or same
    order) is retried once, when the checks see what the other worker committed."""
    for attempt in (1, 2):
        try:
            with sessions.begin() as session:
                # The first attempt relies on the unique Message-ID (its INSERT is the
                # first statement): a mail stored meanwhile fails it, and the retry finds it.
                existing = find_mail(session, mail.message_id) if attempt == 2 else None
                if existing is not None:
                    return Outcome(existing.id, MailStatus(existing.status), duplicate=True)
                return _record(session, config, mailbox, ref, mail, drafts, error)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _record(session: Session, config: Config, mailbox: str, ref: MailRef, mail: ParsedMail,
            drafts: list[AppDraft], error: str | None) -> Outcome:
    row = Mail(
        message_id=mail.message_id, mailbox=mailbox, uidvalidity=ref.uidvalidity, uid=ref.uid,
        sender=mail.sender[:320], sender_name=mail.sender_name[:255],
        reply_to=(mail.reply_to or None) and mail.reply_to[:320], subject=mail.subject,
        date=mail.date, references=" ".join(mail.references), body_text=mail.text or "",
        status=MailStatus.HELD, error=error, applications=[],  # new: nothing to load
    )
    session.add(row)
    session.flush()  # the unique Message-ID claims the mail before any issuing
    apps: list[Application] = []
    for position, d in enumerate(drafts):
        app, lines = _application(config, position, d)
        checked = [Line(**{k: v for k, v in line.items() if k != "dropped"}) for line in lines]
        if d.ignored:
            app.status = ApplicationStatus.IGNORED
        elif error is not None:
            app.status = ApplicationStatus.HELD
            app.reasons = reason_rows(
                [Reason(Code.INTERNAL_ERROR, None, "系统处理出错，已转人工处理")])
        else:
            # decide(), with the status and reasons known before the first INSERT
            draft = draft_from(app, checked, row.date)
            app.status, reasons = judge(session, draft, config,
                                        pre_reasons=None if d.has_form else d.reasons)
            app.reasons = reason_rows(reasons)
            app.created_at = app.updated_at = utcnow()  # decided as it is stored
        app.mail = row
        session.add(app)
        session.flush()
        _add_lines(session, app, lines)
        if app.status == ApplicationStatus.ACCEPTED:
            issue(session, app, config, lines=checked)
        apps.append(app)
    row.status = mail_status(apps, error is not None)
    row.folder = folder_for(row.status, config)  # decided with the outcome; moved_at after
    session.flush()
    queue_mail_reply(session, row, config)  # the reply commits with the outcome, or neither does
    return Outcome(row.id, MailStatus(row.status))


def _application(config: Config, position: int, d: AppDraft,
                 ) -> tuple[Application, list[dict[str, Any]]]:
    """The application (not yet in the session) and its lines' column values."""
    draft = d.draft
    att = d.attachment
    app = Application(
        position=position,
        attachment=att.filename if att else None,
        attachment_path=store_attachment(config.output_dir, att.data, att.filename) if att else None,
        status=ApplicationStatus.HELD,
        **clip(draft_values(draft)),  # the registry's fields, cut to their column lengths
        total_count=_int_or_none(draft.total_count),
        total_amount=_amount_or_none(draft.total_amount),
        header_json=json.dumps(d.header, ensure_ascii=False),
        # new: nothing to load before the first change of these
        lines=[], reasons=[], invoices=[], shipment=None,
    )
    lines = [
        dict(position=line.position, row=line.row, seq=_int_or_none(line.seq),
             year=_int_or_none(line.year), amount=_amount_or_none(line.amount), dropped=False,
             **{key: getattr(line, key)[:length] for key, length in LINE_TEXT_LENGTHS.items()})
        for line in draft.lines
    ]
    return app, lines


def _add_lines(session: Session, app: Application, lines: list[dict[str, Any]]) -> None:
    """All lines in one INSERT ... RETURNING (the unit of work would send one per row on
    SQLite), then ``app.lines`` set to exactly what was stored."""
    stored: list[ApplicationLine] = []
    if lines:
        stored = list(session.scalars(
            insert(ApplicationLine).returning(ApplicationLine),
            [dict(line, application_id=app.id) for line in lines],
        ))
        stored.sort(key=lambda line: line.position)
        for line in stored:
            set_committed_value(line, "application", app)
    set_committed_value(app, "lines", stored)


def _int_or_none(value: int | None) -> int | None:
    """A count, 序号 or year typed into a form, or None (read as 'unreadable', which the
    checks report) when no real one is that large (|n| >= 10^6): a typed 1e12 never
    reaches an Integer column."""
    return value if value is not None and -1_000_000 < value < 1_000_000 else None


def _amount_or_none(value: Decimal | None) -> Decimal | None:
    """An amount typed into a form, or None (unreadable, reported by the checks) when no
    real one is that large (10^9 yuan or more)."""
    return value if value is not None and abs(value) < Decimal("1000000000") else None
