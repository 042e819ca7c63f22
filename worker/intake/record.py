"""Storing a chunk's outcomes: each mail's row, its applications, checks and issuing.
The chunk's mails are decided in turn and stored together (``record_chunk``); should
the database refuse any of it, each mail again in its own savepoint (``record``), so
only the refused one is held. Only after the chunk's transaction commits may its
mails be moved."""

from __future__ import annotations

import dataclasses
import json
import logging
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from worker.config import Config
from worker.db.models import Mail
from worker.db.refusals import refused_data
from worker.db.types import utcnow
from worker.decision import date_skew, draft_from, judge
from worker.errors import InfrastructureError, StorageError
from worker.fields import LINE_TEXT_LENGTHS, clip
from worker.intake.analyse import AppDraft, safe_suffix
from worker.intake.chunk import Chunk, orders_of
from worker.intake.write import (
    Stored,
    StoredApplication,
    insert_applications,
    insert_attachments,
    insert_lines,
    insert_mails,
    insert_rest,
    stored_invoices,
    stored_lines,
)
from worker.issuing import plan_new
from worker.mailbox import MailRef
from worker.message import ParsedMail
from worker.message.model import Attachment, Digests, key_of_its_own, message_keys, same_mail
from worker.replies import queue_mail_reply
from worker.replies.queue import insert_outbox
from worker.status import ApplicationStatus, MailStatus
from worker.validation import Code, Draft, Line, Reason
from worker.validation.model import draft_values

log = logging.getLogger(__name__)

UNSTORABLE = "邮件中有无法保存的内容（如异常字符或编码），未能处理；请检查后重新发送"
"""FORM_UNREADABLE's detail for a mail the database refused (see ``record``)."""

@dataclass(frozen=True)
class AppOutcome:
    """What the mail's log line says about one application (``worker.logs.mail_line``)."""

    id: int
    unit: str
    status: str
    reasons: tuple[str, ...]   # CODE or CODE@line


@dataclass(frozen=True)
class Outcome:
    mail_id: int
    status: MailStatus
    duplicate: bool = False
    sender: str = ""
    applications: tuple[AppOutcome, ...] = ()


def attachment_name(att: Attachment) -> str:
    """The content-addressed name an attachment is stored under
    (``StoredAttachment.name``): ``attachments/<2 hex digits>/<SHA-256><suffix>``, the
    suffix a safe one (``safe_suffix``); nothing of it comes from the mail but that."""
    digest = att.sha256.hex()
    return f"attachments/{digest[:2]}/{digest}{safe_suffix(att.filename)}"


def mail_status(apps: Iterable[Any], failed: bool) -> MailStatus:
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


def _stored_copy(session: Session, mail: ParsedMail) -> Mail | None:
    """The stored mail this one is a copy of (``same_mail``), if any. A different mail
    stored under its key (another worker's, a reusing mailer's, the same form sent
    again) moves this one on to its next key (``message_keys``)."""
    for key in message_keys(mail.message_id, mail.digests):
        mail.message_id = key
        existing = find_mail(session, key)
        if existing is None or same_mail(
                Digests(existing.content_digest, existing.envelope_digest, existing.date),
                mail.digests):
            return existing
    mail.message_id = key_of_its_own(key)
    return None


def a_bug(exc: Exception) -> bool:
    """An error in our own code or a library's (a ValueError on odd input), not a
    refusal by the database nor an outside system failing (those stop the pass)."""
    return not isinstance(exc, InfrastructureError | SQLAlchemyError | OSError)


def record(session: Session, config: Config, mailbox: str, ref: MailRef,
           mail: ParsedMail, drafts: list[AppDraft], *, error: str | None = None,
           chunk: Chunk) -> Outcome:
    """Store and decide one mail in its own savepoint of the caller's transaction (an
    intake chunk, ``worker.intake.run_pass``; ``chunk`` its counters and lookups).

    Text is made storable by the column types (``worker.db.types.String``). Should the
    database still refuse this mail's data (``worker.db.refusals.refused_data``: a
    data exception, an integrity error that is no known race), only this mail's
    savepoint rolls back and the mail is stored held instead, with one FORM_UNREADABLE
    application (detail ``UNSTORABLE``) and the database's message in ``mails.error``:
    first with its envelope, then, if that is refused too, with only its Message-ID.
    The chunk goes on. Raises ``StorageError`` only when even that is refused.

    A bug met while deciding (``a_bug``: no database or infrastructure error) is
    contained like one met while reading (``worker.intake._understand``): the mail is
    stored failed, held with INTERNAL_ERROR and the traceback in ``mails.error``, and
    the pass goes on. Anything else (a lost connection, a full disk, an exhausted number
    range) propagates, and the caller's transaction with it."""
    try:
        return _store(session, config, mailbox, ref, mail, drafts, error, chunk=chunk)
    except Exception as e:
        if not refused_data(e):
            if not a_bug(e) or error is not None:
                raise
            log.exception("mail %s could not be decided", ref.uid)
            return _store(session, config, mailbox, ref, mail, [AppDraft(None, Draft())],
                          traceback.format_exc(), chunk=chunk)
        problem: Exception = e
    log.warning("mail %s: the database refused its data, held: %s", ref.uid, problem)
    app = (AppDraft(None, Draft(), ignored=True) if mail.auto_reason else
           AppDraft(None, Draft(),
                    reasons=[Reason(Code.FORM_UNREADABLE, None, UNSTORABLE)]))
    bare = dataclasses.replace(mail, subject="", sender="", sender_name="", reply_to=None,
                               references=[], text="", html=None, attachments=[])
    for envelope in (mail, bare):
        # The first line only: SQLAlchemy appends the statement and its parameters.
        first = (str(problem).splitlines() or [""])[0]
        note = f"数据无法存储：{type(problem).__name__}: {first}"[:2000]
        try:
            return _store(session, config, mailbox, ref, envelope, [app], None, note=note,
                          chunk=chunk)
        except Exception as e:
            if not refused_data(e):
                raise
            problem = e
    raise StorageError(f"mail {ref.uid}: the database refuses even its Message-ID: {problem}")


def record_chunk(session: Session, config: Config, mailbox: str,
                 read: list[tuple[MailRef, ParsedMail, list[AppDraft], str | None]],
                 chunk: Chunk) -> list[Outcome]:
    """Store a chunk's mails (``read``: ref, parsed mail, drafts, error each) in the
    caller's transaction: all together in one savepoint, a handful of statements for
    all of them; or, when the database refuses any of it (a mail's data, a race with
    another worker) or a mail meets a bug, one at a time with ``record`` (a refused
    mail is held alone, so is the one that met the bug).
    Either way each mail is decided as if the ones before it were stored: the same
    outcomes, numbers and replies. Errors: as ``record``."""
    if len(read) > 1:
        mark = chunk.mark()
        try:
            with session.begin_nested():
                return _record_together(session, config, mailbox, read, chunk)
        except Exception as e:
            chunk.reset(mark)  # the numbers and claims went back with the savepoint
            if not (refused_data(e) or a_bug(e)):
                raise
            first = (str(e).splitlines() or [""])[0]
            log.info("%d mails not stored together (%s: %s): stored one at a time",
                     len(read), type(e).__name__, first[:300])
    return [record(session, config, mailbox, ref, mail, drafts, error=error, chunk=chunk)
            for ref, mail, drafts, error in read]


def _record_together(session: Session, config: Config, mailbox: str,
                     read: list[tuple[MailRef, ParsedMail, list[AppDraft], str | None]],
                     chunk: Chunk) -> list[Outcome]:
    rows = [_outcome_row(session, config, mailbox, ref, mail, drafts, error, chunk, None)
            for ref, mail, drafts, error in read]
    _insert(session, rows, config)
    with chunk.replies.together([row.id for row in rows]) as later:
        for row in rows:
            later(row.id)
            queue_mail_reply(session, row, config)
        insert_outbox(session, chunk.replies.outbox)
    return [_outcome(row) for row in _unlinked(rows)]


def _store(session: Session, config: Config, mailbox: str, ref: MailRef,
           mail: ParsedMail, drafts: list[AppDraft], error: str | None, *,
           note: str | None = None, chunk: Chunk) -> Outcome:
    """One try at storing, in a savepoint; a unique-constraint race (another worker,
    same mail or same order) is retried, when the checks see what the other worker
    committed (PostgreSQL reads committed rows at each statement): twice, as a
    different mail under a reused Message-ID may race again under its own key."""
    for attempt in (1, 2, 3):
        mark = chunk.mark()
        try:
            with session.begin_nested():
                # The first attempt relies on the unique Message-ID (its INSERT is the
                # first statement): a mail stored meanwhile fails it, and the retry finds it.
                existing = _stored_copy(session, mail) if attempt > 1 else None
                if existing is not None:
                    outcome = Outcome(existing.id, MailStatus(existing.status), duplicate=True)
                    session.expunge_all()
                    return outcome
                return _record(session, config, mailbox, ref, mail, drafts, error, chunk, note)
        except Exception as e:
            chunk.reset(mark)  # the numbers and claims went back with the savepoint
            if not isinstance(e, IntegrityError) or attempt == 3:
                raise  # no race: the caller holds the mail (refused_data)
            chunk.refresh(session, orders_of(drafts))
    raise AssertionError("unreachable")


def _record(session: Session, config: Config, mailbox: str, ref: MailRef, mail: ParsedMail,
            drafts: list[AppDraft], error: str | None, chunk: Chunk,
            note: str | None) -> Outcome:
    """Decide the whole outcome in memory (the chunk's lookups and counters), then store
    it: the mail's row first, with its final status and folder."""
    row = _outcome_row(session, config, mailbox, ref, mail, drafts, error, chunk, note)
    _insert(session, [row], config)
    queue_mail_reply(session, row, config)  # the reply commits with the outcome, or neither does
    return _outcome(_unlinked([row])[0])


def _outcome_row(session: Session, config: Config, mailbox: str, ref: MailRef,
                 mail: ParsedMail, drafts: list[AppDraft], error: str | None, chunk: Chunk,
                 note: str | None) -> Stored:
    """The mail's outcome decided in memory (``Stored`` rows, no id yet)."""
    row = Stored(
        id=None, message_id=mail.message_id, mailbox=mailbox, uidvalidity=ref.uidvalidity,
        uid=ref.uid, sender=mail.sender[:320], sender_name=mail.sender_name[:255],
        reply_to=(mail.reply_to or None) and mail.reply_to[:320], subject=mail.subject,
        date=mail.date, received_at=ref.received_at or utcnow(), auto_reason=mail.auto_reason,
        references=" ".join(mail.references), body_text=mail.text or "",
        content_digest=mail.digests.content, envelope_digest=mail.digests.envelope,
        error=note if note is not None else error, applications=[],
    )
    skew = date_skew(row)
    if skew is not None:
        log.warning("mail %s: its Date is %s from its arrival time; judged by the arrival",
                    mail.message_id, skew)
    for position, d in enumerate(drafts):
        row.applications.append(_decide(session, config, row, position, d, error, chunk))
    row.status = mail_status(row.applications, error is not None)
    row.folder = folder_for(row.status, config)  # decided with the outcome; moved_at after
    return row


def _insert(session: Session, rows: list[Stored], config: Config) -> None:
    """``rows`` (decided outcomes) stored, a handful of statements for all of them: the
    mails' rows first (each unique Message-ID claims its mail)."""
    insert_mails(session, rows)
    insert_attachments(session, rows)
    insert_applications(session, rows)
    insert_lines(session, rows)
    insert_rest(session, rows, config)


def _unlinked(rows: list[Stored]) -> list[Stored]:
    """``rows`` without their applications' links back to their mail, once stored: a
    cycle is freed only by the collector's full pass, rarely run, so a pass's outcomes
    would pile up until then (peak memory growing with the mails of a pass)."""
    for row in rows:
        for app in row.applications:
            app.mail = None
    return rows


def _outcome(row: Stored) -> Outcome:
    return Outcome(row.id, MailStatus(row.status), sender=row.sender, applications=tuple(
        AppOutcome(a.id, a.unit, str(a.status),
                   tuple(r.code + (f"@{r.line}" if r.line is not None else "") for r in a.reasons))
        for a in row.applications))


def _decide(session: Session, config: Config, mail: Stored, position: int, d: AppDraft,
            error: str | None, chunk: Chunk) -> Stored:
    """One application judged and, when accepted, issued, in memory: its numbers come
    from the chunk's counters and its orders count as invoiced for the rest of the
    chunk (``Chunk.issued``)."""
    app, lines, clipped, texts = _application(position, d)
    # The draft's own lines when storing cut nothing: what the checks see is then what is stored.
    checked = [Line(**line) for line in lines] if clipped else d.draft.lines
    reasons: list[Reason] = []
    if d.ignored:
        app.status = ApplicationStatus.IGNORED
    elif error is not None:
        app.status = ApplicationStatus.HELD
        reasons = [Reason(Code.INTERNAL_ERROR, None, "系统处理出错，已转人工处理")]
    else:
        draft = draft_from(app, checked, mail.received_at)
        draft.below_blank = d.draft.below_blank  # seen only in the form as read
        draft.hidden_rows = d.draft.hidden_rows
        app.status, reasons = judge(session, draft, config,
                                    pre_reasons=None if d.has_form else d.reasons,
                                    unread=d.unread, lookups=chunk.lookups)
    app.created_at = app.updated_at = utcnow()  # decided as it is stored
    app.reasons = [Stored(code=str(r.code), line=r.line, detail=r.detail) for r in reasons]
    app.mail = mail
    app.stored_lines = stored_lines(lines, texts)  # app.lines: made from these when read
    app.issue = (plan_new(session, app, config, checked, chunk.counters)
                 if app.status == ApplicationStatus.ACCEPTED else None)
    app.invoices = stored_invoices(app.issue) if app.issue is not None else []
    app.shipment = None  # set as the parcel is stored (worker.intake.write.insert_rest)
    chunk.issued(app.invoices)
    return app


def _application(position: int, d: AppDraft,
                 ) -> tuple[StoredApplication, list[dict[str, Any]], bool, list[str]]:
    """The application's columns, its attachment's row (``file``: stored with it,
    ``worker.intake.write.insert_attachments``), its lines' column values (but
    ``dropped``: intake drops none, ``stored_lines`` says so), whether any of those
    differs from the draft's line (a text cut to its column, a number out of range),
    and the lines' texts as cut (``stored_lines`` checks them together)."""
    draft = d.draft
    att = d.attachment
    name = attachment_name(att) if att else None
    app = StoredApplication(
        id=None,
        position=position,
        attachment=att.filename[:500] if att and att.filename else None,
        attachment_path=name,
        file=dict(name=name, size=len(att.data), data=att.data) if att else None,
        **clip(draft_values(draft)),  # the registry's fields, cut to their column lengths
        total_count=_int_or_none(draft.total_count),
        total_amount=_amount_or_none(draft.total_amount),
        header_json=json.dumps(d.header, ensure_ascii=False),
    )
    lines = []
    texts: list[str] = []
    clipped = False
    for line in draft.lines:
        seq, year = _int_or_none(line.seq), _int_or_none(line.year)
        amount = _amount_or_none(line.amount)
        values = {"position": line.position, "row": line.row, "seq": seq, "year": year,
                  "amount": amount}
        for key, length in _LINE_TEXTS:
            text = getattr(line, key)
            if len(text) > length:
                text, clipped = text[:length], True
            values[key] = text
            texts.append(text)
        clipped = (clipped or seq is not line.seq or year is not line.year
                   or amount is not line.amount)
        lines.append(values)
    return app, lines, clipped, texts


_LINE_TEXTS = tuple(LINE_TEXT_LENGTHS.items())  # a line's text columns, cut to their lengths


def _int_or_none(value: int | None) -> int | None:
    """A count, 序号 or year typed into a form, or None (read as 'unreadable', which the
    checks report) when no real one is that large (|n| >= 10^6): a typed 1e12 never
    reaches an Integer column."""
    return value if value is not None and -1_000_000 < value < 1_000_000 else None


def _amount_or_none(value: Decimal | None) -> Decimal | None:
    """An amount typed into a form, or None (unreadable, reported by the checks) when no
    real one is that large (10^9 yuan or more)."""
    return value if value is not None and abs(value) < _AMOUNT_LIMIT else None


_AMOUNT_LIMIT = Decimal("1000000000")
