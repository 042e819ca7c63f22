"""``export --json``: every application in the shape SPEC §5 fixes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from worker.db.models import Application, Invoice, Mail
from worker.message.model import header_message_id
from worker.text import money


def export_applications(session: Session) -> dict[str, list[dict[str, Any]]]:
    apps = session.scalars(
        select(Application)
        .join(Mail)
        .order_by(Mail.id, Application.position)
        .options(
            selectinload(Application.mail),
            selectinload(Application.reasons),
            selectinload(Application.invoices).selectinload(Invoice.items),
            selectinload(Application.shipment),
        )
    )
    return {"applications": [application_dict(app) for app in apps]}


def application_dict(app: Application) -> dict[str, Any]:
    shipment = app.shipment
    return {
        "message_id": header_message_id(app.mail.message_id),
        "attachment": app.attachment,
        "status": app.status,
        "reasons": [{"code": r.code, "line": r.line, "detail": r.detail} for r in app.reasons],
        "unit": app.unit,
        "district": app.district,
        "invoices": [invoice_dict(inv) for inv in app.invoices],
        "shipment": None if shipment is None else {
            "waybill": shipment.waybill,
            "recipient": shipment.recipient,
            "phone": shipment.phone,
            "address": shipment.address,
            "postage_due": money(shipment.postage_due),
            "label_pdf": shipment.label_pdf,
        },
    }


def invoice_dict(inv: Invoice) -> dict[str, Any]:
    """SPEC §5's invoice. A platform-mode invoice (one with a 发票流水号) also shows
    ``serial`` and ``state``; its ``number`` is null until the platform issued it, then
    the official 20-digit number (issue 8)."""
    data: dict[str, Any] = {
        "number": inv.number,
        "code": inv.code,
        "amount": money(inv.amount),
        "orders": [item.order_no for item in inv.items],
        "pdf": inv.pdf_path,
    }
    if inv.serial is not None:
        data |= {"serial": inv.serial, "state": inv.state}
    return data
