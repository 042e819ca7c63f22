"""What a manifest says, independent of format: the xlsx, the PDF and the mail all
render this one view, so the three can never disagree on a parcel or a total."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from worker.config import Config
from worker.db.models import Manifest, Shipment
from worker.issuing.facts import courier_of

HEADERS = ("序号", "运单号", "收件人", "电话", "地址", "区", "件数", "重量(kg)", "到付金额(元)")
"""SPEC §4's columns (in Chinese, as couriers read them), led by a running number."""

GRAM = Decimal("0.001")


@dataclass(frozen=True)
class Parcel:
    seq: int
    waybill: str
    recipient: str
    phone: str
    address: str
    district: str
    pieces: int
    weight_kg: Decimal
    postage: Decimal


@dataclass(frozen=True)
class ManifestSheet:
    number: int
    created_at: datetime
    pickup_date: date
    courier: str
    sender_name: str
    sender_phone: str
    sender_address: str
    parcels: tuple[Parcel, ...]
    courier_email: str = ""   # where it is mailed (build_sheet sets it from the snapshot)

    @property
    def title(self) -> str:
        return f"{self.courier} 取件清单（运费到付）"

    @property
    def pieces(self) -> int:
        return sum(p.pieces for p in self.parcels)

    @property
    def weight_kg(self) -> Decimal:
        return sum((p.weight_kg for p in self.parcels), Decimal("0.000"))

    @property
    def postage(self) -> Decimal:
        return sum((p.postage for p in self.parcels), Decimal("0.00"))

    @property
    def stem(self) -> str:
        """File names: ``3-2018-09-03`` on disk, ``取件清单-第3号-2018-09-03`` in the mail."""
        return f"{self.number}-{self.pickup_date.isoformat()}"

    @property
    def display_stem(self) -> str:
        return f"取件清单-第{self.number}号-{self.pickup_date.isoformat()}"


def build_sheet(manifest: Manifest, shipments: list[Shipment], config: Config) -> ManifestSheet:
    """The view of one manifest; ``shipments`` in waybill order as claimed. The courier
    and sender are the manifest's stored snapshot (its parcels were made with it), not
    today's config; config gives only the time zone."""
    courier = courier_of(manifest.courier_json, config)
    return ManifestSheet(
        number=manifest.id,
        created_at=manifest.created_at,
        pickup_date=manifest.created_at.astimezone(config.tz).date(),
        courier=courier.name,
        courier_email=courier.email,
        sender_name=courier.sender_name,
        sender_phone=courier.sender_phone,
        sender_address=courier.sender_address,
        parcels=tuple(
            Parcel(
                seq=i,
                waybill=s.waybill,
                recipient=s.recipient,
                phone=s.phone,
                address=s.address,
                district=s.district,
                pieces=s.pieces,
                weight_kg=(Decimal(s.weight_grams) / 1000).quantize(GRAM),
                postage=s.postage_due,
            )
            for i, s in enumerate(shipments, start=1)
        ),
    )
