"""Parse one raw mail from a Chinese mail client into what the pipeline needs.

163/QQ/Foxmail/Outlook/WPS break the RFCs in well-known ways: GBK text labelled gb2312,
raw 8-bit GBK file names, encoded words inside quoted parameters, base64 words split in
the middle of a character.  The stdlib's modern header objects raise or give mojibake on
exactly these mails, so the lenient compat32 parser splits the MIME tree and headers are
decoded here by hand from the raw bytes it keeps.  Nothing in here raises on a malformed
mail except ``MailUnreadable`` for input that is not a mail at all.

Modules, bottom up: ``charset`` (labels and bytes to text), ``transfer`` (base64 and
quoted-printable), ``words`` (RFC 2047 words, RFC 2231 parameters), ``headers``
(addresses, Message-IDs), ``dates`` (the Date header), ``htmltext`` (HTML bodies),
``links`` (cloud large-attachment links), ``auto`` (machine-made mail), ``mime`` (the
MIME walk: bodies and attachments), ``parse`` (the entry points).
"""

from __future__ import annotations

from worker.message.auto import AUTO_LOCALPARTS, AUTO_SUBJECT
from worker.message.charset import codec_for, decode_bytes
from worker.message.dates import SHANGHAI
from worker.message.htmltext import html_to_text
from worker.message.links import (
    DEFAULT_LARGE_ATTACHMENT_PATTERNS,
    LARGE_ATTACHMENT_MARKERS,
    find_large_attachment_links,
)
from worker.message.model import Attachment, ParsedMail
from worker.message.parse import parse_headers_only, parse_message
from worker.message.words import decode_words, header_text, parse_params

__all__ = [
    "AUTO_LOCALPARTS",
    "AUTO_SUBJECT",
    "DEFAULT_LARGE_ATTACHMENT_PATTERNS",
    "LARGE_ATTACHMENT_MARKERS",
    "SHANGHAI",
    "Attachment",
    "ParsedMail",
    "codec_for",
    "decode_bytes",
    "decode_words",
    "find_large_attachment_links",
    "header_text",
    "html_to_text",
    "parse_headers_only",
    "parse_message",
    "parse_params",
]
