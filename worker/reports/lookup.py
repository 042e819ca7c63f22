"""Find a payment while a unit is on the phone: by order number, name or ID number.

The query is normalised as staff type it (full-width digits and letters, spaces, a
lower-case x in an ID number). An order number matches exactly or by its start, a name
exactly or as part, an ID number exactly or by its last 6+ characters (people read out
the end of an ID). At most ``limit`` hits, with the invoice an order is on, if any.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from worker.db.models import Invoice, InvoiceItem, Payment

MAX_QUERY = 64


@dataclass(frozen=True)
class PaymentHit:
    payment: Payment
    invoice_number: str | None
    application_id: int | None


def clean_query(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split())[:MAX_QUERY]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_payments(session: Session, text: str, limit: int = 50) -> list[PaymentHit]:
    q = clean_query(text)
    if not q:
        return []
    upper = q.upper()
    conditions = [Payment.order_no == q, Payment.order_no.like(_like(q) + "%", escape="\\"),
                  Payment.name == q, Payment.name.like("%" + _like(q) + "%", escape="\\"),
                  func.upper(Payment.id_number) == upper]
    if len(q) >= 6:
        conditions.append(func.upper(Payment.id_number).like("%" + _like(upper), escape="\\"))
    stmt = (select(Payment, Invoice.number, Invoice.application_id)
            .outerjoin(InvoiceItem, InvoiceItem.order_no == Payment.order_no)
            .outerjoin(Invoice, Invoice.id == InvoiceItem.invoice_id)
            .where(or_(*conditions)).order_by(Payment.order_no).limit(limit))
    return [PaymentHit(p, n, a) for p, n, a in session.execute(stmt)]
