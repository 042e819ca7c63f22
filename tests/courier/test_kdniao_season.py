"""Kdniao end to end: the waybill's route codes printed in our 100×150 layout with the
courier's estimate, the pickup booked (1001) at the close-out, routes read (1002)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pypdf import PdfReader

from tests.courier.conftest import courier_overrides
from tests.courier.kdniao_sim import KdniaoSimulator
from tests.intake.conftest import make_world
from tests.intake.test_pass import form_mail, trainees, unit
from worker.mailer import Mailer
from worker.manifest import close_out


def test_kdniao_route_codes_on_our_label_pickup_and_routes(db_url: str, tmp_path: Path,
                                                           kdniao: KdniaoSimulator) -> None:
    world = make_world(db_url, tmp_path, courier=courier_overrides("kdniao", kdniao.base))
    people = trainees("K", 2)
    world.pay(people)
    world.deliver(form_mail(unit(people)))
    summary = world.app.run_once()
    (exported,) = world.export()
    waybill = exported["shipment"]["waybill"]
    assert waybill == next(iter(kdniao.orders.values()))["waybill"]
    (page,) = PdfReader(summary.labels_pdf or "").pages
    text = page.extract_text()
    for shown in (waybill, "天津-武清", "集包地 天津转运中心", "分拣 022-07", "运费到付", "¥13.00",
                  "快递公司预估到付金额"):
        assert shown in text, shown
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(summary.labels_pdf), str(tmp_path / "k")],
                   check=True)
    assert next(tmp_path.glob("k*.png")).stat().st_size > 5000

    result = close_out(world.app.sessions, world.app.config, Mailer.from_config(world.app.config))
    (booked,) = result.as_json()["pickups"]
    assert booked["booking"].startswith("KDN") and booked["error"] is None
    (pickup,) = kdniao.pickups.values()
    assert pickup["Quantity"] == 1 and waybill in pickup["Remark"]
    # booked once: a second close-out books nothing again
    assert "pickups" not in close_out(world.app.sessions, world.app.config,
                                      Mailer.from_config(world.app.config)).as_json()

    kdniao.set_state(waybill, "3", "301", "已签收，签收人：赵玥")
    report = world.app.track_parcels()
    assert report is not None and report.changed == {waybill: "delivered"}
