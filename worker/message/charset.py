"""MIME charset labels and raw bytes to text: every GB label widens to GB18030."""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

_GB_LABELS = frozenset({
    "gb2312", "gbk", "x-gbk", "cp936", "ms936", "windows-936", "gb_2312", "gb_2312-80",
    "csgb2312", "euc-cn", "x-euc-cn", "gb18030", "chinese", "936",
})


@lru_cache(maxsize=256)  # a mail decodes several texts, under a handful of labels
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
# Western labels some mailers put on every body (PHP and OA systems, a Western-default
# client): their codecs decode any bytes, so Chinese text comes out as ÊÕ¼þÈË.
_WESTERN = frozenset({"iso8859-1", "cp1252", "iso8859-15"})
#: What Chinese text is made of beyond ASCII, each range a block GBK or GB18030 encodes
#: Chinese text's characters from: hanzi (every extension), radicals, CJK punctuation
#: and forms, full-width forms, and the symbols Chinese forms and letters use (“”、
#: ——、……、·、×、°、℃、№、Ⅱ、①、㎡、■、★), which a Western text's accented
#: letters, read as GBK, do not all make.
_CJK_TEXT = re.compile(
    "[\u00b7\u00d7\u00f7\u00b0\u00a7"  # · × ÷ ° §
    "\u2010-\u2027\u2030-\u205e"  # dashes, quotes, ellipsis, ‰, ※
    "\u2100-\u21ff\u2460-\u24ff\u2500-\u27bf"  # ℃ №, Ⅰ, arrows, ①, boxes, ■, ★
    "\u2e80-\u2fdf\u3000-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]")
_NON_ASCII = re.compile("[^\x00-\x7f]")


def _chinese_under_western_label(data: bytes) -> str | None:
    """UTF-8 or GBK Chinese behind a Western label, or None: the label is trusted
    unless every non-ASCII character the bytes make is a Chinese one (accented Western
    words, é read as UTF-8 or Müller as GB18030, never are)."""
    if data.isascii():
        return None
    for codec in ("utf-8", "gb18030"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        foreign = _NON_ASCII.findall(text)
        if len(foreign) >= 2 and all(_CJK_TEXT.match(c) for c in foreign):
            return text
    return None


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Decode with the label's codec, else UTF-8, else GB18030; never raises.

    UTF-8 is tried before GB18030 because it is strict enough to reject GBK text, while
    GB18030 happily turns UTF-8 into mojibake. Bytes that neither takes whole (a cut or
    corrupted byte) are decoded with U+FFFD at the damage only: as UTF-8 when they are
    damaged UTF-8 (``damaged_utf8``), else as GB18030, or for unlabelled and utf-8
    labelled bytes by whichever breaks in fewer places (``_lossy``).
    """
    codec = codec_for(label)
    if codec in _WESTERN:
        chinese = _chinese_under_western_label(data)
        if chinese is not None:
            return chinese
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
        if damaged_utf8(data, least=_HANZI_UNDER_GB_LABEL):
            return data.decode("utf-8", errors="replace")
    for candidate in dict.fromkeys(c for c in (codec, "utf-8") if c):
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    if codec in (None, "ascii", "utf-8") and damaged_utf8(data):
        return data.decode("utf-8", errors="replace")
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    if codec in (None, "ascii", "utf-8"):
        return _lossy(data, labelled=codec == "utf-8")
    return data.decode(codec, errors="replace")  # type: ignore[arg-type]


_REPLACEMENT = "\ufffd"
#: Whole hanzi damaged UTF-8 needs under a GB label, which GB18030 decodes whole: the
#: label is a second opinion, so a few characters are not enough to overrule it.
_HANZI_UNDER_GB_LABEL = 4
_BELOW_E0 = bytes(range(0xE0))  # deleted, leaves the lead bytes of 3- and 4-byte UTF-8


def damaged_utf8(data: bytes, least: int = 1) -> bool:
    """Whether bytes that do not decode as UTF-8 are UTF-8 damaged in a few places (a
    character cut off at the end, a corrupted byte), which GB18030 would decode whole
    into plausible hanzi (鍏充簬): cut short after ``least`` whole 3- or 4-byte
    characters (hanzi in UTF-8), or broken in at most one place per two of them (and
    at least ``least``). GBK text breaks UTF-8 at most of its characters and makes
    such characters rarely."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.end == len(data) and e.reason == "unexpected end of data":
            return len(data[:e.start].translate(None, _BELOW_E0)) >= least  # cut short
    else:
        return False  # whole UTF-8, not damaged
    text = data.decode("utf-8", errors="replace")
    # Each such character has one lead byte of E0 or above; so has each U+FFFD.
    whole = len(text.encode().translate(None, _BELOW_E0)) - text.count(_REPLACEMENT)
    return whole >= max(least, 2 * _broken(text, data, _REPLACEMENT.encode()))


_RUNS = re.compile("\ufffd+")


def _broken(text: str, data: bytes, written: bytes) -> int:
    """Places where decoding ``data`` into ``text`` broke: runs of U+FFFD, less those
    the bytes held (``written``: U+FFFD in their codec). A broken sequence is one
    place, however many bytes it spans (a surrogate in UTF-8 makes three U+FFFD)."""
    return max(0, len(_RUNS.findall(text)) - data.count(written))


def _lossy(data: bytes, *, labelled: bool) -> str:
    """Bytes that neither UTF-8 nor GB18030 decodes whole, nor damaged UTF-8, decoded
    by the one that loses fewer of them (each undecodable byte a U+FFFD); a tie goes
    to the label (``labelled``: utf-8), else to GB18030, Chinese mail's older charset.
    A GBK subject whose last character was cut keeps every character before it, where
    UTF-8 made most of it U+FFFD."""
    utf8 = data.decode("utf-8", errors="replace")
    gb = data.decode("gb18030", errors="replace")
    utf8_lost = utf8.count(_REPLACEMENT) - data.count(_REPLACEMENT.encode())
    gb_lost = gb.count(_REPLACEMENT) - data.count(_REPLACEMENT.encode("gb18030"))
    return utf8 if utf8_lost < gb_lost or (labelled and utf8_lost == gb_lost) else gb


def to_bytes(text: str) -> bytes:
    """Undo the parser's surrogateescape: the raw bytes behind a header or payload."""
    return text.encode("utf-8", "surrogateescape")


#: A header line break followed by the next line's indentation (RFC 5322 folding).
FOLD = re.compile(r"\r?\n(?=[ \t])")
#: What the parser's surrogateescape leaves for each raw 8-bit byte.
ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def raw_text(value: str | None, *, lossless: bool = False) -> str:
    """A raw header value unfolded, raw 8-bit bytes decoded (UTF-8, then GB18030).
    Bytes neither decodes become U+FFFD, or with ``lossless`` ``\\xNN`` escapes (a key
    must keep two such values apart: ``worker.message.headers.message_id_key``)."""
    if not value:
        return ""
    text = FOLD.sub("", str(value)).replace("\r", "").replace("\n", "")
    if ESCAPED_BYTE.search(text):
        data = to_bytes(text)
        text = _decode_or_escape(data) if lossless else decode_bytes(data)
    return text


def _decode_or_escape(data: bytes) -> str:
    for codec in ("utf-8", "gb18030"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "backslashreplace")
