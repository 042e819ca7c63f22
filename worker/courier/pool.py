"""The configured number pool (``[courier] waybill_prefix``, ``waybill_first`` ..
``waybill_last``): today's behaviour and the shipped default.

Its waybills come from the ``waybill:<prefix>`` counter inside the issuing
transaction (``allocate``), gap-free and rolled back with it; there is nothing to
order afterwards, no provider label (our layout prints the label), no booking (the
manifest mailed to the courier is the pickup request) and no route to read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from worker.config import Config
from worker.courier.base import Parcel, PickupRequest, Tracking, Waybill
from worker.errors import CourierError

if TYPE_CHECKING:  # issuing imports this module: no cycle at import
    from worker.issuing.numbers import HeldCounters


def allocate_waybill(session: Session, config: Config,
                     held: HeldCounters | None = None) -> str:
    """The next pool waybill, in the caller's transaction (``PoolExhausted`` when the
    range is used up); from ``held`` when an intake chunk holds the counter."""
    from worker.issuing.numbers import allocate  # issuing imports this module: no cycle at import

    c = config.courier
    (number,) = allocate(session, f"waybill:{c.waybill_prefix}", 1,
                         first=c.waybill_first, last=c.waybill_last, held=held)
    return f"{c.waybill_prefix}{number}"


class PoolProvider:
    name = "pool"
    api = False
    pdf_labels = False

    def __init__(self, config: Config) -> None:
        self.config = config

    def order(self, parcel: Parcel) -> Waybill:
        raise CourierError("号段内的运单在开具时分配，无需下单")

    def find(self, reference: str) -> Waybill | None:
        return None

    def label(self, waybill: str) -> bytes | None:
        return None

    def book_pickup(self, request: PickupRequest) -> str:
        return ""

    def routes(self, waybills: list[str]) -> dict[str, Tracking]:
        return {}
