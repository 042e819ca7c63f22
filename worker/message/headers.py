"""Header values: the header map, addresses and Message-IDs, decoded leniently."""

from __future__ import annotations

import re
from email.message import Message
from email.utils import parseaddr

from worker.message.charset import raw_text
from worker.message.words import decode_words, header_text


def header_map(msg: Message) -> dict[str, str]:
    """First occurrence of each header, lower-case name -> raw value (linear)."""
    result: dict[str, str] = {}
    for name, value in msg.raw_items():
        result.setdefault(str(name).strip().lower(), str(value))
    return result


_ADDRESS_SCAN = 2000  # the fallback regex backtracks; hostile headers are long
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*")


def address(value: str | None) -> tuple[str, str]:
    """``"张三" <A@B.com>`` -> ("张三", "a@b.com"); best effort on broken headers."""
    text = raw_text(value)
    if not text.strip():
        return "", ""
    name, addr = "", ""
    # Without an '@' in the text parseaddr finds no address, and what it returns is not
    # used (below): not run, as it walks a whole encoded word (name and address in one,
    # some clients' way) a character at a time.
    if "@" in text:
        try:
            name, addr = parseaddr(text)
        except Exception:  # stdlib address parser on hostile input
            name, addr = "", ""
    if "@" not in addr:
        match = _address_in(text)
        if match is None:
            decoded = header_text(text)
            # Some clients encode name AND address in one RFC 2047 word.
            match = _address_in(decoded)
            if match is None:
                return decoded.strip('"\' '), ""
            text = decoded
        addr, name = match.group(0), text[: match.start()]
    name = decode_words(name).strip().strip("\"'<> ").strip()
    return name, addr.strip().lower()


def _address_in(text: str) -> re.Match[str] | None:
    """The first address-like text in the header's first ``_ADDRESS_SCAN`` characters.

    Without an '@' there is none: the regex would try every position of an encoded
    word first, each a run of its characters given back one by one."""
    head = text[:_ADDRESS_SCAN]
    return _ADDRESS.search(head) if "@" in head else None


_MESSAGE_ID = re.compile(r"<[^<>]+>")


def message_id_key(value: str | None) -> str:
    """A Message-ID header's raw value as the key the mail is known by: unfolded, raw
    8-bit bytes decoded (``raw_text``: UTF-8, then GB18030), all white space removed;
    "" when absent. The one reading of it: the mailbox's pre-check (``worker.mailbox.
    base.message_id_from_header``) and the stored mail (``parse_message``) must agree,
    or a re-sent mail is only recognised after it has been parsed again.

    Lossless: raw bytes that neither UTF-8 nor GB18030 decodes are kept as ``\\xNN``
    escapes, never as U+FFFD, which would make ``<\\xff\\xfe@qq.com>`` and
    ``<\\x80\\x80@qq.com>`` one key, and the second mail "already processed" unread."""
    return "".join(raw_text(value, lossless=True).split())


def message_ids(value: str | None) -> list[str]:
    return _MESSAGE_ID.findall("".join(raw_text(value).split()))
