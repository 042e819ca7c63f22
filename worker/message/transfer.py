"""Content-Transfer-Encoding: a MIME part's payload back to its bytes, leniently."""

from __future__ import annotations

import binascii
import re
from email.message import Message

from worker.message.charset import to_bytes

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
#: Every byte that is not base64 alphabet or padding (deleted in one C-level pass).
_B64_JUNK = bytes(b for b in range(256) if b not in _B64_ALPHABET)
_B64_PAD = re.compile(rb"=+")
# A soft line break: "=" at the end of a line, with transport padding (spaces or tabs
# RFC 2045 6.7 says to ignore) and any line end, CR alone included.
_QP_SOFT_BREAK = re.compile(rb"=[ \t]*(?:\r\n|\n|\r)")


def b64decode(payload: bytes) -> bytes:
    """Base64 the way real encoders break it, to the bytes a clean encoder would give.

    Stray characters (whitespace, a '-' from a broken line, 8-bit junk) are dropped;
    missing padding is restored; a lone trailing character (6 bits, no whole byte) is
    dropped.  Encoders that encode chunk by chunk pad each chunk, so ``=`` also ends
    groups inside the stream: each padded run is decoded on its own (RFC 2045 6.8
    allows "=" only at the end; ``binascii`` stops at the first one).  A ``=`` that
    ends no incomplete group is a stray character and is skipped.
    """
    clean = payload.translate(None, _B64_JUNK)
    body = clean.rstrip(b"=")
    if b"=" not in body:
        return _b64_group_run(body)
    out: list[bytes] = []
    pending = b""
    for segment in _B64_PAD.split(body):
        pending += segment
        if len(pending) % 4:  # an incomplete group: the "=" padded it, decode up to here
            out.append(_b64_group_run(pending))
            pending = b""
    out.append(_b64_group_run(pending))
    return b"".join(out)


def _b64_group_run(chars: bytes) -> bytes:
    """Alphabet characters only; padding restored, a lone 6-bit remainder dropped."""
    chars = chars[: len(chars) - (len(chars) % 4 == 1)]
    if not chars:
        return b""
    try:
        return binascii.a2b_base64(chars + b"=" * (-len(chars) % 4))
    except binascii.Error:  # cannot happen on the cleaned alphabet; never lose the mail
        return b""


def qp_decode(data: bytes) -> bytes:
    """Quoted-printable to bytes, also as Chinese clients break it.

    Soft line breaks are removed first, so a break inside a GBK character (between two
    ``=XX`` escapes) or even inside an escape (``=B=\r\n0``) joins up again, and trailing
    spaces after ``=`` or a bare CR no longer end the decoding (``binascii`` alone drops
    everything after ``=\r``).
    """
    return binascii.a2b_qp(_QP_SOFT_BREAK.sub(b"", data))


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
        return qp_decode(data)
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else data
    return data
