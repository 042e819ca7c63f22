"""Reading .xlsx/.xlsm safely: vet the zip first, then openpyxl in read-only mode.

openpyxl trusts the archive: a member that inflates to gigabytes, a DTD with nested
entities, or a sheet that claims a million rows would all be read faithfully.  The zip
directory is checked before openpyxl opens anything, XML members are scanned (see
``xmlscan``: no DOCTYPE, bounded cells and strings; defusedxml inside openpyxl is the
second line), and rows and columns are read only up to the limits whatever the sheet
claims.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from typing import Any

from worker.errors import FormUnreadable
from worker.form.cells import Sheet, trim
from worker.form.limits import FormLimits, describe_size
from worker.form.xmlscan import UNSAFE_XML, scan_member

CORRUPT = "附件无法打开：文件已损坏"
ENCRYPTED = "附件已加密，请取消密码后重新发送"


def check_zip(data: bytes, limits: FormLimits) -> None:
    """Reject archives that are damaged, encrypted or that would inflate too far."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise FormUnreadable(CORRUPT) from e
    with archive:
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
        for info in infos:
            if info.filename.lower().endswith((".xml", ".rels", ".vml")):
                try:
                    scan_member(archive, info, limits)
                except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
                    raise FormUnreadable(CORRUPT) from e


#: ISO/IEC 29500 Strict namespaces (Excel's "Strict Open XML 电子表格" save option) and
#: their Transitional equivalents, which openpyxl reads; the part structure is the same
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
        if workbook is None or STRICT_NAMESPACES[0][0] not in archive.read(workbook):
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rewritten:
            for info in archive.infolist():
                content = archive.read(info)
                if info in names:
                    for strict, transitional in STRICT_NAMESPACES:
                        content = content.replace(strict, transitional)
                rewritten.writestr(info.filename, content)
    return out.getvalue()


def _unreadable(error: Exception) -> FormUnreadable:
    """Map whatever openpyxl/zipfile/defusedxml raised to a user-facing reason."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:  # openpyxl re-wraps errors
        seen.add(id(current))
        if (type(current).__module__ or "").startswith("defusedxml"):
            return FormUnreadable(UNSAFE_XML)
        current = current.__cause__ or current.__context__
    return FormUnreadable(CORRUPT)


def read_xlsx(data: bytes, limits: FormLimits) -> list[Sheet]:
    """All worksheets' values, each bounded to max_rows x max_cols."""
    from openpyxl import load_workbook

    check_zip(data, limits)
    try:
        data = as_transitional(data)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        raise FormUnreadable(CORRUPT) from e
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about unsupported extensions
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        except Exception as e:  # third-party boundary: any failure is "cannot open"
            raise _unreadable(e) from e
        try:
            if len(book.sheetnames) > limits.max_sheets:
                raise FormUnreadable(f"附件中的工作表过多（超过 {limits.max_sheets} 个）")
            return [_read_sheet(ws, limits) for ws in book.worksheets]
        except FormUnreadable:
            raise
        except Exception as e:  # rows are parsed lazily, so errors surface here too
            raise _unreadable(e) from e
        finally:
            book.close()


def _read_sheet(ws: Any, limits: FormLimits) -> Sheet:
    rows = []
    # Bounds are explicit: a read-only sheet's <dimension> may claim A1:XFD1048576.
    for row in ws.iter_rows(
        min_row=1, max_row=limits.max_rows + 1, max_col=limits.max_cols, values_only=True
    ):
        rows.append(trim(row))
    truncated = len(rows) > limits.max_rows
    del rows[limits.max_rows :]
    state = getattr(ws, "sheet_state", "visible")
    return Sheet(str(ws.title), rows, truncated, hidden=state != "visible")
