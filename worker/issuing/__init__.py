"""Issuing for an accepted application, in the caller's transaction: invoice numbers,
invoices with their orders, and the one parcel with its waybill and postage due."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from worker.config import Config
from worker.db.models import Application, Invoice, InvoiceItem, Shipment
from worker.issuing.facts import CourierFacts, SellerFacts
from worker.issuing.numbers import allocate
from worker.issuing.plan import parcel_weight, plan_invoices, postage
from worker.status import InvoiceType, IssueMode
from worker.validation import normalize


def issue(session: Session, app: Application, config: Config,
          lines: Iterable[Any] | None = None) -> list[Invoice]:
    """Create invoices and the shipment for ``app``; the caller commits or rolls back.

    ``lines``: the application's undropped lines when the caller has them at hand
    (default: ``app.lines``)."""
    inv_cfg = config.invoice
    mode = normalize.issue_mode(app.issue_mode) or IssueMode.COMBINED
    if lines is None:
        lines = [line for line in app.lines if not line.dropped]
    paid = [
        (line.order_no, line.name, line.id_number, line.year, line.amount)
        for line in lines
        if line.year is not None and line.amount is not None
    ]
    planned = plan_invoices(paid, mode, inv_cfg.per_invoice_limit, inv_cfg.tax_rate)
    numbers = allocate(session, f"invoice:{inv_cfg.code}", len(planned),
                       first=inv_cfg.first_number, last=inv_cfg.last_number)
    courier = config.courier
    # Both counters before anything is added: the lookups have nothing to autoflush.
    (waybill_no,) = allocate(session, f"waybill:{courier.waybill_prefix}", 1,
                             first=courier.waybill_first, last=courier.waybill_last)
    invoice_type = normalize.invoice_type(app.invoice_type) or InvoiceType.NORMAL
    if app.id is None:
        session.flush()  # the invoices' rows need the application's id
    seller = SellerFacts.from_config(config).to_json()  # what these invoices print, for good
    rows = [
        dict(application_id=app.id, code=inv_cfg.code, number=f"{number:08d}",
             invoice_type=str(invoice_type), buyer_name=app.buyer_name or app.unit,
             tax_id=app.tax_id.upper(), address_phone=app.address_phone,
             bank_account=app.bank_account, amount=plan.amount, net=plan.net, tax=plan.tax,
             tax_rate=str(inv_cfg.tax_rate), seller_json=seller)
        for number, plan in zip(numbers, planned, strict=True)
    ]
    # One INSERT ... RETURNING for all invoices (the unit of work sends one per row on
    # SQLite); the returned objects are in the session, put back in the plan's order.
    invoices: list[Invoice] = []
    if rows:
        order = {row["number"]: i for i, row in enumerate(rows)}
        invoices = sorted(session.scalars(insert(Invoice).returning(Invoice), rows),
                          key=lambda invoice: order[invoice.number])
    for invoice in invoices:
        set_committed_value(invoice, "application", app)
    if "invoices" not in inspect(app).unloaded:  # else a later read loads them all
        set_committed_value(app, "invoices",
                            sorted([*app.invoices, *invoices], key=lambda i: i.number))
    session.add(make_shipment(app, len(invoices), config, waybill_no))
    session.flush()
    _add_items(session, invoices, planned)
    return invoices


def _add_items(session: Session, invoices: list[Invoice], planned: list[Any]) -> None:
    """All items in one INSERT ... RETURNING (the unit of work would send one per row on
    SQLite), then each invoice's ``items`` set to exactly what was stored."""
    rows = [
        dict(invoice_id=invoice.id, position=i, order_no=item.order_no, name=item.name,
             id_number=item.id_number, year=item.year, amount=item.amount,
             net=item.net, tax=item.tax)
        for invoice, plan in zip(invoices, planned, strict=True)
        for i, item in enumerate(plan.items)
    ]
    stored: dict[int, list[InvoiceItem]] = {invoice.id: [] for invoice in invoices}
    if rows:
        for item in session.scalars(insert(InvoiceItem).returning(InvoiceItem), rows):
            stored[item.invoice_id].append(item)
    for invoice in invoices:
        items = sorted(stored[invoice.id], key=lambda item: item.position)
        set_committed_value(invoice, "items", items)
        for item in items:
            set_committed_value(item, "invoice", invoice)


def make_shipment(app: Application, invoices: int, config: Config, waybill_no: int) -> Shipment:
    courier = config.courier
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
        courier_json=CourierFacts.from_config(config).to_json(),
    )


def total(invoices: list[Invoice]) -> Decimal:
    return sum((i.amount for i in invoices), Decimal("0.00"))
