""".xlsx cells read with python-calamine come out exactly as openpyxl gave them (issue 12).

openpyxl read the forms until issue 12, and every rule downstream (an ID typed as a number,
a year, an amount, a date) was written against its values.  Here openpyxl's read-only
reader is the oracle: workbooks written the way Excel, WPS, LibreOffice and odd
generators write them must give identical sheets, cell types included.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
import warnings
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import numbers as openpyxl_numbers
from openpyxl.utils import datetime as openpyxl_datetime
from openpyxl.worksheet._reader import _cast_number

from tests.builders.form import (
    build_form_xlsx,
    default_header,
    make_line,
    make_lines,
    rewrite_xlsx,
    with_shared_strings,
)
from tests.builders.formats import to_strict
from worker.errors import FormUnreadable
from worker.form import FormLimits
from worker.form.cells import NUMBER_ERROR, Sheet, cell_text, shows_error, trim
from worker.form.xlsx import as_transitional, read_xlsx
from worker.form.xlsxpackage import (
    BUILTIN_DATE_FORMATS,
    BUILTIN_TIMEDELTA_FORMATS,
    MAC_EPOCH,
    WINDOWS_EPOCH,
    from_excel,
    is_date_format,
    is_timedelta_format,
)
from worker.form.xlsxsheet import CELLS_TWICE, FORMULAS_UNCALCULATED, ROWS_OUT_OF_ORDER, cast_number

LIMITS = (FormLimits(), FormLimits(max_rows=10, max_cols=5), FormLimits(max_rows=3, max_cols=2))
MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def openpyxl_sheets(data: bytes, limits: FormLimits) -> list[Sheet] | str:
    """What the form reader gave before issue 12 (openpyxl, read-only, cached values)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = as_transitional(data)
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
            sheets = []
            for ws in book.worksheets:
                rows = [trim(r) for r in ws.iter_rows(min_row=1, max_row=limits.max_rows + 1,
                                                        max_col=limits.max_cols, values_only=True)]
                sheets.append(Sheet(ws.title, rows[: limits.max_rows], len(rows) > limits.max_rows,
                                    ws.sheet_state != "visible"))
            return sheets
    except Exception:
        return "unreadable"


def calamine_sheets(data: bytes, limits: FormLimits) -> list[Sheet] | str:
    try:
        return read_xlsx(data, limits)
    except FormUnreadable:
        return "unreadable"


def typed(sheets: list[Sheet] | str) -> object:
    """Sheets with each cell's type next to its value (1 == 1.0 == True otherwise)."""
    if isinstance(sheets, str):
        return sheets
    return [(s.title, s.truncated, s.hidden, [[(type(v).__name__, v) for v in r] for r in s.rows])
            for s in sheets]


# --- workbooks as spreadsheet programs and generators write them ----------------------

FORMATS = ("General", "yyyy-mm-dd", 'yyyy"年"m"月"d"日"', "[h]:mm:ss", "h:mm", "0.00%", "@",
           "m/d/yy h:mm", "[$-F800]dddd, mmmm dd, yyyy", "[Red]0.00", "mm:ss.0", "[mm]:ss",
           '#,##0.00"元"', "yyyy", 'e"年"m"月"', "\\Y000")


def styled(date1904: bool = False) -> tuple[bytes, dict[str, int]]:
    """A workbook whose styles hold FORMATS, and each format's style index."""
    book = Workbook()
    ws = book.active
    ws.title = "申请表"
    for column, fmt in enumerate(FORMATS, start=1):
        ws.cell(row=1, column=column, value=1).number_format = fmt
    if date1904:
        book.epoch = MAC_EPOCH
    out = io.BytesIO()
    book.save(out)
    sheet = zipfile.ZipFile(io.BytesIO(out.getvalue())).read("xl/worksheets/sheet1.xml")
    found = re.findall(rb'<c r="[A-Z]+1"(?: s="(\d+)")?', sheet)
    return out.getvalue(), {fmt: int(s or 0) for fmt, s in zip(FORMATS, found, strict=True)}


BASE, STYLE = styled()
BASE_1904, STYLE_1904 = styled(date1904=True)


def craft(sheet_data: bytes, *, sst: bytes | None = None, sst_attrs: bytes = b"", base: bytes = BASE,
          sheet: bytes | None = None) -> bytes:
    """``base`` with its first sheet's ``<sheetData>`` (or the whole part) replaced."""
    def replace(xml: bytes) -> bytes:
        if sheet is not None:
            return sheet
        return re.sub(rb"<sheetData>.*</sheetData>|<sheetData/>",
                      lambda _: b"<sheetData>" + sheet_data + b"</sheetData>", xml, flags=re.S)

    data = rewrite_xlsx(base, {"xl/worksheets/sheet1.xml": replace})
    if sst is not None:
        data = with_shared_strings(data, b'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="' + MAIN
                                   + b'"' + sst_attrs + b">" + sst + b"</sst>")
    return data


def row(number: int | None, *cells: bytes) -> bytes:
    head = b"<row>" if number is None else b'<row r="%d">' % number
    return head + b"".join(cells) + b"</row>"


def cell(ref: str | None, value: str | None, *, s: int | None = None, t: str | None = None,
         f: str | None = None) -> bytes:
    attrs = b"" if ref is None else b' r="%s"' % ref.encode()
    attrs += b"" if s is None else b' s="%d"' % s
    attrs += b"" if t is None else b' t="%s"' % t.encode()
    body = b"<f>%s</f>" % f.encode() if f else b""
    body += b"" if value is None else b"<v>%s</v>" % value.encode()
    return b"<c%s>%s</c>" % (attrs, body)


def column(values: list[str], **attrs: object) -> bytes:
    return b"".join(row(i, cell(f"A{i}", v, **attrs)) for i, v in enumerate(values, start=1))  # type: ignore[arg-type]


NUMBERS = ["150", "150.0", "1.5E2", "120101198001010018", "1.20101198001010E+17", "120114850303070",
           "-0", " 42 ", "0.1", "1e400", "2018", "-7", "13820001234"]
SERIALS = ["43101", "43101.5", "0.5", "0", "59", "60", "61", "1.25", "-1", "3000000",
           "43101.99999999", "0.000011574", "2958465.9999999"]
STRINGS = [b"<t>ABC_x000D_\nDEF</t>", b"<t>  spaced  </t>", b'<t xml:space="preserve">  kept  </t>',
           b"<t/>", b"", b'<r><t>rich </t></r><r><rPr><b/></rPr><t xml:space="preserve">text</t></r>',
           '<t>姓名</t><rPh sb="0" eb="1"><t>xingming</t></rPh>'.encode(),
           b"<t><![CDATA[cdata <x>]]></t>", b"<t>line&#10;break</t>", b"<t>x005F_x000D_literal</t>",
           "<t>天津市武清区</t>".encode()]
PREFIXED = (b'<?xml version="1.0"?><x:worksheet xmlns:x="' + MAIN + b'"><x:sheetData><x:row r="1">'
            b'<x:c r="A1"><x:v>150</x:v></x:c><x:c r="B1" t="inlineStr"><x:is><x:t>abc</x:t></x:is></x:c>'
            b"</x:row></x:sheetData></x:worksheet>")
UTF16 = (f'<?xml version="1.0" encoding="UTF-16"?><worksheet xmlns="{MAIN.decode()}"><sheetData>'
         '<row r="1"><c r="A1"><v>150</v></c><c r="B1" t="inlineStr"><is><t>王伟</t></is></c></row>'
         "</sheetData></worksheet>").encode("utf-16")
SPACED = (b"<row  r = '1' ><c  t = 'n'  r = 'A1'  s = '%d' ><v>43101</v></c>"
          b"<c r='B1' t = 's'><v>0</v></c></row>")

CASES: dict[str, bytes] = {
    "numbers": craft(column(NUMBERS)),
    "numbers typed n": craft(column(NUMBERS, t="n")),
    **{f"serials as {fmt}": craft(column(SERIALS, s=s)) for fmt, s in STYLE.items()},
    **{f"1904 serials as {fmt}": craft(column(SERIALS, s=s), base=BASE_1904)
       for fmt, s in STYLE_1904.items()},
    "booleans, errors, cached formula values": craft(
        row(1, cell("A1", "1", t="b"), cell("B1", "0", t="b"), cell("C1", "#N/A", t="e"),
            cell("D1", "#DIV/0!", t="e"))
        + row(2, cell("A2", "3", f="1+2"), cell("B2", "abc", t="str", f='"abc"'),
              cell("C2", "", t="str", f='""'), cell("D2", "1", t="b", f="TRUE()"),
              cell("E2", "#REF!", t="e", f="#REF!"))
        + row(3, cell("A3", None), cell("B3", None, t="str"), cell("C3", "", t="n"),
              b'<c r="D3" s="1"/>', cell("E3", " x ", t="str", f='" x "'))),
    "shared strings": craft(b"".join(row(i + 1, cell(f"A{i + 1}", str(i), t="s"), cell(f"B{i + 1}", str(i)))
                                     for i in range(len(STRINGS))),
                            sst=b"".join(b"<si>" + s + b"</si>" for s in STRINGS)),
    "shared strings as Excel writes them": craft(
        row(1, cell("A1", "0", t="s"), cell("B1", "1", t="s")),
        sst='<si><t>王伟</t></si><si><t xml:space="preserve"> a </t></si>'.encode()),
    "inline strings": craft(b"".join(row(i + 1, b'<c r="A%d" t="inlineStr"><is>%s</is></c>' % (i + 1, s))
                                     for i, s in enumerate(STRINGS))),
    "a uniqueCount far above the real count": craft(row(1, cell("A1", "0", t="s")), sst=b"<si><t>a</t></si>",
                                                    sst_attrs=b' count="1" uniqueCount="100000000000"'),
    "cells without references": craft(row(1, cell(None, "1"), cell(None, "2"), cell("E1", "5"),
                                          cell(None, "6")) + row(2, cell(None, "7"))),
    "rows without references": craft(row(None, cell("A1", "1")) + row(None, cell("A2", "2"))
                                     + row(5, cell("A5", "5")) + row(None, cell("A6", "6"))),
    "lower-case references": craft(row(1, cell("a1", "1"), cell("b1", "2"))),
    "cells out of order, one written twice alike": craft(
        row(1, cell("B1", "1"), cell("A1", "2")) + row(2, cell("C2", "3"), cell("C2", "3"))),
    "an empty row out of order": craft(row(3, cell("A3", "3")) + b'<row r="1"/>'
                                       + b'<row r="2" ht="20"></row>' + row(5, cell("A5", "5"))),
    "a cell naming another row": craft(row(1, cell("A1", "1"), cell("B7", "2")) + row(2, cell("A2", "3"))),
    "empty inline strings between numbers": craft(  # "" kept, calamine's empty cells None
        row(1, cell("A1", "1"), b'<c r="B1" t="inlineStr"><is><t/></is></c>', cell("D1", "2"),
            b'<c r="E1" t="inlineStr"><is><t></t></is></c>')
        + row(2, b'<c r="A2" t="inlineStr"><is><t>x</t></is></c>', cell("C2", "3"))),
    "cells far right": craft(row(1, cell("A1", "1"), cell("CW1", "101"), cell("XFD1", "16384"))
                             + row(2, cell("F2", "6"), cell("G2", "7"))),
    "rows far down": craft(b"".join(row(i, cell(f"A{i}", str(i)))
                                    for i in (1, 2, 3, 4, 9, 10, 11, 12, 5000, 5001, 5002, 1048576))),
    "empty formatted rows at the end": craft(row(1, cell("A1", "1")) + b'<row r="2" ht="20"/>'
                                             + b'<row r="3"><c r="A3" s="1"/></row>'),
    "prefixed elements": craft(b"", sheet=PREFIXED),
    "a sheet in UTF-16": craft(b"", sheet=UTF16),
    "ISO 8601 dates": craft(row(1, cell("A1", "2018-12-01", t="d"), cell("B1", "2018-12-01T10:20:30", t="d"),
                                cell("C1", "10:20:30", t="d"))),
    "references and CDATA in values": craft(row(1, cell("A1", "&#49;5"), cell("B1", "1\r\n"),
                                               cell("C1", "a&amp;b", t="str"), cell("D1", "<![CDATA[12]]>"))),
    "a number that is not one": craft(row(1, cell("A1", "abc"))),
    "values calamine refuses under their type": craft(
        row(1, cell("A1", "#SPILL!", t="e", f="SEQUENCE(2)"), cell("B1", "#CALC!", t="e"),
            cell("C1", " 42 ", t="n"), cell("D1", "1_000", t="n"), cell("E1", "zz", t="q"))
        + row(2, cell("A2", "7", t="n"))),
    "a style beyond the stylesheet": craft(row(1, cell("A1", "43101", s=999))),
    "attributes spaced and quoted otherwise": craft(SPACED % STYLE["yyyy-mm-dd"], sst=b"<si><t>s</t></si>"),
    "strict": to_strict(build_form_xlsx(default_header(), make_lines(3))),
    "IDs, orders, amounts typed as numbers": build_form_xlsx(
        default_header(), [make_line(1, id_number="120114198503030701", amount="150"),
                           make_line(2, amount=150.5), make_line(3, id_number="120101198001010018")],
        layout="numbers"),
    **{f"form, {layout}": build_form_xlsx(default_header(recipient=True), make_lines(4), layout=layout,
                                          blank_rows=3)
       for layout in ("standard", "inline", "shuffled", "fullwidth", "inline+numbers")},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cells_read_exactly_as_openpyxl_read_them(name: str) -> None:
    data = CASES[name]
    for limits in LIMITS:
        assert typed(calamine_sheets(data, limits)) == typed(openpyxl_sheets(data, limits)), limits


@pytest.mark.parametrize(("xml", "named"), [
    (row(3, cell("A3", "3")) + row(1, cell("A1", "1")) + row(5, cell("A5", "5")), "1"),
    (row(1, cell("A1", "1")) + row(1, cell("B1", "2")) + row(2, cell("A2", "3")), "1"),
    (b"".join(row(n, cell(f"A{n}", str(n))) for n in (12, 13, 14, 17, 15, 16)), "15、16"),
    (b"".join(row(n, cell(f"A{n}", str(n))) for n in (20, 1, 2, 3, 4, 5, 6)), "1、2、3、4、5 等"),
])
def test_rows_out_of_order_are_said_not_dropped(xml: bytes, named: str) -> None:
    """openpyxl's reader skipped a row numbered below one it had read (a script's export:
    12, 13, 14, 17 合计, 15): a trainee on it was lost without a word. The unit is told."""
    with pytest.raises(FormUnreadable) as caught:
        read_xlsx(craft(xml), FormLimits())
    assert caught.value.detail == ROWS_OUT_OF_ORDER.format(rows=named)
    assert "另存" in caught.value.detail


@pytest.mark.parametrize(("xml", "named"), [
    (row(1, cell("B1", "1"), cell("B1", None), cell("A1", "2")), "B1"),
    (row(1, cell("A1", "1")) + row(2, cell("C2", "3"), cell("C2", "4")), "C2"),
    (row(3, cell("E3", "0", t="s"), cell("E3", "1", t="s")), "E3"),
])
def test_a_cell_written_twice_differently_is_said(xml: bytes, named: str) -> None:
    """openpyxl kept a cell's later copy, while a header field showed its first (a
    trial's 和平区 then 武清区 in one cell): which value is the unit's cannot be told, so
    the unit is asked to save the file again."""
    with pytest.raises(FormUnreadable) as caught:
        read_xlsx(craft(xml, sst=b"<si><t>a</t></si><si><t>b</t></si>"), FormLimits())
    assert caught.value.detail == CELLS_TWICE.format(cells=named)
    assert "另存" in caught.value.detail


@pytest.mark.parametrize(("xml", "named"), [
    (row(3, cell("A3", None, f="A1")), "A3"),
    (row(12, cell("B12", "x", t="inlineStr"), cell("F12", None, f="100+50"))
     + row(13, cell("F13", "150", f="100+50")), "F12"),
    (b"".join(row(n, cell(f"C{n}", None, t="str", f='"a"')) for n in range(1, 8)), "C1、C2、C3、C4、C5 等"),
])
def test_a_formula_never_calculated_is_said(xml: bytes, named: str) -> None:
    """A script's formula with no saved result (openpyxl writes them so) read as an
    empty cell: a unit who filled 金额 with =100+50 was told 未填写金额. Excel shows the
    result; the file does not hold it: the unit is asked to save the file again."""
    with pytest.raises(FormUnreadable) as caught:
        read_xlsx(craft(xml), FormLimits())
    assert caught.value.detail == FORMULAS_UNCALCULATED.format(cells=named)


def test_an_id_stored_with_all_its_digits_keeps_them() -> None:
    data = craft(column(["120101198001010018", "1.20101198001010E+17", "120114850303070"]))
    assert [r[0] for r in read_xlsx(data, FormLimits())[0].rows] == [
        120101198001010018, 1.2010119800101e17, 120114850303070]


def test_a_huge_unique_count_does_not_abort_the_process(tmp_path) -> None:  # noqa: ANN001
    """calamine reserves ``uniqueCount`` strings up front: an allocation that fails aborts
    the interpreter, so this runs in a child process."""
    path = tmp_path / "form.xlsx"
    path.write_bytes(CASES["a uniqueCount far above the real count"])
    code = ("import sys; from worker.form.xlsx import read_xlsx; from worker.form import FormLimits;"
            "print(read_xlsx(open(sys.argv[1], 'rb').read(), FormLimits())[0].rows)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[('a',)]"


# --- openpyxl's number rules, ported: the same answers as openpyxl -------------------

FORMAT_CODES = (*FORMATS, *openpyxl_numbers.BUILTIN_FORMATS.values(), "[h]", "[ss]", "[s].000",
                "[Blue]\\+[h]:mm;[Red]\\-[h]:mm", '"Y: "0.00"m";"Y: "-0.00"m"', "0_ ;[Red]\\-0\\ ",
                "#,##0.0####\" YMD\"", '[$-404]e"年"m"月"d"日"', "yyyy/m/d;@",
                '[DBNum1][$-804]yyyy"年"m"月"', '上午/下午h"时"mm"分"', "", None)


@pytest.mark.parametrize("code", FORMAT_CODES)
def test_date_format_rules_are_openpyxls(code: str | None) -> None:
    assert is_date_format(code) == openpyxl_numbers.is_date_format(code)
    assert is_timedelta_format(code) == openpyxl_numbers.is_timedelta_format(code)


def test_builtin_date_formats_are_openpyxls() -> None:
    builtin = openpyxl_numbers.BUILTIN_FORMATS.items()
    assert {i for i, f in builtin if openpyxl_numbers.is_date_format(f)} == BUILTIN_DATE_FORMATS
    assert {i for i, f in builtin if openpyxl_numbers.is_timedelta_format(f)} == BUILTIN_TIMEDELTA_FORMATS


@pytest.mark.parametrize("epoch", [WINDOWS_EPOCH, MAC_EPOCH])
@pytest.mark.parametrize("timedelta", [False, True])
def test_serials_convert_as_openpyxl_converts_them(epoch: dt.datetime, timedelta: bool) -> None:
    for text in (*SERIALS, "1e-9", "0.99999999", "60.5", "1462", "1900", "43101.123456789", "-0.5"):
        value = cast_number(text)
        try:
            expected: object = openpyxl_datetime.from_excel(value, epoch, timedelta=timedelta)
        except (OverflowError, ValueError) as e:
            expected = type(e)
        try:
            got: object = from_excel(value, epoch, timedelta)
        except (OverflowError, ValueError) as e:
            got = type(e)
        assert (type(got), got) == (type(expected), expected), text


def test_numbers_cast_as_openpyxl_casts_them() -> None:
    for text in NUMBERS:
        assert (type(cast_number(text)), cast_number(text)) == (type(_cast_number(text)), _cast_number(text))


@pytest.mark.parametrize(("text", "shown"), [("1e400", "inf"), ("-1E+309", "-inf"), ("NaN", "nan"),
                                             ("INF", "inf"), ("-INF", "-inf")])
def test_a_number_no_cell_can_hold_reads_as_num_error(text: str, shown: str) -> None:
    """A script's 1e400 read as infinity, and xsd:double's NaN and INF (openpyxl's int()
    refused them, for the whole workbook): the floats they name, whose text is Excel's
    #NUM! (it was "", which told the unit the amount was not filled in)."""
    rows = read_xlsx(craft(row(1, cell("A1", text), cell("B1", "150"))), FormLimits())[0].rows
    assert repr(rows[0][0]) == shown and rows[0][1] == 150
    assert cell_text(rows[0][0]) == NUMBER_ERROR == "#NUM!"
    assert shows_error(cell_text(rows[0][0]))
