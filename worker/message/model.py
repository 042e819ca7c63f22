"""What the message stage hands to the pipeline: one parsed mail and its files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Attachment:
    """One file in the mail; ``inline`` marks cid-referenced images (signatures, logos)."""

    filename: str | None
    content_type: str
    data: bytes
    inline: bool = False
    depth: int = 0  # inside how many forwarded mails (message/rfc822)


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
    unreadable: str | None = None
    """Why the mail itself could not be read in full (too deep, too many parts, a broken
    MIME structure), in Chinese for the unit; None when every part was read."""
