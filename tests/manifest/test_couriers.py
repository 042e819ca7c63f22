"""Parcels made for two couriers (config changed between them) close out as one manifest
per courier, each naming and mailed to the courier its parcels were made with."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from tests.documents.pdf import pages_text
from tests.manifest.conftest import RecordingMailer, Site
from tests.manifest.test_close import waybills_in
from worker.db.models import Manifest
from worker.issuing.facts import CourierFacts
from worker.manifest.send import send_pending

EMS: dict[str, Any] = {
    "courier": {"name": "中国邮政EMS", "email": "pickup@ems.example",
                "sender_name": "政工职业培训中心", "sender_phone": "022-27000000",
                "sender_address": "天津市南开区卫津路1号", "waybill_prefix": "EA",
                "waybill_first": 1000000000001, "waybill_last": 1000000099999},
}


def test_two_couriers_two_manifests(make_site: Callable[..., Site]) -> None:
    sf = make_site()
    sf_waybills = sf.issue(2)
    ems = make_site(**EMS)
    ems._seq = itertools.count(10)  # other orders than the first site's
    ems_waybills = ems.issue(3)
    assert all(w.startswith("SF") for w in sf_waybills)
    assert all(w.startswith("EA") for w in ems_waybills)

    mailer = RecordingMailer()
    result = ems.close(mailer)  # today's config is EMS, yet the SF parcels stay SF's
    assert (result.parcels, result.manifest_id, result.emailed) == (2, 1, "recorded")
    assert result.xlsx and waybills_in(result.xlsx) == sf_waybills
    (other,) = result.others
    assert (other.manifest_id, other.courier, other.parcels) == (2, "中国邮政EMS", 3)
    assert waybills_in(other.xlsx) == ems_waybills
    assert result.as_json()["others"][0]["parcels"] == 3

    sf_pdf, ems_pdf = (" ".join(pages_text(p)) for p in (result.pdf, other.pdf))
    assert "顺丰速运" in sf_pdf and "中国邮政EMS" not in sf_pdf
    assert "中国邮政EMS" in ems_pdf and "卫津路1号" in ems_pdf and "顺丰速运" not in ems_pdf

    assert [(m["To"], m["Subject"].split()[1]) for m in mailer.sent] == [
        ("pickup@courier.example", "第1号"), ("pickup@ems.example", "第2号")]
    assert "顺丰速运" in mailer.sent[0].get_body().get_content()  # type: ignore[union-attr]
    assert [m.courier_json is not None for m in ems.manifests()] == [True, True]
    assert CourierFacts.from_json(ems.manifests()[1].courier_json or "").name == "中国邮政EMS"


def test_a_manifest_mailed_later_still_goes_to_its_own_courier(
        make_site: Callable[..., Site]) -> None:
    sf = make_site()
    sf.issue(1)
    sf.close(RecordingMailer(fail=True))  # written, not mailed
    ems = make_site(**EMS)
    mailer = RecordingMailer()
    sent = send_pending(ems.app.sessions, ems.app.config, mailer)
    assert list(sent.sent) == [1]
    assert [m["To"] for m in mailer.sent] == ["pickup@courier.example"]


def test_a_manifest_from_before_the_snapshots_goes_to_todays_courier(
        make_site: Callable[..., Site]) -> None:
    sf = make_site()
    sf.issue(1)
    sf.close(RecordingMailer(fail=True))
    with sf.app.sessions.begin() as s:  # what migration 0003 leaves on older rows
        s.execute(update(Manifest).values(courier_json=None))
    ems = make_site(**EMS)
    mailer = RecordingMailer()
    send_pending(ems.app.sessions, ems.app.config, mailer)
    assert [m["To"] for m in mailer.sent] == ["pickup@ems.example"]
