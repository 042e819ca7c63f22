"""The Date header: the sender's clock, in the shapes Chinese clients write it.

It is shown to staff for information only; deadlines are judged by the mailbox's
arrival time (issue 9, kind 3).  Shapes seen in real mail besides RFC 5322's:
``GMT +0800`` (a space between name and offset: the stdlib takes GMT and drops the
offset), ``+08:00``, ``UTC+8``, ``2019/01/05 Sat 10:00``, ``2018年12月31日 星期一 20:30``,
``下午 08:30``, ``31 十二月 2018``, ``31 12月 2018`` (Java in a Chinese locale), full-width
digits, a trailing ``(CST)`` or ``(中国标准时间)`` comment, and no zone at all (Chinese
clients then mean Beijing time). ``CST`` is China Standard Time here, not US Central.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_tz
from zoneinfo import ZoneInfo

from worker.message.charset import raw_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
_YEARS = range(1990, 2101)  # anything else is a broken clock or garbage

_COMMENT = re.compile(r"\([^()]*\)")
_CN_WEEKDAY = re.compile(r"(?:星期|礼拜|周)[一二三四五六日天]")
_CN_BEIJING = re.compile(r"北京时间|中国标准时间")
_CN_MONTH = re.compile(r"(?<![\d一二三四五六七八九十])(十[一二]|[一二三四五六七八九十])月")
# Java's formatter in a Chinese locale: "周一, 31 12月 2018": a month in digits before a year.
_DIGIT_MONTH = re.compile(r"(?<![\d年/.-])(1[0-2]|0?[1-9])\s*月(?=\s+\d{4}\b)")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CN_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
               "十": 10, "十一": 11, "十二": 12}
# GMT/UTC followed by an offset, with or without a space, colon or minutes: one offset.
_NAMED_OFFSET = re.compile(r"\b(?:GMT|UTC|UT)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?(?!\d)", re.IGNORECASE)
_COLON_OFFSET = re.compile(r"(?<=[\d\s])([+-])(\d{2}):(\d{2})(?!\d)")
_CST = re.compile(r"\bCST\b", re.IGNORECASE)
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?")
_NUMERIC_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_ZONE_OFFSET = re.compile(r"^\s*([+-])(\d{1,2})(\d{2})?(?!\d)")
_AFTERNOON = re.compile(r"下午|晚上|\bPM\b", re.IGNORECASE)
_MORNING = re.compile(r"上午|早上|凌晨|\bAM\b", re.IGNORECASE)
_UTC_WRITTEN = re.compile(r"[+-]0000|\b(?:GMT|UTC|UT|Z)\b", re.IGNORECASE)


def parse_date(value: str | None) -> datetime | None:
    """A Date header as an aware datetime, or None when it cannot be read or is absurd."""
    text = raw_text(value)
    plain = _PLAIN.fullmatch(text)
    if plain is not None:
        parsed = _plain(plain)
        return parsed if parsed is not None and parsed.year in _YEARS else None
    text = _normalise(text)
    if not text:
        return None
    parsed = _rfc5322(text) or _numeric(text)
    if parsed is None or parsed.year not in _YEARS:
        return None
    return parsed


#: A Date as nearly every client writes it: RFC 5322's own shape, ASCII digits, one space
#: apart, a numeric zone, a four-digit year from 1000. ``_normalise`` leaves such a text
#: as it is and ``_rfc5322`` reads it as ``_plain`` does (no AM/PM, no zone name).
_PLAIN = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([1-9][0-9]{3}) "
    r"([0-9]{2}):([0-9]{2})(?::([0-9]{2}))? ([+-])([0-9]{4})")
_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTHS, 1)}


def _plain(match: re.Match[str]) -> datetime | None:
    """``_rfc5322`` of a ``_PLAIN`` text, without the general path's eight substitutions
    and the stdlib's tokenising (most of a Date's cost): ``parsedate_tz``'s offset
    arithmetic (``+0860`` is 9 hours; ``-0000`` is UTC, written), None for a date or an
    offset ``datetime`` refuses."""
    day, month, year, hour, minute, second, sign, zone = match.groups()
    digits = int(zone)
    try:
        naive = datetime(int(year), _MONTH_NUMBERS[month], int(day), int(hour), int(minute),
                         int(second or 0))
        offset = (digits // 100) * 3600 + (digits % 100) * 60
        return naive.replace(tzinfo=timezone(timedelta(seconds=-offset if sign == "-" else offset)))
    except (ValueError, OverflowError):
        return None


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)  # full-width digits, colons, plus signs
    text = _COMMENT.sub(" ", text)
    text = _CN_WEEKDAY.sub(" ", text)
    text = _CN_MONTH.sub(lambda m: f" {_MONTHS[_CN_NUMBERS[m.group(1)] - 1]} ", text)
    text = _DIGIT_MONTH.sub(lambda m: f" {_MONTHS[int(m.group(1)) - 1]} ", text)
    text = _CN_BEIJING.sub(" +0800 ", text)
    text = _CST.sub("+0800", text)
    text = _NAMED_OFFSET.sub(_offset_token, text)
    text = _COLON_OFFSET.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}", text)
    return " ".join(text.split())


def _offset_token(match: re.Match[str]) -> str:
    return f"{match.group(1)}{int(match.group(2)):02d}{match.group(3) or '00'}"


def _rfc5322(text: str) -> datetime | None:
    try:
        parts = parsedate_tz(text)
    except Exception:  # the stdlib parser raises on some garbage
        return None
    if parts is None:
        return None
    try:
        naive = datetime(*parts[:6])
        hour_shift = _clock_shift(text, naive.hour)
        tz: tzinfo = SHANGHAI if parts[9] is None else timezone(timedelta(seconds=parts[9]))
    except (ValueError, OverflowError, TypeError):
        return None
    if parts[9] == 0 and not _UTC_WRITTEN.search(text):
        tz = SHANGHAI  # the stdlib reads an absent zone as 0 in some shapes
    return (naive + hour_shift).replace(tzinfo=tz)


def _numeric(text: str) -> datetime | None:
    """``2019/01/05 10:00``, ``2018-12-31T20:30:00+08:00``, ``2018年12月31日 下午8:30``."""
    date = _NUMERIC_DATE.search(text)
    if date is None:
        return None
    rest = text[date.end():]
    clock = _TIME.search(rest)
    hour = minute = second = 0
    zone_text = rest
    if clock is not None:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        second = int(clock.group(3) or 0)
        zone_text = rest[clock.end():]
    try:
        naive = datetime(int(date.group(1)), int(date.group(2)), int(date.group(3)),
                         hour, minute, second)
        naive += _clock_shift(rest, hour)
    except (ValueError, OverflowError):
        return None
    return naive.replace(tzinfo=_zone(zone_text))


def _clock_shift(text: str, hour: int) -> timedelta:
    """``下午 8:30`` is 20:30; ``上午 12:10`` is 00:10."""
    if _AFTERNOON.search(text) and hour < 12:
        return timedelta(hours=12)
    if _MORNING.search(text) and hour == 12:
        return timedelta(hours=-12)
    return timedelta()


def _zone(text: str) -> tzinfo:
    text = text.replace("T", " ").strip()
    if text[:1] == "Z" or text[:3].upper() in ("GMT", "UTC"):
        return UTC
    match = _ZONE_OFFSET.match(text)
    if match is None:
        return SHANGHAI  # no zone written: Chinese clients mean Beijing time
    sign = -1 if match.group(1) == "-" else 1
    offset = timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
    if offset >= timedelta(hours=15):
        return SHANGHAI
    return timezone(sign * offset)
