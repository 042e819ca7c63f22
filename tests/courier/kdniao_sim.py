"""A simulator of Kdniao as its documents describe it (see ``worker/courier/kdniao.py``):
checks ``DataSign`` with its own implementation of the rule, answers 1007 (an
OrderCode used again: ResultCode 106 with the order it already took), 1001 pickups
and 1002 tracking with the State/StateEx the test sets."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from tests.courier.simbase import SLOW, Answer, Request, Simulator

BUSINESS = "1237100"
APP_KEY = "56da2cf8-c8a2-44b2-b6fa-476cd7d1ba17"


def expected_sign(request_data: str, app_key: str) -> str:
    hex_md5 = hashlib.md5((request_data + app_key).encode("utf-8")).hexdigest()  # noqa: S324
    return base64.b64encode(hex_md5.encode("ascii")).decode("ascii")


@dataclass
class KdniaoSimulator(Simulator):
    business: str = BUSINESS
    key: str = APP_KEY
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    pickups: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: dict[str, tuple[str, str, list[dict[str, str]]]] = field(default_factory=dict)
    _numbers: Any = field(default_factory=lambda: itertools.count(8801000000001))

    def set_state(self, waybill: str, state: str, ex: str, station: str,
                  when: str = "2018-09-05 11:30:00") -> None:
        traces = self.states.get(waybill, ("", "", []))[2]
        self.states[waybill] = (state, ex, [*traces, {"AcceptTime": when, "AcceptStation": station}])

    def answer(self, request: Request, fault: str | None) -> Answer:
        form = request.form
        if fault == "5xx":
            return Answer(503, b"Service Unavailable", "text/plain")
        if fault == "rate":
            return _json({"EBusinessID": form.get("EBusinessID"), "Success": False,
                          "ResultCode": "105", "Reason": "请求过于频繁，请稍后再试"})
        if (fault == "credentials" or form.get("EBusinessID") != self.business
                or form.get("DataSign") != expected_sign(form.get("RequestData", ""), self.key)):
            return _json({"EBusinessID": form.get("EBusinessID"), "Success": False,
                          "ResultCode": "101", "Reason": "DataSign 签名错误或 AppKey 已过期"})
        body = json.loads(form["RequestData"])
        kind = form.get("RequestType")
        if kind == "1007":
            return self._order(body, fault)
        if kind == "1001":
            code = body.get("OrderCode", "")
            known = code in self.pickups
            self.pickups.setdefault(code, body)
            return _json({"EBusinessID": self.business, "Success": not known,
                          "ResultCode": "106" if known else "100", "Reason": "",
                          "Order": {"OrderCode": code, "KDNOrderCode": f"KDN{code}"}})
        if kind == "1002":
            number = body.get("LogisticCode", "")
            state, ex, traces = self.states.get(number, ("0", "", []))
            return _json({"EBusinessID": self.business, "ShipperCode": body.get("ShipperCode"),
                          "LogisticCode": number, "Success": True, "State": state, "StateEx": ex,
                          "Traces": traces})
        return _json({"Success": False, "ResultCode": "101", "Reason": "RequestType 不支持"})

    def _order(self, body: dict[str, Any], fault: str | None) -> Answer:
        code = body.get("OrderCode", "")
        receiver = body.get("Receiver") or {}
        if not code or body.get("PayType") != 2 or not body.get("ShipperCode"):
            return _json({"Success": False, "ResultCode": "101", "Reason": "缺少必要参数"})
        if not (receiver.get("Mobile") or receiver.get("Tel")):
            return _json({"Success": False, "ResultCode": "105", "Reason": "收件人电话不能为空"})
        known = code in self.orders
        if not known:
            self.orders[code] = {"waybill": f"YT{next(self._numbers)}", "body": body}
        order = self.orders[code]
        answer = _json({
            "EBusinessID": self.business, "Success": not known,
            "ResultCode": "106" if known else "100", "Reason": "该订单号已下单成功" if known else "",
            "UniquerRequestNumber": f"U{code}",
            "Order": {"OrderCode": code, "ShipperCode": body["ShipperCode"],
                      "LogisticCode": order["waybill"], "MarkDestination": "天津-" + receiver.get(
                          "ExpAreaName", "")[:2], "PackageName": "天津转运中心", "SortingCode": "022-07"},
            "Cost": "13.00",
        })
        if fault == "timeout":
            answer.delay = SLOW
        if fault == "lost_answer":
            return Answer(200, b"", drop=True)
        return answer


def _json(data: dict[str, Any]) -> Answer:
    return Answer(200, json.dumps(data, ensure_ascii=False).encode("utf-8"))
