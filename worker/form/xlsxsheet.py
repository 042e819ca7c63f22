"""A worksheet's XML around python-calamine: bounded before it, exact values after it.

Before: calamine parses a whole sheet into a dense grid spanning its used cells, so one
stray cell at XFD1048576 would ask for 17 billion cells.  ``bound_sheet`` hands it only
rows up to ``max_rows`` and columns up to ``max_cols``, which is also what the form's
reader has always looked at (openpyxl's ``iter_rows(max_row, max_col)``; a row past
``max_rows`` only says the sheet was truncated, and that is noted here).
Sheets as Excel, WPS, LibreOffice and openpyxl write them (every row and cell with its
reference, rows in order, cells in their own row, nothing beyond the limits) are passed
as they are, after a few C-speed regex scans; any other sheet is rewritten row by row
with openpyxl's placement rules (``openpyxl.worksheet._reader.WorkSheetParser`` and
``ReadOnlyWorksheet._cells_by_row``: a row's number is its ``r`` or the previous
plus one, a row numbered below the last kept one would be skipped: the form is held
with ``ROWS_OUT_OF_ORDER`` instead when it has cells; a cell's column is its
``r`` or the previous plus one), so calamine and the rules below agree on positions.

After: calamine reads every number as a float and picks dates by its own format rules,
but forms have always been read with openpyxl's: ``<v>150</v>`` is the int 150, an
18-digit ``<v>`` keeps its digits, a date style makes a datetime, an error cell is its
text (``#N/A``).  ``cell_values`` gives those values for every number, boolean, date
and error cell (``WorkSheetParser.parse_cell``), to replace calamine's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache

from worker.errors import FormUnreadable
from worker.form.cells import ShownWhole
from worker.form.limits import FormLimits
from worker.form.xlsxpackage import Package, from_excel
from worker.form.xmlscan import pair, prefixed

_P = rb"(?:[A-Za-z_][\w.\-]*:)?"  # any namespace prefix
_SHEET_DATA = re.compile(rb"<" + _P + rb"sheetData(?=[\s/>])[^>]*?(/?)>")
_SHEET_DATA_END = re.compile(rb"</" + _P + rb"sheetData\s*>")
_ROW_START = re.compile(rb"<" + _P + rb"row(?=[\s/>])")
# Pairs: for unprefixed elements only, and for any prefix (xmlscan.pair).
# Every row and cell tag in document order: (name, column letters, row number); the
# number is empty when the tag has no reference.
_REFS = pair(rb"<{P}(row|c)(?=[\s/>])(?:[^>]*?(?<=\s)r\s*=\s*[\"']([A-Z]{0,3})(\d+)[\"'])?")
# The same where the reference is written as every spreadsheet program writes it (first,
# ` r="..."`): twice as fast, and for such a tag the same groups (the lazy scan above
# stops at the same first " r="); a tag it leaves without a number sends the sheet
# through _REFS.
_FIRST_REFS = pair(rb"<{P}(row|c)(?=[\s/>])(?: r=\"([A-Z]{0,3}+)(\d++)\")?")
_ROW_ELEMENT = re.compile(rb"<(" + _P + rb")row(?=[\s/>])([^>]*?)(?:/>|>(.*?)</" + _P + rb"row\s*>)", re.S)
_CELL_ELEMENT = re.compile(rb"<(" + _P + rb")c(?=[\s/>])([^>]*?)(/>|>.*?</" + _P + rb"c\s*>)", re.S)
_ATTR = re.compile(rb"\s([\w:.\-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_COORDINATE = re.compile(rb"^\$?([A-Za-z]{1,3})\$?(\d+)$")  # openpyxl's COORD_RE
# Cells calamine types as numbers, booleans, dates or errors (no t, or t n/b/d/e).
_VALUE_CELL = re.compile(
    rb"<" + _P + rb"c(\s(?![^>]*?(?<=\s)t\s*=\s*[\"'](?:s|str|inlineStr)[\"'])[^>]*?)(?<!/)>(.*?)</"
    + _P + rb"c\s*>", re.S)
_VALUE = re.compile(rb"<" + _P + rb"v(?:\s[^>]*)?(?:/>|>(.*?)</" + _P + rb"v\s*>)", re.S)
_V_TAG = pair(rb"<{P}v(?=[\s/>])")
# A valued cell as Excel, WPS, LibreOffice and openpyxl write it: (column, row, style, type, value).
# Possessive (``++``, ``?+``) only where giving back cannot help a match (what follows
# cannot start with what was given back: a digit before '"', an attribute before '>'), so
# a text cell fails in one step, not by backtracking; the `<f .../>` branch keeps its
# backtracking ([^>]* must give back the '/').
_PLAIN_CELL = re.compile(
    rb'<c r="([A-Z]{1,3}+)(\d++)"(?: s="(\d++)")?+(?: t="(\w++)")?+>'
    rb"(?:<f(?: [^>]*)?/>|<f(?: [^>]*+)?>[^<]*+</f>)?<v>([^<&\r]*+)</v></c>")
_TEXT_TYPES = (b"s", b"str", b"inlineStr")
_REF = re.compile(rb"([A-Z]+)(\d+)")


#: A row that comes after a row numbered the same or higher: no spreadsheet program
#: writes one (a script's export may). openpyxl's reader skipped it, so the form's
#: reader would drop a trainee on it without a word; the unit is told instead.
ROWS_OUT_OF_ORDER = ("附件表格中第 {rows} 行的行号重复或顺序颠倒（文件不是由 Excel 或 WPS 保存的），"
                     "这些行未能读取；请用 Excel 或 WPS 打开后另存一次再发送")
CELLS_TWICE = ("附件表格中的 {cells} 单元格各写了两次且内容不同（文件不是由 Excel 或 WPS 保存的），"
               "无法确定哪一个是您填写的；请用 Excel 或 WPS 打开后另存一次再发送")

FORMULAS_UNCALCULATED = ("附件表格中的 {cells} 单元格是公式，文件里没有保存它的计算结果"
                         "（文件不是由 Excel 或 WPS 保存的），读不出您看到的内容；"
                         "请用 Excel 或 WPS 打开后另存一次再发送，或在这些单元格里直接填写内容")
_FORMULA_IN_CELL = re.compile(rb"<(?:" + _P + rb")f[\s/>]")
_VALUE_IN_CELL = re.compile(rb"<(?:" + _P + rb")v[\s/>]")


def uncalculated(xml: bytes) -> list[str]:
    """References of the cells holding a formula but no ``<v>``: a script wrote the
    formula and nothing ever calculated it (Excel and WPS save each result, ECMA-376
    Part 1 §18.3.1.40), so the value the unit sees is not in the file. Needs every cell
    to carry its reference (``bound_sheet``). Most sheets have no ``<f>`` element: two
    byte searches, no regex pass."""
    if not any(tag in xml for tag in (b"<f>", b"<f ", b":f>", b":f ")):
        return []
    found = []
    for cell in _CELL_ELEMENT.finditer(xml):
        body = cell.group(3)
        if _FORMULA_IN_CELL.search(body) and not _VALUE_IN_CELL.search(body):
            ref = _attrs(cell.group(2)).get(b"r")
            if ref is not None:
                found.append(ref.upper())
    return found


class SheetXmlError(ValueError):
    """The sheet's XML breaks a rule openpyxl enforced (a bad row or cell reference)."""


@dataclass(frozen=True)
class BoundedSheet:
    """A sheet part as calamine may read it, and what openpyxl would have seen of it."""

    xml: bytes  # the part itself, or a rewritten copy
    truncated: bool  # a row beyond max_rows exists
    last_row: int  # rows openpyxl yielded up to max_rows, trailing empty ones included
    prefixed: bool = True  # some element in its sheetData has a namespace prefix
    hidden_rows: frozenset[int] = frozenset()  # 0-based rows the unit does not see


@cache
def column_number(letters: bytes) -> int:
    """``b'A'`` -> 1, ``b'XFD'`` -> 16384 (ECMA-376 part 1, 18.3.1.4 cell references)."""
    number = 0
    for byte in letters.upper():
        number = number * 26 + byte - 64
    return number


@cache
def columns_up_to(count: int) -> dict[bytes, int]:
    """``{b'A': 1, ..., letters: count}``: a dict lookup per cell where the columns that
    matter are a sheet's first ``max_cols``; a cached call costs several times as much."""
    return {column_letters(number): number for number in range(1, count + 1)}


def column_letters(number: int) -> bytes:
    """1 -> ``b'A'``, 16384 -> ``b'XFD'``."""
    letters = b""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = bytes([65 + rest]) + letters
    return letters


def bound_sheet(xml: bytes, limits: FormLimits) -> BoundedSheet:
    """The sheet cut to rows up to ``max_rows`` and columns up to ``max_cols``.

    Raises SheetXmlError for a row or cell reference openpyxl could not parse, and
    FormUnreadable for rows out of order (``_rewrite``).
    """
    head = _SHEET_DATA.search(xml)
    if head is None or head.group(1):
        return BoundedSheet(xml, False, 0)
    end = _SHEET_DATA_END.search(xml, max(head.end(), xml.rfind(b"</sheetData>")))
    if end is None:
        return BoundedSheet(xml, False, 0)  # calamine reports the broken part
    start, stop = head.end(), end.start()
    named = prefixed(xml, start, stop)
    bounded = _bounded(xml, start, stop, named, _FIRST_REFS[named].findall(xml, start, stop),
                       limits, first_refs=True)
    if bounded is None:  # a reference written otherwise
        bounded = _bounded(xml, start, stop, named, _REFS[named].findall(xml, start, stop), limits)
    assert bounded is not None  # only first_refs gives None
    if bounded.xml.find(b"hidden", start) < 0:  # the common case: one memchr-like scan
        return bounded
    return replace(bounded, hidden_rows=hidden_rows(bounded.xml, bounded.prefixed))


# A row tag's attributes (every kept row has its ``r``: bound_sheet sees to it).
_ROW_TAG = pair(rb"<{P}row(?=[\s/>])([^>]*)")
_ROW_HIDDEN = re.compile(rb"\shidden\s*=\s*[\"'](?:1|true)[\"']")
_ROW_R = re.compile(rb"\sr\s*=\s*[\"'](\d+)[\"']")


def hidden_rows(xml: bytes, named: bool = True) -> frozenset[int]:
    """The 0-based rows of a bounded sheet marked hidden (ECMA-376 Part 1 §18.3.1.73
    ``row@hidden``): what an AutoFilter filtered out, a row hidden by hand, a collapsed
    outline group. The unit neither sees nor prints them, so the form's reader must not
    take them for what the unit sent (worker.form.table)."""
    rows = set()
    for attrs in _ROW_TAG[named].findall(xml):
        if _ROW_HIDDEN.search(attrs):
            number = _ROW_R.search(attrs)
            if number is not None:
                rows.add(int(number.group(1)) - 1)
    return frozenset(rows)


def _bounded(xml: bytes, start: int, stop: int, named: bool, tags: list[tuple[bytes, bytes, bytes]],
             limits: FormLimits, *, first_refs: bool = False) -> BoundedSheet | None:
    """``bound_sheet`` from the sheetData's row and cell tags (``_REFS``' groups).

    ``first_refs``: the tags are ``_FIRST_REFS``' groups; None at the first without a
    number (its reference may stand later in the tag: scan again with ``_REFS``).  Up
    to that tag both give the same groups, so an answer found before it is the one
    ``_REFS``' tags give, and the list is not searched for such a tag beforehand."""
    last = limits.max_rows
    columns = columns_up_to(limits.max_cols)  # none: past max_cols, or no letters
    previous, current, rows, cut = 0, b"", 0, stop
    left = 0  # the row's previous cell's column number
    for tag, letters, number_text in tags:
        if first_refs and not number_text:
            return None
        if tag == b"c":  # most tags: two comparisons, one dict lookup
            if number_text != current:
                return _rewrite(xml, start, stop, limits)  # another row's
            try:
                column = columns[letters]
            except KeyError:
                return _rewrite(xml, start, stop, limits)  # past max_cols, or no reference
            if column <= left:
                return _rewrite(xml, start, stop, limits)  # out of order
            left = column
            continue
        if letters or not number_text:
            return _rewrite(xml, start, stop, limits)  # a row without its number
        number = int(number_text)
        if number > last:  # the first row past max_rows: the sheet is truncated there
            cut = [m.start() for m in _ROW_START.finditer(xml, start, stop)][rows]
            break
        if number <= previous:
            return _rewrite(xml, start, stop, limits)  # rows out of order
        previous, current, rows, left = number, number_text, rows + 1, 0
    truncated = cut < stop
    kept = xml if cut == stop else xml[:cut] + xml[stop:]
    return BoundedSheet(kept, truncated, limits.max_rows if truncated else previous, named)


def _attrs(tag: bytes) -> dict[bytes, str]:
    return {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)).decode()
            for m in _ATTR.finditer(tag)}


def _row_number(text: str) -> int:
    """openpyxl's ``parse_row``: an int, or a float that is one."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise SheetXmlError(f"{text} is not a valid row number") from None
        return int(value)


def _rewrite(xml: bytes, start: int, stop: int, limits: FormLimits) -> BoundedSheet:
    """Rows and cells placed as openpyxl placed them, kept within the limits, every one
    written with its reference (Python speed: only for sheets no spreadsheet writes).
    Raises FormUnreadable: ``ROWS_OUT_OF_ORDER`` for a row with cells that openpyxl
    would have skipped, ``CELLS_TWICE`` for a cell written twice in different ways
    (openpyxl kept the later; which one the unit sees depends on the program)."""
    last = limits.max_rows
    out: list[bytes] = []
    number = 0  # the parser's row counter
    expected = 1  # the reader's next row: lower numbers are skipped
    kept = 0
    truncated = False
    skipped: list[int] = []  # rows with cells placed below a row already read
    twice: list[str] = []  # cells written twice, differently
    for row in _ROW_ELEMENT.finditer(xml, start, stop):
        given = _attrs(row.group(2)).get(b"r")
        number = _row_number(given) if given is not None else number + 1
        if number > last:  # never skipped: the reader's next row is at most max_rows + 1
            truncated = True
            break
        if number < expected:
            if _CELL_ELEMENT.search(row.group(3) or b""):
                skipped.append(number)  # openpyxl's reader dropped it: never silently
            continue
        expected, kept = number + 1, number
        cells: dict[int, bytes] = {}  # by column: a later cell replaces an earlier one, as in openpyxl
        column = 0
        for cell in _CELL_ELEMENT.finditer(row.group(3) or b""):
            attrs = cell.group(2)
            ref = _attrs(attrs).get(b"r")
            if ref is not None:
                found = _COORDINATE.match(ref.encode())
                if found is None:
                    raise SheetXmlError(f"invalid cell reference {ref!r}")
                column = column_number(found.group(1))
            else:
                column += 1
            if column <= limits.max_cols:
                attrs = re.sub(rb"\sr\s*=\s*(?:\"[^\"]*\"|'[^']*')", b"", attrs)
                written = b"<%sc r=\"%s%d\"%s%s" % (cell.group(1), column_letters(column), number,
                                                   attrs, cell.group(3))
                if cells.get(column, written) != written:
                    twice.append(f"{column_letters(column).decode()}{number}")
                cells[column] = written
        prefix = row.group(1)
        body = b"".join(cells[c] for c in sorted(cells))
        # hidden kept: the reader must know which rows the unit does not see
        hidden = b' hidden="1"' if _ROW_HIDDEN.search(row.group(2)) else b""
        out.append(b"<%srow r=\"%d\"%s>%s</%srow>" % (prefix, number, hidden, body, prefix))
    if skipped:
        raise FormUnreadable(ROWS_OUT_OF_ORDER.format(
            rows="、".join(map(str, skipped[:5])) + (" 等" if len(skipped) > 5 else "")))
    if twice:
        raise FormUnreadable(CELLS_TWICE.format(
            cells="、".join(twice[:5]) + (" 等" if len(twice) > 5 else "")))
    last_row = limits.max_rows if truncated else kept
    return BoundedSheet(xml[:start] + b"".join(out) + xml[stop:], truncated, last_row)


def _text(raw: bytes) -> str:
    """A ``<v>`` element's text as an XML parser gives it (entities, CDATA, line ends)."""
    if b"&" not in raw and b"<" not in raw and b"\r" not in raw:
        return raw.decode()
    from defusedxml.ElementTree import fromstring

    return fromstring(b"<v>" + raw + b"</v>").text or ""


def cast_number(text: str) -> int | float:
    """openpyxl's ``_cast_number``: ``.``, ``E`` or ``e`` make a float, else an int."""
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


def cell_values(xml: bytes, package: Package, named: bool = True
                ) -> tuple[list[tuple[int, int, object]], bool]:
    """(row, column, value), 0-based, of every number, boolean, date and error cell, by
    openpyxl's ``WorkSheetParser.parse_cell`` with ``data_only`` (a formula's cached value);
    and whether calamine would refuse one of them (see ``untyped``).

    Needs every cell to carry its reference (``bound_sheet`` sees to it).  ``named``:
    whether elements may carry namespace prefixes.  Raises ValueError (or SheetXmlError)
    where openpyxl raised, for a value it could not parse.
    """
    plain = _PLAIN_CELL.findall(xml)
    # Each plain cell holds one <v>: with no other "<v" in the part (a byte count) every
    # <v> is a plain cell's, without a regex pass; else the <v> tags are counted.
    if ((named or xml.count(b"<v") != len(plain))
            and len(plain) != len(_V_TAG[named].findall(xml))):  # some cell is written another way
        return _any_cells(xml, package)
    values = []
    refused = False
    plain_numbers = 0 not in package.date_styles  # a cell without a style is a number
    columns, append = _COLUMN_INDEXES, values.append
    for letters, row, style, kind, text in plain:
        if not style and (kind == b"n" or not kind) and plain_numbers and text.isdigit():
            value: object = int(text)  # the common case, as cast_number would have it
        elif kind in _TEXT_TYPES:
            continue
        else:
            kind_text, value_text = kind.decode() or "n", text.decode()
            refused = refused or not _calamine_reads(kind_text, value_text)
            value = _value(kind_text, value_text, style.decode() if style else None, package)
        try:
            column = columns[letters]
        except KeyError:  # past ZZ
            column = column_number(letters) - 1
        append((int(row) - 1, column, value))
    return values, refused


#: 0-based column indexes of columns A to ZZ (a dict lookup, not a call, per value cell).
_COLUMN_INDEXES = {letters: number - 1 for letters, number in columns_up_to(26 * 27).items()}


def _any_cells(xml: bytes, package: Package) -> tuple[list[tuple[int, int, object]], bool]:
    values = []
    refused = False
    for cell in _VALUE_CELL.finditer(xml):
        attrs = _attrs(cell.group(1))
        ref = _REF.fullmatch(attrs.get(b"r", "").encode())
        if ref is None:
            raise SheetXmlError("a value cell without a reference")
        found = _VALUE.search(cell.group(2))
        text = _text(found.group(1)) if found and found.group(1) else ""
        kind = attrs.get(b"t", "n")
        refused = refused or not _calamine_reads(kind, text)
        values.append((int(ref.group(2)) - 1, column_number(ref.group(1)) - 1,
                       _value(kind, text, attrs.get(b"s"), package)))
    return values, refused


#: What calamine's xlsx reader accepts where openpyxl accepted more (calamine
#: ``xlsx::cells_reader::read_v``): a number its float parser reads, one of Excel 2007's
#: seven error values (not #SPILL!, #CALC! and the like from later versions), a type
#: ECMA-376 defines.  Anything else fails the whole workbook there.
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ERRORS = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"})


def _calamine_reads(kind: str, text: str) -> bool:
    if not text or kind in ("b", "d"):
        return True
    if kind == "n":
        return _FLOAT.fullmatch(text) is not None
    return kind == "e" and text in _ERRORS


_TYPED = pair(rb"(<{P}c\s[^>]*?)\st\s*=\s*[\"'](?!(?:s|str|inlineStr)[\"'])[^\"']*[\"']")


def untyped(xml: bytes, named: bool = True) -> bytes:
    """The sheet without the type of its number, boolean, date and error cells, for a
    sheet holding a value calamine refuses under its type: untyped, calamine reads any
    text (as text), and ``cell_values`` gives the value openpyxl read from the original."""
    return _TYPED[named].sub(rb"\1", xml)


_XSD_SPECIALS = frozenset({"NaN", "INF", "-INF"})


def _value(kind: str, text: str, style: str | None, package: Package) -> object:
    """One cell's value from its type, ``<v>`` text and style (``parse_cell``)."""
    if not text:
        return None
    if kind == "n":
        # xsd:double's special values (XML Schema 2, 3.2.5), which openpyxl's int() refused
        # for the whole workbook: read as the floats they name (cell_text: "#NUM!").
        value = float(text) if text in _XSD_SPECIALS else cast_number(text)
        style_id: object = 0 if style is None else int(style) if style else style  # "" is no style
        if style_id in package.date_styles:
            try:
                return from_excel(value, package.epoch, style_id in package.timedelta_styles)
            except (OverflowError, ValueError):
                return "#VALUE!"  # openpyxl: a date out of range reads as an error
        if isinstance(value, float) and style_id in package.whole_styles:
            return ShownWhole(value)
        return value
    if kind == "b":
        return bool(int(text))
    if kind == "d":
        from openpyxl.utils.datetime import from_ISO8601  # rare: ISO dates in Strict files

        return from_ISO8601(text)
    return text  # e: the error's text, as openpyxl kept it
