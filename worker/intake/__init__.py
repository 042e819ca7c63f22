"""One pass over the mailbox: fetch, parse, decide, commit, then move.

Failures are contained to one mail (it is held with INTERNAL_ERROR and the pass goes
on); an InfrastructureError (database, mailbox) stops the pass and the mail stays in
the inbox for the next one.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.db.models import Mail
from worker.db.types import utcnow
from worker.errors import InfrastructureError, InputError, StorageError
from worker.intake.analyse import AppDraft, analyse
from worker.intake.record import Outcome, find_mail, folder_for, record
from worker.logs import log_mail
from worker.mailbox import Mailbox, MailGone, MailRef
from worker.message import ParsedMail, parse_headers_only, parse_message
from worker.replies.compose import is_our_reply_id
from worker.status import MailStatus
from worker.validation import Code, Draft, Reason

log = logging.getLogger(__name__)


@dataclass
class PassSummary:
    seen: int = 0
    processed: int = 0
    duplicates: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    mail_ids: list[int] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        self.processed += 1
        self.mail_ids.append(outcome.mail_id)
        if outcome.duplicate:
            self.duplicates += 1
        key = str(outcome.status)
        self.by_status[key] = self.by_status.get(key, 0) + 1


def run_pass(mailbox: Mailbox, sessions: sessionmaker[Session], config: Config,
             should_stop: Callable[[], bool] = lambda: False,
             progress: Callable[[list[MailRef]], Iterable[MailRef]] | None = None) -> PassSummary:
    """``progress`` wraps the inbox listing (a progress bar for a backlog on a terminal)."""
    summary = PassSummary()
    pending = mailbox.pending()
    for ref in progress(pending) if progress else pending:
        if should_stop():
            log.info("stop requested: leaving the rest of the inbox for the next pass")
            break
        summary.seen += 1
        try:
            outcome = handle(mailbox, ref, sessions, config)
        except MailGone:
            log.info("mail %s was taken by another worker", ref.uid)
            continue
        summary.count(outcome)
    return summary


def handle(mailbox: Mailbox, ref: MailRef, sessions: sessionmaker[Session],
           config: Config) -> Outcome:
    """Process one mail end to end; the move happens only after the commit."""
    try:
        known = _known(sessions, ref.message_id)
        if known is not None:
            _move(mailbox, ref, known, sessions, config)
            log_mail(log, ref.uid, known)
            return known
        raw = mailbox.fetch(ref, max_bytes=config.mailbox.max_mail_bytes)
        mail, drafts, error = _understand(raw, ref, config)
        outcome = record(sessions, config, mailbox.label, ref, mail, drafts, error=error)
    except OperationalError as e:
        raise StorageError(f"database unavailable: {e.orig or e}") from e
    except SQLAlchemyError as e:
        raise StorageError(f"database error: {e}") from e
    _move(mailbox, ref, outcome, sessions, config)
    log_mail(log, ref.uid, outcome)
    return outcome


def _known(sessions: sessionmaker[Session], message_id: str | None) -> Outcome | None:
    """A mail whose outcome is already committed (a crash before its move): only move it."""
    if not message_id:
        return None
    with sessions() as session:
        row = find_mail(session, message_id.strip())
        return None if row is None else Outcome(row.id, MailStatus(row.status), duplicate=True)


def _understand(raw: bytes, ref: MailRef, config: Config,
                ) -> tuple[ParsedMail, list[AppDraft], str | None]:
    """Parse and analyse; anything unexpected becomes this mail's error, not the pass's."""
    own = _Own(_own_addresses(config), _own_reply_id(config))
    limit = config.mailbox.max_mail_bytes
    size = max(ref.size or 0, len(raw))
    try:
        if size > limit:
            mail = _headers_or_blank(raw, own)
            return mail, _unreadable(mail, f"邮件过大（约 {size / 2**20:.0f} MB，上限 "
                                           f"{limit / 2**20:.0f} MB），未能读取附件"), None
        mail = parse_message(raw, own_addresses=own.addresses, own_message_id=own.message_id)
        if mail.header_count > config.limits.max_headers:
            return mail, _unreadable(mail, f"邮件格式异常：共 {mail.header_count} 个邮件头"
                                           f"（上限 {config.limits.max_headers}）"), None
        return mail, analyse(mail, config), None
    except InputError as e:
        mail = _headers_or_blank(raw, own)
        return mail, _unreadable(mail, e.detail), None
    except InfrastructureError:
        raise
    except Exception:  # contain a bug to this one mail
        log.exception("mail %s could not be read", ref.uid)
        mail = _headers_or_blank(raw, own)
        return mail, [AppDraft(None, Draft())], traceback.format_exc()


def _unreadable(mail: ParsedMail, detail: str) -> list[AppDraft]:
    """The one application of a mail that could not be read (ignored if machine-made)."""
    if mail.auto_reason:
        return [AppDraft(None, Draft(), ignored=True)]
    return [AppDraft(None, Draft(),
                     reasons=[Reason(Code.FORM_UNREADABLE, None, detail)])]


def _headers_or_blank(raw: bytes, own: _Own) -> ParsedMail:
    """The envelope for the outcome row, even of bytes that are no mail at all."""
    try:
        return parse_headers_only(raw, own_addresses=own.addresses, own_message_id=own.message_id)
    except InputError:
        digest = hashlib.sha256(raw).hexdigest()
        return ParsedMail(message_id=f"<{digest}@invoice-worker.local>", subject="", sender="",
                          sender_name="", reply_to=None, date=None, in_reply_to=None,
                          references=[], text="", html=None)


@dataclass(frozen=True)
class _Own:
    """How our own mail is recognised when it comes back (never answer it)."""

    addresses: tuple[str, ...]
    message_id: Callable[[str], bool]


def _own_addresses(config: Config) -> tuple[str, ...]:
    return tuple({config.smtp.sender.lower(), config.programme.mailbox_address.lower()})


def _own_reply_id(config: Config) -> Callable[[str], bool]:
    """The Message-IDs our replies carry (worker.replies.compose.make_message_id)."""
    senders = {config.smtp.sender, config.programme.mailbox_address}
    return lambda message_id: any(is_our_reply_id(message_id, s) for s in senders)


def _move(mailbox: Mailbox, ref: MailRef, outcome: Outcome, sessions: sessionmaker[Session],
          config: Config) -> None:
    folder = folder_for(outcome.status, config)
    mailbox.move(ref, folder)
    with sessions.begin() as session:  # one UPDATE, no read: only a first move is stamped
        session.execute(update(Mail).where(Mail.id == outcome.mail_id, Mail.moved_at.is_(None))
                        .values(moved_at=utcnow()))
