"""RFC 2047 encoded words and RFC 2231 parameters, the way Chinese clients write them."""

from __future__ import annotations

import binascii
import re
from urllib.parse import unquote_to_bytes

from worker.message.charset import ESCAPED_BYTE, FOLD, decode_bytes, raw_text, to_bytes
from worker.message.transfer import b64decode

_EW = re.compile(
    r"=\?([A-Za-z0-9._:+\-]+)(?:\*[A-Za-z0-9\-]*)?\?([BbQq])\?([!->@-~]*)\?="
)


def _q_word(payload: str) -> bytes:
    return binascii.a2b_qp(payload.replace("_", " ").encode("ascii", "replace"))


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words, also inside quotes where clients put them.

    Adjacent words in one charset are joined as bytes before decoding: Foxmail and
    others split GBK base64 words in the middle of a character.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    run_charset: str | None = None
    run: list[bytes] = []
    pos = 0

    def flush() -> None:
        nonlocal run_charset
        if run:
            out.append(decode_bytes(b"".join(run), run_charset))
            run.clear()
        run_charset = None

    for match in _EW.finditer(text):
        gap = text[pos:match.start()]
        charset = match.group(1).lower()
        if not (run and gap.strip() == ""):
            flush()
            out.append(gap)
        elif charset != run_charset:
            flush()
        payload = match.group(3)
        data = b64decode(payload.encode("ascii")) if match.group(2) in "Bb" else _q_word(payload)
        run_charset = charset
        run.append(data)
        pos = match.end()
    flush()
    out.append(text[pos:])
    return "".join(out)


def header_text(value: str | None) -> str:
    """A raw header value as readable text: unfolded, 8-bit and RFC 2047 decoded."""
    return decode_words(raw_text(value)).strip()


_PARAM_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[^";]+|;', re.DOTALL)


def _unquote(value: str) -> str:
    value = value.strip()
    if value.startswith('"'):
        value = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
        value = value.replace('\\"', '"').replace("\\\\", "\\")
    return value


def _param_value(value: str) -> str:
    if ESCAPED_BYTE.search(value):
        value = decode_bytes(to_bytes(value))
    return decode_words(value).strip()


def parse_params(value: str | None) -> tuple[str, dict[str, str]]:
    """``type/sub; a=b; filename*0*=...`` -> (lower main value, decoded params).

    Handles quoted values, RFC 2231 charset/continuations and raw 8-bit values; the
    RFC 2231 form of a parameter wins over the plain one.
    """
    text = FOLD.sub("", value or "")
    groups: list[list[str]] = [[]]
    for piece in _PARAM_TOKEN.findall(text):
        if piece == ";":
            groups.append([])
        else:
            groups[-1].append(piece)
    pieces = ["".join(group) for group in groups]
    main = pieces[0].strip().lower()
    plain: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[str, bool]]] = {}
    for param in pieces[1:]:
        name, sep, raw = param.partition("=")
        if not sep:
            continue
        name = name.strip().lower()
        raw = _unquote(raw)
        if "*" not in name:
            plain.setdefault(name, raw)
            continue
        encoded = name.endswith("*")
        base, _, index = name.rstrip("*").partition("*")
        if index and not (index.isascii() and index.isdigit()):  # RFC 2231: DIGIT
            continue
        extended.setdefault(base, {}).setdefault(int(index or 0), (raw, encoded))
    params = {name: _param_value(raw) for name, raw in plain.items()}
    for name, segments in extended.items():
        params[name] = _join_rfc2231(segments)
    return main, params


_CHARSET_PREFIX = re.compile(r"[A-Za-z0-9._:+\-]+'[A-Za-z0-9\-]*'")


def _join_rfc2231(segments: dict[int, tuple[str, bool]]) -> str:
    charset: str | None = None
    chunks: list[bytes] = []
    for position, index in enumerate(sorted(segments)):
        text, encoded = segments[index]
        # The charset belongs on the first segment; some encoders put it on the first
        # encoded one (filename*0="..."; filename*1*=utf-8''...).  "'" is no
        # attribute-char, so in an encoded segment it can only delimit one.
        if encoded and charset is None and text.count("'") >= 2 and (
                position == 0 or _CHARSET_PREFIX.match(text)):
            charset, _, text = text.split("'", 2)
        data = to_bytes(text)
        chunks.append(unquote_to_bytes(data) if encoded else data)
    return decode_words(decode_bytes(b"".join(chunks), charset)).strip()
