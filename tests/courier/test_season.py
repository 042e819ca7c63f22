"""A season on the SF simulator: mails -> parcels ordered -> labels printed (the
provider's PDF under our freight-collect strip, looked at as PNG) -> pickup booked at
the close-out, manifest still mailed -> routes to delivered, one refused and returned
-> the unit told (drafted, sent by staff) -> re-shipped with a new waybill, the same
invoices. Every parcel has exactly one waybill at the provider."""

from __future__ import annotations

import subprocess
from email import message_from_bytes, policy
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from tests.courier.conftest import courier_overrides
from tests.courier.sf_sim import SfSimulator
from tests.intake.conftest import make_world
from tests.intake.test_pass import form_mail, trainees, unit
from worker.db.models import AuditEntry, Invoice, OutboxMessage, Shipment
from worker.mailer import Mailer
from worker.manifest import close_out
from worker.replies.draft import outbox_bytes
from worker.staff.accounts import Actor
from worker.staff.reship import reship, send_notice
from worker.status import OutboxStatus, ParcelStatus

STAFF = Actor(None, "王静")


def test_a_season_on_the_sf_simulator(db_url: str, tmp_path: Path, sf: SfSimulator) -> None:
    world = make_world(db_url, tmp_path, courier=courier_overrides("sf", sf.base))
    app = world.app
    for i in range(3):
        people = trainees(f"S{i}", 2)
        world.pay(people)
        world.deliver(form_mail(unit(people)))
    summary = app.run_once()
    assert summary.by_status == {"accepted": 3} and summary.render_error is None
    exported = world.export()
    waybills = [a["shipment"]["waybill"] for a in exported]
    with app.sessions() as s:  # the acceptance reply went out before the waybill existed
        (first, *_) = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply")
                                .order_by(OutboxMessage.id))
    sent = outbox_bytes(first, app.config.output_dir)  # built when sent (issue 12)
    body = message_from_bytes(sent, policy=policy.default).get_body(("plain",))
    assert body is not None and "运单号由快递公司分配" in body.get_content()
    assert all(w in {o["waybill"] for o in sf.orders.values()} for w in waybills)  # SF's numbers

    # labels: SF's own PDFs, in parcel order, each under our strip (运费到付 and the amount)
    labels = Path(summary.labels_pdf or "")
    reader = PdfReader(labels)
    assert len(reader.pages) == 3
    for page, waybill in zip(reader.pages, waybills, strict=True):
        text = page.extract_text()
        assert waybill in text and "到付" in text and "运费到付 ¥12.00" in text
    png = tmp_path / "label"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(labels), str(png)],
                   check=True)
    (image,) = tmp_path.glob("label*.png")
    assert image.stat().st_size > 5000

    # the close-out: manifest written and mailed, pickup booked for the next working day
    result = close_out(app.sessions, app.config, Mailer.from_config(app.config))
    data = result.as_json()
    assert data["parcels"] == 3 and data["emailed"]
    (booked,) = data["pickups"]
    assert booked["booking"].startswith("isDocall") and booked["error"] is None

    # routes: two delivered, one refused and then returned
    for w in waybills:
        sf.pick_up(w)
    sf.deliver(waybills[0])
    sf.deliver(waybills[1])
    sf.refuse(waybills[2])
    report = app.track_parcels()
    assert report is not None and report.flagged == [waybills[2]]
    sf.send_back(waybills[2])
    assert app.track_parcels().changed == {waybills[2]: "returned"}  # type: ignore[union-attr]
    with app.sessions() as s:
        statuses = [p.status for p in s.scalars(select(Shipment).order_by(Shipment.id))]
        (draft,) = s.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DRAFT))
    assert statuses == [ParcelStatus.DELIVERED, ParcelStatus.DELIVERED, ParcelStatus.RETURNED]
    returned_app = exported[2]
    assert draft.kind == "parcel" and draft.recipient == "zhaoyue@163.com"

    # staff send the drafted notice, then re-ship: a new waybill, never a new invoice
    send_notice(app.sessions, STAFF, draft.application_id, draft.id)
    with app.sessions() as s:
        invoices_before = s.scalars(select(Invoice.number).order_by(Invoice.id)).all()
        app_id = s.get(Shipment, 3).application_id  # type: ignore[union-attr]
    reship(app.sessions, app.config, STAFF, app_id, note="单位已确认地址")
    again = app.run_once()  # no new mail: orders the new waybill and prints its label only
    assert again.labels_pdf and again.invoices_pdf is None
    with app.sessions() as s:
        assert s.scalars(select(Invoice.number).order_by(Invoice.id)).all() == invoices_before
        parcels = s.scalars(select(Shipment).where(Shipment.application_id == app_id)
                            .order_by(Shipment.id)).all()
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    old, new = parcels
    assert (old.status, old.replaced_by_id) == (ParcelStatus.RESHIPPED, new.id)
    assert new.status == ParcelStatus.ORDERED and new.waybill not in waybills
    assert new.reference == f"TJZG{app_id}-2" and actions == ["send_notice", "reship"]
    shipment = next(a for a in world.export() if a["message_id"] == returned_app["message_id"])["shipment"]
    assert shipment["waybill"] == new.waybill
    # every reference one waybill at SF, four parcels in all
    assert len(sf.orders) == 4 and len({o["waybill"] for o in sf.orders.values()}) == 4
