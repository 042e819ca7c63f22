"""Ordering after the commit, on SQLite and PostgreSQL against the SF simulator:
accepted parcels wait "to order", get exactly one waybill each whatever fails, and a
worker killed between the provider's answer and our commit costs no second waybill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.courier.conftest import courier_overrides
from tests.courier.sf_sim import SfSimulator
from tests.intake.conftest import World, make_world
from tests.intake.test_pass import form_mail, trainees, unit
from worker.courier.factory import provider_for
from worker.courier.ordering import order_waybills
from worker.db.models import Shipment
from worker.db.types import utcnow
from worker.documents import render_pending
from worker.status import ParcelStatus

ROOT = Path(__file__).resolve().parents[2]


def sf_world(db_url: str, root: Path, sim: SfSimulator) -> World:
    return make_world(db_url, root, courier=courier_overrides("sf", sim.base))


def accept(world: World, n: int) -> None:
    """``n`` accepted applications, through the intake pass without its ordering step."""
    for i in range(n):
        people = trainees(f"Q{i}", 1)
        world.pay(people)
        world.deliver(form_mail(unit(people)))
    from worker.intake import run_pass
    with world.app.open_mailbox() as mailbox:
        run_pass(mailbox, world.app.sessions, world.app.config, lambda: False)


def parcels(world: World) -> list[Shipment]:
    with world.app.sessions() as s:
        return list(s.scalars(select(Shipment).order_by(Shipment.id)))


def test_parcels_wait_to_order_then_get_one_waybill_each(db_url: str, tmp_path: Path,
                                                          sf: SfSimulator) -> None:
    world = sf_world(db_url, tmp_path, sf)
    accept(world, 2)
    before = parcels(world)
    assert [(p.status, p.waybill, p.reference) for p in before] == [
        (ParcelStatus.TO_ORDER, None, f"TJZG{p.application_id}") for p in before]
    assert render_pending(world.app.sessions, world.app.config) is None
    report = order_waybills(world.app.sessions, world.app.config, provider_for(world.app.config))
    after = parcels(world)
    assert [p.status for p in after] == [ParcelStatus.ORDERED] * 2
    assert [p.waybill for p in after] == report.ordered == report.labelled
    for p in after:
        assert sf.waybills_for(p.reference) == {p.waybill}
        assert (world.app.config.output_dir / p.provider_label).read_bytes().startswith(b"%PDF")
        assert json.loads(p.route_codes)["destRouteLabel"].startswith("022")
    batch = render_pending(world.app.sessions, world.app.config)
    assert batch is not None and batch.labels == 2 and batch.invoices == 2


@pytest.mark.parametrize("fault", ["timeout", "5xx", "rate", "credentials", "lost_answer", "duplicate"])
def test_a_failure_delays_with_a_reason_and_never_doubles(db_url: str, tmp_path: Path,
                                                          sf: SfSimulator, fault: str) -> None:
    world = sf_world(db_url, tmp_path, sf)
    accept(world, 1)
    provider = provider_for(world.app.config)
    sf.fail(fault)
    first = order_waybills(world.app.sessions, world.app.config, provider)
    (p,) = parcels(world)
    if fault == "duplicate":  # resolved inside the step by a lookup
        assert p.status == ParcelStatus.ORDERED and first.waiting == {}
    else:
        assert p.waybill is None and p.status == ParcelStatus.TO_ORDER
        assert p.order_error and first.waiting == {p.id: p.order_error}
        assert p.next_try_at is not None and p.next_try_at > utcnow()
        # not due yet: the next step leaves it; once due, it gets its one waybill
        assert order_waybills(world.app.sessions, world.app.config, provider).ordered == []
        later = utcnow() + timedelta(hours=7)
        order_waybills(world.app.sessions, world.app.config, provider, now=later)
        (p,) = parcels(world)
    assert p.status == ParcelStatus.ORDERED and p.order_error is None
    assert sf.waybills_for(p.reference) == {p.waybill}
    creates = [r for r in sf.requests if r.form.get("serviceCode") == "EXP_RECE_CREATE_ORDER"]
    assert len(sf.orders) == 1 and len(creates) <= 2


def test_sigkill_between_answer_and_commit_costs_no_second_waybill(db_url: str, tmp_path: Path,
                                                                    sf: SfSimulator) -> None:
    world = sf_world(db_url, tmp_path, sf)
    accept(world, 1)
    config = tmp_path / "crash.toml"
    config.write_text(
        world.config_file().read_text(encoding="utf-8")
        + f'[courier]\nprovider = "sf"\n[courier.sf]\nurl = "{sf.base}/std/service"\n'
          'timeout_seconds = 1\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "tests.courier.crash_order", str(config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=os.environ)
    assert proc.returncode == -9 and proc.stdout.strip() == "answered"
    (p,) = parcels(world)
    assert p.waybill is None and p.order_tries == 1 and len(sf.orders) == 1  # SF took it; we did not
    # the dead worker's claim is free at once; the next step looks the reference up
    report = order_waybills(world.app.sessions, world.app.config, provider_for(world.app.config))
    (p,) = parcels(world)
    assert report.ordered == [p.waybill] and sf.waybills_for(p.reference) == {p.waybill}
    services = [r.form.get("serviceCode") for r in sf.requests if r.form]
    assert services[:3] == ["EXP_RECE_CREATE_ORDER", "EXP_RECE_SEARCH_ORDER_RESP",
                            "COM_RECE_CLOUD_PRINT_WAYBILLS"]
    assert services.count("EXP_RECE_CREATE_ORDER") == 1


def test_the_parcels_command_shows_why_a_parcel_waits(db_url: str, tmp_path: Path, sf: SfSimulator,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from worker.cli import main

    world = sf_world(db_url, tmp_path, sf)
    accept(world, 1)
    config = tmp_path / "cli.toml"
    config.write_text(world.config_file().read_text(encoding="utf-8")
                      + f'[courier]\nprovider = "sf"\n[courier.sf]\nurl = "{sf.base}/std/service"\n'
                        'timeout_seconds = 1\n', encoding="utf-8")
    sf.fail("credentials")
    assert main(["--config", str(config), "parcels", "--order"]) == 0
    out = json.loads(capsys.readouterr().out)
    (parcel,) = out["parcels"]
    assert out["provider"] == "sf" and parcel["status"] == "to order" and parcel["waybill"] is None
    assert "签名" in parcel["reason"] and parcel["next_try"]
