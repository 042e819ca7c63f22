"""The Date header: the sender's clock, in the shapes Chinese clients write it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_tz
from zoneinfo import ZoneInfo

from worker.message.charset import raw_text

SHANGHAI = ZoneInfo("Asia/Shanghai")

_ZONE = re.compile(r"\d:\d\d(?::\d\d)?\s*([+-]\d{4}|[A-Za-z]{1,5}\b)?")


def parse_date(value: str | None) -> datetime | None:
    text = raw_text(value).strip()
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
