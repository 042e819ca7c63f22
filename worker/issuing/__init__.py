"""Issuing for an accepted application, in the caller's transaction: invoice numbers,
invoices with their orders, and the one parcel with its waybill and postage due.

``issue`` creates them for a stored application (staff approval, a re-plan);
``plan_new`` decides them for a new one in memory, for intake to store with a few
Core statements (``worker.intake.write``). Both plan with the same functions below."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from worker.config import Config
from worker.courier.pool import allocate_waybill
from worker.db.models import Application, Invoice, InvoiceItem, Shipment
from worker.issuing.facts import CourierFacts, SellerFacts
from worker.issuing.numbers import HeldCounters, allocate
from worker.issuing.plan import PlannedInvoice, parcel_weight, plan_invoices, postage
from worker.status import InvoiceState, InvoiceType, IssueMode, ParcelStatus
from worker.tax.model import make_serial
from worker.validation import normalize


def issue(session: Session, app: Application, config: Config) -> list[Invoice]:
    """Create invoices (and, for a courier, the parcel) for the stored ``app`` (staff
    approval, a re-plan after a failure); the caller commits or rolls back. A new
    application from intake is planned by ``plan_new`` instead, with the same rules.

    Print mode (``[invoicing] mode``): each invoice gets the next number of the paper
    stock and is ISSUED at once. Platform mode: each gets the next 发票流水号 of the
    ``serial:<prefix>`` counter (gap-free, never reused, ``make_serial``) and is PLANNED,
    its number NULL until ``tax import`` records the official one. An application
    planned again (a failed or reversed invoice, fixed and approved by staff) plans only
    the orders none of its live invoices holds, on new 流水号, and keeps its parcel: a
    parcel is one per application (``shipments.application_id`` is unique), so never a
    second waybill. ``delivery = "email"`` makes no parcel at all."""
    lines = [line for line in app.lines if not line.dropped]
    planned = _plan(app, config, lines, held=_held_orders(app))
    keys = _numbers(session, config, len(planned), None)
    shipment = app.shipment
    new_parcel = shipment is None and not config.invoicing.by_email
    # Both counters before anything is added: the lookups have nothing to autoflush.
    # An API provider's waybill is ordered after the commit (worker.courier.ordering).
    waybill = (allocate_waybill(session, config)
               if new_parcel and config.courier.provider == "pool" else None)
    rows = [dict(row, application_id=app.id) for row in invoice_rows(app, config, keys, planned)]
    # One INSERT ... RETURNING for all invoices (the unit of work sends one per row on
    # SQLite); the returned objects are in the session, put back in the plan's order.
    invoices: list[Invoice] = []
    if rows:
        order = {key: i for i, key in enumerate(keys)}
        invoices = sorted(session.scalars(insert(Invoice).returning(Invoice), rows),
                          key=lambda invoice: order[invoice.serial or invoice.number])
    for invoice in invoices:
        set_committed_value(invoice, "application", app)
    if "invoices" not in inspect(app).unloaded:  # else a later read loads them all
        set_committed_value(app, "invoices", sorted([*app.invoices, *invoices], key=lambda i: i.id))
    if new_parcel:
        session.add(Shipment(application=app,
                             **shipment_values(app, len(invoices), config, waybill)))
    elif shipment is not None and shipment.label_pdf is None:
        _resize(shipment, app, config)
    session.flush()
    _add_items(session, invoices, planned)
    return invoices


@dataclass
class NewIssue:
    """A new application's issuing decided in memory (``plan_new``); its caller (intake,
    ``worker.intake.write``) stores it once the application has its id."""

    invoices: list[dict[str, Any]]      # the invoices' columns but application_id
    items: list[list[dict[str, Any]]]   # each invoice's items' columns but invoice_id
    parcel: bool                        # a parcel is made (not delivery = "email")
    waybill: str | None                 # its pool waybill; None: ordered after the commit


def plan_new(session: Session, app: Any, config: Config, lines: Iterable[Any],
             counters: HeldCounters) -> NewIssue:
    """What ``issue`` would create for a new accepted application (``app``: its column
    values as attributes; ``lines``: its undropped lines), numbers taken from
    ``counters`` (an intake chunk's, ``worker.issuing.numbers.HeldCounters``). Nothing
    is stored; the numbers go back with ``counters.reset``."""
    planned = _plan(app, config, lines, held=set())
    keys = _numbers(session, config, len(planned), counters)
    parcel = not config.invoicing.by_email
    waybill = (allocate_waybill(session, config, counters)
               if parcel and config.courier.provider == "pool" else None)
    return NewIssue(invoice_rows(app, config, keys, planned), item_rows(planned), parcel, waybill)


def _plan(app: Any, config: Config, lines: Iterable[Any], held: set[str]) -> list[PlannedInvoice]:
    """The invoices of ``lines`` whose year and amount were read, ``held`` orders left out."""
    mode = normalize.issue_mode(app.issue_mode) or IssueMode.COMBINED
    paid = [
        (line.order_no, line.name, line.id_number, line.year, line.amount)
        for line in lines
        if line.year is not None and line.amount is not None and line.order_no not in held
    ]
    inv_cfg = config.invoice
    return plan_invoices(paid, mode, inv_cfg.per_invoice_limit, inv_cfg.tax_rate)


def _numbers(session: Session, config: Config, count: int,
             counters: HeldCounters | None) -> list[str]:
    """The keys of ``count`` new invoices: 流水号 (platform mode) or paper numbers."""
    inv_cfg, invoicing = config.invoice, config.invoicing
    if invoicing.platform:
        return [make_serial(invoicing.serial_prefix, n, invoicing.serial_digits)
                for n in allocate(session, f"serial:{invoicing.serial_prefix}", count,
                                  first=1, last=10 ** invoicing.serial_digits - 1, held=counters)]
    return [f"{number:08d}" for number in
            allocate(session, f"invoice:{inv_cfg.code}", count,
                     first=inv_cfg.first_number, last=inv_cfg.last_number, held=counters)]


def invoice_rows(app: Any, config: Config, keys: list[str],
                 planned: list[PlannedInvoice]) -> list[dict[str, Any]]:
    """The invoices' columns (but ``application_id``), in the plan's order."""
    inv_cfg = config.invoice
    invoice_type = normalize.invoice_type(app.invoice_type) or InvoiceType.NORMAL
    seller = _seller_json(config)  # what these invoices print, for good
    # Text as text (str(), as the column stores it): intake's rows are then checked for
    # storage all at once (``worker.db.types.as_stored_all``), not row by row.
    common = dict(invoice_type=str(invoice_type),
                  buyer_name=app.buyer_name or app.unit, tax_id=app.tax_id.upper(),
                  address_phone=app.address_phone, bank_account=app.bank_account,
                  tax_rate=str(inv_cfg.tax_rate), seller_json=seller,
                  issuer=inv_cfg.issuer)  # staff approval sets theirs
    if config.invoicing.platform:  # a 数电票 has no 发票代码; its number comes from the platform
        numbering = [dict(code="", number=None, serial=key, state=str(InvoiceState.PLANNED))
                     for key in keys]
    else:
        numbering = [dict(code=inv_cfg.code, number=key, serial=None,
                          state=str(InvoiceState.ISSUED)) for key in keys]
    return [dict(common, **numbers, amount=plan.amount, net=plan.net, tax=plan.tax)
            for numbers, plan in zip(numbering, planned, strict=True)]


#: The last ``[seller]`` and ``[invoice]`` sections asked about and their snapshot's text.
#: Every application a pass accepts asks with the same two (frozen: what they say cannot
#: change, and held here, their identity cannot be reused), so the snapshot is built and
#: looked up once, not per application.
_LAST_SELLER: tuple[Any, Any, str] | None = None


def _seller_json(config: Config) -> str:
    """``SellerFacts.from_config(config).to_json()``."""
    global _LAST_SELLER
    last = _LAST_SELLER
    if last is None or last[0] is not config.seller or last[1] is not config.invoice:
        last = _LAST_SELLER = (config.seller, config.invoice,
                               SellerFacts.from_config(config).to_json())
    return last[2]


def item_rows(planned: list[PlannedInvoice]) -> list[list[dict[str, Any]]]:
    """Each planned invoice's items' columns (but ``invoice_id``)."""
    return [[{"position": i, "order_no": item.order_no, "name": item.name,
              "id_number": item.id_number, "year": item.year, "amount": item.amount,
              "net": item.net, "tax": item.tax} for i, item in enumerate(plan.items)]
            for plan in planned]


def _held_orders(app: Application) -> set[str]:
    """Orders on the application's own live invoices (kept when it is planned again)."""
    return {item.order_no for invoice in app.invoices
            if InvoiceState(invoice.state).holds_orders for item in invoice.items if item.active}


def _resize(shipment: Shipment, app: Application, config: Config) -> None:
    """A parcel not yet labelled carries the application's live invoices: its count,
    weight and postage follow a re-plan (a labelled one is as printed)."""
    live = sum(InvoiceState(i.state).holds_orders for i in app.invoices)
    courier = config.courier
    shipment.invoices = live
    shipment.weight_grams = parcel_weight(live, courier.envelope_grams, courier.invoice_grams)
    rate = courier.rate_for(app.district)
    shipment.postage_due = postage(shipment.weight_grams, rate.first_kg, rate.extra_kg)


def _add_items(session: Session, invoices: list[Invoice], planned: list[PlannedInvoice]) -> None:
    """All items in one INSERT ... RETURNING (the unit of work would send one per row on
    SQLite), then each invoice's ``items`` set to exactly what was stored."""
    rows = [dict(item, invoice_id=invoice.id)
            for invoice, items in zip(invoices, item_rows(planned), strict=True)
            for item in items]
    stored: dict[int, list[InvoiceItem]] = {invoice.id: [] for invoice in invoices}
    if rows:
        for item in session.scalars(insert(InvoiceItem).returning(InvoiceItem), rows):
            stored[item.invoice_id].append(item)
    for invoice in invoices:
        items = sorted(stored[invoice.id], key=lambda item: item.position)
        set_committed_value(invoice, "items", items)
        for item in items:
            set_committed_value(item, "invoice", invoice)


def shipment_values(app: Any, invoices: int, config: Config, waybill: str | None,
                    *, reference: str | None = None) -> dict[str, Any]:
    """The parcel's columns but ``application_id`` (``app``: a stored application or its
    values, id given); ``waybill`` None: "to order" from the configured API provider,
    with ``reference`` (default ``<reference_prefix><application id>``) as its key."""
    courier = config.courier
    weight = parcel_weight(invoices, courier.envelope_grams, courier.invoice_grams)
    rate = courier.rate_for(app.district)
    return dict(
        waybill=waybill,
        provider=courier.provider,
        reference=None if waybill is not None else reference or f"{courier.reference_prefix}{app.id}",
        status=ParcelStatus.ORDERED if waybill is not None else ParcelStatus.TO_ORDER,
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
