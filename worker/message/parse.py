"""Entry points: raw mail bytes to a ParsedMail (envelope, then bodies and files)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser

from worker.errors import MailUnreadable
from worker.message.auto import auto_reason
from worker.message.charset import raw_text
from worker.message.dates import parse_date
from worker.message.headers import address, header_map, message_ids
from worker.message.links import DEFAULT_LARGE_ATTACHMENT_PATTERNS
from worker.message.mime import fill_body
from worker.message.model import ParsedMail
from worker.message.words import header_text

log = logging.getLogger(__name__)


def _envelope(msg: Message, raw: bytes, own: Sequence[str]) -> ParsedMail:
    headers = header_map(msg)
    if not headers:
        raise MailUnreadable("邮件无法读取：没有邮件头")
    message_id = "".join(raw_text(headers.get("message-id")).split())
    if not message_id:
        message_id = f"<{hashlib.sha256(raw).hexdigest()}@invoice-worker.local>"
    subject = header_text(headers.get("subject"))
    sender_name, sender = address(headers.get("from"))
    reply_to = address(headers.get("reply-to"))[1] or None
    in_reply_to = message_ids(headers.get("in-reply-to"))
    raw_in_reply_to = "".join(raw_text(headers.get("in-reply-to")).split())
    return ParsedMail(
        message_id=message_id,
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        date=parse_date(headers.get("date")),
        in_reply_to=in_reply_to[0] if in_reply_to else (raw_in_reply_to or None),
        references=message_ids(headers.get("references")),
        text="",
        html=None,
        auto_reason=auto_reason(headers, subject, sender, own),
        header_count=len(msg),
    )


def _as_bytes(raw: bytes) -> bytes:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    raw = bytes(raw).lstrip(b"\r\n")
    if not raw.strip():
        raise MailUnreadable("邮件无法读取：内容为空")
    return raw


def parse_message(
    raw: bytes,
    *,
    own_addresses: Sequence[str] = (),
    large_attachment_patterns: Sequence[str] = DEFAULT_LARGE_ATTACHMENT_PATTERNS,
) -> ParsedMail:
    """Parse a whole mail; best effort on malformed input (see the module docstring)."""
    data = _as_bytes(raw)
    try:
        msg = BytesParser(policy=policy.compat32).parsebytes(data)
    except RecursionError:
        log.warning("MIME nesting too deep; reading headers only")
        return parse_headers_only(data, own_addresses=own_addresses)
    mail = _envelope(msg, raw if isinstance(raw, bytes) else data, own_addresses)
    fill_body(mail, msg, large_attachment_patterns)
    return mail


_HEADER_END = re.compile(rb"\r?\n\r?\n")


def parse_headers_only(raw_head: bytes, *, own_addresses: Sequence[str] = ()) -> ParsedMail:
    """Headers of a mail too large to parse fully: no body, no attachments."""
    data = _as_bytes(raw_head)
    end = _HEADER_END.search(data)
    head = data[: end.start()] if end else data  # callers may pass the whole huge mail
    msg = BytesHeaderParser(policy=policy.compat32).parsebytes(head)
    return _envelope(msg, raw_head if isinstance(raw_head, bytes) else data, own_addresses)
