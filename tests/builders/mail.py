"""Build test mails in code, byte for byte the way Chinese mail clients write them.

No binary fixtures: every quirk a test relies on is visible here.  The stdlib's
generator would "fix" exactly the things we need to test (raw 8-bit GBK file names,
encoded words inside quotes, gb2312 labels on GB18030 bytes), so MIME is assembled by
hand.

Typical use::

    raw = build_mail(subject="发票申请", body="收件人：张三\\n电话：13800000000",
                     attachments=[("申请表.xlsx", xlsx_bytes)])
    raw = build_mail(html="<p>收件人：张三</p>", body=None, charset="gb2312")
    raw = build_mail(attachments=[("表.xls", data, XLS)], filename_style="raw-gbk")
    raw = build_mail(message_id=None, date=None)          # no Message-ID, no Date
    raw = build_auto_reply(); raw = build_bounce(original)

File name styles (``filename_style``), each also writes ``name=`` on Content-Type:

* ``rfc2231``       ``filename*=utf-8''%E7%94%B3...`` (Thunderbird, Apple Mail)
* ``rfc2231-cont``  ``filename*0*=utf-8''...; filename*1*=...`` continuations, split in
  the middle of characters
* ``rfc2047-b``     ``filename="=?utf-8?B?...?="`` (163, QQ, Foxmail); long names folded
  into several words
* ``rfc2047-q``     ``filename="=?utf-8?Q?=E7...?="``
* ``raw-gbk``       ``filename="<raw GBK bytes>"`` (old Foxmail, some webmail)
* ``raw-utf8``      ``filename="<raw UTF-8 bytes>"``
* ``outlook``       gb2312-labelled B words in both ``name=`` and ``filename=``
* ``name-only``     RFC 2047 B ``name=`` on Content-Type, no Content-Disposition (WPS)

``filename_charset`` picks the charset of the rfc2231/rfc2047 styles (``utf-8``,
``gbk``, ``gb2312``, ``gb18030``); GB labels are always encoded with GB18030, as real
clients do.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import mailbox
import struct
import uuid
import zipfile
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import quote_from_bytes

XLS = "application/vnd.ms-excel"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OCTET = "application/octet-stream"
DEFAULT_SENDER = "武清区某某公司 <unit@163.com>"
DEFAULT_TO = "xy23391756@163.com"
DEFAULT_DATE = datetime(2018, 11, 1, 10, 0, tzinfo=timezone(timedelta(hours=8)))
DEFAULT_BODY = (
    "您好，附件是我单位的发票申请表。\n"
    "收件人：张三\n电话：13800000000\n地址：天津市武清区杨村街道和平路1号"
)

_MISSING = object()
_GB = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936"}
_COUNTER = itertools.count(1)

Attachment = tuple[str | None, bytes] | tuple[str | None, bytes, str]
Header = tuple[str, "str | bytes"]


def codec(charset: str) -> str:
    """The Python codec a client uses for a label: GB labels carry GB18030 bytes."""
    return "gb18030" if charset.lower() in _GB else charset


def guess_type(filename: str | None) -> str:
    name = (filename or "").lower()
    for suffix, ctype in ((".xlsx", XLSX), (".xls", XLS), (".pdf", "application/pdf"),
                          (".docx", "application/vnd.openxmlformats-officedocument"
                                    ".wordprocessingml.document"),
                          (".doc", "application/msword"), (".jpg", "image/jpeg"),
                          (".png", "image/png"), (".zip", "application/zip"),
                          (".rar", "application/x-rar-compressed")):
        if name.endswith(suffix):
            return ctype
    return OCTET


def encode_word_b(text: str, charset: str = "utf-8", max_bytes: int = 30) -> str:
    """RFC 2047 B words, split at character boundaries every ``max_bytes`` bytes."""
    words, chunk = [], b""
    for ch in text:
        data = ch.encode(codec(charset))
        if chunk and len(chunk) + len(data) > max_bytes:
            words.append(chunk)
            chunk = b""
        chunk += data
    words.append(chunk)
    return "\r\n ".join(f"=?{charset}?B?{base64.b64encode(w).decode()}?=" for w in words)


def encode_word_q(text: str, charset: str = "utf-8") -> str:
    out = []
    for byte in text.encode(codec(charset)):
        ch = chr(byte)
        if ch.isascii() and (ch.isalnum() or ch in ".-"):
            out.append(ch)
        elif ch == " ":
            out.append("_")
        else:
            out.append(f"={byte:02X}")
    return f"=?{charset}?Q?{''.join(out)}?="


def header_value(text: str, charset: str = "utf-8", style: str = "rfc2047-b") -> bytes:
    """A header value: ASCII as is, else B/Q encoded words or raw bytes (``style='raw'``)."""
    if text.isascii():
        return text.encode()
    if style == "raw":
        return text.encode(codec(charset))
    if style == "rfc2047-q":
        return encode_word_q(text, charset).encode()
    return encode_word_b(text, charset).encode()


def address(value: str, charset: str = "utf-8", style: str = "rfc2047-b") -> bytes:
    """``张三 <a@b.com>`` with the display name encoded like a client does."""
    if "<" not in value:
        return value.encode()
    name, addr = value.split("<", 1)
    name = name.strip().strip('"')
    encoded = header_value(name, charset, style) if name else b""
    if encoded and name.isascii():
        encoded = b'"' + encoded + b'"'
    return (encoded + b" <" + addr.encode()).strip()


def _filename_params(filename: str, style: str, charset: str) -> tuple[bytes, bytes | None]:
    """(Content-Type params, Content-Disposition params or None) for one file name."""
    if filename.isascii() and style not in ("rfc2231-cont",):
        plain = f'"{filename}"'.encode()
        return b"name=" + plain, None if style == "name-only" else b"filename=" + plain
    if style in ("rfc2231", "rfc2231-cont"):
        pct = quote_from_bytes(filename.encode(codec(charset)), safe="").encode()
        name = b'name="' + header_value(filename, charset) + b'"'
        if style == "rfc2231":
            return name, b"filename*=" + charset.encode() + b"''" + pct
        # Five bytes a segment, %XX triplets kept whole: characters do get split.
        triplets = [pct[i:i + 3] if pct[i:i + 1] == b"%" else pct[i:i + 1]
                    for i in _triplet_starts(pct)]
        pieces = [b"".join(triplets[i:i + 5]) for i in range(0, len(triplets), 5)]
        parts = [b"filename*0*=" + charset.encode() + b"''" + pieces[0]]
        parts += [b"filename*%d*=" % n + p for n, p in enumerate(pieces[1:], start=1)]
        return name, b";\r\n ".join(parts)
    if style == "raw-gbk":
        value = b'"' + filename.encode("gb18030") + b'"'
    elif style == "raw-utf8":
        value = b'"' + filename.encode("utf-8") + b'"'
    elif style == "rfc2047-q":
        value = b'"' + encode_word_q(filename, charset).encode() + b'"'
    elif style == "outlook":
        value = b'"' + encode_word_b(filename, "gb2312").encode() + b'"'
    elif style in ("rfc2047-b", "name-only"):
        value = b'"' + encode_word_b(filename, charset).encode() + b'"'
    else:
        raise ValueError(f"unknown filename_style {style!r}")
    return b"name=" + value, None if style == "name-only" else b"filename=" + value


def _triplet_starts(pct: bytes) -> list[int]:
    starts, i = [], 0
    while i < len(pct):
        starts.append(i)
        i += 3 if pct[i:i + 1] == b"%" else 1
    return starts


def _b64_lines(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))


def _encode_body(data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return _b64_lines(data)
    if encoding == "quoted-printable":
        return binascii.b2a_qp(data.replace(b"\r\n", b"\n"), istext=True).replace(b"\n", b"\r\n")
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def text_part(text: str, subtype: str = "plain", charset: str = "gb18030",
              encoding: str = "base64") -> bytes:
    """A text/plain or text/html leaf; ``charset`` is the label, bytes follow ``codec``."""
    data = text.encode(codec(charset))
    head = (f"Content-Type: text/{subtype}; charset=\"{charset}\"\r\n"
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n")
    return head.encode() + _encode_body(data, encoding)


def b64_chunked(data: bytes, chunk: int = 57 * 3, line: int = 76) -> bytes:
    """Base64 encoded chunk by chunk, each chunk padded with ``=`` (as some webmail and
    old Foxmail encoders stream it), so padding appears in the middle of the body."""
    encoded = b"".join(base64.b64encode(data[i:i + chunk]) for i in range(0, len(data), chunk))
    return b"\r\n".join(encoded[i:i + line] for i in range(0, len(encoded), line))


def attachment_part(filename: str | None, data: bytes, content_type: str | None = None, *,
                    style: str = "rfc2231", charset: str = "utf-8",
                    disposition: str | None = "attachment", content_id: str | None = None,
                    encoded: bytes | None = None) -> bytes:
    """A base64 attachment leaf with its file name written in ``style``.

    ``disposition``: ``"attachment"``, ``"inline"`` or None (no Content-Disposition, as
    Outlook writes a file dragged into the message; the name is then only on
    Content-Type).  ``content_id``: adds ``Content-ID: <...>``.  ``encoded``: the body
    as written (e.g. ``b64_chunked(data)``) instead of clean base64.
    """
    ctype = (content_type or guess_type(filename)).encode()
    if filename is None:
        head = b"Content-Type: " + ctype + b"\r\n"
        if disposition:
            head += b"Content-Disposition: " + disposition.encode() + b"\r\n"
    else:
        ct_params, disp = _filename_params(filename, style, charset)
        head = b"Content-Type: " + ctype + b";\r\n " + ct_params + b"\r\n"
        if disp is not None and disposition:
            head += b"Content-Disposition: " + disposition.encode() + b";\r\n " + disp + b"\r\n"
    if content_id:
        head += b"Content-ID: <" + content_id.encode() + b">\r\n"
    body = _b64_lines(data) if encoded is None else encoded
    return head + b"Content-Transfer-Encoding: base64\r\n\r\n" + body


def multipart(subtype: str, parts: Sequence[bytes], extra: str = "") -> bytes:
    """A multipart container (boundary in the header bytes it returns)."""
    boundary = f"----=_Part_{next(_COUNTER)}_{uuid.uuid4().hex[:12]}"
    head = f'Content-Type: multipart/{subtype};{extra}\r\n\tboundary="{boundary}"\r\n\r\n'
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return (head.encode() + b"This is a multi-part message in MIME format.\r\n\r\n" + body
            + b"--" + boundary.encode() + b"--\r\n")


def rfc822_part(raw: bytes, filename: str | None = None, encoding: str | None = None) -> bytes:
    """A forwarded mail as message/rfc822 ("forward as attachment").

    ``encoding="base64"`` writes it base64-encoded, as Outlook and some webmail do
    although RFC 2046 forbids it.
    """
    head = b"Content-Type: message/rfc822\r\n"
    if filename:
        head += b'Content-Disposition: attachment; filename="' + filename.encode() + b'"\r\n'
    if encoding == "base64":
        return head + b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64_lines(raw)
    return head + b"\r\n" + raw


def build_mail(
    *,
    subject: str = "线上缴费发票申请",
    body: str | None = DEFAULT_BODY,
    html: str | None = None,
    charset: str = "gb18030",
    body_encoding: str = "base64",
    attachments: Sequence[Attachment] = (),
    filename_style: str = "rfc2231",
    filename_charset: str = "utf-8",
    forwarded: Sequence[bytes] = (),
    forwarded_encoding: str | None = None,
    parts: Sequence[bytes] = (),
    sender: str = DEFAULT_SENDER,
    to: str = DEFAULT_TO,
    reply_to: str | None = None,
    message_id: str | None | object = _MISSING,
    date: datetime | str | None = DEFAULT_DATE,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    header_style: str = "rfc2047-b",
    extra_headers: Sequence[Header] = (),
) -> bytes:
    """One mail as raw RFC 5322 bytes (CRLF line ends).

    ``body``/``html``: text and/or HTML body (``body=None`` for HTML-only, both for
    multipart/alternative).  ``charset`` is the label written; GB labels are encoded
    with GB18030.  ``attachments``: ``(filename, data[, content_type])``; filename None
    writes a nameless ``Content-Disposition: attachment``.  ``forwarded``: raw mails
    attached as message/rfc822 (``forwarded_encoding="base64"`` to encode them).
    ``parts``: ready-made MIME leaves (``attachment_part(...)``) added after those.
    ``message_id``: omitted -> a fresh unique id, None ->
    no header.  ``date``: None -> no header, str -> written verbatim.
    ``header_style``: how Subject and display names are encoded (``rfc2047-b``,
    ``rfc2047-q``, ``raw``).
    """
    leaves: list[bytes] = []
    if body is not None and html is not None:
        leaves.append(multipart("alternative", [
            text_part(body, "plain", charset, body_encoding),
            text_part(html, "html", charset, body_encoding),
        ]))
    elif html is not None:
        leaves.append(text_part(html, "html", charset, body_encoding))
    elif body is not None:
        leaves.append(text_part(body, "plain", charset, body_encoding))
    for item in attachments:
        filename, data = item[0], item[1]
        ctype = item[2] if len(item) > 2 else None  # type: ignore[misc]
        leaves.append(attachment_part(filename, data, ctype, style=filename_style,
                                      charset=filename_charset))
    leaves.extend(rfc822_part(raw, encoding=forwarded_encoding) for raw in forwarded)
    leaves.extend(parts)
    if len(leaves) == 1 and not attachments and not forwarded and not parts:
        content = leaves[0]
    elif leaves:
        content = multipart("mixed", leaves)
    else:
        content = text_part("", "plain", charset, body_encoding)

    headers: list[tuple[str, bytes]] = [
        ("From", address(sender, charset, header_style)),
        ("To", address(to, charset, header_style)),
        ("Subject", header_value(subject, charset, header_style)),
    ]
    if message_id is _MISSING:
        domain = sender.rsplit("@", 1)[-1].strip("> ")
        message_id = f"<{uuid.uuid4().hex}.{next(_COUNTER)}@{domain}>"
    if message_id is not None:
        headers.append(("Message-ID", str(message_id).encode()))
    if date is not None:
        text = date if isinstance(date, str) else format_datetime(date)
        headers.append(("Date", text.encode()))
    if reply_to:
        headers.append(("Reply-To", address(reply_to, charset, header_style)))
    if in_reply_to:
        headers.append(("In-Reply-To", in_reply_to.encode()))
    if references:
        headers.append(("References", "\r\n ".join(references).encode()))
    headers.append(("MIME-Version", b"1.0"))
    for name, value in extra_headers:
        headers.append((name, value if isinstance(value, bytes) else value.encode()))
    head = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    return head + content


def build_auto_reply(
    *,
    subject: str = "自动回复: 线上缴费发票申请",
    body: str = "您好，我现在休假中，稍后回复您的邮件。",
    sender: str = "张三 <unit@163.com>",
    extra_headers: Sequence[Header] = (("Auto-Submitted", "auto-replied"),
                                       ("X-Autoreply", "yes")),
    **kwargs: object,
) -> bytes:
    """An out-of-office reply as 163/QQ/Outlook send it."""
    return build_mail(subject=subject, body=body, sender=sender,
                      extra_headers=extra_headers, **kwargs)  # type: ignore[arg-type]


def build_bounce(
    original: bytes | None = None,
    *,
    sender: str = "MAILER-DAEMON@163.com",
    subject: str = "系统退信",
    recipient: str = "unit@163.com",
    extra_headers: Sequence[Header] = (),
) -> bytes:
    """A delivery status notification (multipart/report; report-type=delivery-status)."""
    original = original or build_mail(subject="回复：线上缴费发票申请", body="已受理")
    human = text_part(f"抱歉，您的邮件无法送达 {recipient}。", "plain", "gb2312")
    status = (b"Content-Type: message/delivery-status\r\n\r\n"
              b"Reporting-MTA: dns; 163.com\r\n\r\n"
              b"Final-Recipient: rfc822; " + recipient.encode() + b"\r\n"
              b"Action: failed\r\nStatus: 5.1.1\r\n")
    report = multipart("report", [human, status, rfc822_part(original)],
                       extra=" report-type=delivery-status;")
    head = (b"From: " + sender.encode() + b"\r\nTo: " + recipient.encode() + b"\r\n"
            b"Subject: " + header_value(subject, "gb2312") + b"\r\n"
            b"Message-ID: <bounce." + uuid.uuid4().hex.encode() + b"@163.com>\r\n"
            b"Date: Thu, 01 Nov 2018 10:05:00 +0800\r\nMIME-Version: 1.0\r\n")
    for name, value in extra_headers:
        head += name.encode() + b": " + (value if isinstance(value, bytes) else value.encode())
        head += b"\r\n"
    return head + report


# --- delivery: the arrival time a mailbox records ------------------------------------


def arrival_time(raw: bytes) -> datetime:
    """When a mail built here arrived, unless a test says otherwise: at its Date (a test
    mail from 2018 arrived in 2018), DEFAULT_DATE when it has none or an unreadable one.
    Deadlines are judged by the arrival time, so every delivery must carry one."""
    from email.parser import BytesHeaderParser
    from email.utils import parsedate_to_datetime

    value = BytesHeaderParser().parsebytes(raw).get("Date")
    try:
        when = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        return DEFAULT_DATE
    return when


def maildir_message(raw: bytes, arrival: datetime | None = None) -> mailbox.MaildirMessage:
    """A Maildir message whose file time is its arrival (as delivery agents set it)."""
    message = mailbox.MaildirMessage(raw)
    message.set_date((arrival or arrival_time(raw)).timestamp())
    return message


# --- containers: winmail.dat and zip files -------------------------------------------


def _tnef_attribute(level: int, attr_id: int, data: bytes) -> bytes:
    """One TNEF attribute: level, id (type << 16 | name), length, data, checksum."""
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BII", level, attr_id, len(data)) + data + struct.pack("<H", checksum)


def build_tnef(files: Sequence[tuple[str, bytes]], codepage: int = 936,
               name_codec: str = "gb18030") -> bytes:
    """``winmail.dat`` as Outlook writes it in rich-text mode ([MS-OXTNEF] 2.1.3):
    signature, message attributes (version, OEM code page, class), then per file
    attAttachRendData, attAttachTitle (the name in the code page: GBK on Chinese
    Windows, ``name_codec``) and attAttachData."""
    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += _tnef_attribute(1, 0x00089006, struct.pack("<I", 0x00010000))
    out += _tnef_attribute(1, 0x00069007, struct.pack("<II", codepage, 0))
    out += _tnef_attribute(1, 0x00078008, b"IPM.Microsoft Mail.Note\x00")
    for name, data in files:
        out += _tnef_attribute(2, 0x00069002, struct.pack("<HiHHI", 1, -1, 32, 32, 0))
        out += _tnef_attribute(2, 0x00018010, name.encode(name_codec) + b"\x00")
        out += _tnef_attribute(2, 0x0006800F, data)
    return out


def build_zip(files: Sequence[tuple[str, bytes]], *, names: str = "gbk",
              encrypted: bool = False) -> bytes:
    """A zip of ``files``.  ``names``: ``"gbk"`` writes member names as GBK bytes without
    the UTF-8 flag (WinRAR, 360压缩, Windows' 压缩文件夹 on Chinese Windows), ``"utf-8"``
    sets the flag.  ``encrypted``: members flagged as ZipCrypto-encrypted (bit 0), which
    is what a reader sees before asking for a password."""
    out = io.BytesIO()
    placeholders: list[tuple[bytes, bytes]] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(files):
            if names == "gbk" and not name.isascii():
                raw = name.encode("gb18030")
                stand_in = f"{index:04d}".encode().ljust(len(raw), b"_")
                placeholders.append((stand_in, raw))
                archive.writestr(stand_in.decode(), data)
            else:
                archive.writestr(name, data)
    data = out.getvalue()
    for stand_in, raw in placeholders:  # same length: offsets stay right
        data = data.replace(stand_in, raw)
    if encrypted:
        data = data.replace(b"PK\x03\x04\x14\x00\x00", b"PK\x03\x04\x14\x00\x01")
        data = data.replace(b"PK\x01\x02\x14\x03\x14\x00\x00", b"PK\x01\x02\x14\x03\x14\x00\x01")
    return data
