"""``worker.db.select_in.select_in`` reads exactly what ``Connection.execute`` reads
(intake's lookups, ``worker.decision.lookups_for``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.exc import StatementError

from worker.db.models import Payment
from worker.db.select_in import select_in
from worker.decision import _INVOICED, _INVOICED_ELSEWHERE, _PAYMENTS_OF
from worker.validation import PaymentRow

_PAYMENT = Payment.__table__


def _payments() -> list[dict[str, Any]]:
    return [dict(order_no=f"o{i}" + ("\x00x" if i == 3 else ""), name=f"张三{i}\ud800",
                 id_number="11010119900307777X", year=2018 + i % 3,
                 amount=Decimal("150.00") + i, paid_at=None if i % 4 else
                 datetime(2018, 12, 3, 8, i % 60, 5, 1234, tzinfo=UTC),
                 method="ONLINE", status="PAID", source="t")
            for i in range(70)]


def _execute(conn: Any, statement: Any, keys: list[str], **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(statement, {"orders": keys, **params}).all()]


@pytest.mark.parametrize("count", [1, 31, 32, 33, 70])
def test_the_rows_read_are_those_execute_reads(engine: Engine, count: int) -> None:
    keys = [f"o{i}" for i in range(count)] + ["o3\x00x", "nowhere", "o1" + "x" * 80]
    with engine.begin() as conn:
        conn.execute(_PAYMENT.insert(), _payments())
        core = _execute(conn, _PAYMENTS_OF, keys)
        fast = select_in(conn, _PAYMENTS_OF, "orders", keys)
    assert sorted(fast) == sorted(core) and len(core) >= min(count, 70)
    assert all(type(a) is type(b) for row_a, row_b in zip(sorted(fast), sorted(core),
                                                          strict=True)
               for a, b in zip(row_a, row_b, strict=True))
    amounts = {row[4] for row in fast}
    assert Decimal("150.00") in amounts and all(str(a).endswith(".00") for a in amounts)
    assert any(row[5] is not None and row[5].tzinfo is UTC for row in fast)


def test_other_parameters_are_bound_as_execute_binds_them(engine: Engine) -> None:
    with engine.begin() as conn:
        keys = ["a", "b"]
        assert select_in(conn, _INVOICED_ELSEWHERE, "orders", keys, {"application_id": 7}) \
            == _execute(conn, _INVOICED_ELSEWHERE, keys, application_id=7) == []


def test_a_value_refused_while_binding_raises_what_execute_raises(engine: Engine) -> None:
    statement = select(_PAYMENT.c.order_no).where(
        _PAYMENT.c.paid_at.in_(bindparam("times", expanding=True)))
    naive = [datetime(2018, 12, 3)]  # UtcDateTime refuses a naive time
    errors = []
    for run in (lambda c: c.execute(statement, {"times": naive}).all(),
                lambda c: select_in(c, statement, "times", naive)):
        with pytest.raises(StatementError) as caught, engine.begin() as conn:
            run(conn)
        errors.append(str(caught.value).splitlines()[0])
    assert errors[0] == errors[1]


def test_no_keys_is_a_mistake(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError):
        select_in(conn, _PAYMENTS_OF, "orders", [])


def test_the_invoiced_lookup_uses_the_partial_index_on_sqlite(tmp_path: Any) -> None:
    """Written as the index's predicate (``active``, not ``active = 1``), SQLite looks
    the orders up in ``uq_invoice_items_active_order`` instead of scanning every item."""
    from worker.db import init_db, make_engine
    engine = make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    init_db(engine)
    for statement in (_INVOICED, _INVOICED_ELSEWHERE):
        compiled = statement.compile(dialect=engine.dialect)
        state = compiled.construct_expanded_state({"orders": ["a", "b"], "application_id": 1})
        with engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + state.statement,
                                        tuple(state.positional_parameters)).all()
        steps = " / ".join(row[-1] for row in plan)
        assert "USING INDEX uq_invoice_items_active_order" in steps, steps
        assert "SCAN invoice_items" not in steps, steps
    engine.dispose()


def test_both_lookups_bind_the_orders_once_as_their_columns_would() -> None:
    """The payments' and the items' order columns clean and cut alike, so binding the
    items' with the payments' type (once, for both) binds what their own would."""
    from worker.db.models import InvoiceItem
    items, payments = InvoiceItem.__table__.c.order_no.type, _PAYMENT.c.order_no.type
    assert (type(items), items.length, items.key) == (type(payments), payments.length,
                                                      payments.key)


def test_keys_bound_once_serve_the_next_query(engine: Engine) -> None:
    keys = ["o1", "o2\x00", "o3"]
    bound: dict[Any, list[Any]] = {}
    with engine.begin() as conn:
        conn.execute(_PAYMENT.insert(), _payments())
        first = select_in(conn, _PAYMENTS_OF, "orders", keys, bound=bound)
        assert list(bound.values()) == [["o1", "o2\ufffd", "o3"]]
        again = select_in(conn, _PAYMENTS_OF, "orders", keys, bound=bound)
        invoiced = select_in(conn, _INVOICED, "orders", keys, bound=bound)
        assert len(bound) == 1  # one processor for both queries
        assert sorted(first) == sorted(again) == sorted(_execute(conn, _PAYMENTS_OF, keys))
        assert invoiced == []


def test_rows_made_as_a_named_tuple_hold_what_execute_reads(engine: Engine) -> None:
    """``into``: each row a ``PaymentRow`` of the values ``execute`` reads; amounts
    (``Money``, converted once per distinct value) the same each time they repeat."""
    rows = _payments()
    for i, row in enumerate(rows):
        row["amount"] = Decimal("150.00") if i % 3 else Decimal("-0.01") * i
    keys = [row["order_no"] for row in rows] + ["nowhere"]
    with engine.begin() as conn:
        conn.execute(_PAYMENT.insert(), rows)
        core = sorted(PaymentRow(*row) for row in _execute(conn, _PAYMENTS_OF, keys))
        for _ in range(2):  # the second time, every amount is one converted before
            fast = sorted(select_in(conn, _PAYMENTS_OF, "orders", keys, into=PaymentRow))
            assert fast == core and len(fast) == 70
            assert all(type(a) is PaymentRow for a in fast)
            assert all(type(a) is type(b) and str(a) == str(b)
                       for row_a, row_b in zip(fast, core, strict=True)
                       for a, b in zip(row_a, row_b, strict=True))
