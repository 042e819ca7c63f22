"""Queueing replies in the transaction that decided the outcome, so a reply exists
exactly when its outcome is committed (a rollback takes the reply with it).

Who gets no reply: mail that was ignored (auto-replies, bounces, our own), senders
that are machines or ourselves, addresses we cannot write safely, and a form-less
mail that answers one of our replies (the loop a broken auto-responder would start).
Who else gets no automatic reply, and how often one is sent: ``policy`` (a stranger's
form-less mail, per-address and hourly limits). A mail not answered gets an outbox row
``withheld`` with the reason, so staff see it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker.config import Config
from worker.db.bulk import insert_many
from worker.db.models import Application, Mail, OutboxMessage
from worker.db.types import utcnow
from worker.message import AUTO_LOCALPARTS, AUTO_SUBJECT
from worker.replies.compose import (
    is_our_reply_id,
    make_message_id,
    plain_address,
    plain_text,
    render,
    reply_subject,
    thread_ids,
)
from worker.replies.content import followup_context, mail_context
from worker.replies.draft import Draft
from worker.replies.policy import (
    REPLY_KIND,
    NoReply,
    RecentReplies,
    carries_form,
    domain_of,
    looks_like_unit,
    over_limit,
    withheld_text,
)
from worker.status import ApplicationStatus, InvoiceState, MailStatus, OutboxStatus
from worker.validation import Code

log = logging.getLogger(__name__)

REPLY = REPLY_KIND
FOLLOWUP = "followup"
ISSUED = "issued"  # the follow-up action of queue_issued_reply
_INSERT_OUTBOX = OutboxMessage.__table__.insert()  # built once: compiled once (insert_many)
_MACHINE_LOCALPARTS = AUTO_LOCALPARTS | {"noreply", "no-reply", "no_reply", "donotreply",
                                          "do-not-reply", "do_not_reply"}


def reply_key(mail_id: int) -> str:
    return f"reply:mail:{mail_id}"


def reply_address(mail: Mail, config: Config, *, form: bool | None = None) -> str | None:
    """Reply-To if given, else From; None when no one should or can be answered.

    A Reply-To in another domain than From is followed only when the mail carries a
    form (``form``; None: from ``mail.applications``): else From is answered, so a
    spoofed form-less mail cannot aim our reply at any third address."""
    if mail.status == MailStatus.IGNORED:
        return None
    own = {a for a in (plain_address(config.smtp.sender),
                       plain_address(config.programme.mailbox_address)) if a}
    sender = plain_address(mail.sender)
    target = plain_address(mail.reply_to) or sender
    with_form = carries_form(mail.applications) if form is None else form
    if sender and target and domain_of(target) != domain_of(sender) and not with_form:
        target = sender
    for address in (sender, target):
        if address is None or address in own:
            return None
        if address.partition("@")[0] in _MACHINE_LOCALPARTS:
            return None
    if mail.status == MailStatus.FAILED and AUTO_SUBJECT.search(mail.subject or ""):
        return None  # the parser failed before it could say "auto-reply": be careful
    return target


def _answers_our_reply_without_form(mail: Mail, apps: list[Application], config: Config) -> bool:
    refs = (mail.references or "").split()
    if not any(is_our_reply_id(r, config.smtp.sender) for r in refs):
        return False
    return all(a.attachment is None and Code.NO_FORM in {r.code for r in a.reasons} for a in apps)


def queue_mail_reply(session: Session, mail: Any, config: Config, *,
                     now: datetime | None = None) -> OutboxMessage | None:
    """The one reply to ``mail`` (all its applications), in the caller's transaction;
    at most once per mail (the outbox key is unique). The limits count the replies an
    intake chunk read once for its session (``RecentReplies.KEY`` in ``session.info``,
    a reply queued is added there), else they are counted here.

    ``mail``: a stored ``Mail``, which may have been answered already (that row is
    returned, else the row queued or withheld); or intake's outcome of a mail inserted
    in this very transaction (``worker.intake.write.Stored``, with the ``Mail``'s
    attributes and relationships), which nothing can have answered yet: its row is
    written with one Core INSERT and nothing is returned (intake reads nothing back)."""
    recent: RecentReplies | None = session.info.get(RecentReplies.KEY)
    key = reply_key(mail.id)
    orm = isinstance(mail, Mail)
    if orm:
        existing = session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)
                                   ).one_or_none()
        if existing is not None:
            return existing
    # Platform mode: an accepted application waiting for the platform is told by
    # ``tax import`` once its official numbers exist (queue_issued_reply), not now.
    apps = [a for a in mail.applications
            if a.status != ApplicationStatus.IGNORED and not awaiting_platform(a)]
    if not apps or mail.status == MailStatus.IGNORED:
        log.info("mail %s (%s): no reply", mail.id, mail.status)
        return None
    now = now or utcnow()
    to = reply_address(mail, config, form=carries_form(apps))
    if to is None:
        reason = NoReply.NO_ADDRESS
    elif _answers_our_reply_without_form(mail, apps, config):
        reason = NoReply.LOOP
    elif not looks_like_unit(session, mail, apps, config):
        reason = NoReply.STRANGER
    else:
        reason = (recent.over_limit(to, config, now) if recent is not None
                  else over_limit(session, to, config, now))
    if reason is not None:
        return _withhold(session, mail, key, to, reason, now,
                         application_id=apps[0].id if len(apps) == 1 else None, orm=orm)
    assert to is not None  # NO_ADDRESS otherwise
    body = render("mail.txt.j2", mail_context(mail, apps, config, now))
    row = _enqueue(session, config, mail, key=key, kind=REPLY, ident=str(mail.id), to=to,
                   body=body, now=now, application_id=apps[0].id if len(apps) == 1 else None,
                   extra_refs=[], orm=orm)
    if recent is not None:
        recent.add(to, now)
    return row


#: Withheld only for the rate: sent once the limits allow (``release_withheld``).
_DELAYED = (NoReply.HOURLY_LIMIT, NoReply.ADDRESS_LIMIT)


def release_withheld(session: Session, config: Config, *, now: datetime | None = None,
                     limit: int = 1000) -> int:
    """Queue the mail replies withheld only by the reply limits (``_DELAYED``), oldest
    first, as far as the limits now allow; returns how many were queued. A limit
    paces replies (a deadline week's hundreds of units, a flood of forged senders) and
    never drops one: an accepted unit must still hear its invoice and waybill numbers
    (SPEC: every unit gets a reply). Each is composed anew (``queue_mail_reply``: the
    outcome as it stands) and counts from now, so the limits hold as before."""
    now = now or utcnow()
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == REPLY, OutboxMessage.status == OutboxStatus.WITHHELD,
               OutboxMessage.mail_id.is_not(None),
               or_(*(OutboxMessage.last_error.startswith(f"{r}:") for r in _DELAYED)))
        .order_by(OutboxMessage.created_at, OutboxMessage.id).limit(limit)).all()
    released = 0
    for row in rows:
        mail = session.get(Mail, row.mail_id)
        if mail is None:
            continue
        full = over_limit(session, row.recipient, config, now)
        if full is NoReply.HOURLY_LIMIT:
            break  # the hour is full for everyone
        if full is not None:
            continue  # this address's day is full; another's may not be
        session.delete(row)
        session.flush()
        queued = queue_mail_reply(session, mail, config, now=now)
        released += queued is not None and queued.status != OutboxStatus.WITHHELD
    return released


_INTRO = {
    (ApplicationStatus.ACCEPTED, "rechecked"): "经重新检查，已受理并开具发票：",
    (ApplicationStatus.ACCEPTED, ISSUED): "已受理，发票已由电子发票服务平台开具：",
    (ApplicationStatus.ACCEPTED, ""): "经工作人员审核，已受理并开具发票：",
    (ApplicationStatus.HELD, ""): "经工作人员重新检查，仍需修改：",
    (ApplicationStatus.REJECTED, ""): "经工作人员审核，不予开具发票。",
}


def awaiting_platform(application: Application) -> bool:
    """An accepted application whose live invoices are not all issued yet (platform
    mode: planned or exported); never true in print mode."""
    return application.status == ApplicationStatus.ACCEPTED and any(
        i.state in (InvoiceState.PLANNED, InvoiceState.EXPORTED) for i in application.invoices)


def queue_issued_reply(session: Session, application: Application, config: Config, *,
                       attach: bool, output_dir: Path,
                       now: datetime | None = None) -> OutboxMessage | None:
    """The unit's acceptance reply in platform mode, queued by ``tax import`` in the
    transaction that records the issue: the official numbers, and with ``attach``
    (``delivery = "email"``) each issued invoice's PDF, OFD and XML as stored under
    ``output_dir``: the row names them, the sender reads them (``worker.replies.draft``).
    A follow-up row (``followup:<app>:<n>``), so an application planned again after a
    failure is told again with its new numbers. FileNotFoundError if a file is not
    there now (as when the bytes were read here)."""
    files: list[tuple[str, str]] = []
    if attach:
        for invoice in application.invoices:
            if invoice.state != InvoiceState.ISSUED:
                continue
            for path, suffix in ((invoice.platform_pdf_path, "pdf"), (invoice.ofd_path, "ofd"),
                                 (invoice.xml_path, "xml")):
                if path:
                    if not (output_dir / path).is_file():
                        raise FileNotFoundError(f"{output_dir / path}: the issued invoice's file to attach")
                    files.append((f"数电票_{invoice.number}.{suffix}", path))
    return queue_followup(session, application, config, action=ISSUED, now=now, attachments=files)


def queue_followup(session: Session, application: Application, config: Config, *,
                   action: str, note: str = "",
                   now: datetime | None = None,
                   attachments: list[tuple[str, str]] | None = None) -> OutboxMessage | None:
    """A staff decision told to the unit, in the staff action's transaction. The
    template follows the application's status now (accepted: invoices and parcel;
    held: the new reasons; rejected: ``note``, the staff's message to the unit).
    ``note`` is only sent with a rejection: elsewhere it is staff's own remark.
    ``attachments``: (file name shown, path under ``output.dir``), read when sent.
    None when the mail has no one to answer (ignored mail, machine sender), or when an
    accepted application still waits for the platform (``queue_issued_reply`` tells it)."""
    status = ApplicationStatus(application.status)
    mail = application.mail
    if awaiting_platform(application):
        log.info("application %s: told when the platform has issued (%s)", application.id, action)
        return None
    to = reply_address(mail, config)
    if status == ApplicationStatus.IGNORED or to is None:
        log.info("application %s: no follow-up (%s, mail %s)", application.id, action, mail.status)
        return None
    intro = _INTRO.get((status, str(action)), _INTRO[(status, "")])
    now = now or utcnow()
    context = followup_context(application, config, now, action=str(action),
                               note=plain_text(note) if status == ApplicationStatus.REJECTED else "")
    body = render("followup.txt.j2", {**context, "intro": intro})
    first = session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == reply_key(mail.id),
                                                          OutboxMessage.status != OutboxStatus.WITHHELD))
    # Thread under our first reply too, when there was one.
    extra = ([make_message_id(REPLY, str(mail.id), mail.message_id, config.smtp.sender)]
             if first is not None else [])
    for _ in range(5):
        n = 1 + (session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == FOLLOWUP, OutboxMessage.application_id == application.id)) or 0)
        try:
            with session.begin_nested():
                return _enqueue(session, config, mail, key=f"followup:{application.id}:{n}",
                                kind=FOLLOWUP, ident=f"{application.id}-{n}", to=to, body=body,
                                now=now, application_id=application.id, extra_refs=extra,
                                attachments=attachments)
        except IntegrityError:
            continue  # another follow-up for this application committed meanwhile
    raise RuntimeError(f"cannot number a follow-up for application {application.id}")


def _withhold(session: Session, mail: Any, key: str, to: str | None, reason: NoReply,
              now: datetime, *, application_id: int | None, orm: bool) -> OutboxMessage | None:
    """The reply not sent, as an outbox row staff see: never due, nothing to send."""
    text = withheld_text(reason)
    row = _add(session, orm, dict(
        key=key, kind=REPLY, mail_id=mail.id, application_id=application_id,
        recipient=to or (mail.sender or "")[:320], subject="", message=None,
        status=OutboxStatus.WITHHELD, attempts=0, next_attempt_at=now, created_at=now,
        last_error=text))
    log.info("mail %s: no automatic reply (%s)", mail.id, text)
    return row


def _enqueue(session: Session, config: Config, mail: Any, *, key: str, kind: str, ident: str,
             to: str, body: str, now: datetime, application_id: int | None,
             extra_refs: list[str], attachments: list[tuple[str, str]] | None = None,
             orm: bool = True) -> OutboxMessage | None:
    """The row of a reply to ``mail``: its parts, built into a message when sent
    (``worker.replies.draft``; composing it here cost ~2.3 ms of intake's transaction)."""
    in_reply_to, references = thread_ids(mail.message_id, (mail.references or "").split())
    references = [*references, *(r for r in extra_refs if r and r not in references)]
    draft = Draft(
        sender=config.smtp.sender, sender_name=config.seller.name, to=to,
        subject=reply_subject(mail.subject, config.reply_limits.subject_chars),
        message_id=make_message_id(kind, ident, mail.message_id, config.smtp.sender),
        in_reply_to=in_reply_to, references=references, date=now.astimezone(config.tz),
        body=body, attachments=attachments or [],
    )
    row = _add(session, orm, dict(
        key=key, kind=kind, mail_id=mail.id, application_id=application_id, recipient=to,
        subject=draft.header_subject(), message=None, body=body, fields=draft.fields_json(),
        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, created_at=now))
    log.info("queued %s to %s", key, to)
    return row


def insert_outbox(session: Session, rows: list[dict[str, Any]]) -> None:
    """Outbox rows collected by ``RecentReplies.together``: one statement for each set
    of columns (a withheld row has no body, a queued one no ``last_error``)."""
    shapes: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(frozenset(row), []).append(row)
    for same in shapes.values():
        insert_many(session.connection(), _INSERT_OUTBOX, same)


def _add(session: Session, orm: bool, values: dict[str, Any]) -> OutboxMessage | None:
    """A new outbox row: an object in the session (returned), or for intake's outcome
    one Core INSERT (see ``queue_mail_reply``)."""
    if not orm:
        recent: RecentReplies | None = session.info.get(RecentReplies.KEY)
        if recent is not None and recent.outbox is not None:
            recent.outbox.append(values)  # inserted with its chunk's (``together``)
        else:
            session.connection().execute(_INSERT_OUTBOX, values)
        return None
    row = OutboxMessage(**values)
    session.add(row)
    session.flush()
    return row
