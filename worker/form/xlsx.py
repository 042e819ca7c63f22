"""Reading .xlsx/.xlsm safely: vet the zip first, then python-calamine.

A reader trusts the archive: a member that inflates to gigabytes, a DTD with nested
entities, or a sheet that claims a million rows would all be read faithfully.  The zip
directory is checked before any parser opens anything, XML members are scanned (see
``xmlscan``: no DOCTYPE, bounded cells and strings), and each sheet is cut to the row
and column limits (``xlsxsheet.bound_sheet``) before python-calamine (a Rust reader:
quick-xml, which expands no DTD entities) sees the bytes.  Cell values come out as
openpyxl gave them, which the form's rules were written against: numbers, dates and
errors by ``xlsxsheet.cell_values``, odd strings by ``xlsxstrings``.  When calamine
cannot read a file, defusedxml says whether its XML is unsafe or merely broken.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any

from worker.errors import FormUnreadable
from worker.form.cells import Sheet, trim
from worker.form.limits import FormLimits, describe_size
from worker.form.sniff import take_archive
from worker.form.xlsxpackage import Package, SheetPart, read_package
from worker.form.xlsxsheet import (
    FORMULAS_UNCALCULATED,
    BoundedSheet,
    bound_sheet,
    cell_values,
    uncalculated,
    untyped,
)
from worker.form.xlsxstrings import (
    bound_strings,
    differs,
    has_string_cells,
    shared_strings,
    sheet_differs,
    string_values,
)
from worker.form.xmlscan import UNSAFE_XML, Converted, scan_member
from worker.form.zipmember import read_member

CORRUPT = "附件无法打开：文件已损坏"
ENCRYPTED = "附件已加密，请取消密码后重新发送"


def open_zip(data: bytes) -> zipfile.ZipFile:
    """The archive (the one ``sniff`` just opened, if it was these bytes), or
    FormUnreadable(CORRUPT) when it is not one."""
    sniffed = take_archive(data)
    if sniffed is not None:
        return sniffed
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise FormUnreadable(CORRUPT) from e


def check_zip(data: bytes, limits: FormLimits) -> None:
    """Reject archives that are damaged, encrypted or that would inflate too far."""
    with open_zip(data) as archive:
        vet_zip(archive, limits)


def vet_zip(archive: zipfile.ZipFile, limits: FormLimits) -> dict[str, bytes]:
    """``check_zip`` on an open archive; returns the XML parts the scan read whole."""
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise FormUnreadable("附件无法打开：文件结构异常（部件过多）")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise FormUnreadable(ENCRYPTED)
        total += info.file_size
        if total > limits.max_uncompressed:
            raise FormUnreadable(f"附件解压后过大（超过 {describe_size(limits.max_uncompressed)}）")
        if info.file_size >= limits.ratio_min_size and (
            info.compress_size <= 0 or info.file_size / info.compress_size > limits.max_ratio
        ):
            raise FormUnreadable("附件无法打开：文件压缩比异常（疑似压缩炸弹）")
    parts: dict[str, bytes] = {}
    for info in infos:
        if info.filename.lower().endswith((".xml", ".rels", ".vml")):
            try:
                content = scan_member(archive, info, limits)
            except (zipfile.BadZipFile, OSError, ValueError, LookupError, EOFError,
                    NotImplementedError) as e:
                # ValueError: an encoding that does not decode; LookupError: one Python lacks
                raise FormUnreadable(CORRUPT) from e
            if content is not None:
                parts[info.filename] = content
    return parts


#: ISO/IEC 29500 Strict namespaces (Excel's "Strict Open XML 电子表格" save option) and
#: their Transitional equivalents, which the readers below expect; the part structure is the same
#: (ISO/IEC 29500-1 Annex A lists the namespaces).
STRICT_NAMESPACES: tuple[tuple[bytes, bytes], ...] = (
    (b"http://purl.oclc.org/ooxml/spreadsheetml/main",
     b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"),
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships",
     b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"),
    (b"http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
     b"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"),
    (b"http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes",
     b"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"),
    (b"http://purl.oclc.org/ooxml/drawingml/main",
     b"http://schemas.openxmlformats.org/drawingml/2006/main"),
    (b"http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing",
     b"http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"),
)


def as_transitional(data: bytes) -> bytes:
    """A Strict workbook rewritten with Transitional namespaces (vetted by check_zip
    first, so inflating its XML parts is bounded); other workbooks unchanged."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [i for i in archive.infolist() if i.filename.lower().endswith((".xml", ".rels"))]
        workbook = next((i for i in names if i.filename.lower() == "xl/workbook.xml"), None)
        if workbook is None or STRICT_NAMESPACES[0][0] not in read_member(archive, workbook):
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rewritten:
            for info in archive.infolist():
                content = read_member(archive, info)
                if info in names:
                    for strict, transitional in STRICT_NAMESPACES:
                        content = content.replace(strict, transitional)
                rewritten.writestr(info.filename, content)
    return out.getvalue()


def _unreadable(error: BaseException, data: bytes) -> tuple[FormUnreadable, BaseException]:
    """A reader's failure as a user-facing reason, and the exception to chain it to.

    UNSAFE_XML when defusedxml, the second line behind ``xmlscan``, refuses one of the
    XML parts (calamine only says it cannot read them), else CORRUPT.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    if isinstance(error, DefusedXmlException):
        return FormUnreadable(UNSAFE_XML), error
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.filename.lower().endswith((".xml", ".rels", ".vml")):
                    with archive.open(info) as member:
                        for _ in iterparse(member):  # bounded: check_zip vetted the sizes
                            pass
    except DefusedXmlException as unsafe:
        unsafe.__cause__ = error
        return FormUnreadable(UNSAFE_XML), unsafe
    except Exception:  # noqa: S110 (broken XML: the reader's own error says more)
        pass
    return FormUnreadable(CORRUPT), error


def read_xlsx(data: bytes, limits: FormLimits) -> list[Sheet]:
    """All worksheets' values, each bounded to max_rows x max_cols.

    Raises FormUnreadable: CORRUPT, UNSAFE_XML, TOO_MANY_CELLS, a size or sheet limit.
    """
    import python_calamine

    try:
        with open_zip(data) as archive:
            data, package, sheets, strings = _prepare(data, archive, vet_zip(archive, limits), limits)
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        try:
            return [_read_sheet(book, part, bounded, values, strings, limits)
                    for part, bounded, values in sheets]
        finally:
            book.close()
    except FormUnreadable:
        raise
    except BaseException as e:  # third-party boundary: any failure is "cannot open"
        if not isinstance(e, Exception) and type(e).__name__ != "PanicException":
            raise  # a Rust panic is pyo3's PanicException (a BaseException); ^C is not one
        failure, cause = _unreadable(e, data)
        raise failure from cause


def _prepare(data: bytes, archive: zipfile.ZipFile, parts: dict[str, bytes], limits: FormLimits,
             *, strict_done: bool = False
             ) -> tuple[bytes, Package, list[_Prepared], list[str] | None]:
    """The workbook as calamine may read it, its package facts, each worksheet bounded
    with its exact number/date/error values, and openpyxl's shared strings when
    calamine's may differ.

    ``archive`` holds ``data``, vetted; ``parts``: members the scan already inflated.
    """
    package = read_package(archive, parts)
    if package.strict and not strict_done:  # rare: read a Transitional copy instead
        data = as_transitional(data)
        with zipfile.ZipFile(io.BytesIO(data)) as copy:
            parts = {name: copy.read(name) for name in parts}
            return _prepare(data, copy, parts, limits, strict_done=True)
    if len(package.sheets) > limits.max_sheets:
        raise FormUnreadable(f"附件中的工作表过多（超过 {limits.max_sheets} 个）")
    sheets = []
    changed = {name: xml for name, xml in parts.items() if isinstance(xml, Converted)}
    for part in package.sheets:
        if part.chart:
            continue
        xml = parts.get(part.part) or read_member(archive, archive.getinfo(part.part))
        bounded = bound_sheet(xml, limits)
        if formulas := uncalculated(bounded.xml):
            raise FormUnreadable(FORMULAS_UNCALCULATED.format(
                cells="、".join(formulas[:5]) + (" 等" if len(formulas) > 5 else "")))
        values, refused = cell_values(bounded.xml, package, bounded.prefixed)
        given = untyped(bounded.xml, bounded.prefixed) if refused else bounded.xml
        if given is not xml:
            changed[part.part] = given
        sheets.append((part, bounded, values))
    strings = None
    if package.shared_strings is not None:
        member = package.shared_strings
        xml = parts.get(member) or read_member(archive, archive.getinfo(member))
        if differs(xml):
            strings = shared_strings(xml)
        fixed = bound_strings(xml, limits.max_cells)
        if fixed is not xml:
            changed[package.shared_strings] = fixed
    if changed:
        data = _with_members(archive, changed)
    return data, package, sheets, strings


def _with_members(archive: zipfile.ZipFile, changed: dict[str, bytes]) -> bytes:
    """The archive with some members replaced (stored: it is read once, in memory)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
        for info in archive.infolist():
            body = (changed[info.filename] if info.filename in changed
                    else read_member(archive, info))
            copy.writestr(info.filename, body)
    return out.getvalue()


_Prepared = tuple[SheetPart, BoundedSheet, list[tuple[int, int, object]]]


def _read_sheet(book: Any, part: SheetPart, bounded: BoundedSheet, values: list[tuple[int, int, object]],
                strings: list[str] | None, limits: FormLimits) -> Sheet:
    """calamine's grid with openpyxl's values laid over it, as the form's reader saw it.

    calamine gives an empty cell as "", the sheet holds None: the exact numbers, dates
    and errors (never "") are laid over calamine's rows before that, the text values
    (an empty inline string is "" to openpyxl) after it, in the rare sheet that has them.
    """
    width = limits.max_cols
    grid = book.get_sheet_by_name(part.name).to_python(skip_empty_area=False, nrows=limits.max_rows)
    rows: list[list[object]] = [row if len(row) <= width else row[:width] for row in grid]
    _lay_over(rows, values, limits)
    if (strings is not None or sheet_differs(bounded.xml, bounded.prefixed)) and has_string_cells(
            bounded.xml, bounded.prefixed):
        rows = [[None if v == "" else v for v in row] for row in rows]
        _lay_over(rows, string_values(bounded.xml, strings), limits)
        sheet = [trim(row) for row in rows]
    else:  # no "" left: a row that ends with a value is whole (most of a form's rows)
        rows = [[None if v == "" else v for v in row] if "" in row else row for row in rows]
        sheet = [tuple(row) if row and row[-1] is not None else trim(row) for row in rows]
    sheet.extend([()] * (bounded.last_row - len(sheet)))
    return Sheet(part.name, sheet, bounded.truncated, hidden=part.hidden,
                 hidden_rows=bounded.hidden_rows)


def _lay_over(rows: list[list[object]], exact: Iterable[tuple[int, int, object]], limits: FormLimits) -> None:
    """Each (row, column, value) written into ``rows``, within the limits, rows and cells
    added where calamine's grid ends before them."""
    width = limits.max_cols
    height = min(len(rows), limits.max_rows)
    for r, c, value in exact:
        if r < height:  # calamine's grid spans every cell it read: nearly always there
            row = rows[r]
            if c < len(row):
                row[c] = value
                continue
        if r >= limits.max_rows or c >= width:
            continue
        while len(rows) <= r:
            rows.append([])
        height = min(len(rows), limits.max_rows)
        row = rows[r]
        if len(row) <= c:
            row.extend([None] * (c + 1 - len(row)))
        row[c] = value
