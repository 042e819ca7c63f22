"""The reply as an RFC 5322 message: headers that thread and cannot be injected into,
and a plain-text Chinese body rendered from ``templates/replies``.

Nothing a unit wrote ever becomes a header on its own: the subject is reduced to one
line of printable text, addresses and Message-IDs must match strict patterns, and the
header objects of ``email.policy.SMTP`` refuse CR/LF as a last line of defence.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from email import policy
from email.encoders import encode_base64
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from worker.config import TEMPLATES_DIR
from worker.message.model import header_message_id, is_synthetic_message_id
from worker.text import INVISIBLE, UNSEEN

# 7-bit headers (RFC 2047 words) and base64 text: survives any relay, no SMTPUTF8 needed.
# refold_source="none": headers set here are header objects that fold themselves; only
# the attachment parts' headers (``attach``) are raw text, and must stay exactly so.
POLICY = policy.SMTP.clone(utf8=False, refold_source="none")

SUBJECT_LIMIT = 150
MAX_REFERENCES = 20
FALLBACK_SUBJECT = "发票申请"

# C0/C1 controls, Unicode line/paragraph separators, bidi overrides, zero-width marks.
_CONTROL_KEEP_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{INVISIBLE}]")
# Reply prefixes (not Fw:), and the auto-reply words a person's answer to an auto-reply carries
# (``回复：自动回复：…``): our reply repeats neither, so it never reads as machine mail.
_REPLY_PREFIX = re.compile(r"^(?:(?:re|aw|sv)(?:\[\d+\])?\s*[:：]|(?:回复|答复|回覆)\s*[:：]|"
                           r"(?:自动回复|自动答复|auto[- ]?reply|automatic reply|"
                           r"out of (?:the )?office)\s*[:：])\s*",
                           re.IGNORECASE)
# Links and mail addresses: a reply repeats none (nothing to click in backscatter).
_ECHO_SCAN = 512  # characters of a free text looked at at all; far more than any echo keeps
_LINK = re.compile(r"\S*(?:[a-z][a-z0-9+.-]*://|www\.|@[\w-]+\.)\S*", re.IGNORECASE)
_ADDR_SPEC = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
_BRACKETED = re.compile(r"^[^<>\r\n]*<([^<>\r\n]+)>$")
_MSG_ID = re.compile(r"^<[\x21-\x3b\x3d\x3f-\x7e]+>$")  # printable ASCII, no <> or spaces inside

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR / "replies"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    # The templates ship with the code: no stat() of each file per reply (intake renders
    # one per mail in its transaction).
    auto_reload=False,
)


def one_line(text: str | None, limit: int | None = None) -> str:
    """Printable single-line text: controls and line breaks become spaces, runs collapse."""
    cleaned = " ".join(UNSEEN.sub(" ", text or "").split())
    return cleaned[:limit] if limit else cleaned


def plain_text(text: str | None) -> str:
    """Multi-line text (a staff message) without control characters, CRLF made LF."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(_CONTROL_KEEP_NEWLINE.sub(" ", line).rstrip() for line in lines.split("\n")).strip()


def echo_text(original: str | None, limit: int = SUBJECT_LIMIT) -> str:
    """What a reply may repeat of a text the sender wrote freely (subject, display
    name): one line, no reply prefixes, no links or addresses, no U+FFFD, at most
    ``limit`` characters (then ``…``); "" if nothing is left.

    Short on purpose (``reply_limits.subject_chars``): these are the texts a stranger
    fully controls, and an answer must not carry them on to someone else."""
    # Cut before the patterns run: a stranger's 200,000-character subject must cost no
    # more than a short one (the link pattern is quadratic on long runs without spaces).
    subject = _LINK.sub(" ", one_line((original or "")[:_ECHO_SCAN]))
    # U+FFFD stands for bytes that did not decode (a subject cut mid-character): nothing
    # the unit wrote, so nothing to repeat back to it.
    subject = " ".join(subject.replace("\ufffd", "").split())
    while True:
        stripped = _REPLY_PREFIX.sub("", subject, count=1)
        if stripped == subject:
            break
        subject = stripped
    return subject if len(subject) <= limit else subject[:limit - 1].rstrip() + "…"


def reply_subject(original: str | None, limit: int = SUBJECT_LIMIT) -> str:
    """``Re: <original>`` once, whatever prefixes the original carried; one line, the
    original cut to ``limit`` characters (``echo_text``)."""
    return "Re: " + (echo_text(original, limit) or FALLBACK_SUBJECT)


def plain_address(value: str | None) -> str | None:
    """A bare ASCII addr-spec (``unit@163.com``, or ``Name <unit@163.com>``) or None.

    Strict on purpose, no lenient parser: ``parseaddr`` turns a value with a line break
    into a plausible but different address, and a reply must go where the unit is."""
    text = (value or "").strip()
    bracketed = _BRACKETED.match(text)
    address = (bracketed.group(1) if bracketed else text).strip().lower()
    if len(address) > 254 or not _ADDR_SPEC.match(address):
        return None
    return address


def message_id_ok(value: str | None) -> bool:
    return bool(value) and len(value or "") <= 500 and bool(_MSG_ID.match(value or ""))


def domain_of(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2].lower() or "localhost"


def make_message_id(kind: str, ident: str, original_message_id: str, sender: str) -> str:
    """Stable per outbox row (it is stored inside the message bytes), so a re-send after
    a crash carries the same ID and the unit's client shows one mail, not two."""
    token = hashlib.sha256(original_message_id.encode("utf-8", "replace")).hexdigest()[:10]
    return f"<{kind}-{ident}.{token}@{domain_of(sender)}>"


def is_our_reply_id(message_id: str, sender: str) -> bool:
    """An ID this module made (a unit replying to one of our replies refers to it)."""
    return _reply_id_pattern(sender).match(message_id) is not None


@lru_cache(maxsize=64)
def _reply_id_pattern(sender: str) -> re.Pattern[str]:
    """Built once a sender: intake asks about every ID each mail refers to."""
    domain = re.escape(domain_of(sender))
    return re.compile(rf"^<(?:reply|followup)-[\w.-]+@{domain}>$", re.IGNORECASE)


def thread_ids(original_message_id: str, references: Iterable[str]) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References): only well-formed IDs, the original last, bounded. An ID
    we made up for a mail without one (``is_synthetic_message_id``) is no thread: the
    unit's client never saw it."""
    refs = [r for r in references if message_id_ok(r)]
    original_message_id = header_message_id(original_message_id)  # a reused ID's key: the ID
    if not message_id_ok(original_message_id) or is_synthetic_message_id(original_message_id):
        return None, refs[-MAX_REFERENCES:]
    refs = [r for r in refs if r != original_message_id]
    return original_message_id, [*refs[-(MAX_REFERENCES - 1):], original_message_id]


def render(template: str, context: Mapping[str, Any]) -> str:
    text = _env.get_template(template).render(**context)
    # Templates are easier to read with blank lines; the mail reads better with at most one.
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def build_message(*, sender: str, sender_name: str, to: str, subject: str, message_id: str,
                  in_reply_to: str | None, references: list[str], date: datetime,
                  body: str, attachments: Sequence[tuple[str, bytes]] = ()) -> EmailMessage:
    """The whole reply; every header value here is either ours or checked above.
    ``attachments``: (file name, bytes) of our own naming (``attach``). The same
    arguments always give the same bytes (``boundary_for``)."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = Address(one_line(sender_name), addr_spec=parseaddr(sender)[1])
    msg["To"] = Address(addr_spec=to)
    msg["Subject"] = one_line(subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if in_reply_to:
        _set_ids(msg, "In-Reply-To", [in_reply_to])
    if references:
        _set_ids(msg, "References", references)
    # RFC 3834: responders must not answer this; Exchange/Outlook read the second one.
    # No Precedence header: it is non-standard for replies, and "bulk"/"junk" lowers
    # the delivery of a mail the unit needs to read at 163/QQ/Gmail.
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(body, charset="utf-8", cte="base64")
    msg["Content-Language"] = "zh-CN"  # after set_content, which drops Content-* headers
    for name, data in attachments:
        attach(msg, name, data)
    if msg.is_multipart():
        msg.set_boundary(boundary_for(message_id))
    return msg


def _set_ids(msg: EmailMessage, name: str, ids: list[str]) -> None:
    """A header of msg-ids (checked by ``message_id_ok``: ASCII, no spaces, at most 500
    characters) written as they are: the policy would fold a long one (an Outlook ID of
    80-odd characters) into RFC 2047 encoded words, which are no msg-id, and the unit's
    client would not thread the reply. Folded only between IDs (RFC 5322 3.6.4), and
    only when the line would pass 78 characters. ValueError for anything that is not a
    checked msg-id (a line break would be a header of the caller's choosing)."""
    if not all(message_id_ok(i) for i in ids):
        raise ValueError(f"{name}: not a message ID: {ids!r}")
    value = " ".join(ids)
    if len(name) + 2 + len(value) > POLICY.max_line_length:
        value = "\n ".join(ids)  # the policy writes each line break as CRLF
    msg.set_raw(name, value)


def boundary_for(message_id: str) -> str:
    """The multipart boundary of a message, derived from its Message-ID in the shape the
    stdlib gives (``=`` * 15, 19 digits, ``==``) instead of drawn at random when written:
    the message is built again at each sending attempt (``worker.replies.draft``), and
    a copy sent again after a crash must be the same bytes. Cannot collide with the
    content: every part here is base64, whose lines never start with ``--``."""
    digits = int(hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()[:16], 16)
    return "=" * 15 + f"{digits % 10 ** 19:019d}" + "=="


_ATTACHMENT_TYPES = {".pdf": ("application", "pdf"), ".ofd": ("application", "ofd"),
                     ".xml": ("application", "xml")}


def attach(msg: EmailMessage, filename: str, data: bytes) -> None:
    """Add a file whose Chinese name every client shows: RFC 2231 ``filename*`` in
    Content-Disposition (the standard; Gmail, Thunderbird, Apple Mail) and, for
    Outlook, Foxmail and the 163/QQ web mailers that read only ``name``, an RFC 2047
    encoded word in Content-Type's ``name`` parameter, as those clients send it
    themselves. The part is built with the compat32 classes: the modern header
    objects would turn that encoded word back into RFC 2231."""
    suffix = filename[filename.rfind("."):].lower() if "." in filename else ""
    maintype, subtype = _ATTACHMENT_TYPES.get(suffix, ("application", "octet-stream"))
    part = MIMEBase(maintype, subtype)
    part.set_payload(data)
    encode_base64(part)
    part.set_param("name", Header(filename, "utf-8").encode(maxlinelen=10_000))
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", filename))
    if msg.get_content_maintype() != "multipart":
        msg.make_mixed()
    msg.attach(part)
