"""The MIME walk: a parsed mail's text bodies and its attachments."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser

from worker.filetypes import SPREADSHEET_TYPES
from worker.message.charset import decode_bytes, raw_text
from worker.message.headers import header_map
from worker.message.htmltext import html_to_text
from worker.message.links import find_large_attachment_links
from worker.message.model import Attachment, ParsedMail
from worker.message.transfer import decode_payload
from worker.message.words import parse_params

log = logging.getLogger(__name__)


def walk(msg: Message) -> Iterator[tuple[Message, int]]:
    """Every part with its forward depth (inside how many message/rfc822), iteratively."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        yield part, depth
        children = part.get_payload()
        if isinstance(children, list):
            headers = header_map(part)
            ctype = parse_params(headers.get("content-type"))[0]
            inner = depth
            if ctype.startswith("message/"):
                inner = depth + 1
                children = _reparse_encoded(children, headers)
            stack.extend((c, inner) for c in reversed(children) if isinstance(c, Message))


def _reparse_encoded(children: list[Message], headers: dict[str, str]) -> list[Message]:
    """A forwarded mail sent base64/QP-encoded (against the RFC, but Outlook and some
    webmail do): the parser saw no headers in it, so decode and parse it again."""
    cte = raw_text(headers.get("content-transfer-encoding")).strip().lower()
    if cte not in ("base64", "quoted-printable") or len(children) != 1 or len(children[0]):
        return children
    try:
        data = decode_payload(children[0], cte)
        return [BytesParser(policy=policy.compat32).parsebytes(data)]
    except RecursionError:
        return children


def _basename(name: str | None) -> str | None:
    if name is None:
        return None
    name = re.split(r"[\\/]", name)[-1].strip().strip("\"'").strip()
    return name or None


@dataclass
class _Bodies:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)


def _collect(msg: Message) -> tuple[_Bodies, _Bodies, list[Attachment]]:
    own, forwarded = _Bodies(), _Bodies()
    attachments: list[Attachment] = []
    for part, depth in walk(msg):
        if isinstance(part.get_payload(), list):
            continue
        try:
            headers = header_map(part)
            ctype, ctparams = parse_params(headers.get("content-type"))
            if "/" not in ctype:
                ctype = "text/plain"
            disposition, dparams = parse_params(headers.get("content-disposition"))
            filename = _basename(dparams.get("filename") or ctparams.get("name"))
            cte = raw_text(headers.get("content-transfer-encoding")).strip().lower()
            data = decode_payload(part, cte)
            if filename or disposition == "attachment" or ctype in SPREADSHEET_TYPES:
                inline = disposition != "attachment" and "content-id" in headers
                attachments.append(Attachment(filename, ctype, data, inline, depth))
            elif ctype in ("text/plain", "text/html"):
                text = decode_bytes(data, ctparams.get("charset"))
                text = text.replace("\r\n", "\n").replace("\r", "\n")
                bodies = own if depth == 0 else forwarded
                (bodies.plain if ctype == "text/plain" else bodies.html).append(text)
        except Exception:  # one broken part must not lose the mail
            log.warning("skipping an unreadable MIME part", exc_info=True)
    return own, forwarded, attachments


def _body_text(bodies: _Bodies) -> str:
    plain = "\n".join(bodies.plain).strip()
    if plain or not bodies.html:
        return plain
    return "\n".join(html_to_text(h) for h in bodies.html)


def fill_body(mail: ParsedMail, msg: Message, patterns: Sequence[str]) -> None:
    """Set ``mail``'s text, html, attachments and large-attachment links from ``msg``."""
    own, forwarded, attachments = _collect(msg)
    text = _body_text(own)
    forwarded_text = _body_text(forwarded)
    if forwarded_text:
        # Recipient parsing treats text after this marker as quoted, lower priority.
        text = f"{text}\n\n-----原始邮件-----\n{forwarded_text}".lstrip("\n")
    mail.text = text
    mail.html = "\n".join(own.html) if own.html else None
    mail.attachments = attachments
    mail.large_attachment_links = find_large_attachment_links(
        text, [*own.html, *forwarded.html], patterns
    )
