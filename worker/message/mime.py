"""The MIME walk: a parsed mail's text bodies and its attachments."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email import errors
from email.message import Message

from worker.filetypes import SPREADSHEET_TYPES, may_carry_form
from worker.message.charset import decode_bytes, raw_text
from worker.message.feed import parse_bytes
from worker.message.headers import header_map
from worker.message.htmltext import html_to_text
from worker.message.links import find_large_attachment_links
from worker.message.model import Attachment, ParsedMail
from worker.message.transfer import decode_payload
from worker.message.words import header_text, parse_params
from worker.text import visible

log = logging.getLogger(__name__)


#: Bounds on the MIME walk: no client nests forwards this deep or writes this many parts;
#: beyond them the rest of the mail is not read and the mail says so (``unreadable``).
MAX_FORWARD_DEPTH = 10
MAX_PARTS = 1000

_LOST_STRUCTURE = (errors.StartBoundaryNotFoundDefect, errors.NoBoundaryInMultipartDefect,
                   errors.MultipartInvariantViolationDefect)


@dataclass
class _Walk:
    unreadable: str | None = None


def walk(msg: Message, state: _Walk | None = None) -> Iterator[tuple[Message, int]]:
    """Every part with its forward depth (inside how many message/rfc822), iteratively,
    within MAX_PARTS and MAX_FORWARD_DEPTH (``state.unreadable`` says when cut short)."""
    state = state if state is not None else _Walk()
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            state.unreadable = f"邮件包含的部分过多（超过 {MAX_PARTS} 个），未能全部读取"
            return
        if any(isinstance(d, _LOST_STRUCTURE) for d in getattr(part, "defects", ())):
            state.unreadable = "邮件的 MIME 结构已损坏（找不到各部分之间的分隔线），附件无法读取"
        yield part, depth
        children = _payload(part)
        if isinstance(children, list):
            headers = header_map(part)
            ctype = parse_params(headers.get("content-type"))[0]
            inner = depth
            if ctype.startswith("message/"):
                inner = depth + 1
                if inner > MAX_FORWARD_DEPTH:
                    state.unreadable = f"邮件转发嵌套过多（超过 {MAX_FORWARD_DEPTH} 层），未能全部读取"
                    continue
                children = _reparse_encoded(children, headers)
            stack.extend((c, inner) for c in reversed(children) if isinstance(c, Message))


def _payload(part: Message) -> object:
    """A multipart's list of parts, else the leaf's payload as the parser left it: all
    the walk asks is which of the two it is. Not ``part.get_payload()``: for a leaf it
    encodes the whole payload to look for surrogates (twice a part), and an 8-bit one
    it decodes with the part's charset label, which raises for a label with a NUL in it
    (a whole mail lost to INTERNAL_ERROR for a text nobody reads there; the body's
    bytes are decoded by ``decode_payload`` and ``decode_bytes``)."""
    return part._payload


def _reparse_encoded(children: list[Message], headers: dict[str, str]) -> list[Message]:
    """A forwarded mail sent base64/QP-encoded (against the RFC, but Outlook and some
    webmail do): the parser saw no headers in it, so decode and parse it again."""
    cte = raw_text(headers.get("content-transfer-encoding")).strip().lower()
    if cte not in ("base64", "quoted-printable") or len(children) != 1 or len(children[0]):
        return children
    try:
        data = decode_payload(children[0], cte)
        return [parse_bytes(data)]
    except RecursionError:
        return children


_PATH_SEPARATOR = re.compile(r"[\\/]")


def _basename(name: str | None) -> str | None:
    if name is None:
        return None
    # visible: a bidi override shows 申请表\u202eslx.exe as 申请表exe.xls (console, download)
    name = visible(_PATH_SEPARATOR.split(name)[-1]).strip().strip("\"'").strip()
    return name or None


def _disposition(value: str | None) -> tuple[str, dict[str, str]]:
    """Content-Disposition's value and parameters (``parse_params``); a header some
    mailers write whole as one RFC 2047 word (``=?utf-8?b?YXR0YWNobWVudDsg...?=``) is
    decoded first, or the attachment it names would be dropped as neither file nor body."""
    disposition, params = parse_params(value)
    if disposition.startswith("=?"):
        disposition, params = parse_params(header_text(value))
    return disposition, params


@dataclass
class _Bodies:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)


_BODY_TYPES = ("text/plain", "text/html")


def _collect(msg: Message, state: _Walk) -> tuple[_Bodies, _Bodies, list[Attachment]]:
    own, forwarded = _Bodies(), _Bodies()
    attachments: list[Attachment] = []
    broken = 0
    for part, depth in walk(msg, state):
        if isinstance(_payload(part), list):
            continue
        try:
            headers = header_map(part)
            ctype, ctparams = parse_params(headers.get("content-type"))
            if "/" not in ctype:
                ctype = "text/plain"
            disposition, dparams = _disposition(headers.get("content-disposition"))
            filename = _basename(dparams.get("filename") or ctparams.get("name"))
            cte = raw_text(headers.get("content-transfer-encoding")).strip().lower()
            data = decode_payload(part, cte)
            # A file with no name at all (application/octet-stream from a script or an
            # OA system) is still a file when its type or first bytes say it may be a
            # form: dropped, the unit was told its mail had no form.
            if (filename or disposition == "attachment" or ctype in SPREADSHEET_TYPES
                    or (ctype not in _BODY_TYPES and may_carry_form(None, ctype, data))):
                inline = disposition != "attachment" and "content-id" in headers
                attachments.append(Attachment(filename, ctype, data, inline, depth))
            elif ctype in _BODY_TYPES:
                text = decode_bytes(data, ctparams.get("charset"))
                text = text.replace("\r\n", "\n").replace("\r", "\n")
                bodies = own if depth == 0 else forwarded
                (bodies.plain if ctype == "text/plain" else bodies.html).append(text)
        except Exception:  # one broken part must not lose the mail
            log.warning("skipping an unreadable MIME part", exc_info=True)
            broken += 1
    if broken and state.unreadable is None:
        state.unreadable = f"邮件中有 {broken} 个部分无法读取"
    return own, forwarded, attachments


def _body_text(bodies: _Bodies) -> str:
    plain = "\n".join(bodies.plain).strip()
    if plain or not bodies.html:
        return plain
    return "\n".join(html_to_text(h) for h in bodies.html)


def fill_body(mail: ParsedMail, msg: Message, patterns: Sequence[str]) -> None:
    """Set ``mail``'s text, html, attachments and large-attachment links from ``msg``."""
    state = _Walk()
    own, forwarded, attachments = _collect(msg, state)
    mail.unreadable = state.unreadable
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
