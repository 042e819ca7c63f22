"""One pass over the mailbox, a chunk of mails at a time: fetch, parse, decide,
commit, then move.

Failures are contained to one mail (it is held with INTERNAL_ERROR, or, when the
database refuses its data, the chunk is stored again mail by mail and only that mail's
savepoint rolls back: it is held; the pass goes on); an InfrastructureError (database,
mailbox) stops the pass and the mails of the chunk not yet committed stay in the inbox
for the next one.
"""

from __future__ import annotations

import gc
import logging
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.db.models import Mail
from worker.db.types import utcnow
from worker.errors import InfrastructureError, InputError, StorageError
from worker.form.limits import describe_size
from worker.intake import copies
from worker.intake.analyse import AppDraft, analyse
from worker.intake.chunk import Chunk, orders_of
from worker.intake.record import Outcome, folder_for, record_chunk
from worker.logs import log_mail
from worker.mailbox import Mailbox, MailGone, MailRef
from worker.message import ParsedMail, parse_headers_only, parse_message
from worker.message.model import (
    mail_digests,
    same_mail,
    synthetic_message_id,
)
from worker.replies.compose import is_our_reply_id
from worker.validation import Code, Draft, Reason
from worker.validation.reasons import DETAILS

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
    """Read the inbox in chunks of ``[mailbox] chunk_mails`` mails, or fewer once their
    listed sizes reach ``chunk_bytes`` (a chunk's mails are held in memory, parsed, until
    its commit): parse and analyse a chunk, store it in one transaction
    (``handle_chunk``), then move its mails. ``should_stop``
    is asked before each mail: the mails read so far are stored and moved, the rest wait
    for the next pass. ``progress`` wraps the inbox listing (a progress bar for a backlog
    on a terminal)."""
    summary = PassSummary()
    pending = mailbox.pending()
    refs = iter(progress(pending) if progress else pending)
    stopping = False
    with _young_collections_rarer():
        while not stopping:
            chunk: list[MailRef] = []
            size = 0
            for ref in refs:
                chunk.append(ref)
                size += min(ref.size or 0, config.mailbox.max_mail_bytes)  # larger: headers only
                if len(chunk) >= config.mailbox.chunk_mails or size >= config.mailbox.chunk_bytes:
                    break
            if not chunk:
                break
            stopping = handle_chunk(mailbox, chunk, sessions, config, summary, should_stop)
    return summary


#: Container objects allocated (net) between two youngest-generation collections during
#: a pass, instead of CPython's 700. A chunk's mails stay in memory until its commit, and
#: each makes thousands of objects (cells, lines, rows, statements' parameters) that die
#: with it, nearly all without a cycle (``record._unlinked``): collecting every 700
#: allocations walked the chunk's living ones again and again and promoted them, so the
#: older generations filled and were walked too. A 900-mail bench pass (gc.callbacks):
#: 351 + 31 + 2 collections, 122-136 ms, at 700; 24 + 2, 71 ms, at 10,000; 7, 7 ms, at
#: 50,000 (peak RSS 108 MB each). The cyclic garbage waiting meanwhile is a few
#: megabytes at most (about one cyclic object a mail here).
_PASS_GEN0_THRESHOLD = 50_000


@contextmanager
def _young_collections_rarer() -> Iterator[None]:
    """The youngest generation collected every ``_PASS_GEN0_THRESHOLD`` allocations while
    the block runs; the process's thresholds again after it (the collector itself stays
    on: a cycle a mail makes is still freed, a little later). A process that turned
    automatic collection off (a threshold of 0) keeps it off."""
    thresholds = gc.get_threshold()
    if thresholds[0]:
        gc.set_threshold(max(thresholds[0], _PASS_GEN0_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def handle_chunk(mailbox: Mailbox, refs: list[MailRef], sessions: sessionmaker[Session],
                 config: Config, summary: PassSummary,
                 should_stop: Callable[[], bool] = lambda: False) -> bool:
    """Process a chunk of mails end to end; the moves happen only after its commit.
    True when ``should_stop`` said so (the pass ends after this chunk).

    Mails whose outcome is already committed (a crash before their move) are only moved:
    one query for the chunk. The others are read (CPU, no transaction open), then stored
    in one transaction (``record_chunk``: together, else each in its own savepoint, so a
    mail the database refuses is held alone). An InfrastructureError (the database, the mailbox) stops the
    pass: what this chunk had not committed stays in the inbox for the next one."""
    stopped = False
    try:
        known = copies.known(sessions, [ref.message_id for ref in refs])
        read: copies.Read = []
        done: list[tuple[MailRef, Outcome]] = []
        for ref in refs:
            if should_stop():
                log.info("stop requested: leaving the rest of the inbox for the next pass")
                stopped = True
                break
            summary.seen += 1
            stored = known.get((ref.message_id or "").strip())
            try:
                raw = mailbox.fetch(ref, max_bytes=config.mailbox.max_mail_bytes)
            except MailGone:
                log.info("mail %s was taken by another worker", ref.uid)
                continue
            mail, drafts, error = _understand(raw, ref, config)
            del raw
            if stored is not None and same_mail(stored[1], mail.digests):
                done.append((ref, stored[0]))  # a copy of a mail already processed
                continue
            if stored is not None:  # another mail under a Message-ID already used
                again = copies.stored_under_keys(sessions, mail)
                if again is not None:
                    done.append((ref, again))
                    continue
            read.append((ref, mail, drafts, error))
        done += copies.relayed_copies(sessions, read)
        copies.keep_apart(read)
        if read:
            with sessions.begin() as session:
                chunk = Chunk(session, config, orders_of(d for _, _, drafts, _ in read
                                                         for d in drafts))
                outcomes = record_chunk(session, config, mailbox.label, read, chunk)
                done += zip((ref for ref, _, _, _ in read), outcomes, strict=True)
                chunk.write(session)
            read.clear()
    except OperationalError as e:
        raise StorageError(f"database unavailable: {e.orig or e}") from e
    except SQLAlchemyError as e:
        raise StorageError(f"database error: {e}") from e
    _move(mailbox, done, sessions, config, summary)
    return stopped


def _understand(raw: bytes, ref: MailRef, config: Config,
                ) -> tuple[ParsedMail, list[AppDraft], str | None]:
    """Parse and analyse; anything unexpected becomes this mail's error, not the pass's.
    Each mail gets its ``Digests``: a content digest only when it was read as a mail."""
    own = _Own(_own_addresses(config), _own_reply_id(config))
    limit = config.mailbox.max_mail_bytes
    size = max(ref.size or 0, len(raw))
    try:
        if size > limit:
            mail = _headers_or_blank(raw, own)
            mail.digests = mail_digests(mail, read=False)
            return mail, _unreadable(mail, DETAILS["mail_too_large"].format(
                size=describe_size(size, up=True), limit=describe_size(limit))), None
        mail = parse_message(raw, own_addresses=own.addresses, own_message_id=own.message_id)
        mail.digests = mail_digests(mail, read=True)
        if mail.header_count > config.limits.max_headers:
            return mail, _unreadable(mail, f"邮件格式异常：共 {mail.header_count} 个邮件头"
                                           f"（上限 {config.limits.max_headers}）"), None
        return mail, analyse(mail, config), None
    except InputError as e:
        mail = _headers_or_blank(raw, own)
        mail.digests = mail_digests(mail, read=False)  # its content is not known either
        return mail, _unreadable(mail, e.detail), None
    except InfrastructureError:
        raise
    except Exception:  # contain a bug to this one mail
        log.exception("mail %s could not be read", ref.uid)
        mail = _headers_or_blank(raw, own)
        # Without digests the failed row would take every later mail under its ID for a
        # copy (a constant OA Message-ID: all of them); its envelope tells them apart.
        mail.digests = mail_digests(mail, read=False)
        return mail, [AppDraft(None, Draft())], traceback.format_exc()


def _unreadable(mail: ParsedMail, detail: str) -> list[AppDraft]:
    """The one application of a mail that could not be read (ignored if machine-made)."""
    if mail.auto_reason:
        return [AppDraft(None, Draft(), ignored=True)]
    return [AppDraft(None, Draft(), reasons=[Reason(Code.FORM_UNREADABLE, None, detail)],
                     unread=True)]


def _headers_or_blank(raw: bytes, own: _Own) -> ParsedMail:
    """The envelope for the outcome row, even of bytes that are no mail at all."""
    try:
        return parse_headers_only(raw, own_addresses=own.addresses, own_message_id=own.message_id)
    except InputError:
        return ParsedMail(message_id=synthetic_message_id(raw), subject="", sender="",
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


def _move(mailbox: Mailbox, done: list[tuple[MailRef, Outcome]],
          sessions: sessionmaker[Session], config: Config, summary: PassSummary) -> None:
    """Move each committed mail to its folder, then stamp ``moved_at`` on all moved ones
    with one UPDATE (only a first move is stamped). A mail another worker moved first
    is not counted; a mailbox failure stops the pass after stamping what moved."""
    moved: list[int] = []
    try:
        with mailbox.moving():  # a Maildir syncs each folder once for the chunk
            for ref, outcome in done:
                try:
                    mailbox.move(ref, folder_for(outcome.status, config))
                except MailGone:
                    log.info("mail %s was taken by another worker", ref.uid)
                    continue
                moved.append(outcome.mail_id)
                log_mail(log, ref.uid, outcome)
                summary.count(outcome)
    finally:
        if moved:
            try:
                with sessions.begin() as session:
                    session.execute(update(Mail).where(Mail.id.in_(moved), Mail.moved_at.is_(None))
                                    .values(moved_at=utcnow()))
            except OperationalError as e:
                raise StorageError(f"database unavailable: {e.orig or e}") from e
            except SQLAlchemyError as e:
                raise StorageError(f"database error: {e}") from e
