"""Kdniao (快递鸟): electronic waybills of another courier, pickup booking, tracking.

Every call is one form POST to ``[courier.kdniao] url`` with ``RequestType``,
``EBusinessID``, ``RequestData`` (the JSON body), ``DataSign`` and ``DataType`` 2
(JSON answers). ``DataSign`` = Base64 of the lowercase hex MD5 of ``RequestData +
AppKey`` (UTF-8), URL-encoded -- the form encoding does that once. Kdniao's worked
example (``{'OrderCode':'','ShipperCode':'SF','LogisticCode':'118954907573'}`` with
AppKey ``56da2cf8-c8a2-44b2-b6fa-476cd7d1ba17`` signs as
``OWFhM2I5N2ViM2U2MGRkMjc4YzU2NmVlZWI3ZDk0MmE=``) is a test
(``tests/courier/test_kdniao.py``).

Request types used:

* **1007** 电子面单 (EOrderService): ``OrderCode`` = our reference ("自定义，不可重复"),
  ``ShipperCode``, ``PayType`` 2 (1 现付, 2 到付, 3 月结, 4 第三方), ``ExpType``,
  ``CustomerName``/``CustomerPwd`` when the courier's account needs them, ``Sender`` /
  ``Receiver`` (``Name``, ``Mobile``, ``ProvinceName``, ``CityName``, ``ExpAreaName``,
  ``Address``, ``Company``), ``Commodity`` [{``GoodsName``, ``Goodsquantity``}],
  ``Weight`` (kg), ``Quantity`` 1, ``IsNotice`` 1 (no courier call per order: the
  close-out books one pickup), ``TemplateSize`` (100×150), ``IsReturnPrintTemplate``
  0 (we print our own 100×150 layout from the data). Answer: ``Success``,
  ``ResultCode`` (100 = ok, 106 = this OrderCode was ordered already, answered with
  that order), ``Reason``, ``Order`` {``OrderCode``, ``LogisticCode``, and the route
  codes ``MarkDestination`` 大头笔, ``PackageName`` 集包地, ``SortingCode``,
  ``OriginCode``, ``DestinatioCode``}, ``Cost`` when the courier quotes it.
* **1001** 预约取件: the close-out's pickup (our manifest reference as ``OrderCode``,
  ``StartDate``/``EndDate``, ``Quantity``, ``Weight``, ``Sender``/``Receiver``).
* **1002** 即时查询: ``ShipperCode`` + ``LogisticCode``; ``State`` (0 无轨迹, 1 已揽收,
  2 在途中, 3 签收, 4 问题件) and ``StateEx`` (404 拒收(退件), 406 退货签收, 407 退货未签收),
  ``Traces`` [{``AcceptTime``, ``AcceptStation``, ``Remark``}].

Kdniao documents no lookup of an electronic waybill by ``OrderCode``: ``find`` answers
"unknown" and the ordering step asks 1007 again with the same ``OrderCode``, which
Kdniao answers with the order it already took (106) -- never a second waybill.

Sources: Kdniao's API documents (快递鸟接口技术文档: 电子面单 1007 fields, 即时查询
1002 ``State``/``StateEx`` codes, the DataSign rule and its example), read through
public copies found with the search tool: the request fields and their meanings as
the ``mr-xiaoyu/kdniao-java-tools`` ``KdniaoCreationOrderRequest`` documents them,
the DataSign example as published with Kdniao's signature notes, and the
RequestType numbers (1001, 1002, 1007, 1008) as Kdniao integrations list them.
The route-code field names (``MarkDestination``, ``PackageName``, ``SortingCode``)
and error words are what Kdniao's 1007 answer documents; an office should confirm
them against its own sandbox once (README).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from worker.config import Config
from worker.courier.base import Address, Parcel, PickupRequest, Tracking, Waybill
from worker.courier.http import post_form
from worker.errors import (
    CourierCredentials,
    CourierError,
    CourierRateLimited,
    CourierRejected,
    CourierUnavailable,
)
from worker.status import ParcelStatus

WHO = "快递鸟"
ORDER, PICKUP, TRACK = "1007", "1001", "1002"
PAY_COLLECT = 2            # 到付
OK, DUPLICATE = "100", "106"
ROUTE_CODES = ("MarkDestination", "PackageName", "PackageCode", "SortingCode", "OriginCode",
               "DestinatioCode", "ShipperCode")


def data_sign(request_data: str, app_key: str) -> str:
    """Base64 of the hex MD5 of RequestData + AppKey (URL-encoded by the form)."""
    hex_digest = hashlib.md5((request_data + app_key).encode("utf-8")).hexdigest()  # noqa: S324
    return base64.b64encode(hex_digest.encode("ascii")).decode("ascii")


class KdniaoProvider:
    name = "kdniao"
    api = True
    pdf_labels = False     # the answer is data: our label prints its route codes

    def __init__(self, config: Config) -> None:
        self.cfg = config.courier.kdniao
        self.tz: ZoneInfo = config.tz

    def order(self, parcel: Parcel) -> Waybill:
        body: dict[str, Any] = {
            "OrderCode": parcel.reference, "ShipperCode": self.cfg.shipper,
            "PayType": PAY_COLLECT, "ExpType": self.cfg.exp_type,
            "Sender": _person(parcel.sender), "Receiver": _person(parcel.recipient),
            "Commodity": [{"GoodsName": parcel.goods, "Goodsquantity": parcel.invoices}],
            "Weight": round(parcel.weight_grams / 1000, 3), "Quantity": 1,
            "IsNotice": 1, "TemplateSize": self.cfg.template_size, "IsReturnPrintTemplate": "0",
            "Remark": parcel.reference,
        }
        body.update(self._account())
        answer = self._call(ORDER, body, accept=(OK, DUPLICATE))
        order = answer.get("Order")
        if not isinstance(order, dict) or not order.get("LogisticCode"):
            raise CourierUnavailable("快递鸟的回答里没有运单号，稍后重试",
                                     code=str(answer.get("ResultCode", "")))
        if order.get("OrderCode") not in (None, parcel.reference):
            raise CourierUnavailable("快递鸟回答的订单号与请求不符，稍后重试")
        return Waybill(number=str(order["LogisticCode"]), reference=parcel.reference,
                       route_codes={k: str(order[k]) for k in ROUTE_CODES if order.get(k)},
                       estimated_fee=_money(answer.get("Cost", order.get("Cost"))))

    def find(self, reference: str) -> Waybill | None:
        """Unknown: 1007 with the same OrderCode returns the order already taken (106)."""
        return None

    def label(self, waybill: str) -> bytes | None:
        return None

    def book_pickup(self, request: PickupRequest) -> str:
        start, end = (t.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")
                      for t in (request.start, request.end))
        body: dict[str, Any] = {
            "OrderCode": request.reference, "ShipperCode": self.cfg.shipper,
            "PayType": PAY_COLLECT, "ExpType": self.cfg.exp_type,
            "Sender": _person(request.sender), "Receiver": _person(request.sender),
            "StartDate": start, "EndDate": end, "Quantity": request.parcels,
            "Weight": round(request.weight_grams / 1000, 3),
            "Commodity": [{"GoodsName": "发票"}],
            "Remark": f"取件 {request.parcels} 件：" + " ".join(request.waybills)[:200],
        }
        answer = self._call(PICKUP, body, accept=(OK, DUPLICATE))
        order = answer.get("Order") if isinstance(answer.get("Order"), dict) else {}
        return str(order.get("KDNOrderCode") or answer.get("UniquerRequestNumber")
                   or order.get("OrderCode") or request.reference)[:64]

    def routes(self, waybills: list[str]) -> dict[str, Tracking]:
        out: dict[str, Tracking] = {}
        for number in waybills:
            answer = self._call(TRACK, {"OrderCode": "", "ShipperCode": self.cfg.shipper,
                                        "LogisticCode": number}, accept=None)
            out[number] = classify(number, answer)
        return out

    # ------------------------------------------------------------------ wire

    def _account(self) -> dict[str, str]:
        out = {}
        if self.cfg.customer_env:
            out["CustomerName"] = os.environ.get(self.cfg.customer_env, "")
        if self.cfg.customer_password_env:
            out["CustomerPwd"] = os.environ.get(self.cfg.customer_password_env, "")
        return out

    def _call(self, request_type: str, body: dict[str, Any],
              accept: tuple[str, ...] | None) -> dict[str, Any]:
        business = os.environ.get(self.cfg.business_env, "")
        key = os.environ.get(self.cfg.key_env, "")
        if not business or not key:
            raise CourierCredentials(f"未配置快递鸟账号：环境变量 {self.cfg.business_env} / "
                                     f"{self.cfg.key_env} 为空")
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        raw = post_form(self.cfg.url, {
            "RequestType": request_type, "EBusinessID": business, "RequestData": data,
            "DataSign": data_sign(data, key), "DataType": "2",
        }, timeout=self.cfg.timeout_seconds, who=WHO)
        try:
            answer = json.loads(raw.decode("utf-8"))
        except ValueError as e:
            raise CourierUnavailable("快递鸟返回了无法解析的内容，稍后重试") from e
        if not isinstance(answer, dict):
            raise CourierUnavailable("快递鸟返回了无法解析的内容，稍后重试")
        code = str(answer.get("ResultCode", ""))
        if answer.get("Success") in (True, "true") and (accept is None or code in accept):
            return answer
        if code in (accept or ()):
            return answer
        raise _error(code, str(answer.get("Reason") or ""))


def _error(code: str, reason: str) -> CourierError:
    if any(w in reason for w in ("签名", "DataSign", "EBusinessID", "账号", "授权", "过期", "密钥")):
        return CourierCredentials(f"快递鸟拒绝了我们的凭证：{reason}", code=code)
    if any(w in reason for w in ("频繁", "频率", "限流", "超过")):
        return CourierRateLimited(f"快递鸟限流：{reason}", code=code)
    if any(w in reason for w in ("收件", "地址", "电话", "手机", "联系人")):
        return CourierRejected(f"快递鸟不受理收件信息：{reason}（请更正收件人后重试）", code=code)
    if code == "105" or "系统" in reason or "繁忙" in reason:
        return CourierUnavailable(f"快递鸟系统异常：{reason}".rstrip("："), code=code)
    return CourierError(f"快递鸟：{reason or code}", code=code)


def _person(a: Address) -> dict[str, str]:
    return {"Name": a.name, "Mobile": a.phone, "ProvinceName": a.province, "CityName": a.city,
            "ExpAreaName": a.district, "Address": a.address, "Company": a.company}


def _money(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount > 0 else None


_LOST_WORDS = ("遗失", "丢失")


def classify(waybill: str, answer: dict[str, Any]) -> Tracking:
    """1002's State/StateEx as our status: 404 拒收(退件) refused, 406/407 退货 returned,
    State 3 签收 delivered, 1/2 moving, 0 or nothing yet: waiting for pickup."""
    traces: Iterable[Any] = answer.get("Traces") or []
    events = sorted((t for t in traces if isinstance(t, dict)), key=lambda t: str(t.get("AcceptTime", "")))
    last = events[-1] if events else {}
    note = str(last.get("AcceptStation", "") or last.get("Remark", ""))
    at = str(last.get("AcceptTime", ""))
    state, ex = str(answer.get("State", "")), str(answer.get("StateEx", ""))
    if any(w in str(t.get("AcceptStation", "")) for t in events for w in _LOST_WORDS):
        status = ParcelStatus.LOST
    elif ex in ("406", "407"):
        status = ParcelStatus.RETURNED
    elif ex == "404":
        status = ParcelStatus.REFUSED
    elif state == "3" or ex.startswith("3"):
        status = ParcelStatus.DELIVERED
    elif events or state in ("1", "2") or ex.startswith(("1", "2")):
        status = ParcelStatus.IN_TRANSIT
    else:
        status = ParcelStatus.ORDERED
    return Tracking(waybill, status, note, at)
