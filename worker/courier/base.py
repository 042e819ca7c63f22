"""The one small interface every waybill provider implements, and what crosses it.

A provider (``pool``, ``sf``, ``kdniao``) is chosen by ``[courier] provider`` and built
by ``worker.courier.factory.provider_for``. Its calls, each safe to repeat:

* ``order(parcel)`` -- a waybill for the parcel, ``parcel.reference`` sent as the
  provider's idempotency key (SF ``orderId``, Kdniao ``OrderCode``); asking again with
  the same reference gives the same waybill, never a second one;
* ``find(reference)`` -- that order, or None when the provider never took it: asked
  after a crash between the provider's answer and our commit;
* ``label(waybill)`` -- the provider's 100×150 label as PDF bytes, or None when our
  own layout prints the route codes the order returned;
* ``book_pickup(request)`` -- the courier comes in the window; its booking reference;
* ``routes(waybills)`` -- where each parcel is (``Tracking``).

Failures raise ``worker.errors.CourierError`` subclasses (timeout, 5xx, rate limit,
credentials, a rejected parcel), each with a Chinese reason staff see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from worker.status import ParcelStatus


@dataclass(frozen=True)
class Address:
    """One end of the parcel as a provider wants it (the programme's province and city,
    the district as 区/县)."""

    name: str
    phone: str
    province: str
    city: str
    district: str
    address: str
    company: str = ""


@dataclass(frozen=True)
class Parcel:
    """What a provider needs to order one waybill; freight is always collect (到付)."""

    reference: str           # our order reference: the idempotency key
    sender: Address
    recipient: Address
    weight_grams: int
    invoices: int
    goods: str               # 托寄物, e.g. "发票"
    pickup_start: datetime | None = None   # for providers that book the pickup per order


@dataclass(frozen=True)
class Waybill:
    """A provider's answer to an order: its number, whatever it prints on the label
    (``route_codes``: e.g. SF destRouteLabel/twoDimensionCode, Kdniao MarkDestination),
    and the freight it estimated, if it did."""

    number: str
    reference: str
    route_codes: dict[str, str] = field(default_factory=dict)
    estimated_fee: Decimal | None = None


@dataclass(frozen=True)
class PickupRequest:
    """One close-out's parcels for the courier to collect in ``start``..``end``."""

    reference: str           # our booking reference (the manifest): the idempotency key
    sender: Address
    parcels: int
    weight_grams: int
    start: datetime
    end: datetime
    waybills: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tracking:
    """Where a parcel is: its status and the latest route event, as the provider said."""

    waybill: str
    status: ParcelStatus     # IN_TRANSIT, DELIVERED, REFUSED, RETURNED, LOST (or ORDERED: no route yet)
    note: str = ""
    at: str = ""


class Provider(Protocol):
    """A waybill provider. ``api`` False (the pool): waybills come from our own
    counter inside the issuing transaction, and there is nothing to order, fetch,
    book or track."""

    name: str
    api: bool
    pdf_labels: bool         # True: ``label`` gives the provider's PDF (SF); False: our layout

    def order(self, parcel: Parcel) -> Waybill: ...

    def find(self, reference: str) -> Waybill | None: ...

    def label(self, waybill: str) -> bytes | None: ...

    def book_pickup(self, request: PickupRequest) -> str: ...

    def routes(self, waybills: list[str]) -> dict[str, Tracking]: ...
