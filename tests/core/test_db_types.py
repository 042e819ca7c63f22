"""``worker.db.types.UtcDateTime`` converts as ``replace(tzinfo=...)`` would: the same
value, type, tzinfo and fold, whichever way it builds the result."""

from __future__ import annotations

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
