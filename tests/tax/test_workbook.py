"""The batch-issuing workbook: written, read back with openpyxl, checked by content."""

from __future__ import annotations

import io
import re
import zipfile
from collections import defaultdict
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.tax.builders import X14_EXT, official_template, planned, sheet_xml
from worker.errors import ExportRefused, TaxTemplateInvalid
from worker.tax import columns as C
from worker.tax.workbook import save_workbooks, write_workbooks

pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension is not supported")

BRIEF_LETTERS = {"A": "发票流水号", "B": "发票类型", "D": "是否含税", "F": "购买方名称",
                 "G": "购买方纳税人识别号", "K": "购买方地址", "Q": "购买方电话", "R": "购买方开户银行",
                 "S": "购买方银行账号", "T": "是否展示购买方地址电话银行账号", "W": "备注",
                 "AE": "购买方邮箱"}


def _invoices() -> list:
    return [
        planned("TJZG00000001", 11),
        planned("TJZG00000002", 12, lines=3, special=True),
        planned("TJZG00000003", 12, lines=2, price="160.00", buyer_name="=HYPERLINK(\"x\")某公司"),
    ]


def _data_rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(min_row=C.FIRST_DATA_ROW) if any(c.value is not None for c in r)]


@pytest.mark.parametrize("template", [None, "official"])
def test_round_trip_every_cell_text_lines_linked_totals_equal(template):
    invoices = _invoices()
    [data] = write_workbooks(invoices, official_template() if template else None)
    book = load_workbook(io.BytesIO(data))
    basic, detail = book[C.BASIC_SHEET], book[C.DETAIL_SHEET]

    assert [c.value for c in basic[C.HEADER_ROW]][:39] == [col.header for col in C.BASIC_COLUMNS]
    assert [c.value for c in detail[C.HEADER_ROW]][:14] == [col.header for col in C.DETAIL_COLUMNS]
    assert basic.max_column == 39 and detail.max_column == 14  # A–AM, A–N
    for letter, header in BRIEF_LETTERS.items():
        assert basic[f"{letter}3"].value == header

    rows, lines = _data_rows(basic), _data_rows(detail)
    for cell in (c for row in rows + lines for c in row if c.value is not None):
        assert cell.data_type == "s", (cell.coordinate, cell.value)
        assert isinstance(cell.value, str)
    for name in (C.BASIC_SHEET, C.DETAIL_SHEET):  # written inline, never as numbers
        found = re.findall(r'<c r="[A-Z]+(\d+)"([^>]*)>', sheet_xml(data, name))
        cells = [(int(row), tag) for row, tag in found]
        data_cells = [tag for row, tag in cells if row >= C.FIRST_DATA_ROW]
        assert data_cells and all('t="inlineStr"' in tag for tag in data_cells)

    serials = [row[0].value for row in rows]
    assert serials == [inv.serial for inv in invoices]  # one 流水号 per invoice, in order
    by_serial = defaultdict(list)
    for row in lines:
        by_serial[row[0].value].append(row)
    for inv, row in zip(invoices, rows, strict=True):
        assert row[1].value == str(inv.invoice_type) and row[3].value == "是"
        assert row[5].value == inv.buyer_name and row[6].value == inv.buyer_tax_id
        assert row[22].value == inv.remark
        mine = by_serial[inv.serial]
        assert len(mine) == len(inv.lines)
        assert sum(Decimal(r[7].value) for r in mine) == inv.total  # 金额 incl. tax
        assert {r[8].value for r in mine} == {"0.03"}
        assert {r[2].value for r in mine} == {"3070201020000000000"}
        assert all(Decimal(r[5].value) * Decimal(r[6].value) == Decimal(r[7].value) for r in mine)
    special = rows[1]
    assert special[18].value == "275012345678901234"  # 18-digit account stays digits as text
    assert special[19].value == C.SHOW_ALL
    assert rows[0][19].value is None  # nothing to show -> T empty
    assert rows[2][5].value.startswith("=HYPERLINK")  # text, not a formula


def test_drop_downs_and_hidden_version_sheet_without_template():
    [data] = write_workbooks([planned()])
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == [C.BASIC_SHEET, C.DETAIL_SHEET, C.SPECIFIC_SHEET, C.EXTRA_SHEET,
                               C.VERSION_SHEET]
    assert book[C.VERSION_SHEET].sheet_state == "hidden"
    assert book[C.VERSION_SHEET]["A4"].value == "pt:20260401"
    lists = {str(dv.sqref): dv.formula1 for dv in book[C.BASIC_SHEET].data_validations.dataValidation}
    assert lists["B4:B1001"] == '"增值税专用发票,普通发票"'
    assert lists["D4:D1001"] == '"是,否"'
    assert "展示地址、电话、开户银行及银行账号" in lists["T4:T1001"]
    assert book[C.BASIC_SHEET]["A2"].value.startswith("必填")


def test_more_than_998_invoices_become_several_files():
    invoices = [planned(f"TJZG{n:08d}", n) for n in range(1, 1001)]
    files = write_workbooks(invoices)
    assert len(files) == 2
    seen = []
    for data, expected in zip(files, (998, 2), strict=True):
        book = load_workbook(io.BytesIO(data), read_only=True)
        rows = [r[0] for r in book[C.BASIC_SHEET].iter_rows(min_row=4, values_only=True) if r[0]]
        lines = [r[0] for r in book[C.DETAIL_SHEET].iter_rows(min_row=4, values_only=True) if r[0]]
        assert len(rows) == expected and sorted(lines) == sorted(rows)
        seen += rows
    assert seen == [inv.serial for inv in invoices]


def test_official_template_keeps_everything_else():
    template = official_template()
    [data] = write_workbooks(_invoices(), template)
    before, after = zipfile.ZipFile(io.BytesIO(template)), zipfile.ZipFile(io.BytesIO(data))
    assert before.namelist() == after.namelist()
    changed = [n for n in before.namelist() if before.read(n) != after.read(n)]
    assert sorted(changed) == ["xl/worksheets/sheet3.xml", "xl/worksheets/sheet4.xml"]
    assert X14_EXT in sheet_xml(data, C.BASIC_SHEET)  # openpyxl would have dropped it

    book = load_workbook(io.BytesIO(data))
    assert book["字典"].sheet_state == "hidden" and book[C.VERSION_SHEET].sheet_state == "hidden"
    assert book[C.VERSION_SHEET]["A4"].value == "pt:20260401"
    assert "B4:B1001" in {str(dv.sqref) for dv in book[C.BASIC_SHEET].data_validations.dataValidation}
    assert book[C.BASIC_SHEET]["A1"].value == "填表说明：（平台原文）"
    # the template's pre-formatted row 4 gave its style to our cells
    assert book[C.BASIC_SHEET]["A4"].fill.fgColor.rgb.endswith("EEEEEE")
    assert book[C.BASIC_SHEET]["A4"].value == "TJZG00000001"


@pytest.mark.parametrize(("template", "words"), [
    (lambda: official_template(data_in_row4=True), "已有数据"),
    (lambda: official_template(header_override={"F": "购方名称"}), "模板版本不符"),
    (lambda: b"PK\x03\x04 not really a zip", "模板无法使用"),
])
def test_unusable_templates_are_refused_with_a_reason(template, words):
    with pytest.raises(TaxTemplateInvalid) as e:
        write_workbooks([planned()], template())
    assert words in e.value.detail


def test_every_problem_is_listed_before_anything_is_written():
    bad = [
        planned("TJZG000000000000000001"),  # 22 chars
        planned("TJZG00000002", special=True, buyer_tax_id=""),
        planned("TJZG00000003", remark="备" * 231),
        planned("TJZG00000003"),
        planned("TJZG00000005", buyer_name="某\x07公司"),
    ]
    with pytest.raises(ExportRefused) as e:
        write_workbooks(bad)
    reasons = defaultdict(list)
    for serial, reason in e.value.problems:
        reasons[serial].append(reason)
    assert "发票流水号须为 1–20 位字母或数字" in reasons["TJZG000000000000000001"]
    assert reasons["TJZG00000002"] == ["增值税专用发票须填购买方纳税人识别号"]
    assert reasons["TJZG00000003"] == ["备注超过 230 个字符（231 个）", "发票流水号重复"]
    assert reasons["TJZG00000005"] == ["购买方名称含有控制字符"]
    assert "TJZG00000005" in e.value.detail


def test_save_writes_named_files_and_refuses_foreign_stems(tmp_path):
    paths = save_workbooks(_invoices(), tmp_path / "out", "e7-20240301")
    assert [p.name for p in paths] == ["批量开票-e7-20240301-01.xlsx"]
    assert load_workbook(paths[0])[C.BASIC_SHEET]["A4"].value == "TJZG00000001"
    assert not list((tmp_path / "out").glob(".tax-*"))
    with pytest.raises(ValueError):
        save_workbooks(_invoices(), tmp_path, "../x")


def _zip_with_lying_member(template: bytes, name: str, inflated: int) -> bytes:
    """``template`` rebuilt with ``name``'s stream replaced by ``inflated`` bytes of
    spaces, while its local header and directory still declare its old size and CRC."""
    import struct
    import zlib

    out, directory = io.BytesIO(), []
    with zipfile.ZipFile(io.BytesIO(template)) as src:
        for info in src.infolist():
            body = src.read(info)
            squeeze = zlib.compressobj(1 if info.filename == name else 6, zlib.DEFLATED, -15)
            stream = squeeze.compress(b" " * inflated if info.filename == name else body)
            stream += squeeze.flush()
            crc, size = zlib.crc32(body), len(body)  # what the directory says, for all
            raw = info.filename.encode()
            offset = out.tell()
            out.write(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 8, 0, 0, crc,
                                  len(stream), size, len(raw), 0) + raw + stream)
            directory.append(struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 0, 20, 0, 0, 8, 0, 0,
                                         crc, len(stream), size, len(raw), 0, 0, 0, 0, 0, offset) + raw)
    start = out.tell()
    out.write(b"".join(directory))
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(directory), len(directory),
                          out.tell() - start, start, 0))
    return out.getvalue()


PRINTER_SETTINGS = "xl/printerSettings/printerSettings1.bin"  # Excel saves one per printed sheet


@pytest.mark.parametrize("member", [PRINTER_SETTINGS, "xl/worksheets/sheet3.xml", "xl/workbook.xml"])
def test_a_template_member_is_never_inflated_past_its_declared_size(member):
    """A template is a file staff picked: one whose member declares a kilobyte but holds
    64 MB is refused as damaged without inflating the rest. The XML parts were vetted so
    already (``check_zip``); a binary part was copied with ZipFile.read, which inflated
    all of it, then failed its CRC with a traceback."""
    import tracemalloc

    out = io.BytesIO(official_template())
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as book:
        book.writestr(PRINTER_SETTINGS, bytes(range(256)) * 4)
    template = out.getvalue()
    lying = _zip_with_lying_member(template, member, 64 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(TaxTemplateInvalid) as e:
            write_workbooks([planned()], lying)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "模板无法使用" in e.value.detail
    assert peak < 8 << 20
    # the same rebuild with nothing inflated past its size is a usable template
    [data] = write_workbooks([planned()], _zip_with_lying_member(template, "", 0))
    assert zipfile.ZipFile(io.BytesIO(data)).read(PRINTER_SETTINGS) == bytes(range(256)) * 4
