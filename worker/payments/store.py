"""Storing payment records: upserted by 订单号, a refund final (``final_status``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.db.models import Payment, PaymentImport
from worker.db.types import utcnow
from worker.payments.results import ImportResult, RowError
from worker.validation.model import PaymentRow, final_status


def store_payments(session: Session, source: str, rows: list[PaymentRow],
                   errors: list[RowError]) -> ImportResult:
    """Upsert rows in the caller's transaction. A refund is final (``final_status``): an
    older export that still says 已支付 does not un-refund an order, nor does the
    payment's own row beside the refund's in one export."""
    result = ImportResult(source=source, rows=len(rows) + sum(not e.about_file for e in errors),
                          errors=list(errors))
    latest: dict[str, PaymentRow] = {}
    for row in rows:
        # One export may list an order twice (its refund and its payment); which row is
        # newer cannot be told from the file, so the refund is final here as well.
        before = latest.get(row.order_no)
        latest[row.order_no] = (row._replace(status=final_status(before.status, row.status))
                                if before else row)
    existing = {
        p.order_no: p
        for chunk in _chunks(list(latest), 500)
        for p in session.scalars(select(Payment).where(Payment.order_no.in_(chunk)))
    }
    now = utcnow()
    for order_no, row in latest.items():
        current = existing.get(order_no)
        values = {
            "name": row.name, "id_number": row.id_number, "year": row.year, "amount": row.amount,
            "paid_at": row.paid_at, "method": row.method, "status": row.status,
        }
        if current is None:
            session.add(Payment(order_no=order_no, source=source, imported_at=now,
                                updated_at=now, **values))
            result.inserted += 1
            continue
        values["status"] = final_status(current.status, row.status)
        if all(getattr(current, k) == v for k, v in values.items()):
            result.unchanged += 1
            continue
        for k, v in values.items():
            setattr(current, k, v)
        current.source = source
        current.updated_at = now
        result.updated += 1
    session.add(PaymentImport(
        source=source[:255], rows=result.rows, inserted=result.inserted, updated=result.updated,
        unchanged=result.unchanged,
        errors=json.dumps([str(e) for e in result.errors], ensure_ascii=False),
    ))
    return result


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
