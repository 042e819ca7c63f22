"""Content-Transfer-Encoding: a MIME part's payload back to its bytes, leniently."""

from __future__ import annotations

import binascii
import re
from email.message import Message

from worker.message.charset import to_bytes


def b64decode(payload: bytes) -> bytes:
    """Lenient base64: ignores junk, repairs padding instead of failing."""
    try:
        return binascii.a2b_base64(payload)
    except binascii.Error:
        clean = re.sub(rb"[^A-Za-z0-9+/]", b"", payload)
        clean = clean[: len(clean) - (len(clean) % 4 == 1)]
        try:
            return binascii.a2b_base64(clean + b"=" * (-len(clean) % 4))
        except binascii.Error:
            return b""


def decode_payload(part: Message, cte: str) -> bytes:
    """The bytes of a leaf part given its lower-case Content-Transfer-Encoding."""
    # Not get_payload(): for 8-bit bodies it re-decodes with the label's codec and
    # errors="replace", which destroys GBK text labelled gb2312.
    payload = part._payload
    if not isinstance(payload, str):
        return b""
    data = to_bytes(payload)
    if cte == "base64":
        return b64decode(data)
    if cte == "quoted-printable":
        return binascii.a2b_qp(data)
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else data
    return data
