"""``worker.db.types.UtcDateTime`` converts as ``replace(tzinfo=...)`` would: the same
value, type, tzinfo and fold, whichever way it builds the result."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from worker.db.types import UtcDateTime


class _Later(datetime):
    """A datetime subclass: its type is kept, as ``replace`` keeps it."""


def _same(a: datetime, b: datetime) -> bool:
    return (a == b and type(a) is type(b) and a.tzinfo is b.tzinfo and a.fold == b.fold
            and a.isoformat() == b.isoformat())


_NAIVE = [datetime(2018, 12, 3, 8, 5, 1, 1234), datetime(2026, 11, 1, 1, 30, fold=1),
          datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999),
          _Later(2020, 2, 29, 12, 0, fold=1)]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_a_stored_time_reads_back_as_replace_gives_it(dialect: object) -> None:
    kind = UtcDateTime()
    for value in _NAIVE:
        assert _same(kind.process_result_value(value, dialect), value.replace(tzinfo=UTC))
    assert kind.process_result_value(None, dialect) is None


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_an_aware_time_binds_as_replace_gives_it(dialect: object) -> None:
    kind = UtcDateTime()
    zones = [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
    for value in _NAIVE[:2] + _NAIVE[-1:]:
        for zone in zones:
            aware = value.replace(tzinfo=zone)
            assert _same(kind.process_bind_param(aware, dialect),
                         aware.astimezone(UTC).replace(tzinfo=None))
    with pytest.raises(ValueError, match="naive"):
        kind.process_bind_param(_NAIVE[0], sqlite.dialect())


def test_sqlite_binds_an_aware_time_as_the_composed_processors_write_it() -> None:
    """SQLite's one-step writer (``UtcDateTime.bind_processor``) gives the text that
    ``process_bind_param`` and SQLite's ``DATETIME`` processor give together, and
    refuses what they refuse."""
    dialect = sqlite.dialect()
    kind = UtcDateTime().dialect_impl(dialect)
    fast = kind.bind_processor(dialect)
    composed = super(UtcDateTime, kind).bind_processor(dialect)
    assert fast is not None and composed is not None and fast is not composed
    zones = [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
    values = [value.replace(tzinfo=zone) for value in _NAIVE for zone in zones
              if (value.year, zone) not in ((1, zones[1]), (9999, zones[2]))]  # overflows
    for value in [*values, None, datetime(2018, 9, 1, tzinfo=UTC)]:
        assert fast(value) == composed(value)
    for refused in (_NAIVE[0], datetime(1, 1, 1, tzinfo=zones[1])):
        with pytest.raises(Exception) as expected:
            composed(refused)
        with pytest.raises(type(expected.value), match=re.escape(str(expected.value))):
            fast(refused)
