"""Entry points: raw mail bytes to a ParsedMail (envelope, then bodies and files)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser

from worker.errors import MailUnreadable
from worker.filetypes import may_carry_form
from worker.message.auto import auto_reason
from worker.message.charset import raw_text
from worker.message.dates import parse_date
from worker.message.feed import parse_bytes
from worker.message.headers import address, header_map, message_id_key, message_ids
from worker.message.links import DEFAULT_LARGE_ATTACHMENT_PATTERNS
from worker.message.mime import fill_body
from worker.message.model import ParsedMail, blank_message_id, synthetic_message_id
from worker.message.words import header_text

log = logging.getLogger(__name__)


def _envelope(msg: Message, raw: bytes) -> tuple[ParsedMail, dict[str, str]]:
    """The mail's header facts (auto_reason is set once the attachments are known)."""
    headers = header_map(msg)
    if not headers:
        raise MailUnreadable("邮件无法读取：没有邮件头")
    message_id = message_id_key(headers.get("message-id"))
    if blank_message_id(message_id):
        message_id = synthetic_message_id(raw)
    subject = header_text(headers.get("subject"))
    sender_name, sender = address(headers.get("from"))
    reply_to = address(headers.get("reply-to"))[1] or None
    in_reply_to = message_ids(headers.get("in-reply-to"))
    raw_in_reply_to = "".join(raw_text(headers.get("in-reply-to")).split())
    date = parse_date(headers.get("date"))
    return ParsedMail(
        message_id=message_id,
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        date=date,
        sending=sending_mark(headers, date),
        in_reply_to=in_reply_to[0] if in_reply_to else (raw_in_reply_to or None),
        references=message_ids(headers.get("references")),
        text="",
        html=None,
        header_count=len(msg),
    ), headers


def sending_mark(headers: dict[str, str], date: datetime | None) -> str:
    """``ParsedMail.sending``: "resent <instant>" for a redirect (RFC 5322 3.6.6: the
    newest ``Resent-Date`` is the first; Foxmail 重定向, mutt's bounce and Exchange
    redirect rules keep the Message-ID and Date), "date <text>" for a Date that cannot
    be read (a Java date in a Chinese locale, a US-style script; ``date``: the Date as
    read), else ""."""
    resent = headers.get("resent-date")
    if resent is not None:
        when = parse_date(resent)
        return "resent " + (when.astimezone(UTC).isoformat() if when else _as_written(resent))
    written = _as_written(headers.get("date") or "")
    return f"date {written}" if written and date is None else ""


def _as_written(value: str) -> str:
    return " ".join(raw_text(value).split())


def _set_auto_reason(mail: ParsedMail, headers: dict[str, str], own: Sequence[str],
                     own_message_id: Callable[[str], bool] | None, *, seen_body: bool) -> None:
    carries = not seen_body or any(
        a.depth == 0 and may_carry_form(a.filename, a.content_type, a.data)
        for a in mail.attachments)
    mail.auto_reason = auto_reason(headers, mail.subject, mail.sender, own,
                                   message_id=mail.message_id, own_message_id=own_message_id,
                                   may_carry_form=carries)


def _as_bytes(raw: bytes) -> bytes:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    raw = bytes(raw).lstrip(b"\r\n")
    if not raw or raw.isspace():  # not raw.strip(), which copies the whole mail to say so
        raise MailUnreadable("邮件无法读取：内容为空")
    return raw


def parse_message(
    raw: bytes,
    *,
    own_addresses: Sequence[str] = (),
    own_message_id: Callable[[str], bool] | None = None,
    large_attachment_patterns: Sequence[str] = DEFAULT_LARGE_ATTACHMENT_PATTERNS,
) -> ParsedMail:
    """Parse a whole mail; best effort on malformed input (see the package docstring).

    ``own_addresses``/``own_message_id``: our mailbox's addresses and a test for the
    Message-IDs our replies carry, so our own mail coming back is recognised.
    """
    data = _as_bytes(raw)
    try:
        msg = parse_bytes(data)
    except RecursionError:
        log.warning("MIME nesting too deep; reading headers only")
        mail = parse_headers_only(data, own_addresses=own_addresses, own_message_id=own_message_id)
        mail.unreadable = "邮件结构嵌套过深，无法读取邮件内容和附件"
        return mail
    mail, headers = _envelope(msg, raw if isinstance(raw, bytes) else data)
    fill_body(mail, msg, large_attachment_patterns)
    _set_auto_reason(mail, headers, own_addresses, own_message_id, seen_body=True)
    return mail


_HEADER_END = re.compile(rb"\r?\n\r?\n")


def parse_headers_only(raw_head: bytes, *, own_addresses: Sequence[str] = (),
                       own_message_id: Callable[[str], bool] | None = None) -> ParsedMail:
    """Headers of a mail too large to parse fully: no body, no attachments.

    Its attachments are unseen, so subject words alone never make it machine-made."""
    data = _as_bytes(raw_head)
    end = _HEADER_END.search(data)
    head = data[: end.start()] if end else data  # callers may pass the whole huge mail
    msg = BytesHeaderParser(policy=policy.compat32).parsebytes(head)
    mail, headers = _envelope(msg, raw_head if isinstance(raw_head, bytes) else data)
    _set_auto_reason(mail, headers, own_addresses, own_message_id, seen_body=False)
    return mail
