"""What a courier label shows: from the Shipment row only, including the courier facts
it was made with (``worker.issuing.facts``; config gives only the time zone and the
output folder a provider's label PDF is stored in).

Freight is always collect: the label shows 运费到付 and the amount -- the provider's
estimate when its order answer gave one, else our rate table's. Where the provider
answered with data rather than a PDF, the route codes it gave (SF ``destRouteLabel``,
Kdniao ``MarkDestination`` 大头笔 and ``PackageName`` 集包地 ...) are printed in our
layout; a provider PDF (``provider_pdf``) is printed as the provider made it, with our
strip below it (``worker.documents.labels``).

The label is 100 x 150 mm, one page per parcel whatever the unit typed: long names
and addresses get a smaller type size class here, and the template clips what still
does not fit rather than letting a parcel spill onto a second label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from markupsafe import Markup

from worker.documents.barcode import code128_svg
from worker.documents.invoice import reference
from worker.status import InvoiceState

if TYPE_CHECKING:  # out of render processes, as in worker.documents.invoice
    from worker.config import Config
    from worker.db.models import Application, Shipment

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
    route: str = ""       # the provider's main route code (big, where the district goes)
    route_detail: str = ""  # its other sorting codes, one small line
    fee_note: str = "预估到付金额，以实际称重为准"
    provider_pdf: Path | None = None   # the provider's own label, printed as it is
    provider_pages: int = 0

    numbers: str = ""     # platform mode: the official numbers of the invoices inside


ROUTE_MAIN = ("destRouteLabel", "MarkDestination")
ROUTE_DETAIL = {"PackageName": "集包地", "SortingCode": "分拣", "codingMapping": "分拣",
                "proCode": "时效"}


def label_view(ship: Shipment, app: Application, config: Config) -> LabelView:
    from worker.issuing.facts import courier_of

    courier = courier_of(ship.courier_json, config)
    waybill = ship.waybill or ""
    codes = _codes(ship.route_codes)
    estimated = ship.estimated_fee is not None
    pdf = config.output_dir / ship.provider_label if ship.provider_label else None
    return LabelView(
        courier=courier.name,
        waybill=waybill,
        barcode=code128_svg(waybill, width_mm=BARCODE_WIDTH_MM, height_mm=BARCODE_HEIGHT_MM),
        postage_due=f"{ship.estimated_fee if estimated else ship.postage_due:.2f}",
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
        route=next((codes[k] for k in ROUTE_MAIN if codes.get(k)), "")[:24],
        route_detail="　".join(f"{title} {codes[k]}" for k, title in ROUTE_DETAIL.items()
                              if codes.get(k))[:60],
        fee_note=("快递公司预估到付金额，以实际称重为准" if estimated
                  else "预估到付金额，以实际称重为准"),
        provider_pdf=pdf,
        provider_pages=page_count(pdf) if pdf is not None else 0,
        numbers=_numbers(app),
    )


def page_count(path: Path) -> int:
    """Pages of a stored provider label (``RenderError`` upstream if it is unreadable)."""
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def _codes(stored: str | None) -> dict[str, str]:
    """The provider's route codes as stored (JSON); printed as text only."""
    try:
        data = json.loads(stored or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


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
