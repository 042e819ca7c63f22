"""The SF provider against its simulator: signature, orders by orderId, lookups after
a lost answer, cloud-printed PDFs, routes, and each fault as the error it stands for."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.courier.conftest import config_for
from tests.courier.sf_sim import SfSimulator, expected_digest
from worker.courier.base import Address, Parcel
from worker.courier.sf import SfProvider, classify, digest
from worker.errors import (
    CourierCredentials,
    CourierRateLimited,
    CourierRejected,
    CourierUnavailable,
)
from worker.status import ParcelStatus

TZ = ZoneInfo("Asia/Shanghai")
SENDER = Address("天津市政工师进修学院", "022-23391756", "天津市", "天津市", "", "河东区大桥道52号A座309室")


def parcel(ref: str = "TJZG1", phone: str = "13820000001") -> Parcel:
    to = Address("赵玥", phone, "天津市", "天津市", "武清区", "雍阳西道88号 ~*&+ 1号楼", "某公司")
    return Parcel(ref, SENDER, to, 92, 2, "发票", pickup_start=datetime(2018, 9, 4, 9, tzinfo=TZ))


def test_the_signature_is_sfs_worked_example() -> None:
    """SF's 开发规范: this msgData, timestamp and checkWord sign as IIKJtuLVzoFTu4kHI8M8vA==."""
    msg = '{"language":"zh-CN","orderId":"QIAO-20200618-004"}'
    assert digest(msg, "12312334453453", "fjcg5PGKaNpPSHFAZ4QsCOkV71R3zVci") == "IIKJtuLVzoFTu4kHI8M8vA=="
    tricky = '{"a":"天津 ~*-_.+&=%"}'  # Java's URLEncoder: ~ encoded, * kept, space as +
    assert digest(tricky, "1", "k") == expected_digest(tricky, "1", "k")


def test_order_is_collect_and_keyed_by_our_reference(sf: SfSimulator) -> None:
    provider = SfProvider(config_for("sf", sf.base))
    first = provider.order(parcel())
    again = provider.order(parcel())  # the same orderId: SF answers the first order
    assert first.number == again.number and sf.waybills_for("TJZG1") == {first.number}
    assert first.route_codes["destRouteLabel"].startswith("022")
    (create, *_) = [r for r in sf.requests if r.form.get("serviceCode") == "EXP_RECE_CREATE_ORDER"]
    body = __import__("json").loads(create.form["msgData"])
    assert body["payMethod"] == 2 and body["orderId"] == "TJZG1" and body["isDocall"] == 1
    assert body["sendStartTm"] == "2018-09-04 09:00:00"
    assert [c["contactType"] for c in body["contactInfoList"]] == [1, 2]
    assert provider.find("TJZG1") == first and provider.find("TJZG404") is None


def test_a_duplicate_answer_is_resolved_by_a_lookup(sf: SfSimulator) -> None:
    provider = SfProvider(config_for("sf", sf.base))
    sf.fail("duplicate")
    waybill = provider.order(parcel("TJZG7"))
    assert sf.waybills_for("TJZG7") == {waybill.number}
    services = [r.form.get("serviceCode") for r in sf.requests]
    assert services == ["EXP_RECE_CREATE_ORDER", "EXP_RECE_SEARCH_ORDER_RESP"]


@pytest.mark.parametrize(("fault", "error"), [
    ("timeout", CourierUnavailable), ("5xx", CourierUnavailable), ("rate", CourierRateLimited),
    ("credentials", CourierCredentials), ("lost_answer", CourierUnavailable)])
def test_each_fault_is_a_delay_with_a_reason(sf: SfSimulator, fault: str, error: type) -> None:
    provider = SfProvider(config_for("sf", sf.base))
    sf.fail(fault)
    with pytest.raises(error) as caught:
        provider.order(parcel())
    assert caught.value.retry and caught.value.reason
    # whatever the fault did, asking again gives one waybill for the reference
    assert provider.order(parcel()).number in sf.waybills_for("TJZG1")
    assert len(sf.waybills_for("TJZG1")) == 1


def test_missing_or_wrong_credentials_are_named(sf: SfSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = SfProvider(config_for("sf", sf.base))
    monkeypatch.setenv("SF_CHECKWORD", "expired-checkword")
    with pytest.raises(CourierCredentials, match="签名"):
        provider.order(parcel())
    monkeypatch.delenv("SF_CHECKWORD")
    with pytest.raises(CourierCredentials, match="SF_CHECKWORD"):
        provider.order(parcel())
    assert sf.orders == {}


def test_a_recipient_sf_refuses_waits_for_staff(sf: SfSimulator) -> None:
    with pytest.raises(CourierRejected) as caught:
        SfProvider(config_for("sf", sf.base)).order(parcel(phone=""))
    assert not caught.value.retry and caught.value.code == "1016" and "收件人" in caught.value.reason


def test_the_cloud_printed_label_is_a_pdf(sf: SfSimulator) -> None:
    provider = SfProvider(config_for("sf", sf.base))
    number = provider.order(parcel()).number
    pdf = provider.label(number)
    assert pdf.startswith(b"%PDF")
    (download,) = [r for r in sf.requests if r.path.startswith("/print/")]
    assert {k.lower(): v for k, v in download.headers.items()}["x-auth-token"] == sf.tokens[number]


def test_routes_become_statuses(sf: SfSimulator) -> None:
    provider = SfProvider(config_for("sf", sf.base))
    a, b, c, d = (provider.order(parcel(f"R{i}")).number for i in range(4))
    sf.pick_up(a)
    sf.pick_up(b)
    sf.deliver(b)
    sf.pick_up(c)
    sf.refuse(c)
    sf.pick_up(d)
    sf.refuse(d)
    sf.send_back(d)
    got = provider.routes([a, b, c, d])
    assert {n: t.status for n, t in got.items()} == {
        a: ParcelStatus.IN_TRANSIT, b: ParcelStatus.DELIVERED, c: ParcelStatus.REFUSED,
        d: ParcelStatus.RETURNED}
    assert "拒收" in got[c].note
    assert classify("X", []).status == ParcelStatus.ORDERED
