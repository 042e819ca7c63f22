"""The tax platform's files, built in code: planned invoices, an official-like template,
issued-invoice XML, zips (GBK names, bombs) and failure workbooks.

Nothing is read from disk. ``official_template()`` imitates what staff download from
the platform (shared-string headers, a hidden dictionary sheet, the hidden
``excelVersion`` sheet, list validations on rows 4–1001, an x14 validation extension
openpyxl cannot write itself, pre-styled empty data rows). ``platform_xml`` writes an
issued invoice's XML the way the platform does (no namespace, root ``EInvoice``).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from decimal import Decimal
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from tests.builders.form import VALID_TAX_ID
from worker.issuing.plan import split_tax
from worker.tax import columns as C
from worker.tax.model import PlannedInvoice, PlannedLine, PlatformInvoiceType, make_reference

TAX_CODE = "3070201020000000000"
SELLER_TAX_ID = "121200004013594468"
X14_EXT = (
    '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
    'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    '<x14:dataValidations xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main" count="1">'
    '<x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>字典!$A$1:$A$2</xm:f>'
    "</x14:formula1><xm:sqref>C4:C1001</xm:sqref></x14:dataValidation></x14:dataValidations>"
    "</ext></extLst>"
)


def line(price: str = "150.00", *, rate: str = "0.03", spec: str = "2018年度") -> PlannedLine:
    gross, r = Decimal(price), Decimal(rate)
    net, tax = split_tax(gross, r)
    return PlannedLine("培训费", TAX_CODE, spec, "人", Decimal(1), gross, net, r, tax)


def planned(serial: str = "TJZG00000001", application_id: int = 1, *, lines: int = 1,
            price: str = "150.00", special: bool = False, **fields: object) -> PlannedInvoice:
    values: dict[str, object] = {
        "buyer_name": "天津市武清区某某科技有限公司",
        "buyer_tax_id": VALID_TAX_ID,
        "remark": make_reference(application_id, serial),
    }
    if special:
        values |= {"buyer_address": "天津市武清区京津路1号", "buyer_phone": "022-29341234",
                   "buyer_bank": "中国银行天津武清支行", "buyer_account": "275012345678901234"}
    values |= fields
    kind = PlatformInvoiceType.SPECIAL if special else PlatformInvoiceType.NORMAL
    return PlannedInvoice(serial, application_id, kind, lines=tuple(line(price) for _ in range(lines)),
                          **values)  # type: ignore[arg-type]


# --- the template staff download from the platform ----------------------------------


def official_template(*, header_override: dict[str, str] | None = None, data_in_row4: bool = False) -> bytes:
    """An imitation of the V260401 template (see module docstring)."""
    book = Workbook()
    dictionary = book.active
    dictionary.title = "字典"
    dictionary["A1"], dictionary["A2"] = "货物运输服务", "建筑服务"
    dictionary.sheet_state = "hidden"
    version = book.create_sheet(C.VERSION_SHEET)
    version["A4"] = C.TEMPLATE_VERSION
    version.sheet_state = "hidden"
    grey = PatternFill("solid", fgColor="EEEEEE")
    for title, cols in ((C.BASIC_SHEET, C.BASIC_COLUMNS), (C.DETAIL_SHEET, C.DETAIL_COLUMNS)):
        ws = book.create_sheet(title)
        ws["A1"] = "填表说明：（平台原文）"
        for col in cols:
            ws[f"{col.letter}2"] = col.hint or None
            ws[f"{col.letter}3"] = (header_override or {}).get(col.letter, col.header)
            ws[f"{col.letter}4"].fill = grey  # pre-formatted, empty data row
            if col.choices:
                dv = DataValidation(type="list", formula1='"' + ",".join(col.choices) + '"')
                dv.add(f"{col.letter}4:{col.letter}1001")
                ws.add_data_validation(dv)
        if data_in_row4:
            ws["A4"] = "OLD0001"
    book.create_sheet(C.SPECIFIC_SHEET)["A3"] = "发票流水号"
    book.create_sheet(C.EXTRA_SHEET)["A3"] = "发票流水号"
    raw = io.BytesIO()
    book.save(raw)
    return _add_x14(raw.getvalue(), sheet_index=3)


def _add_x14(data: bytes, sheet_index: int) -> bytes:
    """Put an x14 validation extension into worksheet ``sheet_index`` (1-based)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == f"xl/worksheets/sheet{sheet_index}.xml":
                body = body.replace(b"</worksheet>", X14_EXT.encode() + b"</worksheet>")
            dst.writestr(info, body)
    return out.getvalue()


# --- what the platform gives back -----------------------------------------------------


def platform_xml(number: str, inv: PlannedInvoice | None = None, *, remark: str | None = None,
                 total: str | None = None, buyer_name: str | None = None, buyer_tax_id: str | None = None,
                 red_of: str | None = None, namespace: str = "", encoding: str = "UTF-8",
                 kind: str = "", eiid: str | None = None) -> bytes:
    """An issued invoice's XML as the platform writes it, for ``inv`` (or a default one)."""
    inv = inv or planned()
    sign = -1 if red_of else 1
    net, tax = sign * inv.total_net, sign * inv.total_tax
    gross = Decimal(total) if total is not None else net + tax
    if total is not None:
        net = gross - tax
    items = "".join(
        "<IssuItemInformation>"
        f"<ItemName>*非学历教育服务*{escape(ln.item_name)}</ItemName><SpecMod>{escape(ln.spec)}</SpecMod>"
        f"<MeaUnits>{escape(ln.unit)}</MeaUnits><Quantity>{sign * ln.quantity}</Quantity>"
        f"<UnPrice>{ln.amount}</UnPrice><Amount>{sign * ln.amount}</Amount>"
        f"<TaxRate>{ln.tax_rate}</TaxRate><ComTaxAm>{sign * ln.tax}</ComTaxAm>"
        f"<TotaltaxIncludedAmount>{sign * ln.gross}</TotaltaxIncludedAmount>"
        f"<TaxClassificationCode>{ln.tax_code}</TaxClassificationCode></IssuItemInformation>"
        for ln in inv.lines
    )
    label = kind or ("增值税专用发票" if inv.invoice_type is PlatformInvoiceType.SPECIAL else "普通发票")
    red = (f"<SpecificInformation><RedEInvoice><OriginalInvoiceCode>{red_of}</OriginalInvoiceCode>"
           f"<CreditNoteNumber>12011824000000000001</CreditNoteNumber></RedEInvoice></SpecificInformation>"
           if red_of else "")
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    body = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f"<EInvoice{xmlns}><Header><EIid>{eiid if eiid is not None else number}</EIid>"
        "<EInvoiceTag>SWEI1200</EInvoiceTag><Version>0.32</Version><InherentLabel>"
        f"<EInvoiceType><LabelCode>01</LabelCode><LabelName>电子发票</LabelName></EInvoiceType>"
        f"<GeneralOrSpecialVAT><LabelCode>02</LabelCode><LabelName>{label}</LabelName>"
        "</GeneralOrSpecialVAT></InherentLabel></Header><EInvoiceData>"
        f"<SellerInformation><SellerIdNum>{SELLER_TAX_ID}</SellerIdNum>"
        "<SellerName>天津市政工师进修学院</SellerName></SellerInformation>"
        f"<BuyerInformation><BuyerIdNum>{buyer_tax_id if buyer_tax_id is not None else inv.buyer_tax_id}"
        f"</BuyerIdNum><BuyerName>{escape(buyer_name if buyer_name is not None else inv.buyer_name)}"
        "</BuyerName></BuyerInformation>"
        f"<BasicInformation><TotalAmWithoutTax>{net}</TotalAmWithoutTax><TotalTaxAm>{tax}</TotalTaxAm>"
        f"<TotalTax-includedAmount>{gross}</TotalTax-includedAmount>"
        "<TotalTax-includedAmountInChinese>壹佰伍拾圆整</TotalTax-includedAmountInChinese>"
        "<RequestTime>2024-03-01 10:12:13</RequestTime><Drawer>王静</Drawer></BasicInformation>"
        f"{items}{red}<AdditionalInformation><Remark>"
        f"{escape(remark if remark is not None else inv.remark)}</Remark></AdditionalInformation>"
        f"</EInvoiceData><TaxSupervisionInfo><InvoiceNumber>{number}</InvoiceNumber>"
        "<IssueTime>2024-03-01 10:12:13</IssueTime><TaxBureauCode>11200000000</TaxBureauCode>"
        "<TaxBureauName>国家税务总局天津市税务局</TaxBureauName></TaxSupervisionInfo></EInvoice>"
    )
    return body.encode("gb18030" if encoding.lower() in ("gbk", "gb18030", "gb2312") else "utf-8")


def number(n: int) -> str:
    """A 20-digit 数电票 number (year 24, region 12, …)."""
    return f"2412{n:016d}"


def pdf(label: str = "") -> bytes:
    return f"%PDF-1.7\n% invoice {label}\n%%EOF\n".encode()


def ofd() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
    return out.getvalue()


def billion_laughs(levels: int = 10) -> bytes:
    decls = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, levels)
    ]
    return ('<?xml version="1.0"?>\n<!DOCTYPE EInvoice [\n' + "\n".join(decls)
            + f"\n]>\n<EInvoice><Header><EIid>&l{levels - 1};</EIid></Header></EInvoice>").encode()


# --- zips written byte by byte (names without the UTF-8 flag, bombs) -------------------


def raw_zip(entries: list[tuple[bytes, bytes]], *, utf8_flag: bool = False, deflate: bool = True) -> bytes:
    """A zip whose member names are the given raw bytes; flag bit 11 only if asked."""
    out, central = io.BytesIO(), io.BytesIO()
    flags = 0x800 if utf8_flag else 0
    for name, data in entries:
        body = _deflate(data) if deflate else data
        method = 8 if deflate else 0
        crc = zlib.crc32(data)
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21,
                              crc, len(body), len(data), len(name), 0) + name + body)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0x21,
                                  crc, len(body), len(data), len(name), 0, 0, 0, 0, 0, offset) + name)
    cd = central.getvalue()
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), out.tell(), 0)
    return out.getvalue() + cd + end


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def bomb_zip(size: int, *, declared: int | None = None, name: bytes = b"dzfp.xml") -> bytes:
    """One member inflating to ``size`` zero bytes (500 MB -> ~0.5 MB of zip), built in
    bounded memory: full-flushed deflate blocks of 1 MB zeros are identical, so one is
    compressed and repeated. ``declared`` lies about the size in both headers."""
    chunk = 1 << 20
    assert size % chunk == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(b"\0" * chunk) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush(zlib.Z_FINISH)
    body = block * (size // chunk) + tail
    crc = 0
    zeros = b"\0" * chunk
    for _ in range(size // chunk):
        crc = zlib.crc32(zeros, crc)
    stated = size if declared is None else declared
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(body), stated, len(name), 0)
    cd = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(body), stated,
                     len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), len(local) + len(name) + len(body), 0)
    return local + name + body + cd + end


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return out.getvalue()


# --- the platform's failure workbook ----------------------------------------------------


def failure_workbook(rows: list[tuple[str, str]], *, title_row: bool = True,
                     reason_label: str = "失败原因", sheet: str = "导入失败明细") -> bytes:
    """(流水号, reason) rows under a header, optionally below a title line."""
    book = Workbook()
    ws = book.active
    ws.title = sheet
    if title_row:
        ws.append(["批量开票导入失败明细"])
    ws.append(["序号", "发票流水号", "发票类型", "购买方名称", "购买方纳税人识别号", reason_label])
    for n, (serial, reason) in enumerate(rows, 1):
        ws.append([n, serial, "普通发票", "天津市武清区某某科技有限公司", VALID_TAX_ID, reason])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_xml(data: bytes, sheet_name: str) -> str:
    """The raw XML of a named sheet in an xlsx (for inlineStr checks)."""
    z = zipfile.ZipFile(io.BytesIO(data))
    book = z.read("xl/workbook.xml").decode()
    rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'name="{re.escape(sheet_name)}"[^>]*r:id="(rId\d+)"', book).group(1)  # type: ignore[union-attr]
    target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="{rid}"', rels)
    path = (target.group(1) or target.group(2)).lstrip("/")  # type: ignore[union-attr]
    return z.read(path if path.startswith("xl/") else "xl/" + path).decode()
