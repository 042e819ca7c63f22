"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import BigInteger, DateTime
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.type_api import TypeEngine
from sqlalchemy.types import TypeDecorator

from worker.text import CENT, needs_cleaning, storable

#: At most this many UTF-8 bytes in a unique key: PostgreSQL's B-tree refuses an index
#: entry over 2704 bytes ("index row size exceeds btree version 4 maximum"), which a
#: VARCHAR(900) of 4-byte characters (CJK extension B) would exceed.
KEY_BYTES = 2000
_EQUALITY = (operators.eq, operators.ne, operators.in_op, operators.not_in_op)


class Money(TypeDecorator[Decimal]):
    """Amounts stored as integer cents: exact on every backend (SQLite has no DECIMAL)."""

    impl = BigInteger
    cache_ok = True
    #: Equal amounts bind alike (the cents of the value, whatever its type or exponent),
    #: and equal cents read alike (immutable Decimals): ``worker.db.bulk`` and
    #: ``worker.db.select_in`` convert each distinct one once per statement.
    bind_by_value = result_by_value = True

    # Cents by moving the exponent (``scaleb``), the same number as multiplying by 100
    # and dividing by it: a quantized amount's coefficient (at most the context's 28
    # digits) is the count of cents, and a stored count of cents is at most 19 digits.
    # Shifting rounds nothing and skips a multiplication (or division and quantize) per
    # value, of which an intake chunk binds thousands.

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if type(value) is not Decimal:
            value = Decimal(value)
        return int(value.quantize(CENT).scaleb(2))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-2)


#: Characters of ``isoformat(" ", "microseconds")`` before an aware time's offset.
_NAIVE_TEXT = len("2000-01-01 00:00:00.000000")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC out; stored naive UTC so SQLite round-trips too."""

    impl = DateTime
    cache_ok = True

    # A plain datetime is rebuilt with ``combine`` rather than ``replace(tzinfo=...)``:
    # the same value (date, time, fold; the tzinfo given), at a quarter of the cost
    # (CPython's ``replace`` parses its arguments twice). An intake chunk reads a
    # payment time per trainee line. A subclass's value still goes through ``replace``,
    # which keeps its type.

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        if type(value) is datetime:
            return datetime.combine(value.date(), value.time())
        return value.replace(tzinfo=None)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """``process_bind_param`` then the dialect's own processor, as ``TypeDecorator``
        composes them; on SQLite, whose ``DATETIME`` writes text in its default format
        (``YYYY-MM-DD HH:MM:SS.ffffff``), a plain aware ``datetime`` is written in one
        step: ``isoformat``'s text for it (naive UTC), the same characters. An intake
        chunk binds a dozen times a mail, and the format with seven attributes in a
        dict cost twice the rest of the step."""
        composed = super().bind_processor(dialect)
        impl = self.impl_instance.dialect_impl(dialect)
        if composed is None or type(impl) is not sqlite.DATETIME \
                or impl._storage_format != sqlite.DATETIME._storage_format:
            return composed

        def process(value: Any) -> Any:
            if type(value) is not datetime or value.tzinfo is None:
                return composed(value)  # None, a subclass, a naive one (refused there)
            return value.astimezone(UTC).isoformat(" ", "microseconds")[:_NAIVE_TEXT]

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if type(value) is datetime:
            return datetime.combine(value.date(), value.time(), UTC)
        return value.replace(tzinfo=UTC)


class String(TypeDecorator[str]):
    """``sqlalchemy.String`` that stores only what both databases accept.

    Every value bound to the column, in INSERT, UPDATE and WHERE alike, passes through
    ``worker.text.storable``: NUL and lone surrogates replaced, cut to ``length``
    characters (a varchar on PostgreSQL refuses a longer value, SQLite would keep
    it). This is the one place where text from a mail, a form or a payment export is
    made storable; ``worker.db.models`` declares every text column with it.

    ``key=True`` is for a unique key from outside (a Message-ID): a value too long for
    the column (or for a B-tree entry, ``KEY_BYTES``) keeps a prefix and ends in
    ``#`` and the SHA-256 of the whole cleaned value, so two long keys that share a
    prefix stay distinct and the same key always maps to the same stored text.

    Comparisons other than equality (LIKE patterns) are cleaned but not cut."""

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int | None = None, key: bool = False) -> None:
        super().__init__(length)
        self.length = length
        self.key = key

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if self.key:
            return storable_key(str(value), self.length)
        text = value if type(value) is str else str(value)
        if text.isascii() and "\x00" not in text:  # nothing to clean (needs_cleaning)
            return text if self.length is None else text[:self.length]
        return storable(text, self.length)

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        if op in _EQUALITY:
            return self  # a lookup is cut exactly as the stored value was
        return Text() if isinstance(value, str) else super().coerce_compared_value(op, value)


def as_stored(values: dict[str, Any], columns: Sequence[tuple[str, String]]) -> dict[str, Any]:
    """A copy of ``values`` whose text in ``columns`` (key, type) is as those types store
    it (``String.process_bind_param``): what the database gives back, without asking it.
    The row's texts (``str``, no unique key) are checked together: when none needs
    cleaning (``worker.text.needs_cleaning``) each is only cut to its column, all that
    ``storable`` does to it; otherwise, and for any other value, each is processed."""
    stored = dict(values)
    plain: list[tuple[str, str, int | None]] = []
    for key, kind in columns:
        value = stored.get(key)
        if value is None:
            continue  # absent stays absent; None is bound as None
        if type(value) is str and not kind.key:
            plain.append((key, value, kind.length))
        else:
            stored[key] = kind.process_bind_param(value, None)
    if not plain:
        return stored
    if needs_cleaning("".join([value for _, value, _ in plain])):
        for key, value, length in plain:
            stored[key] = storable(value, length)
    else:
        for key, value, length in plain:
            if length is not None and len(value) > length:
                stored[key] = value[:length]
    return stored


def as_stored_all(rows: list[dict[str, Any]], columns: Sequence[tuple[str, String]],
                  ) -> list[dict[str, Any]]:
    """``as_stored`` of each of ``rows``, their texts looked at together: when none of
    them needs cleaning (one ``needs_cleaning`` over all, as ``as_stored`` does over a
    row's), a row whose texts fit their columns comes back as it is (the same dict:
    callers pass rows of their own, which they may then change) and one with a longer
    text as a copy, cut. Rows with anything else in a text column (a value that is no
    ``str``, a unique key's column) and texts that need cleaning go through
    ``as_stored``, row by row."""
    keys, lengths, shortest, keyed = _text_columns(tuple(columns))
    if keyed:
        return [as_stored(row, columns) for row in rows]
    # Every row's values, column by column within a row: one comprehension for all,
    # then each question asked of all of them at once (a few C loops, not a Python
    # step per value).
    values = [row.get(key) for row in rows for key in keys]
    texts = [value for value in values if value is not None] if None in values else values
    if not set(map(type, texts)) <= {str} or needs_cleaning("".join(texts)):
        return [as_stored(row, columns) for row in rows]
    longest = max(map(len, texts), default=0)
    if longest <= shortest:
        return list(rows)  # no text is longer than the shortest column: none is cut
    width = len(keys)
    # The columns a text is longer than (only those shorter than the longest text can be).
    over = [(place, key, length)
            for place, (key, length) in enumerate(zip(keys, lengths, strict=True))
            if length is not None and length < longest
            and max(map(len, filter(None, values[place::width])), default=0) > length]
    if not over:
        return list(rows)
    out = []
    for start, row in zip(range(0, len(values), width), rows, strict=True):
        cut = {key: value[:length] for place, key, length in over
               if (value := values[start + place]) is not None and len(value) > length}
        out.append({**row, **cut} if cut else row)
    return out


@lru_cache(maxsize=64)
def _text_columns(columns: tuple[tuple[str, String], ...],
                  ) -> tuple[tuple[str, ...], tuple[int | None, ...], float, bool]:
    """``as_stored_all``'s view of ``columns``: their keys, their lengths (None: no
    limit), the shortest length (infinite when none has one), whether any is a unique
    key's column."""
    limits = [kind.length for _, kind in columns if kind.length is not None]
    return (tuple(key for key, _ in columns), tuple(kind.length for _, kind in columns),
            min(limits, default=math.inf), any(kind.key for _, kind in columns))


class Text(TypeDecorator[str]):
    """``sqlalchemy.Text`` that stores only what both databases accept (NUL and lone
    surrogates replaced, see ``String``); no length limit."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else storable(str(value))


def storable_key(value: str, length: int | None) -> str:
    """A unique key cleaned and, when too long, cut to a prefix plus ``#`` and its
    SHA-256 (hex): at most ``length`` characters and ``KEY_BYTES`` UTF-8 bytes."""
    value = storable(value)
    limit = length or KEY_BYTES
    if len(value) <= limit and len(value.encode("utf-8")) <= KEY_BYTES:
        return value
    digest = "#" + hashlib.sha256(value.encode("utf-8")).hexdigest()
    prefix = value[:limit - len(digest)]
    while len(prefix.encode("utf-8")) > KEY_BYTES - len(digest):
        prefix = prefix[:len(prefix) * 3 // 4]
    return prefix + digest


def utcnow() -> datetime:
    return datetime.now(UTC)
