"""Ordering waybills after the outcome is committed: exactly one per parcel, whatever
crashes.

A parcel accepted with an API provider is stored "to order" (no waybill) in the
outcome transaction. This step (after each pass, and on its own schedule) takes up
to ``[courier] order_batch`` of them:

1. **Claim** (one short transaction): ``claimed_until`` = now + ``CLAIM_LEASE`` and
   ``order_tries`` + 1, guarded by the same condition in the UPDATE, so two workers
   never order the same parcel at once. The try is counted *before* the request
   leaves: a parcel with an earlier try may have reached the provider.
2. **Ask** the provider, outside any transaction: a parcel tried before is first
   looked up by its reference (``find``) -- the answer to a request whose commit a
   crash lost -- and only ordered when the provider never took it; the order itself
   carries the reference as the provider's idempotency key.
3. **Record** (one transaction): the waybill, route codes and estimate, with a
   guarded ``UPDATE ... WHERE waybill IS NULL``.
4. For a provider that gives PDF labels, **fetch** the label into
   ``output/waybills/<waybill>.pdf`` (atomic write) and record its path: the
   parcel's label and invoices are printed only after that.

A failure (``CourierError``: timeout, 5xx, rate limit, credentials, a refused
address) is recorded on the parcel (``order_error``, shown in the console and by
``parcels``) with ``next_try_at`` backing off from ``retry_minutes``, doubling up to
six hours; a refused address waits for staff (a correction clears the wait).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from worker.atomic import write_atomic
from worker.config import Config
from worker.courier.base import Address, Parcel, Provider, Waybill
from worker.courier.pickup import sender_of, window_for_order
from worker.db.models import Application, Shipment
from worker.db.types import utcnow
from worker.errors import CourierError
from worker.owner import current_owner, owner_gone
from worker.status import ParcelStatus

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=10)
"""Well above a provider call's timeout; a worker killed mid-call frees its parcels then."""
MAX_BACKOFF = timedelta(hours=6)
GOODS = "发票"


@dataclass
class OrderReport:
    ordered: list[str] = field(default_factory=list)     # waybills recorded
    labelled: list[str] = field(default_factory=list)    # provider labels fetched
    waiting: dict[int, str] = field(default_factory=dict)  # shipment id -> reason

    def as_json(self) -> dict[str, object]:
        return {"ordered": self.ordered, "labelled": self.labelled,
                "waiting": {str(k): v for k, v in self.waiting.items()}}


def parcel_of(ship: Shipment, app: Application, config: Config, now: datetime) -> Parcel:
    c = config.courier
    recipient = Address(name=ship.recipient, phone=ship.phone, province=c.province, city=c.city,
                        district=ship.district, address=ship.address, company=app.unit[:100])
    return Parcel(reference=ship.reference or "", sender=sender_of(config), recipient=recipient,
                  weight_grams=ship.weight_grams, invoices=max(ship.invoices, 1), goods=GOODS,
                  pickup_start=window_for_order(config, now)[0])


def order_waybills(sessions: sessionmaker[Session], config: Config, provider: Provider,
                   *, now: datetime | None = None) -> OrderReport:
    """One step: order waybills (and labels) for the parcels awaiting them."""
    report = OrderReport()
    if not provider.api:
        return report
    now = now or utcnow()
    for ship_id, tries in _claim(sessions, config, provider, now):
        try:
            _one(sessions, config, provider, ship_id, tries, now, report)
        except CourierError as e:
            report.waiting[ship_id] = e.reason
            _failed(sessions, config, ship_id, e, now)
        finally:
            _release(sessions, ship_id)
    if report.ordered or report.waiting:
        log.info("waybills: %s", report.as_json())
    return report


def _claim(sessions: sessionmaker[Session], config: Config, provider: Provider,
           now: datetime) -> list[tuple[int, int]]:
    owner = current_owner()
    claimed: list[tuple[int, int]] = []
    with sessions.begin() as session:
        # A claim whose process is gone (this machine) is free at once, as print claims are.
        held = session.scalars(select(Shipment.claim_owner).distinct().where(
            Shipment.claim_owner.is_not(None), Shipment.claimed_until > now))
        dead = [o for o in held if owner_gone(o)]
        due = (Shipment.provider == provider.name,
               Shipment.status.in_((ParcelStatus.TO_ORDER, ParcelStatus.LABEL)),
               Shipment.replaced_by_id.is_(None),
               or_(Shipment.next_try_at.is_(None), Shipment.next_try_at <= now),
               or_(Shipment.claimed_until.is_(None), Shipment.claimed_until <= now,
                   Shipment.claim_owner.in_(dead)))
        ids = session.scalars(select(Shipment.id).where(*due).order_by(Shipment.id)
                              .limit(config.courier.order_batch)).all()
        for ship_id in ids:
            done = session.execute(
                update(Shipment).where(Shipment.id == ship_id, *due)
                .values(claimed_until=now + CLAIM_LEASE, claim_owner=owner,
                        order_tries=Shipment.order_tries + 1)
                .execution_options(synchronize_session=False)).rowcount
            if done:
                claimed.append((ship_id, session.scalar(
                    select(Shipment.order_tries).where(Shipment.id == ship_id)) or 1))
    return claimed


def _one(sessions: sessionmaker[Session], config: Config, provider: Provider, ship_id: int,
         tries: int, now: datetime, report: OrderReport) -> None:
    with sessions() as session:
        ship = session.get(Shipment, ship_id)
        assert ship is not None
        app = session.get(Application, ship.application_id)
        assert app is not None
        parcel = parcel_of(ship, app, config, now)
        waybill_no, status = ship.waybill, ship.status
    if waybill_no is None:
        found = provider.find(parcel.reference) if tries > 1 else None
        waybill = found or provider.order(parcel)
        _record(sessions, provider, ship_id, waybill)
        waybill_no = waybill.number
        report.ordered.append(waybill_no)
    elif status != ParcelStatus.LABEL:
        return
    if provider.pdf_labels:
        pdf = provider.label(waybill_no)
        if pdf is not None:
            _store_label(sessions, config, ship_id, waybill_no, pdf)
            report.labelled.append(waybill_no)


def _record(sessions: sessionmaker[Session], provider: Provider, ship_id: int,
            waybill: Waybill) -> None:
    """The provider's answer, in its own transaction; never over a waybill already set."""
    status = ParcelStatus.LABEL if provider.pdf_labels else ParcelStatus.ORDERED
    with sessions.begin() as session:
        done = session.execute(
            update(Shipment).where(Shipment.id == ship_id, Shipment.waybill.is_(None))
            .values(waybill=waybill.number, status=status, estimated_fee=waybill.estimated_fee,
                    route_codes=json.dumps(waybill.route_codes, ensure_ascii=False, sort_keys=True),
                    order_error=None, next_try_at=None)
            .execution_options(synchronize_session=False)).rowcount
        if not done:
            stored = session.scalar(select(Shipment.waybill).where(Shipment.id == ship_id))
            if stored != waybill.number:
                log.error("parcel %d: provider answered %s for %s but %s is stored", ship_id,
                          waybill.number, waybill.reference, stored)


def _store_label(sessions: sessionmaker[Session], config: Config, ship_id: int, waybill: str,
                 pdf: bytes) -> None:
    rel = f"waybills/{_safe(waybill)}.pdf"
    write_atomic(config.output_dir / rel, pdf)
    with sessions.begin() as session:
        session.execute(update(Shipment).where(Shipment.id == ship_id,
                                               Shipment.status == ParcelStatus.LABEL)
                        .values(provider_label=rel, status=ParcelStatus.ORDERED, order_error=None)
                        .execution_options(synchronize_session=False))


def _safe(waybill: str) -> str:
    """A file name from a provider's number: letters and digits only."""
    return "".join(ch for ch in waybill if ch.isascii() and ch.isalnum())[:64] or "waybill"


def _failed(sessions: sessionmaker[Session], config: Config, ship_id: int, error: CourierError,
            now: datetime) -> None:
    """Why it waits, and until when: a retryable failure backs off; a parcel the
    provider refused waits for staff (a correction of the recipient clears the wait)."""
    with sessions.begin() as session:
        tries = session.scalar(select(Shipment.order_tries).where(Shipment.id == ship_id)) or 1
        wait = (min(timedelta(minutes=config.courier.retry_minutes) * 2 ** max(tries - 1, 0),
                    MAX_BACKOFF) if error.retry else MAX_BACKOFF)
        session.execute(update(Shipment).where(Shipment.id == ship_id)
                        .values(order_error=error.reason[:1000], next_try_at=now + wait)
                        .execution_options(synchronize_session=False))
    log.warning("parcel %d waits: %s", ship_id, error)


def _release(sessions: sessionmaker[Session], ship_id: int) -> None:
    with sessions.begin() as session:
        session.execute(update(Shipment).where(Shipment.id == ship_id)
                        .values(claimed_until=None, claim_owner=None)
                        .execution_options(synchronize_session=False))
