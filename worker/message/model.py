"""What the message stage hands to the pipeline: one parsed mail and its files."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import NamedTuple

SYNTHETIC_ID_DOMAIN = "invoice-worker.local"
"""The domain of the Message-IDs we give mails that carry none (``synthetic_message_id``)."""


def blank_message_id(value: str) -> bool:
    """No ID at all: empty, or nothing but brackets and white space (``<>``, which some
    mailers write). Such a mail is keyed by its content, never by this text: two
    different mails headed ``<>`` would otherwise be one mail, the second dropped."""
    return not value.replace("<", "").replace(">", "").strip()


#: Header fields the mail gains on its way, not from its writer: a copy relayed, fetched
#: or filtered once more differs in these only (RFC 5321 §4.4 trace fields, RFC 8601
#: Authentication-Results, RFC 8617 ARC, and the X- fields of filters and fetchers).
_TRACE_FIELD = re.compile(
    rb"(?:received|return-path|delivered-to|envelope-to|authentication-results|received-spf"
    rb"|arc-[a-z-]*|x-[^:]*):", re.IGNORECASE)


def synthetic_message_id(raw: bytes) -> str:
    """The Message-ID of a mail without one: the SHA-256 of its bytes as the writer wrote
    them (trace fields left out, LF for CRLF, no trailing white space on a line), so a
    copy of it is the same mail however it was relayed. Only a key: no reply threads
    under it (the unit's client never saw it; ``is_synthetic_message_id``)."""
    lines = [line.rstrip() for line in raw.split(b"\n")]
    end = lines.index(b"") if b"" in lines else len(lines)
    fields = re.split(rb"\n(?![ \t])", b"\n".join(lines[:end]))
    digest = hashlib.sha256()
    for part in [*(f for f in fields if not _TRACE_FIELD.match(f)), *lines[end:]]:
        digest.update(part + b"\x00")
    return f"<{digest.hexdigest()}@{SYNTHETIC_ID_DOMAIN}>"


def is_synthetic_message_id(value: str) -> bool:
    return value.lower().endswith(f"@{SYNTHETIC_ID_DOMAIN}>")


#: Between a reused Message-ID and the digest that keys the second mail under it: white
#: space, which no key has (``worker.message.headers.message_id_key`` drops it all).
_REUSED = " #"


def message_keys(message_id: str, digests: Digests) -> list[str]:
    """The keys a mail with this Message-ID may be stored under, in the order they are
    tried, from the one it has now (a stored key: those after it): the ID; the ID and
    its content's digest (``Digests.key``), for a different mail under an ID an earlier
    one has (a broken mailer, an OA system's constant ID); that and its Date (UTC), for
    the same content sent again under such an ID. The first key not taken by another
    mail is the mail's; a copy finds its mail under one of them (``same_mail``), so each
    mail is stored, judged and answered once."""
    header = header_message_id(message_id)
    reused = f"{header}{_REUSED}{digests.key[:16]}"
    keys = [header, reused]
    if digests.date is not None:
        keys.append(f"{reused}{_REUSED}{digests.date.astimezone(UTC):%Y%m%dT%H%M%SZ}")
    return keys[keys.index(message_id):] if message_id in keys else keys


def key_of_its_own(message_id: str) -> str:
    """A key no other mail has, for a mail whose every ``message_keys`` key another mail
    holds (a 64-bit digest prefix shared): stored, judged and answered; a copy of it
    would be taken for a new mail."""
    return f"{header_message_id(message_id)}{_REUSED}{uuid.uuid4().hex[:16]}"


def header_message_id(key: str) -> str:
    """The Message-ID as in the mail's header, of a stored key (``message_keys``):
    what the export shows and a reply threads under."""
    return key.split(_REUSED, 1)[0]


@dataclass
class Attachment:
    """One file in the mail; ``inline`` marks cid-referenced images (signatures, logos)."""

    filename: str | None
    content_type: str
    data: bytes
    inline: bool = False
    depth: int = 0  # inside how many forwarded mails (message/rfc822)

    @cached_property
    def sha256(self) -> bytes:
        """The SHA-256 of ``data`` (32 bytes), computed once: the mail's
        ``content_digest`` and the stored form's name (``attachment_name``) both use it."""
        return hashlib.sha256(self.data).digest()


@dataclass
class ParsedMail:
    """What the pipeline needs from one mail (see the package docstring for the why)."""

    message_id: str
    subject: str
    sender: str
    sender_name: str
    reply_to: str | None
    date: datetime | None
    in_reply_to: str | None
    references: list[str]
    text: str
    html: str | None
    attachments: list[Attachment] = field(default_factory=list)
    large_attachment_links: list[str] = field(default_factory=list)
    auto_reason: str | None = None
    header_count: int = 0
    sending: str = ""
    """What tells this sending from another of the same mail beyond a readable Date: a
    redirect's ``Resent-Date`` (a unit sending its sent mail on again, SPEC §5's resend),
    or the Date as written when it cannot be read; "" for nearly every mail
    (``sending_mark``). Part of both digests, so relays' copies agree and resends do not."""
    unreadable: str | None = None
    """Why the mail itself could not be read in full (too deep, too many parts, a broken
    MIME structure), in Chinese for the unit; None when every part was read."""
    digests: Digests = field(default_factory=lambda: Digests(None, None))
    """This mail's ``Digests``, set by intake as it reads the mail (``mail_digests``)."""


class Digests(NamedTuple):
    """What tells a copy of a mail from another mail under its Message-ID.

    ``content``: ``content_digest`` (hex SHA-256); None when the body was not read (a
    mail over the size limit). ``envelope``: ``envelope_digest``, of every mail. Both
    None: a row stored before digests (migrations 0014, 0015). ``date``: the mail's
    Date (aware; None when it has none or it cannot be read), which relays keep and a
    mail sent again has its own of (``dates_agree``)."""

    content: str | None
    envelope: str | None
    date: datetime | None = None

    @property
    def key(self) -> str:
        """The digest a different mail under a reused ID is keyed by (``message_keys``)."""
        return self.content or self.envelope or ""


def content_digest(mail: ParsedMail) -> str:
    """The SHA-256 (hex) of what a mail says: its sender, text and files (name and
    bytes), and its ``sending`` mark when it has one. The same for every copy of one
    mail, however it travelled (Received lines, CRLF or LF, a transfer encoding an MTA
    changed, a gateway's tag on the subject); another for a different mail that reuses
    its Message-ID (a broken mailer)."""
    digest = hashlib.sha256()
    for text in (mail.sender, mail.text):
        digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    for att in mail.attachments:
        digest.update((att.filename or "").encode("utf-8", "surrogatepass") + b"\x00")
        digest.update(att.sha256)
    if mail.sending:
        digest.update(b"\x01" + mail.sending.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


#: Tags mail gateways put before a subject ([EXTERNAL], 【外部邮件】, ***SPAM***, EXT:):
#: one copy may carry one and another not.
_GATEWAY_TAGS = re.compile(
    r"^(?:\s*(?:\[[^\]]{1,30}\]|【[^】]{1,30}】|\*{3}[^*]{1,20}\*{3}"
    r"|(?:EXT|EXTERNAL|外部邮件)\s*[:：]))+\s*", re.IGNORECASE)


def envelope_digest(mail: ParsedMail) -> str:
    """The SHA-256 (hex) of a mail's sender, subject and Date: all that is known of a
    mail too large to read, and the same for its copies (``envelope_of``)."""
    return envelope_of(mail.sender, mail.subject, mail.date, mail.sending)


def envelope_of(sender: str, subject: str, date: datetime | None, sending: str = "") -> str:
    """``envelope_digest`` from its parts, as stored (migration 0016 recomputes stored
    rows with it). A relay adds lines above them; a gateway may tag the subject
    (``_GATEWAY_TAGS``, left out) or write the Date's instant in another zone (UTC)."""
    when = date.astimezone(UTC).isoformat() if date else ""
    parts = [sender, _GATEWAY_TAGS.sub("", subject).strip(), when]
    if sending:
        parts.append(sending)
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def mail_digests(mail: ParsedMail, *, read: bool) -> Digests:
    """``Digests`` of a mail; ``read``: its body was read (it was within the size limit)."""
    return Digests(content_digest(mail) if read else None, envelope_digest(mail), mail.date)


#: Dates this close are one sending: a mailer retrying, a double click, a script run twice
#: at once. A form sent again on purpose follows a reply (PAYMENT_NOT_FOUND's "pay, then
#: send it again"), which takes at least a pass and a payment import.
ONE_SENDING = timedelta(minutes=10)


def dates_agree(a: datetime | None, b: datetime | None) -> bool:
    """Whether two mails' Dates allow them to be copies of one mail: within
    ``ONE_SENDING`` of each other, or one of them without a Date (a relay - Exchange, a
    Postfix set to - stamps a Date on a copy sent without one). Relays keep a Date; a
    unit or a script that sends a form again writes a new one, so the same content under
    a later Date is another mail, judged and answered."""
    return a is None or b is None or abs(a - b) <= ONE_SENDING


def same_mail(stored: Digests, new: Digests) -> bool:
    """Whether a mail under a Message-ID already stored is a copy of the stored one.

    Not with another Date (``dates_agree``): a resend, by an OA system with one constant
    Message-ID as well. Both read: the same content. The stored one not read (too
    large) and this one read: not a copy - this one can be judged, and is (a copy that
    arrives smaller, a different mail reusing the ID). This one not read: a copy when
    sender, subject and Date agree (a Received line can take a copy over the limit). A
    row stored before digests, or before envelopes when this one is not read, is taken
    for a copy when the Dates agree, as SPEC §5 has it for a repeated Message-ID."""
    if not dates_agree(stored.date, new.date):
        return False
    if stored.content is None and stored.envelope is None:
        return True
    if new.content is not None:
        return stored.content == new.content
    return stored.envelope is None or stored.envelope == new.envelope
