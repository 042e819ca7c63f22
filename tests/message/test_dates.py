"""Date headers in the odd shapes clients write (issue 9, kind 3).  The Date is shown
to staff only: deadlines are judged by the arrival time (tests/intake/test_arrival.py)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from tests.builders.mail import build_mail
from worker.message import SHANGHAI, dates, parse_message

EVENING = datetime(2018, 12, 31, 20, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize("value", [
    "Mon, 31 Dec 2018 20:30:00 GMT +0800",      # the rw14 case: a space before the offset
    "Mon, 31 Dec 2018 20:30:00 GMT+0800",
    "Mon, 31 Dec 2018 20:30:00 GMT+08:00",
    "Mon, 31 Dec 2018 20:30:00 UTC+8",
    "Mon, 31 Dec 2018 20:30:00 +08:00",
    "Mon, 31 Dec 2018 20:30:00 +0800 (中国标准时间)",
    "Mon, 31 Dec 2018 20:30:00 CST",
    "Mon, 31 Dec 2018 20:30:00",                 # no zone: Beijing time
    "Mon, 31 Dec 2018 08:30:00 PM +0800",
    "Mon Dec 31 20:30:00 2018",                  # asctime
    "星期一, 31 十二月 2018 20:30:00 +0800",      # Chinese weekday and month names
    "周一, 31 Dec 2018 20:30:00 +0800",
    "周一, 31 12月 2018 20:30:00 +0800",          # Java's formatter in a Chinese locale
    "2018/12/31 Mon 20:30",
    "2018/12/31 20:30:00",
    "2018-12-31T20:30:00+08:00",
    "2018-12-31T12:30:00Z",
    "2018年12月31日 星期一 下午8:30",
    "２０１８年１２月３１日 ２０：３０",           # full-width digits
])
def test_odd_date_shapes(value: str) -> None:
    date = parse_message(build_mail(date=value)).date
    assert date is not None and date.tzinfo is not None
    assert date == EVENING


def test_gmt_alone_is_gmt() -> None:
    date = parse_message(build_mail(date="Mon, 31 Dec 2018 12:30:00 GMT")).date
    assert date == EVENING and date.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", ["garbage", "Mon, 31 Dec 1800 20:30:00 +0800",
                                   "2018/13/45 99:99", "Mon, 31 Dec 2018 20:30:00 +9999"])
def test_absurd_dates_are_none_or_sane(value: str) -> None:
    date = parse_message(build_mail(date=value)).date
    assert date is None or date.year in range(1990, 2101)


def _general(value: str) -> datetime | None:
    """``parse_date`` by its general path only (what it did before ``_PLAIN``)."""
    text = dates._normalise(dates.raw_text(value))
    parsed = (dates._rfc5322(text) or dates._numeric(text)) if text else None
    return parsed if parsed is not None and parsed.year in range(1990, 2101) else None


@pytest.mark.parametrize("weekday", ["", "Mon, ", "Sat, "])
def test_plain_dates_read_as_the_general_path_reads_them(weekday: str) -> None:
    """The RFC 5322 shape read without ``_normalise``: the same instant and zone as the
    general path, for every day, month, clock and offset, absurd ones included."""
    for day, month, year, clock, zone in itertools.product(
            ["1", "01", "29", "31", "32", "00"], dates._MONTHS,
            ["1000", "1990", "2018", "2100", "2101"],
            ["00:00", "23:59:59", "24:00", "12:60", "10:11:60"],
            ["+0000", "-0000", "+0800", "-0800", "+0860", "+2359", "+2400", "+9999"]):
        value = f"{weekday}{day} {month} {year} {clock} {zone}"
        assert dates._PLAIN.fullmatch(value), value
        fast, general = dates.parse_date(value), _general(value)
        assert fast == general, value
        if fast is not None and general is not None:
            assert fast.tzinfo == general.tzinfo, value
            assert fast.utcoffset() == general.utcoffset(), value
