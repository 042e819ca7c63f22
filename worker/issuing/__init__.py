"""Issuing for an accepted application, in the caller's transaction: invoice numbers,
invoices with their orders, and the one parcel with its waybill and postage due."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from worker.config import Config
from worker.db.models import Application, Invoice, InvoiceItem, Shipment
from worker.issuing.numbers import allocate
from worker.issuing.plan import parcel_weight, plan_invoices, postage
from worker.status import InvoiceType, IssueMode
from worker.validation import normalize


def issue(session: Session, app: Application, config: Config) -> list[Invoice]:
    """Create invoices and the shipment for ``app``; the caller commits or rolls back."""
    inv_cfg = config.invoice
    mode = normalize.issue_mode(app.issue_mode) or IssueMode.COMBINED
    lines = [
        (line.order_no, line.name, line.id_number, line.year, line.amount)
        for line in app.lines
        if not line.dropped and line.year is not None and line.amount is not None
    ]
    planned = plan_invoices(lines, mode, inv_cfg.per_invoice_limit, inv_cfg.tax_rate)
    numbers = allocate(session, f"invoice:{inv_cfg.code}", len(planned),
                       first=inv_cfg.first_number, last=inv_cfg.last_number)
    invoice_type = normalize.invoice_type(app.invoice_type) or InvoiceType.NORMAL
    invoices: list[Invoice] = []
    for number, plan in zip(numbers, planned, strict=True):
        invoice = Invoice(
            application=app,
            code=inv_cfg.code,
            number=f"{number:08d}",
            invoice_type=str(invoice_type),
            buyer_name=app.buyer_name or app.unit,
            tax_id=app.tax_id.upper(),
            address_phone=app.address_phone,
            bank_account=app.bank_account,
            amount=plan.amount,
            net=plan.net,
            tax=plan.tax,
            tax_rate=str(inv_cfg.tax_rate),
            items=[
                InvoiceItem(position=i, order_no=item.order_no, name=item.name,
                            id_number=item.id_number, year=item.year, amount=item.amount,
                            net=item.net, tax=item.tax)
                for i, item in enumerate(plan.items)
            ],
        )
        session.add(invoice)
        invoices.append(invoice)
    session.add(make_shipment(session, app, len(invoices), config))
    session.flush()
    return invoices


def make_shipment(session: Session, app: Application, invoices: int, config: Config) -> Shipment:
    courier = config.courier
    (waybill_no,) = allocate(session, f"waybill:{courier.waybill_prefix}", 1,
                             first=courier.waybill_first, last=courier.waybill_last)
    weight = parcel_weight(invoices, courier.envelope_grams, courier.invoice_grams)
    rate = courier.rate_for(app.district)
    return Shipment(
        application=app,
        waybill=f"{courier.waybill_prefix}{waybill_no}",
        recipient=app.recipient_name,
        phone=app.recipient_phone,
        address=app.recipient_address,
        district=app.district,
        pieces=1,
        invoices=invoices,
        weight_grams=weight,
        postage_due=postage(weight, rate.first_kg, rate.extra_kg),
    )


def total(invoices: list[Invoice]) -> Decimal:
    return sum((i.amount for i in invoices), Decimal("0.00"))
