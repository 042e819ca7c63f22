"""The Kdniao provider against its simulator: DataSign, 1007 by OrderCode (106 for
one taken already), 1001 pickup, 1002 tracking states, faults."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.courier.conftest import config_for
from tests.courier.kdniao_sim import KdniaoSimulator, expected_sign
from worker.courier.base import Address, Parcel, PickupRequest
from worker.courier.kdniao import KdniaoProvider, data_sign
from worker.errors import CourierCredentials, CourierRateLimited, CourierRejected, CourierUnavailable
from worker.status import ParcelStatus

TZ = ZoneInfo("Asia/Shanghai")
SENDER = Address("天津市政工师进修学院", "022-23391756", "天津市", "天津市", "", "河东区大桥道52号A座309室")


def parcel(ref: str = "TJZG1", phone: str = "13820000001") -> Parcel:
    to = Address("赵玥", phone, "天津市", "天津市", "武清区", "雍阳西道88号", "某公司")
    return Parcel(ref, SENDER, to, 92, 2, "发票")


def test_data_sign_is_kdniaos_worked_example() -> None:
    data = "{'OrderCode':'','ShipperCode':'SF','LogisticCode':'118954907573'}"
    key = "56da2cf8-c8a2-44b2-b6fa-476cd7d1ba17"
    assert data_sign(data, key) == "OWFhM2I5N2ViM2U2MGRkMjc4YzU2NmVlZWI3ZDk0MmE="
    assert data_sign('{"天津":1}', key) == expected_sign('{"天津":1}', key)


def test_order_is_collect_and_one_per_order_code(kdniao: KdniaoSimulator) -> None:
    provider = KdniaoProvider(config_for("kdniao", kdniao.base))
    first = provider.order(parcel())
    again = provider.order(parcel())  # 106: the order already taken
    assert first == again and len(kdniao.orders) == 1
    assert first.route_codes["MarkDestination"].startswith("天津") and first.estimated_fee == Decimal("13.00")
    body = json.loads(kdniao.requests[0].form["RequestData"])
    assert (body["PayType"], body["OrderCode"], body["TemplateSize"]) == (2, "TJZG1", "150")
    assert kdniao.requests[0].form["RequestType"] == "1007"
    assert provider.find("TJZG1") is None  # unknown: the step orders again with the same key


@pytest.mark.parametrize(("fault", "error"), [
    ("timeout", CourierUnavailable), ("5xx", CourierUnavailable), ("rate", CourierRateLimited),
    ("credentials", CourierCredentials), ("lost_answer", CourierUnavailable)])
def test_each_fault_is_a_delay_and_never_a_second_waybill(kdniao: KdniaoSimulator, fault: str,
                                                           error: type) -> None:
    provider = KdniaoProvider(config_for("kdniao", kdniao.base))
    kdniao.fail(fault)
    with pytest.raises(error):
        provider.order(parcel())
    number = provider.order(parcel()).number
    assert {o["waybill"] for o in kdniao.orders.values()} == {number}


def test_a_refused_recipient_waits_for_staff(kdniao: KdniaoSimulator) -> None:
    with pytest.raises(CourierRejected) as caught:
        KdniaoProvider(config_for("kdniao", kdniao.base)).order(parcel(phone=""))
    assert not caught.value.retry


def test_pickup_and_tracking(kdniao: KdniaoSimulator) -> None:
    provider = KdniaoProvider(config_for("kdniao", kdniao.base))
    numbers = [provider.order(parcel(f"T{i}")).number for i in range(4)]
    start = datetime(2018, 9, 4, 9, tzinfo=TZ)
    request = PickupRequest("TJZG-M1", SENDER, 4, 400, start, start.replace(hour=12), tuple(numbers))
    assert provider.book_pickup(request) == "KDNTJZG-M1" == provider.book_pickup(request)
    assert kdniao.pickups["TJZG-M1"]["StartDate"] == "2018-09-04 09:00:00"
    kdniao.set_state(numbers[0], "2", "201", "到达天津转运中心")
    kdniao.set_state(numbers[1], "3", "301", "已签收")
    kdniao.set_state(numbers[2], "4", "404", "收件人拒收")
    kdniao.set_state(numbers[3], "4", "407", "退货中")
    got = provider.routes(numbers)
    assert [got[n].status for n in numbers] == [ParcelStatus.IN_TRANSIT, ParcelStatus.DELIVERED,
                                                ParcelStatus.REFUSED, ParcelStatus.RETURNED]
