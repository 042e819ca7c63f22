"""Cheap pre-checks in the reading path answer exactly as the patterns they skip."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest

from worker.errors import FormUnreadable
from worker.form.cells import (
    ShownWhole,
    cell_amount,
    cell_int,
    cell_text,
    cell_year,
    id_text,
    number_or_none,
    order_text,
    row_texts,
)
from worker.form.limits import FormLimits, describe_size
from worker.form.model import Line
from worker.form.sniff import sniff, take_archive
from worker.form.table import _Columns, _line
from worker.form.xlsxsheet import (
    _COLUMN_INDEXES,
    _FIRST_REFS,
    _PLAIN_CELL,
    _REFS,
    _bounded,
    bound_sheet,
    column_letters,
    column_number,
    columns_up_to,
)
from worker.form.xlsxstrings import _ESCAPE, _SPACED, differs
from worker.form.xmlscan import _PREFIXED, _TAG, _Counter, _scan_whole, as_utf8, prefixed, scan_member
from worker.message.headers import address
from worker.text import SPACES, normalize, number_text, parse_amount, squash, unspaced


@pytest.mark.parametrize("text", [
    "", "张三", "TJ201804020000055", "12010419951023726X", "张 三", "张\u3000三", "张\u00a0三",
    " 张三 ", "a\tb\nc", "x\u2003y", "x\u1680y", "x\x1cy", "x\x85y", "1,500", "李-四", "Ⅻ", "²",
])
def test_unspaced_drops_what_the_whitespace_pattern_drops(text: str) -> None:
    """The isalnum shortcut never keeps a character SPACES would drop."""
    assert unspaced(text) == SPACES.sub("", text)
    assert squash(text) == SPACES.sub("", normalize(text))


@pytest.mark.parametrize(("xml", "start", "stop", "expected"), [
    (b'<worksheet xmlns="http://x"><sheetData><row r="1"/></sheetData></worksheet>', 0, None, False),
    (b'<x:worksheet xmlns:x="http://x"><x:sheetData/></x:worksheet>', 0, None, True),
    (b'<worksheet xmlns:x="http://x"><sheetData><row r="1"/></sheetData></worksheet>', 40, 60, False),
    (b"<sheetData><c><t>10:30</t></c></sheetData>", 0, None, False),
    (b"<sheetData><c><x:t>a</x:t></c></sheetData>", 0, None, True),
    (b"<sheetData><c><x:t>a</x:t></c></sheetData>", 0, 15, False),
    (b"<a>" + b"<t>10:30</t>" * 40 + b"<x:t>a</x:t></a>", 0, None, True),  # past the colons walked
    (b"<a>" + b"<t>10:30</t>" * 40 + b"</a>", 0, None, False),
    (b'<a b="<x:y"/>', 0, None, True),  # as the pattern: a '<' in an attribute counts
    (b"<1x:t/><_x:t/>", 0, None, True),
    (b"<1x:t/>", 0, None, False),
    (b"<x y:t/>", 0, None, False),
])
def test_prefixed_answers_as_its_pattern(xml: bytes, start: int, stop: int | None, expected: bool) -> None:
    """A colon is looked for first; the pattern still decides when there is one."""
    assert prefixed(xml, start, stop) is expected


def _prefixed_by_pattern(xml: bytes, start: int = 0, stop: int | None = None) -> bool:
    return _PREFIXED.search(xml, start, len(xml) if stop is None else stop) is not None


@pytest.mark.parametrize("xml", [
    b"", b":", b"<:", b"<a:", b"a<b:c", b"<a b:c", b"<a.b-c_d:e", b"<<a:", b"<a<b:", b"http://x <y:z",
])
def test_prefixed_agrees_with_its_pattern_everywhere(xml: bytes) -> None:
    for start in range(len(xml) + 1):
        for stop in range(start, len(xml) + 1):
            assert prefixed(xml, start, stop) is _prefixed_by_pattern(xml, start, stop)


@pytest.mark.parametrize("data", [
    b'<row r="1"><c r="A1" s="1" t="s"><v>0</v></c><c r="B1"/></row>',
    b'<row spans="1:2" r="1"><c s="1" r="A1"><v>1</v></c></row>',  # references written later
    b"<row><c><v>1</v></c></row>",  # none
    b'<x:row r="1"><x:c r="A1"/></x:row>',
    b'<row r="A5"><c r="5"/><c r=\'B1\'/></row>',
])
def test_references_written_first_read_as_the_general_pattern(data: bytes) -> None:
    """bound_sheet takes the fast pattern's tags only when each has its number."""
    for named in (False, True):
        first = _FIRST_REFS[named].findall(data)
        if (b"c", b"", b"") not in first and (b"row", b"", b"") not in first:
            assert first == _REFS[named].findall(data)


@pytest.mark.parametrize("rows", [
    b'<row r="1"><c r="A1"/><c r="B1"/></row><row r="2"><c r="A2"/></row>',
    b'<row r="1"><c t="s" r="A1"/></row><row r="2"><c r="A2"/></row>',  # reference written later
    b'<row r="1"><c r="A1"/></row><row spans="1:1" r="2"><c r="A2"/></row>',
    b'<row r="1"><c r="A1"/></row><row r="2"><c r="A2"/></row><row r="3"><c t="s" r="A3"/></row>',
    b'<row r="1"><c r="A1"/></row><row r="3"><c r="A3"/></row><row><c r="A4"/></row>',  # past max_rows
    b'<row r="1"><c r="B1"/><c r="A1"/></row><row r="2"><c/></row>',  # out of order, then none
    b'<row r="1"><c r="A1"/><c r="ZZ1"/></row><row><c r="A2"/></row>',  # past max_cols
    b'<row r="1"><c/></row>',
    b'<x:row r="1"><x:c x:t="s" r="A1"/></x:row>',
])
def test_bound_sheet_as_with_the_general_pattern_alone(rows: bytes) -> None:
    """The fast pattern's tags give up at the first without a number; before it they
    give what the general pattern's tags give."""
    limits = FormLimits(max_rows=2, max_cols=5)
    xml = b"<worksheet><sheetData>" + rows + b"</sheetData></worksheet>"
    start, stop = len(b"<worksheet><sheetData>"), len(xml) - len(b"</sheetData></worksheet>")
    for named in (False, True):
        general = _bounded(xml, start, stop, named, _REFS[named].findall(xml, start, stop), limits)
        if named == prefixed(xml, start, stop):
            assert bound_sheet(xml, limits) == general
        fast = _bounded(xml, start, stop, named, _FIRST_REFS[named].findall(xml, start, stop), limits,
                        first_refs=True)
        assert fast is None or fast == general


@pytest.mark.parametrize(("cell", "found"), [
    (b'<c r="A1"><f t="shared" si="0"/><v>3</v></c>', [(b"A", b"1", b"", b"", b"3")]),  # '/' given back
    (b'<c r="A1" s="2" t="n"><f>SUM(B1)</f><v>3</v></c>', [(b"A", b"1", b"2", b"n", b"3")]),
    (b'<c r="A1" t="inlineStr"><is><t>x</t></is></c>', []),
    (b'<c r="A1" s="2" t="s"><v>0</v></c>', [(b"A", b"1", b"2", b"s", b"0")]),
])
def test_plain_cells_with_formulas(cell: bytes, found: list[tuple[bytes, ...]]) -> None:
    """The possessive parts of the pattern never cost a match (the `<f .../>` branch)."""
    assert _PLAIN_CELL.findall(cell) == found


def _workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


def test_the_reader_takes_the_archive_sniff_opened_for_the_same_bytes_only() -> None:
    data = _workbook()
    assert sniff(data) == "xlsx"
    assert take_archive(bytes(bytearray(data))) is None  # equal bytes, another object
    assert sniff(data) == "xlsx"
    archive = take_archive(data)
    assert archive is not None and archive.namelist() == ["xl/workbook.xml"]
    assert take_archive(data) is None  # taken once


@pytest.mark.parametrize(("value", "expected"), [
    ("=?utf-8?b?5p6X6ZGrIDx1c2VyOTk4MjExQDEyNi5jb20+?=", ("林鑫", "user998211@126.com")),
    ("=?utf-8?b?5p6X6ZGr?=", ("林鑫", "")),
    ('"张三" <A@B.com>', ("张三", "a@b.com")),
])
def test_address_of_an_encoded_word_from(value: str, expected: tuple[str, str]) -> None:
    assert address(value) == expected


def _counted_outcome(xml: bytes, limits: FormLimits) -> str | None:
    """What counting every tag in order (the scan without its shortcut) says."""
    try:
        _Counter(limits).seen_all(_TAG[prefixed(xml)].findall(xml))
    except FormUnreadable as e:
        return e.detail
    return None


def _scanned_outcome(xml: bytes, limits: FormLimits) -> str | None:
    try:
        _scan_whole(xml, limits)
    except FormUnreadable as e:
        return e.detail
    return None


_CELLS = b"".join(b'<c r="A%d"><v>%d</v></c>' % (i, i) for i in range(1, 7))


@pytest.mark.parametrize("xml", [
    b"<worksheet><cols><col min=\"1\" max=\"3\"/></cols><sheetData>" + b"<row>" + _CELLS
    + b"</row></sheetData><conditionalFormatting><cfRule/></conditionalFormatting></worksheet>",
    b"<worksheet><sheetData>" + b"<row>" + _CELLS + b"</row>" * 3 + b"</sheetData></worksheet>",
    b"<worksheet><sheetData>" + (b"<row>" + _CELLS + b"</row>") * 3 + b"</sheetData></worksheet>",
    b"<sst>" + b"".join(b"<si><t>s%d</t></si>" % i for i in range(9)) + b"</sst>",
    b"<sst><si><t>a</t></si><sin/><sit/></sst>",  # <si...> look-alikes only raise the bound
    b"<x:worksheet><x:sheetData><x:row>" + _CELLS.replace(b"<c", b"<x:c").replace(b"</c", b"</x:c")
    + b"</x:row></x:sheetData></x:worksheet>",
])
@pytest.mark.parametrize("max_cells", [1, 5, 6, 7, 8, 17, 18, 19, 2_000_000])
def test_scan_shortcut_answers_as_counting_every_tag(xml: bytes, max_cells: int) -> None:
    """The counts of ``<c`` and ``<si`` only skip the tag list when no limit can be
    reached; otherwise the tags are counted, so the answer is the same either way."""
    limits = FormLimits(max_rows=2, max_cells=max_cells)
    assert _scanned_outcome(xml, limits) == _counted_outcome(xml, limits)


@pytest.mark.parametrize(("size", "up", "shown"), [
    (30 * 2**20, False, "30 MB"), (30 * 2**20, True, "30 MB"), (30 * 2**20 + 1, True, "30.1 MB"),
    (30 * 2**20 + 1, False, "30 MB"), (1536, True, "1.5 KB"), (999, True, "999 字节"),
])
def test_a_size_over_a_limit_never_reads_as_the_limit(size: int, up: bool, shown: str) -> None:
    assert describe_size(size, up=up) == shown


def _differs_one_pattern(xml: bytes) -> bool:
    """``differs`` for an unprefixed part as it was written before the split patterns."""
    return (b"x005F_" in xml or b"&#" in xml or b"<![CDATA[" in xml
            or (b"_x" in xml and _ESCAPE.search(xml) is not None)
            or _SPACED[0].search(xml) is not None)


_STRING_PARTS = [
    b"<is><t>plain</t></is>", b"<is><t> lead</t></is>", b"<is><t>trail </t></is>",
    b"<is><t>trail\n</t></is>", b"<is><t>\rcr</t></is>", b"<is><t>\ttab</t></is>",
    b"<is><t></t></is>", b"<is><t/></is>", b"<is><t xml:space=\"preserve\"> x </t></is>",
    b"<is><t\txml:space='preserve'>x</t></is>", b"<is></is>", b"<is/>", b"<is >\n</is>",
    b"<si><t>a</t></si>", b"<si></si>", b"<si/>", b"<si>  </si>", b"<sst><si><r><t>a</t></r></si>",
    b"<tableParts count=\"0\"/>", b"<tabColor rgb=\"FF\"/>", b"<t>a</tx>", b"<t>a </tt>",
    b"<c><v>x005F_x000D_</v></c>", b"<t>&#20013;</t>", b"<t><![CDATA[a]]></t>",
    b"<t>_x000D_</t>", b"<t>_x00G0_</t>", b"<t>_x</t>", b"<t>a_x00</t>", b"<is><t>a</t> </is>",
    b"<isx/>", b"<six></six>", b"</t >", b" </t>", b"a</t>", b"<t>a</t\n>",
]


@pytest.mark.parametrize("left", _STRING_PARTS)
@pytest.mark.parametrize("right", [b"", b"<is><t>x</t></is>", b"<row r=\"1\"><c r=\"A1\"/></row>"])
def test_differs_split_patterns_answer_as_the_one_pattern(left: bytes, right: bytes) -> None:
    for xml in (left, left + right, right + left):
        assert differs(xml, False) is _differs_one_pattern(xml), xml
        assert differs(xml) is _differs_one_pattern(xml), xml


@pytest.mark.parametrize("count", [1, 5, 26, 27, 100, 702, 703])
def test_column_dicts_answer_as_column_number(count: int) -> None:
    """The dict lookups that replaced a cached call per cell: a column up to ``count``
    is there with its number, none past it (``_bounded`` rewrites the sheet then)."""
    columns = columns_up_to(count)
    for number in range(1, count + 30):
        letters = column_letters(number)
        assert columns.get(letters, 0) == (column_number(letters) if number <= count else 0)
    assert len(columns) == count
    for letters, index in _COLUMN_INDEXES.items():
        assert index == column_number(letters) - 1
    assert len(_COLUMN_INDEXES) == 26 * 27 and column_letters(26 * 27) == b"ZZ"


@pytest.mark.parametrize("text", [
    "", "TJ201804020000055", "12010419951023726x", "12010419951023726X", "１２３", "²", "Ⅻ",
    "'2018", '="2018"', "2018 0001", "=\"\"", "TJ-2018", "张三",
])
def test_number_text_of_an_alnum_text_is_the_text(text: str) -> None:
    """The isalnum shortcut: such a text holds no space, quote nor ``=`` to drop."""
    general = SPACES.sub("", text)
    if general.startswith('="') and general.endswith('"') and len(general) > 2:
        general = general[2:-1]
    assert number_text(text) == general.removeprefix("'")


_CELLS = [None, "", " 张 三 ", "ＴＪ２０１８", "１２０１", "a\u3000", 0, 1, -7, 2018, 10**20, True, False,
          1.0, 1.5, float("nan"), float("inf"), 1.2010119900307e17, Decimal("150.00"),
          dt.date(2018, 1, 1), dt.datetime(2018, 1, 1), dt.datetime(2018, 1, 1, 9, 30),
          dt.time(9, 30), dt.timedelta(hours=1), ShownWhole(120114198503031008.0)]


def test_row_texts_is_cell_text_of_each_cell() -> None:
    assert row_texts(tuple(_CELLS)) == [cell_text(value) for value in _CELLS]


@pytest.mark.parametrize("value", [0, 1, -3, 150, 2018, 10**17, True, False, 1.0, "150", None])
def test_int_amounts_and_years_read_as_the_general_path_reads_them(value: object) -> None:
    assert cell_amount(value) == parse_amount(number_or_none(value))
    assert cell_year(value) == cell_int(value)


def _member_outcome(data: bytes, limits: FormLimits) -> tuple[str, object]:
    """``scan_member`` on the archive's one member: its bytes (and type) or its refusal."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    try:
        found = scan_member(archive, archive.infolist()[0], limits)
    except (FormUnreadable, ValueError, LookupError) as e:
        return type(e).__name__, getattr(e, "detail", None)
    return type(found).__name__, found


def _general_outcome(data: bytes, limits: FormLimits) -> tuple[str, object]:
    """The same without remembering: zipfile's bytes, as UTF-8, scanned whole."""
    try:
        content = as_utf8(zipfile.ZipFile(io.BytesIO(data)).read("x.xml"))
        _scan_whole(content, limits)
    except (FormUnreadable, ValueError, LookupError) as e:
        return type(e).__name__, getattr(e, "detail", None)
    return type(content).__name__, content


@pytest.mark.parametrize("xml", [
    b"<worksheet><sheetData><row>" + b"<c r=\"A1\"><v>1</v></c>" * 6 + b"</row></sheetData></worksheet>",
    b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]><worksheet/>',
    b"<worksheet><!doctype x><sheetData/></worksheet>",
    b"<worksheet><![CDATA[<!DOCTYPE]]><!-- <!ENTITY --></worksheet>",
    '<?xml version="1.0" encoding="UTF-16"?><sst><si><t>中文</t></si></sst>'.encode("utf-16"),
    b'<?xml version="1.0" encoding="no-such-codec"?><sst/>',
])
def test_a_remembered_member_is_scanned_as_the_general_path_scans_it(xml: bytes) -> None:
    """The stream-keyed memory gives the same bytes, of the same type, or the same
    refusal, the first time and every time after, under whatever limits are given."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.xml", xml)
    for limits in (FormLimits(), FormLimits(max_cells=3), FormLimits(), FormLimits(max_cells=3)):
        assert _member_outcome(out.getvalue(), limits) == _general_outcome(out.getvalue(), limits)


@pytest.mark.parametrize("value", _CELLS + ["120104196705307199", "12010419670530719x", "'0123", '="0123"',
                                            "TJ 2018 0718", "张 三", "2017（补训）"])
def test_a_line_reads_each_cell_as_the_general_functions_read_it(value: object) -> None:
    """``_line``'s inline reads of common cells give what the general functions give."""
    columns = {"seq": 0, "name": 1, "id_number": 2, "order_no": 3, "year": 4, "amount": 5}
    cols = _Columns.of(columns)
    for row in ((value,) * 6, (value,) * 3):  # also a row cut short, padded with None
        texts = row_texts(row) + [""] * (6 - len(row))
        cells = (*row, *[None] * (6 - len(row)))
        assert _line(row, texts, 6, cols, 2) == Line(
            position=2, row=7, seq=cell_int(cells[0]), name=unspaced(texts[1]),
            id_number=id_text(cells[2], texts[2]), order_no=order_text(cells[3], texts[3]),
            year=cell_year(cells[4]), year_raw=texts[4], amount=cell_amount(cells[5]),
            amount_raw=texts[5])
