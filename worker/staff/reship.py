"""A parcel the courier reports refused, returned or lost: staff send the drafted
reply to the unit, and once the unit has answered, re-ship it -- a new parcel with a
new waybill for the same invoices, never a new invoice.

Each action is one transaction with its audit entry. The live parcel is re-read
``FOR UPDATE`` and its status checked inside the transaction, so two clicks re-ship
once: the second finds a parcel that is not returned and is refused.

The new parcel takes the application's recipient as it is now (staff may have
corrected the address first) and a new reference (``<prefix><id>-<n>``): with the
pool it gets its waybill in this transaction, with an API provider it is "to order"
and the ordering step gets it one. The returned parcel stays, replaced by the new one
(``replaced_by_id``), on the manifest it went out with.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.courier.pool import allocate_waybill
from worker.db.models import Application, OutboxMessage, Shipment
from worker.db.types import utcnow
from worker.issuing.facts import CourierFacts
from worker.issuing.plan import parcel_weight, postage
from worker.staff.accounts import Actor
from worker.staff.actions import ActionResult
from worker.staff.audit import record
from worker.staff.errors import ActionRefused, NotFound
from worker.status import PARCEL_NEEDS_STAFF, PARCEL_TEXT, AuditAction, OutboxStatus, ParcelStatus


def _live(session: Session, application_id: int) -> tuple[Application, Shipment]:
    app = session.scalars(select(Application).where(Application.id == application_id)
                          .with_for_update()).one_or_none()
    if app is None:
        raise NotFound(f"没有编号为 {application_id} 的申请")
    ship = session.scalars(select(Shipment).where(Shipment.application_id == application_id,
                                                  Shipment.replaced_by_id.is_(None))
                           .with_for_update().execution_options(populate_existing=True)).one_or_none()
    if ship is None:
        raise ActionRefused("该申请没有快件")
    return app, ship


def reship(sessions: sessionmaker[Session], config: Config, actor: Actor, application_id: int,
           *, note: str = "") -> ActionResult:
    """A new parcel for the same invoices; the returned one is replaced."""
    with sessions.begin() as session:
        app, old = _live(session, application_id)
        if old.status not in PARCEL_NEEDS_STAFF:
            state = PARCEL_TEXT.get(ParcelStatus(old.status), old.status)
            raise ActionRefused(f"该快件{state}，不能重新寄出")
        n = (session.scalar(select(func.count()).select_from(Shipment)
                            .where(Shipment.application_id == app.id)) or 0) + 1
        courier = config.courier
        pool = courier.provider == "pool"
        weight = parcel_weight(old.invoices, courier.envelope_grams, courier.invoice_grams)
        rate = courier.rate_for(app.district)
        # Stored not live first (replaced by the old one), so the partial unique index
        # never sees two live parcels; then the old one is replaced and the new one lives.
        new = Shipment(
            application_id=app.id, waybill=allocate_waybill(session, config) if pool else None,
            provider=courier.provider, reference=None if pool else f"{courier.reference_prefix}{app.id}-{n}",
            status=ParcelStatus.ORDERED if pool else ParcelStatus.TO_ORDER,
            recipient=app.recipient_name, phone=app.recipient_phone, address=app.recipient_address,
            district=app.district, pieces=1, invoices=old.invoices, weight_grams=weight,
            postage_due=postage(weight, rate.first_kg, rate.extra_kg),
            courier_json=CourierFacts.from_config(config).to_json(), replaced_by_id=old.id)
        session.add(new)
        session.flush()
        old_status, old.replaced_by_id = old.status, new.id
        old.status = ParcelStatus.RESHIPPED
        session.flush()
        new.replaced_by_id = None
        session.flush()
        record(session, actor, AuditAction.RESHIP, application_id=app.id, note=note[:2000],
               changes={"waybill": [old.waybill, new.waybill or "待下单"],
                        "status": [old_status, str(new.status)]})
        return ActionResult(app.id, app.status,
                            f"已重新寄出（同一批发票）：新运单 {new.waybill or '待快递公司分配'}")


def send_notice(sessions: sessionmaker[Session], actor: Actor, application_id: int,
                outbox_id: int) -> ActionResult:
    """Send the reply drafted about a returned parcel, as it reads in the console."""
    with sessions.begin() as session:
        row = session.scalars(select(OutboxMessage).where(
            OutboxMessage.id == outbox_id, OutboxMessage.application_id == application_id)
            .with_for_update()).one_or_none()
        if row is None:
            raise NotFound("没有这封草拟的回复")
        if row.status != OutboxStatus.DRAFT:
            raise ActionRefused("这封回复已经发出或不是草稿")
        session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id)
                        .values(status=OutboxStatus.PENDING, next_attempt_at=utcnow()))
        record(session, actor, AuditAction.SEND_NOTICE, application_id=application_id,
               changes={"status": [OutboxStatus.DRAFT.value, OutboxStatus.PENDING.value]})
        app = session.get(Application, application_id)
        return ActionResult(application_id, app.status if app else "", f"已发送给 {row.recipient}")
