"""A returned parcel on the application page: its status and the courier's note, the
reply drafted for the unit (sent by staff), and re-shipping it -- once, with a new
waybill for the same invoices, audited."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.console.conftest import Seeded
from tests.intake.conftest import World
from worker.db.models import AuditEntry, Invoice, OutboxMessage, Shipment
from worker.db.types import utcnow
from worker.replies.parcel import draft_parcel_notice
from worker.status import OutboxStatus, ParcelStatus


def returned(world: World, app_id: int) -> str:
    with world.app.sessions.begin() as s:
        ship = s.scalars(select(Shipment).where(Shipment.application_id == app_id)).one()
        s.execute(update(Shipment).where(Shipment.id == ship.id).values(
            status=ParcelStatus.RETURNED, tracking_note="快件已退回寄件人"))
        s.refresh(ship)
        draft_parcel_notice(s, ship.application, ship, world.app.config, utcnow())
        return ship.waybill or ""


def test_a_returned_parcel_is_told_and_reshipped_once(logged_in: tuple[FlaskClient, str],
                                                      seeded: Seeded, world: World) -> None:
    client, token = logged_in
    old = returned(world, seeded.accepted)
    html = client.get(f"/applications/{seeded.accepted}").get_data(as_text=True)
    assert "已退回" in html and "快件已退回寄件人" in html and "重新寄出" in html
    assert "退件通知草稿" in html and "发票已经开具，不会重新开具" in html and old in html
    with world.app.sessions() as s:
        draft = s.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DRAFT)).one()
        invoices = s.scalars(select(Invoice.number).order_by(Invoice.id)).all()
    r = client.post(f"/applications/{seeded.accepted}/notices/{draft.id}",
                    data={"csrf_token": token}, follow_redirects=True)
    assert "已发送给" in r.get_data(as_text=True)
    r = client.post(f"/applications/{seeded.accepted}/reship",
                    data={"csrf_token": token, "note": "单位确认到付"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "已重新寄出（同一批发票）" in page and "此前的包裹" in page
    r = client.post(f"/applications/{seeded.accepted}/reship", data={"csrf_token": token},
                    follow_redirects=True)
    assert "不能重新寄出" in r.get_data(as_text=True)
    with world.app.sessions() as s:
        ships = s.scalars(select(Shipment).where(Shipment.application_id == seeded.accepted)
                          .order_by(Shipment.id)).all()
        assert s.scalars(select(Invoice.number).order_by(Invoice.id)).all() == invoices
        status = s.get(OutboxMessage, draft.id).status  # type: ignore[union-attr]
        actions = s.scalars(select(AuditEntry.action).where(
            AuditEntry.application_id == seeded.accepted).order_by(AuditEntry.id)).all()
    assert [s.status for s in ships] == [ParcelStatus.RESHIPPED, ParcelStatus.ORDERED]
    assert ships[0].waybill == old and ships[1].waybill not in (None, old)  # the pool's next number
    assert status == OutboxStatus.PENDING and actions == ["send_notice", "reship"]
