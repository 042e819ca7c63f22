"""A simulator of SF's open platform as its documents describe it (see the docstring
of ``worker/courier/sf.py``): it checks every request's ``msgDigest`` with its own
implementation of the rule, takes orders by ``orderId`` (the same orderId answers the
first order's waybill), answers order lookups, cloud-prints a 100×150 PDF from its
own data (downloaded with the ``X-Auth-token`` it gave), and answers routes the test
sets (``pick_up``, ``deliver``, ``refuse``, ``send_back``)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.courier.simbase import SLOW, Answer, Request, Simulator

PARTNER = "TJZGSIM01"
CHECKWORD = "fjcg5PGKaNpPSHFAZ4QsCOkV71R3zVci"
_UNRESERVED = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_")


def java_url_encode(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        if byte in _UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def expected_digest(msg_data: str, timestamp: str, checkword: str) -> str:
    encoded = java_url_encode(msg_data + timestamp + checkword)
    return base64.b64encode(hashlib.md5(encoded.encode("ascii")).digest()).decode("ascii")  # noqa: S324


@dataclass
class SfSimulator(Simulator):
    partner: str = PARTNER
    checkword: str = CHECKWORD
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)     # orderId -> order
    routes: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)               # waybill -> print token
    _numbers: Any = field(default_factory=lambda: itertools.count(7444400043266))

    # ------------------------------------------------------------ the test's levers

    def waybills_for(self, order_id: str) -> set[str]:
        return {o["waybill"] for ref, o in self.orders.items() if ref == order_id}

    def event(self, waybill: str, op: str, remark: str, when: str) -> None:
        self.routes.setdefault(waybill, []).append(
            {"acceptTime": when, "acceptAddress": "天津市", "remark": remark, "opCode": op})

    def pick_up(self, waybill: str, when: str = "2018-09-04 10:00:00") -> None:
        self.event(waybill, "50", "顺丰速运 已收取快件", when)

    def deliver(self, waybill: str, when: str = "2018-09-05 11:30:00") -> None:
        self.event(waybill, "80", "已签收，感谢使用顺丰，期待再次为您服务", when)

    def refuse(self, waybill: str, when: str = "2018-09-05 11:30:00") -> None:
        self.event(waybill, "70", "收方客户拒收（拒付到付运费），快件待退回", when)

    def send_back(self, waybill: str, when: str = "2018-09-07 15:00:00") -> None:
        self.event(waybill, "99", "快件已退回寄件人", when)

    # ------------------------------------------------------------ the platform

    def answer(self, request: Request, fault: str | None) -> Answer:
        if request.path.startswith("/print/"):
            return self._download(request)
        form = request.form
        if fault == "5xx":
            return Answer(502, b"<html>Bad Gateway</html>", "text/html")
        if fault == "rate":
            return _api("A1005", "流量受控")
        if fault == "credentials" or form.get("partnerID") != self.partner:
            return _api("A1006", "数字签名无效")
        if not all(form.get(k) for k in ("requestID", "serviceCode", "timestamp", "msgDigest", "msgData")):
            return _api("A1001", "必传参数不可为空")
        if form["msgDigest"] != expected_digest(form["msgData"], form["timestamp"], self.checkword):
            return _api("A1006", "数字签名无效")
        body = json.loads(form["msgData"])
        service = form["serviceCode"]
        if service == "EXP_RECE_CREATE_ORDER":
            return self._create(body, fault)
        if service == "EXP_RECE_SEARCH_ORDER_RESP":
            order = self.orders.get(body.get("orderId", ""))
            if order is None:
                return _ok(None, success=False, code="8018", msg="未获取到订单信息")
            return _ok(self._order_data(order))
        if service == "COM_RECE_CLOUD_PRINT_WAYBILLS":
            return self._print(body)
        if service == "EXP_RECE_SEARCH_ROUTES":
            numbers = body.get("trackingNumber") or []
            return _ok({"routeResps": [{"mailNo": n, "routes": self.routes.get(n, [])} for n in numbers]})
        return _api("A1004", "无对应服务权限")

    def _create(self, body: dict[str, Any], fault: str | None) -> Answer:
        order_id = body.get("orderId", "")
        contacts = {c.get("contactType"): c for c in body.get("contactInfoList", [])}
        if not order_id or set(contacts) != {1, 2} or body.get("payMethod") != 2:
            return _ok(None, success=False, code="1010", msg="寄件/到件信息或付款方式不全")
        if not (contacts[2].get("mobile") or contacts[2].get("tel")):
            return _ok(None, success=False, code="1016", msg="到件电话不能为空")
        known = order_id in self.orders
        if not known:  # "重复使用订单号时返回第一次下单成功时的运单信息"
            number = f"SF{next(self._numbers)}"
            self.orders[order_id] = {"waybill": number, "body": body, "dest": _dest(contacts[2])}
        order = self.orders[order_id]
        if fault == "duplicate":
            return _ok(None, success=False, code="8016", msg="重复下单")
        if fault == "lost_answer":
            return Answer(200, b"", drop=True)
        answer = _ok(self._order_data(order))
        if fault == "timeout":
            answer.delay = SLOW
        return answer

    def _order_data(self, order: dict[str, Any]) -> dict[str, Any]:
        number, dest = order["waybill"], order["dest"]
        return {
            "orderId": order["body"]["orderId"], "originCode": "022", "destCode": "022",
            "filterResult": 2,
            "waybillNoInfoList": [{"waybillType": 1, "waybillNo": number}],
            "routeLabelInfo": [{"code": "1000", "message": f"{number}:", "routeLabelData": {
                "waybillNo": number, "destRouteLabel": dest, "proCode": "T4", "codingMapping": "F33",
                "twoDimensionCode": f"MMM={{'k1':'022','k2':'{dest}','k4':'T4','k5':'{number}'}}",
            }}],
        }

    def _print(self, body: dict[str, Any]) -> Answer:
        if body.get("version") != "2.0" or body.get("fileType") != "pdf" \
                or not str(body.get("templateCode", "")).startswith("fm_150_standard"):
            return _print_answer(False, "模板或参数错误", None)
        files = []
        for doc in body.get("documents") or []:
            number = doc.get("masterWaybillNo", "")
            if number not in {o["waybill"] for o in self.orders.values()}:
                return _print_answer(False, "运单号不存在", None)
            token = self.tokens.setdefault(number, secrets.token_hex(8))
            files.append({"url": f"{self.base}/print/{number}.pdf", "token": token,
                          "waybillNo": number, "seqNo": 1, "areaNo": 1, "pageNo": 1})
        return _print_answer(True, "", {"clientCode": self.partner, "fileType": "pdf", "files": files})

    def _download(self, request: Request) -> Answer:
        number = request.path.removeprefix("/print/").removesuffix(".pdf")
        token = {k.lower(): v for k, v in request.headers.items()}.get("x-auth-token")
        if number not in self.tokens or token != self.tokens[number]:
            return Answer(403, b"forbidden", "text/plain")
        order = next(o for o in self.orders.values() if o["waybill"] == number)
        return Answer(200, label_pdf(number, order), "application/pdf")


def _dest(recipient: dict[str, Any]) -> str:
    """A destination code the way SF's look (022 Tianjin, a 网点 letter by district)."""
    return "022" + "ABCDEFGHJK"[sum(map(ord, str(recipient.get("county", "")))) % 10]


def _api(code: str, message: str) -> Answer:
    return Answer(200, json.dumps({"apiResultCode": code, "apiErrorMsg": message,
                                   "apiResponseID": uuid.uuid4().hex.upper(),
                                   "apiResultData": None}, ensure_ascii=False).encode())


def _ok(data: Any, *, success: bool = True, code: str = "S0000", msg: str | None = None) -> Answer:
    inner = {"success": success, "errorCode": code, "errorMsg": msg, "msgData": data}
    return Answer(200, json.dumps({"apiResultCode": "A1000", "apiErrorMsg": "",
                                   "apiResponseID": uuid.uuid4().hex.upper(),
                                   "apiResultData": json.dumps(inner, ensure_ascii=False)},
                                  ensure_ascii=False).encode())


def _print_answer(success: bool, message: str, obj: Any) -> Answer:
    inner = {"success": success, "requestId": uuid.uuid4().hex, "errorCode": None if success else "1",
             "errorMessage": message or None, "obj": obj}
    return Answer(200, json.dumps({"apiResultCode": "A1000", "apiErrorMsg": "",
                                   "apiResponseID": uuid.uuid4().hex.upper(),
                                   "apiResultData": json.dumps(inner, ensure_ascii=False)},
                                  ensure_ascii=False).encode())


_PDFS: dict[str, bytes] = {}


def warm_up() -> None:
    """Load WeasyPrint and its fonts before any request: a label rendered during a
    request then answers well inside the client's timeout."""
    if "" not in _PDFS:
        from weasyprint import HTML

        _PDFS[""] = HTML(string="<p>顺丰</p>").write_pdf()


def label_pdf(number: str, order: dict[str, Any]) -> bytes:
    """A 100×150 label like SF's cloud print, from the simulator's own data."""
    if number not in _PDFS:
        from weasyprint import HTML

        contacts = {c["contactType"]: c for c in order["body"]["contactInfoList"]}
        to, sender = contacts[2], contacts[1]
        html = f"""<html><head><style>
          @page {{ size: 100mm 150mm; margin: 3mm; }}
          body {{ font-family: "Noto Sans CJK SC", sans-serif; font-size: 9pt; }}
          .route {{ font-size: 30pt; font-weight: bold; border: 1px solid #000; padding: 2mm; }}
          .no {{ font-size: 16pt; letter-spacing: 1px; }} .pay {{ font-size: 14pt; font-weight: bold; }}
        </style></head><body>
          <div>顺丰速运　电子面单（模拟）</div>
          <div class="route">{order["dest"]}</div>
          <div class="no">{number}</div>
          <div class="pay">到付</div>
          <p>收：{to["contact"]} {to["mobile"]}<br>{to["province"]}{to["county"]} {to["address"]}</p>
          <p>寄：{sender["contact"]} {sender["mobile"]}<br>{sender["address"]}</p>
          <p>订单号 {order["body"]["orderId"]}</p>
        </body></html>"""
        _PDFS[number] = HTML(string=html).write_pdf()
    return _PDFS[number]
