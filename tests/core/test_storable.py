"""The one cleaning of stored text (worker.text.storable, worker.db.types) and the one
rule telling a refused value from a lost database (worker.db.refusals)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal, InvalidOperation

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError

from worker.db import session_factory
from worker.db.models import Base, Mail
from worker.db.refusals import refused_data
from worker.db.types import (
    KEY_BYTES,
    Money,
    String,
    Text,
    as_stored,
    as_stored_all,
    storable_key,
)
from worker.text import needs_cleaning, storable


@pytest.mark.parametrize(("given", "expected"), [
    ("plain 中文 𠀀", "plain 中文 𠀀"),
    ("a\x00b", "a\ufffdb"),
    ("\ud83d\ude00", "😀"),                     # a pair is the character it encodes
    ("x\ud800y\udfffz\udc80", "x\ufffdy\ufffdz\ufffd"),
    ("\ude00\ud83d", "\ufffd\ufffd"),           # a pair in the wrong order is two lone ones
    ("tab\tand\nnewline", "tab\tand\nnewline"),  # the databases take these
])
def test_storable_replaces_what_a_database_refuses(given: str, expected: str) -> None:
    assert storable(given) == expected
    assert storable(expected) == expected  # idempotent
    expected.encode("utf-8")


@pytest.mark.parametrize("value", ["", "plain", "a\x00b", "\x00", "中文", "中\x00",
                                   "x\ud800", "\udfff", "😀", "\x7f\x01"])
def test_needs_cleaning_says_whether_storable_changes_the_text(value: str) -> None:
    assert needs_cleaning(value) == (storable(value) != value)


@pytest.mark.parametrize("value", ["plain", "a\x00b" * 3, "中文" * 5, "x\ud800y", 12345678,
                                   "a" * 20])
def test_a_string_column_binds_the_storable_text(value: object) -> None:
    for length in (None, 4):
        assert String(length).process_bind_param(value, None) == storable(str(value), length)
        assert Text().process_bind_param(value, None) == storable(str(value))


def test_storable_cuts_to_the_column_in_characters() -> None:
    assert storable("长" * 10, 4) == "长" * 4
    assert storable("a\x00" * 10, 3) == "a\ufffda"


def test_a_long_key_keeps_a_prefix_and_a_digest_within_both_bounds() -> None:
    long_ascii = "<" + "a" * 10_000 + "@x>"
    wide = "<" + "𠀀" * 900 + ">"  # 4 bytes each: 3600 bytes in 900 characters
    for value in (long_ascii, wide):
        key = storable_key(value, 900)
        assert len(key) <= 900 and len(key.encode()) <= KEY_BYTES
        assert key == storable_key(value, 900)  # the same every time
        assert key.startswith(value[:10]) and "#" in key
    # Two keys sharing a long prefix stay apart; a short key is left as it is.
    assert storable_key(long_ascii + "1", 900) != storable_key(long_ascii + "2", 900)
    assert storable_key("<a\x00b@x>", 900) == "<a\ufffdb@x>"


@pytest.mark.parametrize("texts", [
    ("张三", "110101199003077777", "2018"),
    ("长" * 200, "", "x" * 40),                    # cut only
    ("a\x00b", "ok", "c"),                          # one value needs cleaning
    ("ends\ud83d", "\ude00starts", "c"),            # halves of a pair apart: two lone ones
    ("\ud83d\ude00" * 60, None, 2018),              # a pair; None; not text
])
def test_a_rows_text_as_stored_is_what_each_column_binds(texts: tuple[object, ...]) -> None:
    """``as_stored`` checks a row's texts together; each comes out as its column's own
    ``process_bind_param`` makes it, a key column too."""
    columns = [("a", String(100)), ("b", String(32)), ("c", String(4)), ("k", String(20, key=True))]
    values = {"a": texts[0], "b": texts[1], "c": texts[2], "k": "<" + "m" * 30 + ">", "n": 1}
    expected = {**values, **{key: kind.process_bind_param(values[key], None)
                             for key, kind in columns}}
    stored = as_stored(values, columns)
    assert stored == expected and all(type(stored[k]) is type(expected[k]) for k in stored)
    assert as_stored({"n": 1}, columns) == {"n": 1}  # an absent column stays absent
    assert needs_cleaning("".join(t for t in texts if isinstance(t, str))) == \
        any(isinstance(t, str) and storable(t) != t for t in texts)


class _Shown(str):
    """A str subclass whose ``str()`` differs from its value: bound as ``str()`` says."""

    def __str__(self) -> str:
        return "shown"


@pytest.mark.parametrize("rows", [
    [("张三", "110101199003077777", "2018"), ("李四", "", "2019")],   # kept as they are
    [("长" * 200, "", "x" * 40), ("王五", "1", "")],                   # the first cut only
    [("张三", "1", "2018"), ("a\x00b", "ok", "c")],                    # one text, another row
    [("ends\ud83d", "2", "c"), ("\ude00starts", "3", "c")],            # lone halves in two rows
    [("张三", None, "2018"), ("李四", "1", 2018)],                      # None; not text
    [("长" * 90, "x" * 30, "2018"), ("李四", "1", "2019")],            # longer than c, fits
    [("长" * 90, None, "2018"), ("李四", "1", "20190")],              # c cut, in the second row
    [("长" * 90, "x" * 33, None), ("李四", None, "2019")],             # b cut, Nones beside
])
def test_rows_as_stored_together_are_each_as_its_columns_bind_it(
        rows: list[tuple[object, ...]]) -> None:
    """``as_stored_all`` looks at all the rows' texts at once and gives each row what
    ``as_stored`` gives it; a row with nothing to change is the caller's own dict."""
    columns = [("a", String(100)), ("b", String(32)), ("c", String(4))]
    values = [{"a": a, "b": b, "c": c, "n": i} for i, (a, b, c) in enumerate(rows)]
    expected = [as_stored(dict(v), columns) for v in values]
    stored = as_stored_all(values, columns)
    assert stored == expected
    assert all(type(s[k]) is type(e[k]) for s, e in zip(stored, expected, strict=True) for k in s)
    together = all(t is None or isinstance(t, str) and storable(t) == t
                   for r in rows for t in r)  # else each row goes through as_stored: a copy
    for given, out in zip(values, stored, strict=True):
        assert (out is given) == (together and out == given)
    keyed = [("a", String(100)), ("k", String(20, key=True))]
    assert as_stored_all([{"a": "x", "k": "<" + "m" * 30 + ">"}], keyed) == \
        [as_stored({"a": "x", "k": "<" + "m" * 30 + ">"}, keyed)]


def test_a_str_subclass_among_rows_is_bound_as_its_column_binds_it() -> None:
    """A value that is a ``str`` but not of type ``str`` (its ``str()`` may differ)
    sends the rows through ``as_stored``, whose column binds its ``str()``."""
    columns = [("a", String(100)), ("b", String(32))]
    values = [{"a": "张三", "b": "1"}, {"a": "李四", "b": _Shown("2")}]
    stored = as_stored_all(values, columns)
    assert stored == [as_stored(dict(v), columns) for v in values]
    assert stored[1]["b"] == "shown" and type(stored[1]["b"]) is str


def test_every_text_column_is_cleaned() -> None:
    """A text column declared with sqlalchemy's own String/Text would bypass the
    cleaning: every one in the schema uses worker.db.types."""
    plain = [f"{table.name}.{column.name}" for table in Base.metadata.tables.values()
             for column in table.columns
             if isinstance(column.type, sa.String) and not isinstance(column.type, String | Text)]
    assert plain == []
    assert Mail.__table__.c.message_id.type.key is True


def test_lookups_are_cleaned_like_stored_values(engine: Engine) -> None:
    """A Message-ID with NUL, or one too long, is found by the same raw value; LIKE
    patterns are cleaned but not cut."""
    sessions = session_factory(engine)
    nul, long = "<a\x00b@x>", "<" + "长" * 2_000 + "@x>"
    with sessions.begin() as s:
        for mid in (nul, long):
            s.add(Mail(message_id=mid, mailbox="m", status="held", sender="u\x00@x.cn"))
    with sessions() as s:
        for mid in (nul, long):
            assert s.scalars(select(Mail).where(Mail.message_id == mid)).one()
        assert s.scalars(select(Mail).where(Mail.message_id.in_([nul]))).one()
        # 327 characters, longer than sender's 320: cut, it would have to end in "u"
        pattern = "%" * 319 + "u\x00@x.cn"
        assert s.scalars(select(Mail).where(Mail.sender.like(pattern))).first()


def _wrapped(cls: type[Exception], orig: Exception) -> Exception:
    return cls("INSERT ...", {}, orig)


class _PgError(Exception):
    """A stand-in for a psycopg error carrying a SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("exc", "refused"), [
    (_wrapped(DataError, psycopg.errors.StringDataRightTruncation("too long")), True),
    (_wrapped(DataError, sqlite3.DataError("string or blob too big")), True),
    (_wrapped(IntegrityError, sqlite3.IntegrityError("NOT NULL")), True),
    (_wrapped(OperationalError, _PgError("54000")), True),   # index row too large
    (_wrapped(OperationalError, _PgError("08006")), False),  # connection failure
    (_wrapped(OperationalError, _PgError("53100")), False),  # disk full
    (_wrapped(OperationalError, _PgError("57P01")), False),  # admin shutdown
    (_wrapped(OperationalError, sqlite3.OperationalError("database or disk is full")), False),
    (StatementError("bind", "INSERT", {}, OverflowError("date value out of range")), True),
    (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), True),
    (RuntimeError("a bug"), False),
    (ConnectionResetError(), False),
])
def test_refused_data_tells_values_from_infrastructure(exc: Exception, refused: bool) -> None:
    assert refused_data(exc) is refused


@pytest.mark.parametrize(("given", "cents"), [
    (Decimal("150.00"), 15000), (Decimal("150"), 15000), (Decimal("0.005"), 0),
    (Decimal("0.015"), 2), (Decimal("-0.00"), 0), (Decimal("1E+2"), 10000),
    (Decimal("12.345"), 1234), (150, 15000), ("99.999", 10000), (0.1, 10),
    (Decimal("9" * 26 + ".99"), int("9" * 28)),
])
def test_money_binds_cents_and_reads_them_back_with_two_places(given: object, cents: int,
                                                               ) -> None:
    """Rounded half-even to the cent (the context's rounding, as ever), read back with
    exactly two decimal places."""
    money = Money()
    assert money.process_bind_param(given, None) == cents  # type: ignore[arg-type]
    back = money.process_result_value(cents, None)
    assert back is not None and back.as_tuple().exponent == -2 and back * 100 == cents
    assert money.process_bind_param(None, None) is None
    assert money.process_result_value(None, None) is None
    with pytest.raises(InvalidOperation):  # more digits than the context holds
        money.process_bind_param(Decimal("9" * 27 + ".5"), None)
