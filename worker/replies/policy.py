"""Who the mailbox answers on its own, and how often (issue 10 item 4, SECURITY.md).

Anyone can write to the institute's mailbox with any From; an automatic answer to
every mail would let a stranger make us send mail to third parties (backscatter). So a
mail is answered automatically only when it looks like a unit's, and never more than
``[reply_limits]`` allows. Staff follow-ups (a staff member decided) only obey the
address rules (``reply_address``), not these.

A mail looks like a unit's when one of these holds (rules chosen for what a stranger
cannot get cheaply, and what a real unit nearly always shows):

1. **it carries a form**: a spreadsheet attachment (readable or not), a form pasted into
   the body and read as one, or an attachment meant as the form that we cannot read
   (a Word file, a PDF, a RAR: held UNSUPPORTED_ATTACHMENT, and the unit must hear how
   to send it instead), or a mail we could not read at all (over the size limit:
   ``mail_unread``), which may well carry one. That is what a unit sends, and what
   the reply is about. A stranger can attach one too (or send 30 MB); the limits
   below then bound what that achieves.
2. **its From address wrote before with a spreadsheet**: a unit that forgets the form
   the second time is still told so. "Wrote before" alone is not enough: a spoofer's
   first mail would make its second one trusted.
3. **its From domain is known from earlier accepted mail** (an application from that
   domain was accepted), unless the domain is a public mail provider
   (``public_mail_domains``): one accepted 163.com unit says nothing about another
   163.com address.

Limits, counted over replies queued (not withheld) in the outbox: at most
``per_address_per_day`` to one address in 24 h, and ``per_hour`` to everyone in 60 min.
Two workers deciding at the same moment may each queue one more (a bound, not a quota).
An intake chunk reads these replies once (``RecentReplies``) and counts its own as it
queues them, so the window in which another worker's replies go unseen is one chunk's
transaction.

A Reply-To in another domain than From is followed only for mail that carries a form
(``reply_address``): otherwise a spoofed mail names any victim in Reply-To.

What is not answered is still recorded: an outbox row with status ``withheld`` and
``last_error`` = ``"<reason>: <Chinese explanation>"``, shown on the application page.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.db.models import Application, Mail, OutboxMessage
from worker.replies.compose import plain_address
from worker.status import ApplicationStatus, OutboxStatus
from worker.validation.reasons import Code, mail_unread

REPLY_KIND = "reply"   # the outbox kind of an automatic reply (queue.REPLY)


class NoReply(StrEnum):
    """Why an automatic reply was withheld (the prefix of the row's ``last_error``)."""

    NO_ADDRESS = "no_address"        # machine or own sender, or no address we can write to
    LOOP = "loop"                    # a form-less answer to one of our replies
    STRANGER = "stranger"            # does not look like a unit's mail (rules above)
    ADDRESS_LIMIT = "address_limit"  # per_address_per_day reached for this address
    HOURLY_LIMIT = "hourly_limit"    # per_hour reached for everyone


EXPLAIN: dict[NoReply, str] = {
    NoReply.NO_ADDRESS: "发件人是系统地址或本邮箱，或地址无法回复",
    NoReply.LOOP: "这是对本邮箱回复的回信且没有申请表，为免邮件循环不自动回复",
    NoReply.STRANGER: "邮件无申请表，且发件人（或其单位域名）此前未发过申请表，可能是冒用地址，未自动回复",
    NoReply.ADDRESS_LIMIT: "该地址 24 小时内自动回复已达上限，限额允许后自动发送",
    NoReply.HOURLY_LIMIT: "本小时自动回复总数已达上限，限额允许后自动发送",
}


def withheld_text(reason: NoReply) -> str:
    """The ``last_error`` of a withheld row: ``"stranger: 邮件无申请表…"``."""
    return f"{reason}: {EXPLAIN[reason]}"


def reason_of(last_error: str | None) -> NoReply | None:
    """The reason back from a withheld row's ``last_error`` (None if not one)."""
    code = (last_error or "").partition(":")[0]
    return NoReply(code) if code in NoReply.__members__.values() else None


def carries_form(apps: Sequence[Application]) -> bool:
    """A spreadsheet was attached (an application was made from one, read or not) or a
    form in the body was read (its header is stored). Only such mail may steer the
    reply to a Reply-To in another domain (``reply_address``)."""
    return any(a.attachment is not None or a.header_json not in ("", "{}") for a in apps)


#: Reasons of a mail whose attachments were meant as forms though none became an
#: application of its own: a Word file, a PDF, a RAR; more forms than one mail may carry.
_MEANT_AS_FORMS = frozenset({Code.UNSUPPORTED_ATTACHMENT, Code.TOO_MANY_FORMS})


def meant_a_form(apps: Sequence[Application]) -> bool:
    """Rule 1: ``carries_form``, or attachments meant as the form were not read
    (``_MEANT_AS_FORMS``): the unit must hear why."""
    return carries_form(apps) or any(r.code in _MEANT_AS_FORMS
                                     for a in apps for r in a.reasons)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def looks_like_unit(session: Session, mail: Mail, apps: Sequence[Application],
                    config: Config) -> bool:
    """Rules 1-3 of the module docstring, from this mail and earlier stored mail."""
    if meant_a_form(apps) or any(mail_unread(a.attachment, mail.body_text, [r.code for r in a.reasons])
                                 for a in apps):
        return True
    sender = plain_address(mail.sender)
    if sender is None:
        return False
    recent: RecentReplies | None = session.info.get(RecentReplies.KEY)
    # Not this mail, nor mails stored after it in this transaction (``together``).
    others = Mail.id.not_in([mail.id, *(recent.later if recent is not None else ())])
    wrote_with_form = session.scalar(
        select(Application.id).join(Mail)
        .where(Mail.sender == sender, others, Application.attachment.is_not(None))
        .limit(1))
    if wrote_with_form is not None:
        return True
    domain = domain_of(sender)
    if domain in config.reply_limits.public_mail_domains:
        return False
    # The domain's characters are [A-Za-z0-9.-] (plain_address): nothing LIKE would expand.
    accepted_in_domain = session.scalar(
        select(Application.id).join(Mail)
        .where(func.lower(Mail.sender).like(f"%@{domain}"), others,
               Application.status == ApplicationStatus.ACCEPTED)
        .limit(1))
    return accepted_in_domain is not None


def over_limit(session: Session, to: str, config: Config, now: datetime) -> NoReply | None:
    """Which limit one more automatic reply to ``to`` would pass, if any."""
    limits = config.reply_limits
    queued = (select(func.count()).select_from(OutboxMessage)
              .where(OutboxMessage.kind == REPLY_KIND, OutboxMessage.status != OutboxStatus.WITHHELD))
    to_address = session.scalar(queued.where(OutboxMessage.recipient == to,
                                             OutboxMessage.created_at > now - timedelta(days=1)))
    if (to_address or 0) >= limits.per_address_per_day:
        return NoReply.ADDRESS_LIMIT
    in_hour = session.scalar(queued.where(OutboxMessage.created_at > now - timedelta(hours=1)))
    if (in_hour or 0) >= limits.per_hour:
        return NoReply.HOURLY_LIMIT
    return None


# Built once (each chunk reads it): Core columns, the time one parameter.
_OUTBOX = OutboxMessage.__table__.c
_RECENT = select(_OUTBOX.recipient, _OUTBOX.created_at).where(
    _OUTBOX.kind == REPLY_KIND, _OUTBOX.status != OutboxStatus.WITHHELD,
    _OUTBOX.created_at > bindparam("since"))


class RecentReplies:
    """The automatic replies queued (not withheld) in the 48 h before ``now`` (a
    margin: each mail's own time picks its 24 h from them), read once for an intake
    chunk's transaction; ``add`` counts each reply the chunk queues
    (``mark``/``reset`` take a rolled-back mail's back). ``over_limit`` then answers
    exactly as the function of that name would inside the same transaction. Found by
    ``queue.queue_mail_reply`` in ``session.info[KEY]`` (``use``)."""

    KEY = "worker.replies.recent"

    def __init__(self, session: Session, now: datetime) -> None:
        self.outbox: list[dict[str, Any]] | None = None  # see ``together``
        self.later: frozenset[int] = frozenset()
        rows = session.connection().execute(_RECENT, {"since": now - timedelta(days=2)}).all()
        self.rows: list[tuple[str, datetime]] = [(r, c) for r, c in rows]  # in order (mark)
        # Indexes of ``rows`` for ``over_limit``: it counts per mail, and scanning every
        # reply of the last two days per mail grew with the day's replies.
        self._by_address: dict[str, list[datetime]] = {}
        for address, at in self.rows:
            self._by_address.setdefault(address, []).append(at)
        self._times = sorted(at for _, at in self.rows)

    def use(self, session: Session) -> None:
        """Count with these for the rest of ``session`` (one intake chunk's)."""
        session.info[self.KEY] = self

    @contextmanager
    def together(self, mail_ids: list[int]) -> Iterator[Callable[[int], None]]:
        """For mails stored together, answered in ``mail_ids``' order (an intake chunk,
        ``worker.intake.record.record_chunk``): the Core outbox rows of their replies
        are collected in ``outbox`` for one INSERT, and ``looks_like_unit`` does not
        see the mails after the one being answered (named with the callable), exactly
        as if each mail had been stored and answered in turn."""
        def answering(mail_id: int) -> None:
            self.later = frozenset(mail_ids[mail_ids.index(mail_id) + 1:])

        self.outbox = []
        try:
            yield answering
        finally:
            self.outbox, self.later = None, frozenset()

    def add(self, to: str, now: datetime) -> None:
        stored = _as_stored(to)
        self.rows.append((stored, now))
        self._by_address.setdefault(stored, []).append(now)
        insort(self._times, now)

    def mark(self) -> int:
        return len(self.rows)

    def reset(self, mark: int) -> None:
        for address, at in reversed(self.rows[mark:]):  # the latest of each address first
            self._by_address[address].pop()
            del self._times[bisect_left(self._times, at)]
        del self.rows[mark:]

    def over_limit(self, to: str, config: Config, now: datetime) -> NoReply | None:
        """The replies to ``to`` queued in the day before ``now``, then all queued in the
        hour before it (``_times`` is sorted: those after ``hour`` are its tail)."""
        limits = config.reply_limits
        stored = _as_stored(to)
        day, hour = now - timedelta(days=1), now - timedelta(hours=1)
        if sum(c > day for c in self._by_address.get(stored, ())) >= limits.per_address_per_day:
            return NoReply.ADDRESS_LIMIT
        if len(self._times) - bisect_right(self._times, hour) >= limits.per_hour:
            return NoReply.HOURLY_LIMIT
        return None


def _as_stored(to: str) -> str:
    """``to`` as the recipient column stores and compares it (``worker.db.types.String``)."""
    return OutboxMessage.__table__.c.recipient.type.process_bind_param(to, None)


@dataclass(frozen=True)
class ReplyNote:
    """One outbox row as staff read it on the application page; ``css``: ok/warn/error."""

    text: str
    css: str


def reply_notes(rows: Sequence[OutboxMessage]) -> list[ReplyNote]:
    """What was (and was not) sent about a mail, in Chinese, oldest first."""
    notes = []
    for row in rows:
        kind = "自动回复" if row.kind == REPLY_KIND else "后续通知"
        if row.status == OutboxStatus.WITHHELD:
            reason = reason_of(row.last_error)
            notes.append(ReplyNote(f"未发送{kind}：{EXPLAIN[reason] if reason else row.last_error}",
                                   "warn"))
        elif row.status == OutboxStatus.SENT:
            notes.append(ReplyNote(f"{kind}已发送至 {row.recipient}", "ok"))
        elif row.status == OutboxStatus.DRAFT:
            notes.append(ReplyNote(f"退件通知草稿，待工作人员确认后发送至 {row.recipient}", "warn"))
        elif row.status == OutboxStatus.FAILED:
            notes.append(ReplyNote(f"{kind}发送失败（{row.recipient}）：{row.last_error or ''}",
                                   "error"))
        else:
            notes.append(ReplyNote(f"{kind}待发送至 {row.recipient}", "muted"))
    return notes
