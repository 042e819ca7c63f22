"""The same application form in the other shapes units send it, built in code: pasted
into a mail body (HTML table, tab-separated text), saved as .csv, .ods, Excel 2.x BIFF2,
Strict OOXML or .xlsm, and encrypted as Excel does (its built-in password or a real one).

Each takes the grid ``tests.builders.form.form_grid`` makes (or workbook bytes)::

    grid = form_grid(default_header(), make_lines(3))
    grid_to_html(grid); grid_to_csv(grid, encoding="utf-8", bom=True); grid_to_ods(grid)
    to_strict(build_form_xlsx()); encrypt_xlsx(build_form_xlsx(), "secret")
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from collections.abc import Sequence
from decimal import Decimal

from tests.builders.form import GridSheet, build_ole2, rewrite_xlsx
from worker.form.decrypt import DEFAULT_PASSWORD


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def grid_to_html(sheets: Sequence[GridSheet], *, intro: str = "老师您好，申请表如下：",
                 outro: str = "") -> str:
    """The form pasted into an HTML mail: each sheet one ``<table>`` of ``<td>`` cells,
    as webmail and Outlook paste cells copied from Excel."""
    import html

    tables = []
    for grid in sheets:
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in row) + "</tr>"
            for row in grid.rows
        )
        tables.append(f"<table border=1>{rows}</table>")
    return f"<html><body><p>{html.escape(intro)}</p>{''.join(tables)}{outro}</body></html>"


def grid_to_csv(sheets: Sequence[GridSheet], *, encoding: str = "gb18030", bom: bool = False,
                delimiter: str = ",") -> bytes:
    """The form's sheet as Excel/WPS save "CSV (逗号分隔)": GBK on Chinese Windows, UTF-8
    with a BOM from "CSV UTF-8"; numbers as displayed, so a long ID is ``1.20114E+17``."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in sheets[-1].rows:
        writer.writerow([_text(v) for v in row])
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def grid_to_ods(sheets: Sequence[GridSheet], *, tail_rows: int = 1_048_000) -> bytes:
    """An OpenDocument spreadsheet as LibreOffice/WPS write it (ODF 1.2): numbers as
    ``office:value-type="float"``, runs of empty cells and the sheet's empty tail as
    ``number-columns-repeated``/``number-rows-repeated``."""
    from xml.sax.saxutils import escape, quoteattr

    def cell(value: object) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, dt.date):  # LibreOffice keeps the date, not Excel's serial
            return (f'<table:table-cell office:value-type="date" '
                    f'office:date-value="{value.isoformat()}"><text:p>{value:%Y/%m/%d}'
                    "</text:p></table:table-cell>")
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            return (f'<table:table-cell office:value-type="float" office:value="{value}">'
                    f"<text:p>{_text(value)}</text:p></table:table-cell>")
        return (f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
                "</text:p></table:table-cell>")

    tables = []
    for grid in sheets:
        rows = "".join(
            ('<table:table-row table:visibility="filter">' if r in grid.hidden_rows
             else "<table:table-row>") + "".join(cell(v) for v in row)
            + '<table:table-cell table:number-columns-repeated="1000"/></table:table-row>'
            for r, row in enumerate(grid.rows, start=1)
        )
        rows += (f'<table:table-row table:number-rows-repeated="{tail_rows}">'
                 '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>')
        tables.append(f"<table:table table:name={quoteattr(grid.title)}>{rows}</table:table>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet",
                         compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def grid_to_biff2(sheets: Sequence[GridSheet], codepage: int = 936) -> bytes:
    """An Excel 2.x worksheet (BIFF2, no OLE2 wrapper), as very old Excel and some
    accounting software still write ``.xls``: BOF, CODEPAGE, LABEL/NUMBER cells, EOF
    ([MS-XLS] predecessors; the record layout xlrd reads)."""
    codec = "gb18030" if codepage == 936 else f"cp{codepage}"
    out = struct.pack("<HHHH", 0x0009, 4, 0x0002, 0x0010)
    out += struct.pack("<HHH", 0x0042, 2, codepage)
    for r, row in enumerate(sheets[-1].rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                body = struct.pack("<HH3sd", r, c, b"\0\0\0", float(value))
                out += struct.pack("<HH", 0x0003, len(body)) + body
            else:
                text = str(value).encode(codec)[:255]
                body = struct.pack("<HH3sB", r, c, b"\0\0\0", len(text)) + text
                out += struct.pack("<HH", 0x0004, len(body)) + body
    return out + struct.pack("<HH", 0x000A, 0)


STRICT_NAMESPACES = (
    (b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
     b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
    (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
     b"http://purl.oclc.org/ooxml/officeDocument/relationships"),
    (b"http://schemas.openxmlformats.org/drawingml/2006/main",
     b"http://purl.oclc.org/ooxml/drawingml/main"),
    (b"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
     b"http://purl.oclc.org/ooxml/officeDocument/extendedProperties"),
)


def to_strict(data: bytes) -> bytes:
    """An .xlsx as Excel's "Strict Open XML 电子表格" saves it: the same parts under the
    ISO/IEC 29500 Strict namespaces, ``conformance="strict"`` on the workbook."""
    def strict(xml: bytes) -> bytes:
        for transitional, iso in STRICT_NAMESPACES:
            xml = xml.replace(transitional, iso)
        return xml.replace(b"<workbook ", b'<workbook conformance="strict" ', 1)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [n for n in archive.namelist() if n.endswith((".xml", ".rels"))]
    return rewrite_xlsx(data, {name: strict for name in names})


def to_xlsm(data: bytes) -> bytes:
    """An .xlsx relabelled as a macro-enabled workbook (.xlsm) in [Content_Types].xml."""
    main = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    macro = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    return rewrite_xlsx(data, {"[Content_Types].xml": lambda xml: xml.replace(main, macro)})


def grid_to_tab_text(sheets: Sequence[GridSheet]) -> str:
    """The form's cells pasted into a plain-text mail: tab-separated lines."""
    return "\n".join("\t".join(_text(v) for v in row) for grid in sheets for row in grid.rows)


def encrypt_xlsx(data: bytes, password: str = DEFAULT_PASSWORD) -> bytes:
    """An .xlsx encrypted as Excel does (ECMA-376 agile encryption, via msoffcrypto-tool);
    ``VelvetSweatshop`` is what Excel uses for a protected workbook that opens unasked."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()


def encrypt_xls_rc4(data: bytes, password: str = DEFAULT_PASSWORD) -> bytes:
    """An .xls encrypted with Office binary RC4 ([MS-XLS] 2.4.117 FilePass, [MS-OFFCRYPTO]
    2.3.6), as Excel 97-2003 writes a protected workbook.

    A FilePass record goes in after the BOF (sheet offsets in BoundSheet8 moved along);
    RC4 is a stream cipher, so msoffcrypto's own decryption run over the plain records
    yields the encrypted ones; the FilePass it blanks is then put back.
    """
    import hashlib

    import olefile
    from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
    from cryptography.hazmat.primitives.ciphers import Cipher
    from msoffcrypto.format.xls97 import Xls97File
    from msoffcrypto.method.rc4 import _makekey

    stream = olefile.OleFileIO(data).openstream("Workbook").read()
    salt, verifier = b"\x11" * 16, b"\x22" * 16
    rc4 = Cipher(ARC4(_makekey(password, salt, 0)), mode=None).encryptor()
    header = struct.pack("<HHH", 1, 1, 1) + salt + rc4.update(verifier)
    header += rc4.update(hashlib.md5(verifier).digest())  # noqa: S324 (the format's MD5)
    filepass = struct.pack("<HH", 0x002F, len(header)) + header
    bof_end = 4 + struct.unpack_from("<H", stream, 2)[0]
    shifted = bytearray(stream)
    offset = end = 0
    while offset + 4 <= len(shifted):  # move BoundSheet8.lbPlyPos past the new record
        num, size = struct.unpack_from("<HH", shifted, offset)
        if num == 0x0085:
            pos = struct.unpack_from("<I", shifted, offset + 4)[0]
            struct.pack_into("<I", shifted, offset + 4, pos + len(filepass))
        offset += 4 + size
        end = offset if num else end
    records = bytes(shifted[:bof_end]) + filepass + bytes(shifted[bof_end:end])
    pad = max(0, 4096 - len(records))  # xlwt's padding, in whole (empty) records
    plain = records + b"\0" * (pad + -pad % 4)
    staged = build_ole2({"Workbook": plain})
    office = Xls97File(io.BytesIO(staged))
    office.load_key(password=password)
    out = io.BytesIO()
    office.decrypt(out)
    encrypted = bytearray(olefile.OleFileIO(out.getvalue()).openstream("Workbook").read())
    encrypted[bof_end:bof_end + len(filepass)] = filepass
    return build_ole2({"Workbook": bytes(encrypted)})
