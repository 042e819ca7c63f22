"""Parse the XML of an invoice issued on the 电子发票服务平台 (数电票 版式文件 XML).

Structure (no namespace; root ``EInvoice``), as public parsers of real files read it::

    EInvoice/Header/EIid                                    发票号码 (also below)
    EInvoice/Header/InherentLabel/GeneralOrSpecialVAT/LabelName   普通发票 / 增值税专用发票
    EInvoice/EInvoiceData/SellerInformation/{SellerIdNum, SellerName}
    EInvoice/EInvoiceData/BuyerInformation/{BuyerIdNum, BuyerName}
    EInvoice/EInvoiceData/BasicInformation/{TotalAmWithoutTax, TotalTaxAm,
                                            TotalTax-includedAmount, RequestTime}
    EInvoice/EInvoiceData/IssuItemInformation (one per line)/{ItemName, SpecMod, MeaUnits,
        Quantity, UnPrice, Amount, TaxRate, ComTaxAm, TaxClassificationCode}
    EInvoice/EInvoiceData/AdditionalInformation/Remark
    EInvoice/EInvoiceData/SpecificInformation/RedEInvoice/{OriginalInvoiceCode, CreditNoteNumber}
    EInvoice/TaxSupervisionInfo/{InvoiceNumber, IssueTime, TaxBureauName}

Sources: a Java SAX reader pinned to "EInvoice 0.31" (``/EInvoice/TaxSupervisionInfo/
InvoiceNumber``, ``…/BuyerInformation/BuyerIdNum``, ``…/BasicInformation/TotalTax-
includedAmount``); a test fixture holding a real toll 数电票 XML (``<EInvoice><Header>
<EIid>26537912570200055449</EIid>…<TaxSupervisionInfo><InvoiceNumber>…<IssueTime>
2026-02-28``); several Python/JS importers reading ``IssuItemInformation`` children
(``ItemName SpecMod MeaUnits Quantity UnPrice Amount TaxRate ComTaxAm``,
``TaxClassificationCode``) and ``EInvoiceData/AdditionalInformation/Remark``. The red
letter block ``SpecificInformation/RedEInvoice`` with ``OriginalInvoiceCode`` /
``CreditNoteNumber`` was found in ONE public parser only; so the original blue number
is taken from any child whose name contains ``Original`` or ``Blue`` and the
confirmation number from one containing ``CreditNote`` or ``Confirm`` — verify with a
real red-letter file when one is at hand. Namespaces, if a file has them, are ignored.

Security: ``defusedxml`` with DTDs forbidden (billion laughs, external entities are
refused before expansion), a size cap before parsing, and every failure —
truncated, hostile, not an EInvoice, missing number or totals — raised as
``TaxXmlUnreadable`` with a Chinese reason; nothing else escapes.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from worker.errors import TaxXmlUnreadable
from worker.tax.model import IssuedInvoice, IssuedLine, RedLetterInfo
from worker.text import CENT

MAX_XML_BYTES = 2 * 1024 * 1024  # a real one is 5–30 KB; 2 MB leaves room for ~5000 lines
NUMBER = re.compile(r"\d{20}")
_DECL = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9_.-]+)[\"'][^>]*\?>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_GB = ("gb2312", "gbk", "gb18030", "cp936", "x-gbk")


def _text(node: Element | None) -> str:
    if node is None:
        return ""
    return _CONTROL.sub("", "".join(node.itertext())).strip()


def _get(root: Element, path: str) -> str:
    return _text(root.find(path))


def _decimal(raw: str, what: str, *, required: bool = True) -> Decimal | None:
    cleaned = raw.replace(",", "").replace("¥", "").replace("￥", "").strip()
    if not cleaned:
        if required:
            raise TaxXmlUnreadable(f"发票 XML 缺少{what}")
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation as e:
        raise TaxXmlUnreadable(f"发票 XML 的{what}不是数字：{cleaned[:40]}") from e
    if not value.is_finite():
        raise TaxXmlUnreadable(f"发票 XML 的{what}不是数字：{cleaned[:40]}")
    return value


def _rate(raw: str) -> Decimal | None:
    """``0.03`` / ``0.030000`` / ``3%`` -> Decimal('0.03'); 免税/不征税/*** -> None."""
    text = raw.strip().replace("％", "%")
    percent = text.endswith("%")
    try:
        value = Decimal(text.rstrip("%"))
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return (value / 100 if percent else value).normalize()


def _decode(data: bytes) -> bytes | str:
    """Bytes for expat, or text when the declaration names a GB encoding expat lacks."""
    match = _DECL.match(data[:200])
    if not match or match.group(1).decode("ascii").lower() not in _GB:
        return data
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as e:
        raise TaxXmlUnreadable("发票 XML 的编码与声明不符（GBK）") from e
    return text[text.index("?>") + 2 :]


def _strip_namespaces(root: Element) -> None:
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]


def parse_issued_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> IssuedInvoice:
    """One issued invoice from its XML bytes; TaxXmlUnreadable for anything unusable."""
    if not data.strip():
        raise TaxXmlUnreadable("发票 XML 为空")
    if len(data) > max_bytes:
        raise TaxXmlUnreadable(f"发票 XML 过大（超过 {max_bytes // 1024} KB）")
    try:
        root = SafeET.fromstring(_decode(data), forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except DefusedXmlException as e:
        raise TaxXmlUnreadable("发票 XML 含有 DTD 或实体声明，已拒绝（疑似恶意文件）") from e
    except SafeET.ParseError as e:
        raise TaxXmlUnreadable(f"发票 XML 格式错误或不完整（{e.position[0]} 行）") from e
    except (ValueError, LookupError, UnicodeError) as e:  # unknown encoding, bad bytes
        raise TaxXmlUnreadable("发票 XML 的编码无法识别") from e
    _strip_namespaces(root)
    if root.tag != "EInvoice":
        raise TaxXmlUnreadable(f"不是数电发票 XML（根元素为 {str(root.tag)[:40]}，应为 EInvoice）")
    return _invoice(root, hashlib.sha256(data).hexdigest())


def _invoice(root: Element, digest: str) -> IssuedInvoice:
    number = _get(root, "TaxSupervisionInfo/InvoiceNumber")
    eiid = _get(root, "Header/EIid")
    if number and eiid and number != eiid:
        raise TaxXmlUnreadable(f"发票 XML 中的发票号码不一致（{number} / {eiid}）")
    number = number or eiid
    if not NUMBER.fullmatch(number):
        raise TaxXmlUnreadable(f"发票 XML 的发票号码不是 20 位数字：{number[:30] or '（无）'}")
    data = root.find("EInvoiceData")
    if data is None:
        raise TaxXmlUnreadable("发票 XML 缺少 EInvoiceData")
    net = _decimal(_get(data, "BasicInformation/TotalAmWithoutTax"), "合计金额")
    tax = _decimal(_get(data, "BasicInformation/TotalTaxAm"), "合计税额")
    total = _decimal(_get(data, "BasicInformation/TotalTax-includedAmount"), "价税合计")
    assert net is not None and tax is not None and total is not None  # required=True
    if abs(net + tax - total) > CENT:
        raise TaxXmlUnreadable(f"发票 XML 的金额不一致：{net} + {tax} ≠ {total}")
    lines = tuple(_line(item, n) for n, item in enumerate(data.findall("IssuItemInformation"), 1))
    return IssuedInvoice(
        number=number,
        issue_time=_get(root, "TaxSupervisionInfo/IssueTime") or _get(data, "BasicInformation/RequestTime"),
        buyer_name=_get(data, "BuyerInformation/BuyerName"),
        buyer_tax_id=_get(data, "BuyerInformation/BuyerIdNum").upper(),
        seller_name=_get(data, "SellerInformation/SellerName"),
        seller_tax_id=_get(data, "SellerInformation/SellerIdNum").upper(),
        total_net=net,
        total_tax=tax,
        total=total,
        remark=_get(data, "AdditionalInformation/Remark"),
        lines=lines,
        kind=_get(root, "Header/InherentLabel/GeneralOrSpecialVAT/LabelName"),
        red=_red(data.find("SpecificInformation/RedEInvoice")),
        digest=digest,
    )


def _line(item: Element, n: int) -> IssuedLine:
    what = f"第 {n} 行明细的"
    amount = _decimal(_get(item, "Amount"), what + "金额")
    tax = _decimal(_get(item, "ComTaxAm"), what + "税额")
    assert amount is not None and tax is not None
    return IssuedLine(
        item_name=_get(item, "ItemName"),
        tax_code=_get(item, "TaxClassificationCode"),
        spec=_get(item, "SpecMod"),
        unit=_get(item, "MeaUnits"),
        quantity=_decimal(_get(item, "Quantity"), what + "数量", required=False),
        unit_price=_decimal(_get(item, "UnPrice"), what + "单价", required=False),
        amount=amount,
        tax_rate=_rate(_get(item, "TaxRate")),
        tax=tax,
    )


def _red(block: Element | None) -> RedLetterInfo | None:
    if block is None:
        return None
    original = confirmation = ""
    for child in block:
        name, value = str(child.tag), _text(child)
        if not original and ("Original" in name or "Blue" in name) and NUMBER.fullmatch(value):
            original = value
        elif not confirmation and ("CreditNote" in name or "Confirm" in name) and value:
            confirmation = value[:40]
    if not original:
        raise TaxXmlUnreadable("红字发票 XML 没有写明对应的蓝字发票号码")
    return RedLetterInfo(original_number=original, confirmation_number=confirmation)
