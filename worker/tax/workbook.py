"""Write planned invoices into the platform's batch-issuing workbook (批量开票-导入开票模板).

Layout, headers and drop-down texts are the table in ``worker.tax.columns`` (sources
cited there). One row of ``1-发票基本信息`` per invoice, one row of ``2-发票明细信息``
per line, linked by the 发票流水号; at most 998 invoices per file (more -> several
files). 是否含税 is 是: 单价 and 金额 are tax-inclusive, the platform separates the tax
per line exactly as SPEC §4 does (round(price / (1 + rate), 2)).

Every value is written as an inline string (``t="inlineStr"``): an 18-digit tax ID or a
bank account never becomes 1.2E+17, and text from a unit's form that starts with ``=``
is text, not a formula. Rows are injected into the sheet XML of the template and every
other zip member is copied byte for byte, so the official file downloaded from the
platform keeps its hidden ``excelVersion`` sheet, dictionaries, data validations
(including x14 extensions openpyxl would drop) and styles. Without a template the same
structure is generated first (``blank_template``) and filled the same way.

商品和服务税收分类编码 for the item: 3070201020000000000, 简称 非学历教育服务 (the
platform prints ``*非学历教育服务*<项目名称>``). Confirmed in public code: an issued
数电票's JSON ``itemCode 3070201020000000000 / itemCodeAbb 非学历教育服务 / itemName
消防设施操作员中级培训费``, a Java issuer ``*非学历教育服务*小语种课程教学`` with
``SPBM 3070201020000000000`` at 3%, and PHP platform clients whose examples use
``*非学历教育服务*培训费`` with that code. The code and 项目名称 come from
``[invoicing]`` in config.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path, PurePosixPath
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from worker.atomic import write_atomic
from worker.errors import ExportRefused, FormUnreadable, TaxTemplateInvalid
from worker.form.limits import FormLimits
from worker.form.xlsx import check_zip
from worker.form.zipmember import read_member
from worker.tax import columns as C
from worker.tax.model import SERIAL_CHARS, PlannedInvoice, PlannedLine, PlatformInvoiceType
from worker.text import CENT

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TAX_CODE = re.compile(r"\d{19}")
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TEMPLATE_LIMITS = FormLimits()  # the official template is ~50 KB; a form's bounds are plenty


# --- values ------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return format(value.quantize(CENT), "f")


def _number(value: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros: 1, 150.00 -> 150, 0.030 -> 0.03."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _price(value: Decimal) -> str:
    return _money(value) if value == value.quantize(CENT) else _number(value)


def _show_buyer(inv: PlannedInvoice) -> str:
    """Column T: which buyer facts the invoice shows; empty = none (the template's list)."""
    contact = bool(inv.buyer_address.strip() or inv.buyer_phone.strip())
    bank = bool(inv.buyer_bank.strip() or inv.buyer_account.strip())
    if contact and bank:
        return C.SHOW_ALL
    return C.SHOW_ADDRESS_PHONE if contact else (C.SHOW_BANK if bank else "")


def basic_values(inv: PlannedInvoice) -> dict[str, str]:
    """Sheet 1 values by ``Column.field``."""
    return {
        "serial": inv.serial,
        "invoice_type": str(inv.invoice_type),
        "tax_included": C.YES,
        "natural_person": C.NO,
        "buyer_name": inv.buyer_name.strip(),
        "buyer_tax_id": inv.buyer_tax_id.strip().upper(),
        "buyer_address": inv.buyer_address.strip(),
        "buyer_phone": inv.buyer_phone.strip(),
        "buyer_bank": inv.buyer_bank.strip(),
        "buyer_account": inv.buyer_account.strip(),
        "show_buyer": _show_buyer(inv),
        "remark": inv.remark.strip(),
        "buyer_email": inv.buyer_email.strip(),
    }


def detail_values(serial: str, line: PlannedLine) -> dict[str, str]:
    """Sheet 2 values by ``Column.field``; 金额 is tax-inclusive (是否含税 = 是)."""
    return {
        "serial": serial,
        "item_name": line.item_name.strip(),
        "tax_code": line.tax_code.strip(),
        "spec": line.spec.strip(),
        "unit": line.unit.strip(),
        "quantity": _number(line.quantity),
        "unit_price": _price(line.unit_price),
        "amount": _money(line.gross),
        "tax_rate": _number(line.tax_rate),
    }


def _row(columns: Sequence[C.Column], values: dict[str, str]) -> list[str]:
    return [values.get(col.field, "") if col.field else "" for col in columns]


# --- checks ------------------------------------------------------------------------


def _check_values(columns: Sequence[C.Column], values: dict[str, str], where: str) -> list[str]:
    problems = []
    for col in columns:
        value = values.get(col.field or "", "")
        if _ILLEGAL.search(value):
            problems.append(f"{where}{col.header}含有控制字符")
        if col.max_len is not None and len(value) > col.max_len:
            problems.append(f"{where}{col.header}超过 {col.max_len} 个字符（{len(value)} 个）")
        if value and col.choices and value not in col.choices:
            problems.append(f"{where}{col.header}“{value}”不在模板的选项中")
    return problems


def check_invoice(inv: PlannedInvoice) -> list[str]:
    """Every reason the platform would reject this invoice, in Chinese (empty = fine)."""
    problems: list[str] = []
    if not SERIAL_CHARS.fullmatch(inv.serial):
        problems.append("发票流水号须为 1–20 位字母或数字")
    if not inv.buyer_name.strip():
        problems.append("购买方名称为空")
    if inv.invoice_type is PlatformInvoiceType.SPECIAL and not inv.buyer_tax_id.strip():
        problems.append("增值税专用发票须填购买方纳税人识别号")
    if not inv.lines:
        problems.append("没有明细行")
    problems += _check_values(C.BASIC_COLUMNS, basic_values(inv), "")
    for n, line in enumerate(inv.lines, 1):
        where = f"明细第 {n} 行"
        problems += _check_values(C.DETAIL_COLUMNS, detail_values(inv.serial, line), where)
        if not _TAX_CODE.fullmatch(line.tax_code.strip()):
            problems.append(f"{where}商品和服务税收编码须为 19 位数字")
        if not line.item_name.strip():
            problems.append(f"{where}项目名称为空")
        if line.gross <= 0:
            problems.append(f"{where}金额须大于 0")
        if abs(line.quantity * line.unit_price - line.gross) > CENT:
            problems.append(f"{where}数量×单价与金额不符")
    return problems


def _refuse_bad(invoices: Sequence[PlannedInvoice]) -> None:
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for inv in invoices:
        if inv.serial in seen:
            problems.append((inv.serial, "发票流水号重复"))
        seen.add(inv.serial)
        problems += [(inv.serial, reason) for reason in check_invoice(inv)]
    if problems:
        raise ExportRefused(problems)


# --- the blank template ------------------------------------------------------------


def blank_template() -> bytes:
    """The template's structure without data: five sheets, notes, hints, headers,
    drop-down validations on rows 4–1001, text format on data columns, hidden
    ``excelVersion`` (A4 ``pt:20260401``)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheets = [
        (book.active, C.BASIC_SHEET, C.BASIC_COLUMNS, C.BASIC_NOTE),
        (book.create_sheet(), C.DETAIL_SHEET, C.DETAIL_COLUMNS, C.DETAIL_NOTE),
    ]
    for ws, title, cols, note in sheets:
        ws.title = title
        ws["A1"] = note
        ws.merge_cells(f"A1:{cols[-1].letter}1")
        for col in cols:
            ws[f"{col.letter}2"] = col.hint or None
            ws[f"{col.letter}2"].alignment = Alignment(wrap_text=True, vertical="top")
            ws[f"{col.letter}3"] = col.header
            ws[f"{col.letter}3"].font = Font(bold=True)
            ws.column_dimensions[col.letter].width = max(10, min(40, 2 * len(col.header) + 2))
            ws.column_dimensions[col.letter].number_format = "@"
            if col.choices:
                dv = DataValidation(type="list", formula1='"' + ",".join(col.choices) + '"',
                                    allow_blank=True)
                dv.add(f"{col.letter}{C.FIRST_DATA_ROW}:{col.letter}{C.LAST_VALIDATED_ROW}")
                ws.add_data_validation(dv)
        ws.freeze_panes = f"A{C.FIRST_DATA_ROW}"
    specific = book.create_sheet(C.SPECIFIC_SHEET)
    specific["A3"] = "发票流水号"
    extra = book.create_sheet(C.EXTRA_SHEET)
    for letter, header in zip("ABC", ("发票流水号", "附加要素名称", "附加要素内容"), strict=True):
        extra[f"{letter}3"] = header
    version = book.create_sheet(C.VERSION_SHEET)
    version["A4"] = C.TEMPLATE_VERSION
    version.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- filling a template --------------------------------------------------------------


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, never inflated past the size the directory declares
    (``check_zip`` bounded those): a template is a file staff chose, not ours.
    Raises TaxTemplateInvalid for a member zipfile cannot read."""
    try:
        return read_member(archive, info)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as e:
        raise TaxTemplateInvalid(f"模板无法使用：文件已损坏（{info.filename}）") from e


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> zip member path, from workbook.xml and its relationships."""
    try:
        book = SafeET.fromstring(_member(archive, archive.getinfo("xl/workbook.xml")), forbid_dtd=True)
        rels = SafeET.fromstring(_member(archive, archive.getinfo("xl/_rels/workbook.xml.rels")),
                                 forbid_dtd=True)
    except (KeyError, SafeET.ParseError, DefusedXmlException) as e:
        raise TaxTemplateInvalid("模板无法使用：不是 Excel 工作簿") from e
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{{{_PKG_REL_NS}}}Relationship")}
    paths = {}
    for sheet in book.iter(f"{{{_MAIN_NS}}}sheet"):
        target = targets.get(sheet.get(f"{{{_REL_NS}}}id"), "")
        path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        paths[sheet.get("name", "")] = path
    return paths


def _data_styles(root: object, ncols: int) -> dict[int, str]:
    """Column (1-based) -> style index the template gives data cells: an empty row 4's
    cell styles first, else the ``<col style>`` ranges."""
    styles: dict[int, str] = {}
    for col in root.iter(f"{{{_MAIN_NS}}}col"):  # type: ignore[attr-defined]
        if col.get("style"):
            for n in range(int(col.get("min", "1")), min(int(col.get("max", "1")), ncols) + 1):
                styles[n] = col.get("style")
    for row in root.iter(f"{{{_MAIN_NS}}}row"):  # type: ignore[attr-defined]
        if row.get("r") == str(C.FIRST_DATA_ROW):
            for cell in row:
                ref, style = cell.get("r", ""), cell.get("s")
                if style and ref:
                    styles[_col_index(re.sub(r"\d", "", ref))] = style
    return styles


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch.upper()) - 64
    return n


_ROW_TAG = re.compile(r"<(?P<p>\w+:)?row\b[^>]*?\br=\"(?P<r>\d+)\"[^>]*?(?:/>|>.*?</(?P=p)?row>)", re.S)
_SHEETDATA_EMPTY = re.compile(r"<(?P<p>\w+:)?sheetData\s*/>")
_SHEETDATA_END = re.compile(r"</(?P<p>\w+:)?sheetData>")
_DIMENSION = re.compile(r"(<(?:\w+:)?dimension\b[^>]*?\bref=\")[^\"]*(\")")


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.NameToInfo:
        return []
    try:
        root = SafeET.fromstring(_member(archive, archive.getinfo("xl/sharedStrings.xml")),
                                 forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException) as e:
        raise TaxTemplateInvalid("模板无法使用：共享字符串已损坏") from e
    texts = []
    for si in root.iter(f"{{{_MAIN_NS}}}si"):
        texts.append("".join(t.text or "" for t in si.iter(f"{{{_MAIN_NS}}}t")))
    return texts


def _header_row(root: object, shared: list[str]) -> dict[str, str]:
    """Row 3 as letter -> text (inline or shared strings), whitespace removed."""
    headers = {}
    for cell in root.iter(f"{{{_MAIN_NS}}}c"):  # type: ignore[attr-defined]
        ref = cell.get("r", "")
        if not ref.endswith(str(C.HEADER_ROW)) or ref.rstrip("0123456789") + "3" != ref:
            continue
        if cell.get("t") == "s":
            v = cell.find(f"{{{_MAIN_NS}}}v")
            raw = v.text if v is not None else None
            index = int(raw) if raw and raw.isascii() and raw.isdigit() else -1
            text = shared[index] if 0 <= index < len(shared) else ""
        else:
            text = "".join(cell.itertext())
        headers[ref[:-1]] = re.sub(r"\s+", "", text)
    return headers


def _fill_sheet(xml: bytes, columns: Sequence[C.Column], rows: list[list[str]], name: str,
                shared: list[str]) -> bytes:
    try:
        root = SafeET.fromstring(xml, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException) as e:
        raise TaxTemplateInvalid(f"模板无法使用：工作表“{name}”已损坏") from e
    for row in root.iter(f"{{{_MAIN_NS}}}row"):
        number = int(row.get("r", "0") or 0)
        has_value = any(
            child.tag in (f"{{{_MAIN_NS}}}v", f"{{{_MAIN_NS}}}is", f"{{{_MAIN_NS}}}f")
            for cell in row for child in cell
        )
        if number >= C.FIRST_DATA_ROW and has_value:
            raise TaxTemplateInvalid(f"模板的“{name}”第 {number} 行已有数据，请使用空白模板")
    headers = _header_row(root, shared)
    for col in columns:
        found = headers.get(col.letter, "")
        if found != re.sub(r"\s+", "", col.header):
            raise TaxTemplateInvalid(
                f"模板的“{name}”{col.letter}3 是“{found}”，应为“{col.header}”：模板版本不符（需要 V260401）"
            )
    styles = _data_styles(root, len(columns))
    text = xml.decode("utf-8")
    # Remove the template's empty pre-formatted data rows; ours replace them.
    text = _ROW_TAG.sub(lambda m: m.group(0) if int(m.group("r")) < C.FIRST_DATA_ROW else "", text)
    empty, end = _SHEETDATA_EMPTY.search(text), _SHEETDATA_END.search(text)
    if not (empty or end):
        raise TaxTemplateInvalid(f"模板无法使用：工作表“{name}”没有数据区")
    prefix = ((empty or end).group("p") or "")  # type: ignore[union-attr]
    body = "".join(
        _row_xml(prefix, C.FIRST_DATA_ROW + i, columns, values, styles) for i, values in enumerate(rows)
    )
    if empty:
        text = _SHEETDATA_EMPTY.sub(lambda m: f"<{prefix}sheetData>{body}</{prefix}sheetData>", text, 1)
    else:
        text = _SHEETDATA_END.sub(lambda m: f"{body}</{prefix}sheetData>", text, 1)
    last = C.FIRST_DATA_ROW + len(rows) - 1 if rows else C.HEADER_ROW
    text = _DIMENSION.sub(lambda m: f"{m.group(1)}A1:{columns[-1].letter}{last}{m.group(2)}", text, 1)
    return text.encode("utf-8")


def _row_xml(p: str, number: int, columns: Sequence[C.Column], values: list[str],
             styles: dict[int, str]) -> str:
    cells = []
    for index, (col, value) in enumerate(zip(columns, values, strict=True), 1):
        if value == "":
            continue
        style = f' s="{styles[index]}"' if index in styles else ""
        cells.append(
            f'<{p}c r="{col.letter}{number}" t="inlineStr"{style}><{p}is>'
            f'<{p}t xml:space="preserve">{escape(value)}</{p}t></{p}is></{p}c>'
        )
    return f'<{p}row r="{number}">{"".join(cells)}</{p}row>'


def fill_template(template: bytes, invoices: Sequence[PlannedInvoice]) -> bytes:
    """One workbook holding ``invoices`` (at most 998), every other zip member unchanged."""
    if len(invoices) > C.MAX_INVOICES_PER_FILE:
        raise ValueError(f"at most {C.MAX_INVOICES_PER_FILE} invoices per workbook")
    try:
        check_zip(template, _TEMPLATE_LIMITS)
    except FormUnreadable as e:
        raise TaxTemplateInvalid(f"模板无法使用：{e.detail}") from e
    basic = [_row(C.BASIC_COLUMNS, basic_values(inv)) for inv in invoices]
    detail = [_row(C.DETAIL_COLUMNS, detail_values(inv.serial, line))
              for inv in invoices for line in inv.lines]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as src:
        paths = _sheet_paths(src)
        shared = _shared_strings(src)
        for sheet in (C.BASIC_SHEET, C.DETAIL_SHEET):
            if paths.get(sheet) not in src.NameToInfo:
                raise TaxTemplateInvalid(f"模板中没有工作表“{sheet}”，不是税务平台的批量开票模板")
        replaced = {
            paths[C.BASIC_SHEET]: _fill_sheet(_member(src, src.getinfo(paths[C.BASIC_SHEET])),
                                              C.BASIC_COLUMNS, basic, C.BASIC_SHEET, shared),
            paths[C.DETAIL_SHEET]: _fill_sheet(_member(src, src.getinfo(paths[C.DETAIL_SHEET])),
                                               C.DETAIL_COLUMNS, detail, C.DETAIL_SHEET, shared),
        }
        with zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, replaced.get(info.filename) or _member(src, info))
    return out.getvalue()


def write_workbooks(invoices: Sequence[PlannedInvoice], template: bytes | None = None) -> list[bytes]:
    """Workbooks of at most 998 invoices each, in order; ExportRefused lists every
    invoice the platform would reject (nothing is written then)."""
    _refuse_bad(invoices)
    base = template if template is not None else blank_template()
    size = C.MAX_INVOICES_PER_FILE
    return [fill_template(base, invoices[i : i + size]) for i in range(0, len(invoices), size)]


_STEM = re.compile(r"[A-Za-z0-9_-]{1,60}")


def save_workbooks(invoices: Sequence[PlannedInvoice], out_dir: Path, stem: str,
                   template: bytes | None = None) -> list[Path]:
    """Write ``批量开票-<stem>-01.xlsx`` … into ``out_dir`` (each atomically); ``stem`` is
    ours (e.g. the export's id and time), never text from a unit."""
    if not _STEM.fullmatch(stem):
        raise ValueError(f"file stem must be ASCII letters, digits, - or _: {stem!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, data in enumerate(write_workbooks(invoices, template), 1):
        path = out_dir / f"批量开票-{stem}-{n:02d}.xlsx"
        write_atomic(path, data)
        paths.append(path)
    return paths
