"""Following each parcel home: a scheduled job reads the routes of undelivered parcels.

Parcels handed to the courier (on a manifest) that are "ordered", "in transit" or
"refused" (on its way back) are asked about in batches, outside any transaction;
each change is stored in one transaction: status, the latest route event and when
we read it. A status only moves forward (a provider that briefly shows no route does
not take an in-transit parcel back). A parcel that becomes refused, returned or lost
is flagged for staff: the console shows it, and a reply to the unit is drafted in the
same transaction (``worker.replies.parcel``) for staff to send; staff re-ship it
(``worker.staff.reship``) once the unit has answered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.courier.base import Provider, Tracking
from worker.db.models import Application, Shipment
from worker.db.types import utcnow
from worker.errors import CourierError
from worker.replies.parcel import draft_parcel_notice
from worker.status import PARCEL_NEEDS_STAFF, PARCEL_UNDELIVERED, ParcelStatus

log = logging.getLogger(__name__)

PER_CALL = 50
TRACKED = (*PARCEL_UNDELIVERED, ParcelStatus.REFUSED)
_RANK = {ParcelStatus.ORDERED: 0, ParcelStatus.IN_TRANSIT: 1, ParcelStatus.DELIVERED: 2,
         ParcelStatus.REFUSED: 2, ParcelStatus.RETURNED: 3, ParcelStatus.LOST: 3}


@dataclass
class TrackReport:
    read: int = 0
    changed: dict[str, str] = field(default_factory=dict)     # waybill -> new status
    flagged: list[str] = field(default_factory=list)          # waybills needing staff
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"read": self.read, "changed": self.changed, "flagged": self.flagged,
                "error": self.error}


def track_parcels(sessions: sessionmaker[Session], config: Config, provider: Provider,
                  *, now: datetime | None = None) -> TrackReport:
    report = TrackReport()
    if not provider.api:
        return report
    now = now or utcnow()
    with sessions() as session:
        todo = dict(session.execute(
            select(Shipment.waybill, Shipment.id).where(
                Shipment.provider == provider.name, Shipment.waybill.is_not(None),
                Shipment.manifest_id.is_not(None), Shipment.replaced_by_id.is_(None),
                Shipment.status.in_(TRACKED)).order_by(Shipment.id)).all())
    waybills = [w for w in todo if w]
    for k in range(0, len(waybills), PER_CALL):
        chunk = waybills[k:k + PER_CALL]
        try:
            found = provider.routes(chunk)
        except CourierError as e:
            report.error = e.reason
            log.error("routes not read, the next run tries again: %s", e)
            break
        report.read += len(chunk)
        for waybill, tracking in found.items():
            if waybill in todo:
                _store(sessions, config, todo[waybill], tracking, now, report)
    if report.changed:
        log.info("tracking: %s", report.as_json())
    return report


def _store(sessions: sessionmaker[Session], config: Config, ship_id: int, tracking: Tracking,
           now: datetime, report: TrackReport) -> None:
    with sessions.begin() as session:
        ship = session.get(Shipment, ship_id, with_for_update=True)
        if ship is None or ship.status not in TRACKED:
            return  # re-shipped or settled meanwhile
        new = tracking.status
        if _RANK.get(new, 0) < _RANK.get(ParcelStatus(ship.status), 0):
            new = ParcelStatus(ship.status)
        session.execute(update(Shipment).where(Shipment.id == ship_id).values(
            status=new, tracking_note=(tracking.note or ship.tracking_note)[:500], tracked_at=now)
            .execution_options(synchronize_session=False))
        if new == ship.status:
            return
        session.refresh(ship)
        report.changed[tracking.waybill] = str(new)
        if new in PARCEL_NEEDS_STAFF:
            report.flagged.append(tracking.waybill)
            app = session.get(Application, ship.application_id)
            assert app is not None
            draft_parcel_notice(session, app, ship, config, now)
            log.warning("parcel %s (application %d) %s: flagged for staff", tracking.waybill,
                        app.id, new)
