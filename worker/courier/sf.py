"""SF Express open platform (顺丰开放平台 / 丰桥): waybills, labels, routes.

Every call is one form POST (``application/x-www-form-urlencoded``, UTF-8) to
``[courier.sf] url`` with ``partnerID`` (顾客编码), ``requestID`` (a UUID),
``serviceCode``, ``timestamp`` (ms), ``msgDigest`` and ``msgData`` (the JSON body).

Signature (数字签名): ``msgDigest = Base64(MD5(URLEncode(msgData + timestamp +
checkWord)))``, URL-encoding as Java's ``URLEncoder.encode(..., "UTF-8")`` (space as
``+``, ``*`` kept, ``~`` encoded), MD5 over the encoded UTF-8 bytes, Base64 of the
16 raw digest bytes. SF's worked example -- ``{"language":"zh-CN","orderId":
"QIAO-20200618-004"}`` + ``12312334453453`` + ``fjcg5PGKaNpPSHFAZ4QsCOkV71R3zVci`` gives
``IIKJtuLVzoFTu4kHI8M8vA==`` -- is a test (``tests/courier/test_sf.py``).

The answer: ``apiResultCode`` (A1000 = the platform accepted the call; A1001 必传参数
不可为空, A1002 请求时效已过期, A1003 IP无效, A1004 无对应服务权限, A1005 流量受控,
A1006 数字签名无效, A1009 目标服务异常或不可达, A1011 OAuth2认证失败, A1099 系统异常)
and ``apiResultData``, a JSON string ``{success, errorCode (S0000 = ok), errorMsg,
msgData}`` (cloud print: ``{success, errorCode, errorMessage, obj}``).

Services used:

* ``EXP_RECE_CREATE_ORDER`` (下订单): ``orderId`` = our reference -- SF documents that
  an orderId used again returns the first order's waybill, and answers 8016 重复下单
  in some cases, which we follow with a lookup; ``payMethod`` 2 (收方付 = 到付),
  ``expressTypeId``, ``contactInfoList`` (``contactType`` 1 寄件方, 2 到件方),
  ``cargoDetails``, ``totalWeight`` (kg), ``isReturnRoutelabel`` 1, and the pickup
  with the order: ``isDocall`` 1 + ``sendStartTm`` (YYYY-MM-DD HH24:MM:SS). Answer:
  ``waybillNoInfoList`` (``waybillType`` 1 = 母单) and ``routeLabelInfo[].routeLabelData``
  (``destRouteLabel``, ``twoDimensionCode``, ``proCode``, ``codingMapping``, ...).
  Business errors we tell apart: 8016 重复下单; 1014/1015/1016 到件地址/联系人/电话不能为空
  and 8196 电话号码信息异常 (the recipient: staff correct it).
* ``EXP_RECE_SEARCH_ORDER_RESP`` (订单结果查询, "在未收到返回数据时，查询订单创建接口
  客户订单当前的处理情况"): ``orderId``, ``searchType`` "1"; the same ``msgData`` shape;
  8018 未获取到订单信息 / 6150 找不到该订单 = never taken.
* ``COM_RECE_CLOUD_PRINT_WAYBILLS`` (云打印面单 2.0): ``templateCode`` (100×150:
  ``fm_150_standard_<partnerID>``), ``version`` "2.0", ``fileType`` "pdf", ``sync``
  true, ``documents`` [{``masterWaybillNo``}]; answer ``obj.files[]`` with ``url`` and
  ``token``, the PDF fetched with header ``X-Auth-token``.
* ``EXP_RECE_SEARCH_ROUTES`` (路由查询): ``trackingType`` "1" (by waybill),
  ``trackingNumber`` [...], ``methodType`` "1"; answer ``routeResps[]`` with
  ``mailNo`` and ``routes[]`` (``acceptTime``, ``acceptAddress``, ``remark``,
  ``opCode``; 50 收件, 80 已签收).

Sources: SF's API pages (open.sf-express.com/Api/ApiDetails, 下订单接口
EXP_RECE_CREATE_ORDER, 订单结果查询接口 EXP_RECE_SEARCH_ORDER_RESP, and 开发规范
developSupport/976720 for the signature and the A-codes), read through copies in
public repositories found with the search tool; SF's own Python SDK sample
``callExpressRequest.py`` (SF-CSIM-EXPRESS-SDK-PYTHON-V2.0: ``quote_plus``, MD5,
Base64; sandbox https://sfapi-sbox.sf-express.com/std/service); the cloud print
2.0 fields from the kfx2007 ``sf`` SDK's ``Sheet.print``. Refusal and return have no
opCode we could confirm, so the route's ``remark`` is read for 拒收 / 退回 / 遗失;
an office should check its own routes once (README).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from worker.config import Config
from worker.courier.base import Address, Parcel, PickupRequest, Tracking, Waybill
from worker.courier.http import get, post_form
from worker.errors import (
    CourierCredentials,
    CourierError,
    CourierRateLimited,
    CourierRejected,
    CourierUnavailable,
)
from worker.status import ParcelStatus

WHO = "顺丰"
CREATE = "EXP_RECE_CREATE_ORDER"
SEARCH = "EXP_RECE_SEARCH_ORDER_RESP"
PRINT = "COM_RECE_CLOUD_PRINT_WAYBILLS"
ROUTES = "EXP_RECE_SEARCH_ROUTES"
ROUTE_CODES = ("destRouteLabel", "twoDimensionCode", "proCode", "codingMapping", "codingMappingOut",
               "destTeamCode", "sourceTransferCode", "abFlag", "printIcon")
PAY_COLLECT = 2            # 收方付 = 到付
DUPLICATE = "8016"         # 重复下单
NOT_FOUND = ("8018", "6150")
RECIPIENT_ERRORS = ("1014", "1015", "1016", "8196")
ROUTES_PER_CALL = 10       # trackingNumber batch size
_CREDENTIALS = {"A1002", "A1003", "A1004", "A1006", "A1011"}
_UNAVAILABLE = {"A1009", "A1099"}


def url_encode(text: str) -> str:
    """Java's ``URLEncoder.encode(text, "UTF-8")``, which SF's signature is defined with."""
    return quote_plus(text, safe="*").replace("~", "%7E")


def digest(msg_data: str, timestamp: str, checkword: str) -> str:
    """``msgDigest``: Base64(MD5(URLEncode(msgData + timestamp + checkWord)))."""
    encoded = url_encode(msg_data + timestamp + checkword).encode("utf-8")
    return base64.b64encode(hashlib.md5(encoded).digest()).decode("ascii")  # noqa: S324 -- SF's rule


class SfProvider:
    name = "sf"
    api = True
    pdf_labels = True

    def __init__(self, config: Config) -> None:
        self.cfg = config.courier.sf
        self.tz: ZoneInfo = config.tz

    # ------------------------------------------------------------------ calls

    def order(self, parcel: Parcel) -> Waybill:
        body: dict[str, Any] = {
            "language": "zh-CN",
            "orderId": parcel.reference,
            "cargoDetails": [{"name": parcel.goods, "count": parcel.invoices, "unit": "张"}],
            "contactInfoList": [_contact(1, parcel.sender), _contact(2, parcel.recipient)],
            "payMethod": PAY_COLLECT,
            "expressTypeId": self.cfg.express_type,
            "parcelQty": 1,
            "totalWeight": round(parcel.weight_grams / 1000, 3),
            "isReturnRoutelabel": 1,
            "isDocall": 0,
        }
        if parcel.pickup_start is not None:
            body["isDocall"] = 1
            body["sendStartTm"] = parcel.pickup_start.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")
        try:
            data = self._call(CREATE, body)
        except CourierRejected as e:
            if e.code != DUPLICATE:
                raise
            found = self.find(parcel.reference)  # taken before: SF's own answer for it
            if found is None:
                raise CourierUnavailable("顺丰报重复下单但查不到该订单，稍后重试", code=DUPLICATE) from e
            return found
        return _waybill(data, parcel.reference)

    def find(self, reference: str) -> Waybill | None:
        try:
            data = self._call(SEARCH, {"orderId": reference, "searchType": "1", "language": "zh-CN"})
        except CourierRejected as e:
            if e.code in NOT_FOUND:
                return None
            raise
        return _waybill(data, reference)

    def label(self, waybill: str) -> bytes:
        template = self.cfg.template or f"fm_150_standard_{self._credentials()[0]}"
        answer = self._call(PRINT, {"templateCode": template, "version": "2.0", "fileType": "pdf",
                                    "sync": True, "documents": [{"masterWaybillNo": waybill}]},
                            key="obj")
        files = answer.get("files") if isinstance(answer, dict) else None
        if not files or not isinstance(files[0], dict) or not files[0].get("url"):
            raise CourierUnavailable("顺丰云打印没有返回面单文件，稍后重试")
        # a file, not an answer: more time than a call gets
        pdf = get(str(files[0]["url"]), {"X-Auth-token": str(files[0].get("token", ""))},
                  timeout=self.cfg.timeout_seconds * 3, who=WHO)
        if not pdf.startswith(b"%PDF"):
            raise CourierUnavailable("顺丰云打印返回的不是 PDF，稍后重试")
        return pdf

    def book_pickup(self, request: PickupRequest) -> str:
        """SF comes for each order placed with ``isDocall`` 1 at its ``sendStartTm``
        (the window is computed when the waybill is ordered, ``worker.courier.pickup``):
        there is nothing more to call, and the booking names that."""
        start = request.start.astimezone(self.tz)
        return f"isDocall {start:%Y-%m-%d %H:%M}"

    def routes(self, waybills: list[str]) -> dict[str, Tracking]:
        out: dict[str, Tracking] = {}
        for chunk in _chunks(waybills, ROUTES_PER_CALL):
            data = self._call(ROUTES, {"language": "zh-CN", "trackingType": "1",
                                       "trackingNumber": chunk, "methodType": "1"})
            for resp in data.get("routeResps") or []:
                number = str(resp.get("mailNo", ""))
                if number in chunk:
                    out[number] = classify(number, resp.get("routes") or [])
        return out

    # ------------------------------------------------------------------ wire

    def _credentials(self) -> tuple[str, str]:
        partner = os.environ.get(self.cfg.partner_env, "")
        checkword = os.environ.get(self.cfg.checkword_env, "")
        if not partner or not checkword:
            raise CourierCredentials(f"未配置顺丰账号：环境变量 {self.cfg.partner_env} / "
                                     f"{self.cfg.checkword_env} 为空")
        return partner, checkword

    def _call(self, service: str, body: dict[str, Any], *, key: str = "msgData") -> Any:
        partner, checkword = self._credentials()
        msg_data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        timestamp = str(int(time.time() * 1000))
        raw = post_form(self.cfg.url, {
            "partnerID": partner, "requestID": uuid.uuid4().hex, "serviceCode": service,
            "timestamp": timestamp, "msgDigest": digest(msg_data, timestamp, checkword),
            "msgData": msg_data,
        }, timeout=self.cfg.timeout_seconds, who=WHO)
        return _result(raw, key)


def _result(raw: bytes, key: str) -> Any:
    """The business answer (``msgData`` / ``obj``), or the error it stands for."""
    try:
        outer = json.loads(raw.decode("utf-8"))
        code = str(outer.get("apiResultCode", ""))
        inner = outer.get("apiResultData")
        if isinstance(inner, str) and inner:
            inner = json.loads(inner)
    except (ValueError, AttributeError) as e:
        raise CourierUnavailable("顺丰返回了无法解析的内容，稍后重试") from e
    if code != "A1000":
        message = str(outer.get("apiErrorMsg") or "")
        if code == "A1005":
            raise CourierRateLimited(f"顺丰流量受控：{message}".rstrip("："), code=code)
        if code in _CREDENTIALS:
            raise CourierCredentials(f"顺丰拒绝了请求（凭证/签名/权限）：{message}".rstrip("："), code=code)
        if code in _UNAVAILABLE:
            raise CourierUnavailable(f"顺丰系统异常：{message}".rstrip("："), code=code)
        raise CourierError(f"顺丰未受理请求：{message or code}", code=code)
    if not isinstance(inner, dict):
        raise CourierUnavailable("顺丰返回了无法解析的内容，稍后重试")
    if inner.get("success") in (True, "true"):
        return inner.get(key) or {}
    error = str(inner.get("errorCode") or "")
    message = str(inner.get("errorMsg") or inner.get("errorMessage") or "")
    if error in RECIPIENT_ERRORS:
        raise CourierRejected(f"顺丰不受理收件信息：{message}（请更正收件人后重试）", code=error)
    if error in (DUPLICATE, *NOT_FOUND):
        raise CourierRejected(message or error, code=error)
    if error.startswith("4") or not error:  # 4001 系统发生数据错误或运行时异常
        raise CourierUnavailable(f"顺丰系统错误：{message}".rstrip("："), code=error)
    raise CourierError(f"顺丰：{message or error}", code=error)


def _contact(kind: int, a: Address) -> dict[str, Any]:
    return {"contactType": kind, "contact": a.name, "company": a.company, "mobile": a.phone,
            "country": "CN", "province": a.province, "city": a.city, "county": a.district,
            "address": a.address}


def _waybill(data: Any, reference: str) -> Waybill:
    numbers = data.get("waybillNoInfoList") if isinstance(data, dict) else None
    masters = [w.get("waybillNo") for w in numbers or []
               if isinstance(w, dict) and str(w.get("waybillType", "1")) == "1" and w.get("waybillNo")]
    if not masters:
        raise CourierUnavailable("顺丰的回答里没有运单号，稍后重试")
    codes: dict[str, str] = {}
    for info in data.get("routeLabelInfo") or []:
        label = info.get("routeLabelData") if isinstance(info, dict) else None
        if isinstance(label, dict) and label.get("waybillNo") in (None, masters[0]):
            codes = {k: str(label[k]) for k in ROUTE_CODES if label.get(k)}
            break
    return Waybill(number=str(masters[0]), reference=reference, route_codes=codes)


_KEYWORDS = ((ParcelStatus.LOST, ("遗失", "丢失")),
             # "待退回" (to be sent back) is not back yet: only a completed return counts
             (ParcelStatus.RETURNED, ("已退回", "退回寄件人", "退回至寄件", "已退还", "退件签收")),
             (ParcelStatus.REFUSED, ("拒收", "拒付", "拒绝签收")))
DELIVERED_OPS = ("80", "8000")


def classify(waybill: str, routes: Iterable[Any]) -> Tracking:
    """A parcel's status from its route events: lost, returned, refused (the worst
    seen wins: a refused parcel later returned reads as returned), else delivered
    (opCode 80), else in transit; no event yet: still waiting for pickup."""
    events = sorted((r for r in routes if isinstance(r, dict)), key=lambda r: str(r.get("acceptTime", "")))
    if not events:
        return Tracking(waybill, ParcelStatus.ORDERED)
    last = events[-1]
    note = f"{last.get('acceptAddress', '')} {last.get('remark', '')}".strip()
    at = str(last.get("acceptTime", ""))
    remarks = " ".join(str(r.get("remark", "")) for r in events)
    for status, words in _KEYWORDS:
        if any(w in remarks for w in words):
            return Tracking(waybill, status, note, at)
    if any(str(r.get("opCode", "")) in DELIVERED_OPS for r in events):
        return Tracking(waybill, ParcelStatus.DELIVERED, note, at)
    return Tracking(waybill, ParcelStatus.IN_TRANSIT, note, at)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for k in range(0, len(items), size):
        yield items[k:k + size]
