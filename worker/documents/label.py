"""What a courier label shows: from the Shipment row only, including the courier facts
it was made with (``worker.issuing.facts``; config gives only the time zone).

The label is 100 x 150 mm, one page per parcel whatever the unit typed: long names
and addresses get a smaller type size class here, and the template clips what still
does not fit rather than letting a parcel spill onto a second label.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from markupsafe import Markup

from worker.config import Config
from worker.db.models import Application, Shipment
from worker.documents.barcode import code128_svg
from worker.documents.invoice import reference
from worker.issuing.facts import courier_of
from worker.status import InvoiceState

BARCODE_WIDTH_MM = 88.0   # the 92 mm printable width less a margin; quiet zones inside
BARCODE_HEIGHT_MM = 18.0


@dataclass(frozen=True)
class LabelView:
    courier: str
    waybill: str
    barcode: Markup
    postage_due: str
    sender_name: str
    sender_phone: str
    sender_address: str
    recipient: str
    phone: str
    address: str
    unit: str
    district: str
    invoices: int
    pieces: int
    weight_kg: str
    date: str
    reference: str
    recipient_size: str   # "l", "m" or "s": a type size class by length
    address_size: str
    numbers: str = ""     # platform mode: the official numbers of the invoices inside


def label_view(ship: Shipment, app: Application, config: Config) -> LabelView:
    courier = courier_of(ship.courier_json, config)
    return LabelView(
        courier=courier.name,
        waybill=ship.waybill,
        barcode=code128_svg(ship.waybill, width_mm=BARCODE_WIDTH_MM, height_mm=BARCODE_HEIGHT_MM),
        postage_due=f"{ship.postage_due:.2f}",
        sender_name=courier.sender_name,
        sender_phone=courier.sender_phone,
        sender_address=courier.sender_address,
        recipient=ship.recipient,
        phone=ship.phone,
        address=ship.address,
        unit=app.unit,
        district=ship.district,
        invoices=ship.invoices,
        pieces=ship.pieces,
        weight_kg=f"{ship.weight_grams / 1000:.2f}",
        date=_date(ship, config.tz),
        reference=reference(app),
        recipient_size=_size(len(ship.recipient) + len(ship.phone) // 2, 10, 18),
        address_size=_size(len(ship.address), 36, 60),
        numbers=_numbers(app),
    )


def _numbers(app: Application) -> str:
    """The contents line's official numbers (platform mode; print mode shows none, as
    before): two in full, more as the first and a count, so the line stays one line."""
    numbers = [i.number for i in app.invoices
               if i.serial is not None and i.state == InvoiceState.ISSUED and i.number]
    if len(numbers) <= 2:
        return "、".join(numbers)
    return f"{numbers[0]} 等"


def _date(ship: Shipment, tz: ZoneInfo) -> str:
    return ship.created_at.astimezone(tz).strftime("%Y-%m-%d")


def _size(length: int, large_up_to: int, medium_up_to: int) -> str:
    if length <= large_up_to:
        return "l"
    return "m" if length <= medium_up_to else "s"
