"""When the courier comes, and booking it at the daily close-out.

The close-out (``worker/manifest/``, at ``schedule.manifest_time``) hands the day's
parcels over; the courier collects them on the next working day after it
(``[courier.pickup] working_days``, ``holidays``), between ``start`` and ``end``
(``schedule.timezone``). A waybill ordered before today's cut-off is on today's
manifest, one ordered after it on tomorrow's: SF carries the pickup with each order
(``isDocall``/``sendStartTm``), so its window is computed when it is ordered.

Booking (``book_pickups``): each manifest of API-provider parcels without a booking
is booked with our manifest reference as the provider's key, outside any database
transaction; the answer is recorded in its own. A failure is recorded on the
manifest (``pickup_error``) and the next close-out tries again; the manifest itself
is written and mailed whatever happens here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.courier.base import Address, PickupRequest, Provider
from worker.db.models import Manifest, Shipment
from worker.db.types import utcnow
from worker.errors import CourierError

log = logging.getLogger(__name__)


def next_working_day(config: Config, after: date) -> date:
    pickup = config.courier.pickup
    day = after + timedelta(days=1)
    for _ in range(366):
        if day.isoweekday() in pickup.working_days and day not in pickup.holidays:
            return day
        day += timedelta(days=1)
    raise ValueError("no working day in a year: check [courier.pickup]")


def window_on(config: Config, day: date) -> tuple[datetime, datetime]:
    tz, pickup = config.tz, config.courier.pickup
    return (datetime.combine(day, pickup.start, tzinfo=tz), datetime.combine(day, pickup.end, tzinfo=tz))


def window_after_close_out(config: Config, moment: datetime) -> tuple[datetime, datetime]:
    """The pickup for a close-out at ``moment``: the next working day after its day."""
    return window_on(config, next_working_day(config, moment.astimezone(config.tz).date()))


def window_for_order(config: Config, moment: datetime) -> tuple[datetime, datetime]:
    """The pickup of a parcel ordered at ``moment``: after the first close-out at or
    after it (today's cut-off, or tomorrow's once today's has passed)."""
    local = moment.astimezone(config.tz)
    day = local.date()
    if local.time() >= config.schedule.manifest_time:
        day += timedelta(days=1)
    return window_on(config, next_working_day(config, day))


def sender_of(config: Config) -> Address:
    c = config.courier
    return Address(name=c.sender_name, phone=c.sender_phone, province=c.province, city=c.city,
                   district="", address=c.sender_address, company=config.seller.name)


@dataclass(frozen=True)
class Booked:
    manifest_id: int
    reference: str | None
    start: datetime
    end: datetime
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"manifest": self.manifest_id, "booking": self.reference,
                "window": [self.start.isoformat(), self.end.isoformat()], "error": self.error}


def book_pickups(sessions: sessionmaker[Session], config: Config, provider: Provider,
                 *, now: datetime | None = None) -> list[Booked]:
    """Book every manifest of ``provider``'s parcels that has no booking yet."""
    if not provider.api:
        return []
    now = now or utcnow()
    with sessions() as session:
        todo = _unbooked(session, provider.name)
    out = []
    for manifest_id, created_at, start, end, parcels, grams, waybills in todo:
        if start is None or end is None:
            start, end = window_after_close_out(config, created_at)
        request = PickupRequest(reference=f"{config.courier.reference_prefix}-M{manifest_id}",
                                sender=sender_of(config), parcels=parcels, weight_grams=grams,
                                start=start, end=end, waybills=tuple(waybills))
        try:
            reference: str | None = provider.book_pickup(request)
            error = None
        except CourierError as e:
            reference, error = None, e.reason
            log.error("pickup for manifest %d not booked, the next close-out tries again: %s",
                      manifest_id, e)
        with sessions.begin() as session:
            session.execute(update(Manifest).where(Manifest.id == manifest_id,
                                                   Manifest.pickup_booked_at.is_(None))
                            .values(pickup_start=start, pickup_end=end, pickup_ref=reference,
                                    pickup_booked_at=now if reference is not None else None,
                                    pickup_error=error))
        out.append(Booked(manifest_id, reference, start, end, error))
    return out


def _unbooked(session: Session, provider: str,
              ) -> list[tuple[int, datetime, datetime | None, datetime | None, int, int, list[str]]]:
    rows = session.execute(
        select(Manifest.id, Manifest.created_at, Manifest.pickup_start, Manifest.pickup_end,
               func.count(Shipment.id), func.coalesce(func.sum(Shipment.weight_grams), 0))
        .join(Shipment, Shipment.manifest_id == Manifest.id)
        .where(Manifest.pickup_booked_at.is_(None), Shipment.provider == provider)
        .group_by(Manifest.id, Manifest.created_at, Manifest.pickup_start, Manifest.pickup_end)
        .order_by(Manifest.id)).all()
    out = []
    for manifest_id, created_at, start, end, parcels, grams in rows:
        waybills = session.scalars(select(Shipment.waybill).where(
            Shipment.manifest_id == manifest_id).order_by(Shipment.id)).all()
        out.append((manifest_id, created_at, start, end, int(parcels), int(grams),
                    [w for w in waybills if w]))
    return out
