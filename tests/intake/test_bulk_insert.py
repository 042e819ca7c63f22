"""``worker.db.bulk.insert_many`` stores exactly what ``Connection.execute`` stores."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import StatementError

from worker.db.bulk import insert_many
from worker.db.models import OutboxMessage, Payment, Staff
from worker.db.types import Money

_OUTBOX = OutboxMessage.__table__
_AT = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)


def _rows(prefix: str) -> list[dict[str, Any]]:
    return [dict(key=f"{prefix}:{i}", kind="reply", recipient="a@b.cn" + "x" * 400,
                 subject=f"主题\x00{i}\ud800", body=None if i % 2 else "正文", status="pending",
                 sent_at=_AT if i == 1 else None, attempts=i)
            for i in range(3)]


def _stored(engine: Engine, prefix: str) -> list[tuple[Any, ...]]:
    columns = [c for c in _OUTBOX.c if c.key not in ("id", "created_at", "next_attempt_at")]
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).where(_OUTBOX.c.key.like(f"{prefix}:%"))
                            .order_by(_OUTBOX.c.id)).all()
    return [(r[0].partition(":")[2], *r[1:]) for r in rows]


def test_the_same_values_are_stored(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(_OUTBOX.insert(), _rows("core"))
        insert_many(conn, _OUTBOX.insert(), _rows("bulk"))
        insert_many(conn, _OUTBOX.insert(), _rows("one")[:1])
    assert _stored(engine, "bulk") == _stored(engine, "core")
    assert _stored(engine, "one") == _stored(engine, "core")[:1]
    with engine.connect() as conn:  # the Python-side defaults were computed per row
        times = conn.execute(select(_OUTBOX.c.created_at, _OUTBOX.c.next_attempt_at)).all()
    assert all(a is not None and b is not None for a, b in times)


def test_a_value_refused_while_binding_raises_what_sqlalchemy_raises(engine: Engine) -> None:
    rows = _rows("bad")
    rows[2]["sent_at"] = datetime(2026, 3, 1)  # naive: UtcDateTime refuses it
    errors = []
    for run in (lambda c: c.execute(_OUTBOX.insert(), rows),
                lambda c: insert_many(c, _OUTBOX.insert(), rows)):
        with pytest.raises(StatementError) as caught, engine.begin() as conn:
            run(conn)
        errors.append(str(caught.value).splitlines()[0])
    assert errors[0] == errors[1]


def test_returning_gives_each_rows_values(engine: Engine) -> None:
    with engine.begin() as conn:
        core = conn.execute(_OUTBOX.insert().returning(_OUTBOX.c.id, _OUTBOX.c.key),
                            _rows("core")).all()
        bulk = insert_many(conn, _OUTBOX.insert(), _rows("bulk"), ("id", "key"))
        one = insert_many(conn, _OUTBOX.insert(), _rows("one")[:1], ("key", "id"))
    assert sorted(k.partition(":")[2] for _, k in bulk) == \
        sorted(k.partition(":")[2] for _, k in core)
    with engine.connect() as conn:
        ids = dict(conn.execute(select(_OUTBOX.c.key, _OUTBOX.c.id)).all())
    assert all(ids[key] == id_ for id_, key in bulk) and ids[one[0][0]] == one[0][1]
    assert _stored(engine, "bulk") == _stored(engine, "core")


def test_defaults_left_out_are_bound_in_their_places(engine: Engine) -> None:
    """Scalar defaults with a processor (Boolean ``active``, ``is_admin``) and a
    callable one (``created_at``) between the given keys, as SQLAlchemy binds them."""
    staff = Staff.__table__
    rows = [dict(name=f"{p}{i}", password_hash=f"h{i}", last_login_at=_AT if i else None)
            for p in ("core", "bulk") for i in range(3)]
    with engine.begin() as conn:
        conn.execute(staff.insert(), rows[:3])
        insert_many(conn, staff.insert(), rows[3:])
        stored = conn.execute(select(staff.c.name, staff.c.password_hash, staff.c.active,
                                     staff.c.is_admin, staff.c.last_login_at,
                                     staff.c.created_at.is_not(None))
                              .order_by(staff.c.id)).all()
    core, bulk = stored[:3], stored[3:]
    assert [r[1:] for r in core] == [r[1:] for r in bulk]
    assert all(r[2] is True and r[3] is False and r[5] for r in bulk)


def _payments(prefix: str, amounts: list[Any]) -> list[dict[str, Any]]:
    return [dict(order_no=f"{prefix}:{i}", name="张三", id_number="X", year=2025, amount=a,
                 paid_at=None, method="ONLINE", status="PAID", source="s")
            for i, a in enumerate(amounts)]


def _amounts(engine: Engine, prefix: str) -> list[tuple[str, Any]]:
    payments = Payment.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(payments.c.order_no, payments.c.amount)
                            .where(payments.c.order_no.like(f"{prefix}:%"))).all()
    return sorted((order.partition(":")[2], amount) for order, amount in rows)


def test_amounts_converted_once_per_value_bind_as_sqlalchemy_binds_them(engine: Engine) -> None:
    """``Money`` binds by value (``bind_by_value``): equal amounts of other types or
    exponents, and amounts met before by the same statement shape, store as
    SQLAlchemy stores each."""
    assert Money.bind_by_value
    amounts = [Decimal("150.00"), Decimal("150"), 150, Decimal("150.004"), Decimal("0.005"),
               Decimal("0.015"), Decimal("-0.015"), 1.5, True, Decimal("150.00")]
    insert = Payment.__table__.insert()
    with engine.begin() as conn:
        conn.execute(insert, _payments("core", amounts))
        insert_many(conn, insert, _payments("bulk", amounts))
        insert_many(conn, insert, _payments("again", amounts))  # each one met before
    core = _amounts(engine, "core")
    assert _amounts(engine, "bulk") == core
    assert _amounts(engine, "again") == core


def test_an_amount_refused_while_binding_raises_each_time(engine: Engine) -> None:
    """A value ``Money`` refuses is not kept among those converted: each statement
    raises SQLAlchemy's own error for it."""
    insert = Payment.__table__.insert()
    errors = []
    rows = _payments("p", [Decimal("1.00"), Decimal("NaN"), Decimal("1.00")])
    for run in (lambda c: c.execute(insert, rows), lambda c: insert_many(c, insert, rows),
                lambda c: insert_many(c, insert, rows)):
        with pytest.raises(StatementError) as caught, engine.begin() as conn:
            run(conn)
        errors.append(str(caught.value).splitlines()[0])
    assert errors[0] == errors[1] == errors[2]
