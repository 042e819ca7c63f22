"""Parse one raw mail from a Chinese mail client into what the pipeline needs.

163/QQ/Foxmail/Outlook/WPS break the RFCs in well-known ways: GBK text labelled gb2312,
raw 8-bit GBK file names, encoded words inside quoted parameters, base64 words split in
the middle of a character.  The stdlib's modern header objects raise or give mojibake on
exactly these mails, so the lenient compat32 parser splits the MIME tree and headers are
decoded here by hand from the raw bytes it keeps.  Nothing in here raises on a malformed
mail except ``MailUnreadable`` for input that is not a mail at all.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import html as htmllib
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parseaddr, parsedate_tz
from urllib.parse import unquote_to_bytes
from zoneinfo import ZoneInfo

from worker.errors import MailUnreadable
from worker.filetypes import SPREADSHEET_TYPES

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")


# Regexes matched (case-insensitively) against every URL in the body.
DEFAULT_LARGE_ATTACHMENT_PATTERNS: tuple[str, ...] = (
    r"/large-attachment-download",
    r"\bdashi\.163\.com",
    r"\bfs\.163\.com",
    r"\bmail\.qq\.com/ftn",
    r"\bftn\.qq\.com",
    r"ftnExs_download",
    r"/cgi-bin/ftnExs",
    r"\bexmail\.qq\.com/cgi-bin/download",
)
LARGE_ATTACHMENT_MARKERS = ("超大附件", "文件中转站")
_MARKER_WINDOW = 500
_MAX_MARKERS = 20
_MAX_LINKS = 50

#: Machine-made mail, shared with the replies stage (never answer such a sender).
AUTO_SUBJECT = re.compile(
    r"自动回复|自动答复|系统退信|退信|"
    r"\bauto[- ]?reply\b|\bautomatic reply\b|\bauto[- ]?response\b|\bout of (the )?office\b|"
    r"\bundeliverable\b|\bundelivered mail\b|\bdelivery status notification\b|"
    r"\bmail delivery (failed|failure|system)\b|\breturned mail\b",
    re.IGNORECASE,
)
AUTO_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mailer_daemon", "mailerdaemon"})
_AUTO_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk", "list"})

_GB_LABELS = frozenset({
    "gb2312", "gbk", "x-gbk", "cp936", "ms936", "windows-936", "gb_2312", "gb_2312-80",
    "csgb2312", "euc-cn", "x-euc-cn", "gb18030", "chinese", "936",
})


@dataclass
class Attachment:
    """One file in the mail; ``inline`` marks cid-referenced images (signatures, logos)."""

    filename: str | None
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class ParsedMail:
    """What the pipeline needs from one mail (see the module docstring for the why)."""

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


# --------------------------------------------------------------------------- charsets


def codec_for(label: str | None) -> str | None:
    """Python codec for a MIME charset label; every GB label widens to gb18030."""
    if not label:
        return None
    name = label.strip().strip("\"'").split("*", 1)[0].lower()
    if name in _GB_LABELS:
        return "gb18030"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    if info.name in ("gbk", "gb2312", "gb18030"):
        return "gb18030"
    return info.name


_LATIN_EXTENDED = re.compile("[\u0080-\u024f]")


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Decode with the label's codec, else UTF-8, else GB18030; never raises.

    UTF-8 is tried before GB18030 because it is strict enough to reject GBK text, while
    GB18030 happily turns UTF-8 into mojibake.
    """
    codec = codec_for(label)
    if codec == "gb18030":
        # GB18030 "decodes" UTF-8 into mojibake, so a UTF-8 body mislabelled gb2312
        # (web forms, scripts) is caught first; Latin letters mean it was GBK after all.
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if not _LATIN_EXTENDED.search(text):
                return text
    for candidate in dict.fromkeys(c for c in (codec, "utf-8", "gb18030") if c):
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    if codec is None or codec == "ascii":
        return data.decode("utf-8" if codec is None else "gb18030", errors="replace")
    return data.decode(codec, errors="replace")


def _to_bytes(text: str) -> bytes:
    """Undo the parser's surrogateescape: the raw bytes behind a header or payload."""
    return text.encode("utf-8", "surrogateescape")


def _raw_text(value: str | None) -> str:
    """A raw header value unfolded, raw 8-bit bytes decoded (UTF-8, then GB18030)."""
    if not value:
        return ""
    text = re.sub(r"\r?\n(?=[ \t])", "", str(value)).replace("\r", "").replace("\n", "")
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = decode_bytes(_to_bytes(text))
    return text


# -------------------------------------------------------------------- encoded words

_EW = re.compile(
    r"=\?([A-Za-z0-9._:+\-]+)(?:\*[A-Za-z0-9\-]*)?\?([BbQq])\?([!->@-~]*)\?="
)


def _b64(payload: bytes) -> bytes:
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
        data = _b64(payload.encode("ascii")) if match.group(2) in "Bb" else _q_word(payload)
        run_charset = charset
        run.append(data)
        pos = match.end()
    flush()
    out.append(text[pos:])
    return "".join(out)


def header_text(value: str | None) -> str:
    """A raw header value as readable text: unfolded, 8-bit and RFC 2047 decoded."""
    return decode_words(_raw_text(value)).strip()


# ----------------------------------------------------------------------- parameters

_PARAM_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[^";]+|;', re.DOTALL)


def _unquote(value: str) -> str:
    value = value.strip()
    if value.startswith('"'):
        value = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
        value = value.replace('\\"', '"').replace("\\\\", "\\")
    return value


def _param_value(value: str) -> str:
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = decode_bytes(_to_bytes(value))
    return decode_words(value).strip()


def parse_params(value: str | None) -> tuple[str, dict[str, str]]:
    """``type/sub; a=b; filename*0*=...`` -> (lower main value, decoded params).

    Handles quoted values, RFC 2231 charset/continuations and raw 8-bit values; the
    RFC 2231 form of a parameter wins over the plain one.
    """
    text = re.sub(r"\r?\n(?=[ \t])", "", value or "")
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
        if index and not index.isdigit():
            continue
        extended.setdefault(base, {}).setdefault(int(index or 0), (raw, encoded))
    params = {name: _param_value(raw) for name, raw in plain.items()}
    for name, segments in extended.items():
        params[name] = _join_rfc2231(segments)
    return main, params


def _join_rfc2231(segments: dict[int, tuple[str, bool]]) -> str:
    charset: str | None = None
    chunks: list[bytes] = []
    for position, index in enumerate(sorted(segments)):
        text, encoded = segments[index]
        if position == 0 and encoded and text.count("'") >= 2:
            charset, _, text = text.split("'", 2)
        data = _to_bytes(text)
        chunks.append(unquote_to_bytes(data) if encoded else data)
    return decode_words(decode_bytes(b"".join(chunks), charset)).strip()


# ----------------------------------------------------------------------------- html

_HTML_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|title)\b[^<>]*>.*?(?:</\1\s*>|\Z)|<[^<>]*>",
    re.DOTALL | re.IGNORECASE,
)
_TAG_NAME = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9]*)")
_BLOCK_TAGS = frozenset({
    "br", "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "pre", "section", "article", "header", "footer", "center", "dd", "dt", "dl",
})
_CELL_TAGS = frozenset({"td", "th"})


def html_to_text(markup: str) -> str:
    """HTML body -> plain text: blocks become lines, blockquote lines get ``> ``.

    Regex tokenising (each ``<`` looked at once) keeps it linear on huge or broken HTML.
    """
    out: list[str] = []
    depth = 0
    line_start = True

    def emit(text: str) -> None:
        nonlocal line_start
        text = re.sub(r"[ \t\r\n\f\xa0]+", " ", htmllib.unescape(text))
        if line_start:
            text = text.lstrip()
            if not text:
                return
            if depth:
                out.append("> ")
        out.append(text)
        line_start = False

    def newline() -> None:
        nonlocal line_start
        out.append("\n")
        line_start = True

    pos = 0
    for match in _HTML_TOKEN.finditer(markup):
        if match.start() > pos:
            emit(markup[pos:match.start()])
        pos = match.end()
        tag = _TAG_NAME.match(match.group(0))
        if tag is None:
            continue
        closing, name = tag.group(1), tag.group(2).lower()
        if name == "blockquote":
            newline()
            depth = max(0, depth + (-1 if closing else 1))
        elif name in _BLOCK_TAGS:
            newline()
        elif name in _CELL_TAGS and closing:
            out.append(" ")
    if pos < len(markup):
        emit(markup[pos:])
    lines = (line.rstrip() for line in "".join(out).split("\n"))
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# ------------------------------------------------------------------ large attachments

_URL = re.compile(r"https?://[!#-&(-;=?-~]+", re.IGNORECASE)


def _urls(text: str) -> Iterator[str]:
    for match in _URL.finditer(text):
        yield htmllib.unescape(match.group(0)).rstrip(".,;:!?)]}")


def find_large_attachment_links(
    text: str,
    html_sources: Sequence[str] = (),
    patterns: Sequence[str] = DEFAULT_LARGE_ATTACHMENT_PATTERNS,
) -> list[str]:
    """Cloud "large attachment" links: URLs matching a pattern (in the text or in HTML
    markup, hrefs included), or any URL in the text shortly after a 超大附件 marker."""
    compiled = [re.compile(p, re.IGNORECASE) for p in patterns]
    found: dict[str, None] = {}
    for source in (text, *html_sources):
        for url in _urls(source):
            if any(p.search(url) for p in compiled):
                found.setdefault(url)
    if text:
        markers = re.finditer("|".join(LARGE_ATTACHMENT_MARKERS), text)
        for count, marker in enumerate(markers):
            if count >= _MAX_MARKERS:
                break
            window = text[marker.start(): marker.start() + _MARKER_WINDOW]
            for url in _urls(window):
                found.setdefault(url)
    return list(found)[:_MAX_LINKS]


# -------------------------------------------------------------------------- headers


def _headers(msg: Message) -> dict[str, str]:
    """First occurrence of each header, lower-case name -> raw value (linear)."""
    result: dict[str, str] = {}
    for name, value in msg.raw_items():
        result.setdefault(str(name).strip().lower(), str(value))
    return result


_ADDRESS_SCAN = 2000  # the fallback regex backtracks; hostile headers are long
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*")


def _address(value: str | None) -> tuple[str, str]:
    """``"张三" <A@B.com>`` -> ("张三", "a@b.com"); best effort on broken headers."""
    text = _raw_text(value)
    if not text.strip():
        return "", ""
    try:
        name, addr = parseaddr(text)
    except Exception:  # stdlib address parser on hostile input
        name, addr = "", ""
    if "@" not in addr:
        match = _ADDRESS.search(text[:_ADDRESS_SCAN])
        if match is None:
            decoded = header_text(text)
            # Some clients encode name AND address in one RFC 2047 word.
            match = _ADDRESS.search(decoded[:_ADDRESS_SCAN])
            if match is None:
                return decoded.strip('"\' '), ""
            text = decoded
        addr, name = match.group(0), text[: match.start()]
    name = decode_words(name).strip().strip("\"'<> ").strip()
    return name, addr.strip().lower()


_ZONE = re.compile(r"\d:\d\d(?::\d\d)?\s*([+-]\d{4}|[A-Za-z]{1,5}\b)?")


def _parse_date(value: str | None) -> datetime | None:
    text = _raw_text(value).strip()
    if not text:
        return None
    try:
        parts = parsedate_tz(text)
    except Exception:  # stdlib date parser raises on some garbage
        parts = None
    if parts is None:
        return _parse_iso(text)
    zone = _ZONE.search(text)
    try:
        naive = datetime(*parts[:6])
        if zone is None or zone.group(1) is None:
            tz: tzinfo = SHANGHAI  # no zone written: Chinese clients mean Beijing time
        elif zone.group(1).upper() == "CST":
            tz = timezone(timedelta(hours=8))  # China Standard Time, not US Central
        else:
            tz = timezone(timedelta(seconds=parts[9] or 0))
    except (ValueError, OverflowError, TypeError):
        return None
    return naive.replace(tzinfo=tz)


def _parse_iso(text: str) -> datetime | None:
    """``2018-11-01 10:00:00`` from broken clients; no zone means Asia/Shanghai."""
    try:
        parsed = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def _message_ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>]+>", "".join(_raw_text(value).split()))


def _auto_reason(
    headers: dict[str, str], subject: str, sender: str, own: Sequence[str]
) -> str | None:
    """Why this mail is machine-generated (never answer it), or None for a human."""
    auto = _raw_text(headers.get("auto-submitted")).split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers and _raw_text(headers[name]).strip().lower() not in ("no", "false"):
            return f"{name} header"
    if "".join(_raw_text(headers.get("return-path")).split()) == "<>":
        return "Return-Path: <> (null sender)"
    precedence = _raw_text(headers.get("precedence")).strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if sender.partition("@")[0] in AUTO_LOCALPARTS:
        return f"sender {sender}"
    if parse_params(headers.get("content-type"))[0] == "multipart/report":
        return "multipart/report (delivery status)"
    if sender and sender in {a.strip().lower() for a in own}:
        return f"from our own address {sender}"
    match = AUTO_SUBJECT.search(subject)
    if match:
        return f"subject: {match.group(0)}"
    return None


def _envelope(msg: Message, raw: bytes, own: Sequence[str]) -> ParsedMail:
    headers = _headers(msg)
    if not headers:
        raise MailUnreadable("邮件无法读取：没有邮件头")
    message_id = "".join(_raw_text(headers.get("message-id")).split())
    if not message_id:
        message_id = f"<{hashlib.sha256(raw).hexdigest()}@invoice-worker.local>"
    subject = header_text(headers.get("subject"))
    sender_name, sender = _address(headers.get("from"))
    reply_to = _address(headers.get("reply-to"))[1] or None
    in_reply_to = _message_ids(headers.get("in-reply-to"))
    raw_in_reply_to = "".join(_raw_text(headers.get("in-reply-to")).split())
    return ParsedMail(
        message_id=message_id,
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        date=_parse_date(headers.get("date")),
        in_reply_to=in_reply_to[0] if in_reply_to else (raw_in_reply_to or None),
        references=_message_ids(headers.get("references")),
        text="",
        html=None,
        auto_reason=_auto_reason(headers, subject, sender, own),
        header_count=len(msg),
    )


# ----------------------------------------------------------------------------- body


def _walk(msg: Message) -> Iterator[tuple[Message, int]]:
    """Every part with its forward depth (inside how many message/rfc822), iteratively."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        yield part, depth
        children = part.get_payload()
        if isinstance(children, list):
            headers = _headers(part)
            ctype = parse_params(headers.get("content-type"))[0]
            inner = depth
            if ctype.startswith("message/"):
                inner = depth + 1
                children = _reparse_encoded(children, headers)
            stack.extend((c, inner) for c in reversed(children) if isinstance(c, Message))


def _reparse_encoded(children: list[Message], headers: dict[str, str]) -> list[Message]:
    """A forwarded mail sent base64/QP-encoded (against the RFC, but Outlook and some
    webmail do): the parser saw no headers in it, so decode and parse it again."""
    cte = _raw_text(headers.get("content-transfer-encoding")).strip().lower()
    if cte not in ("base64", "quoted-printable") or len(children) != 1 or len(children[0]):
        return children
    try:
        data = _payload(children[0], cte)
        return [BytesParser(policy=policy.compat32).parsebytes(data)]
    except RecursionError:
        return children


def _payload(part: Message, cte: str) -> bytes:
    # Not get_payload(): for 8-bit bodies it re-decodes with the label's codec and
    # errors="replace", which destroys GBK text labelled gb2312.
    payload = part._payload
    if not isinstance(payload, str):
        return b""
    data = _to_bytes(payload)
    if cte == "base64":
        return _b64(data)
    if cte == "quoted-printable":
        return binascii.a2b_qp(data)
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else data
    return data


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
    for part, depth in _walk(msg):
        if isinstance(part.get_payload(), list):
            continue
        try:
            headers = _headers(part)
            ctype, ctparams = parse_params(headers.get("content-type"))
            if "/" not in ctype:
                ctype = "text/plain"
            disposition, dparams = parse_params(headers.get("content-disposition"))
            filename = _basename(dparams.get("filename") or ctparams.get("name"))
            cte = _raw_text(headers.get("content-transfer-encoding")).strip().lower()
            data = _payload(part, cte)
            if filename or disposition == "attachment" or ctype in SPREADSHEET_TYPES:
                inline = disposition != "attachment" and "content-id" in headers
                attachments.append(Attachment(filename, ctype, data, inline))
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


def _fill_body(mail: ParsedMail, msg: Message, patterns: Sequence[str]) -> None:
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


# ------------------------------------------------------------------------------ api


def _as_bytes(raw: bytes) -> bytes:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    raw = bytes(raw).lstrip(b"\r\n")
    if not raw.strip():
        raise MailUnreadable("邮件无法读取：内容为空")
    return raw


def parse_message(
    raw: bytes,
    *,
    own_addresses: Sequence[str] = (),
    large_attachment_patterns: Sequence[str] = DEFAULT_LARGE_ATTACHMENT_PATTERNS,
) -> ParsedMail:
    """Parse a whole mail; best effort on malformed input (see the module docstring)."""
    data = _as_bytes(raw)
    try:
        msg = BytesParser(policy=policy.compat32).parsebytes(data)
    except RecursionError:
        log.warning("MIME nesting too deep; reading headers only")
        return parse_headers_only(data, own_addresses=own_addresses)
    mail = _envelope(msg, raw if isinstance(raw, bytes) else data, own_addresses)
    _fill_body(mail, msg, large_attachment_patterns)
    return mail


_HEADER_END = re.compile(rb"\r?\n\r?\n")


def parse_headers_only(raw_head: bytes, *, own_addresses: Sequence[str] = ()) -> ParsedMail:
    """Headers of a mail too large to parse fully: no body, no attachments."""
    data = _as_bytes(raw_head)
    end = _HEADER_END.search(data)
    head = data[: end.start()] if end else data  # callers may pass the whole huge mail
    msg = BytesHeaderParser(policy=policy.compat32).parsebytes(head)
    return _envelope(msg, raw_head if isinstance(raw_head, bytes) else data, own_addresses)
