"""Application forms (线上缴费发票申请表) built in code, for tests at every level.

Nothing here reads a fixture file: every form, valid or hostile, is made from
parameters, so a test states exactly what the unit "sent".

Typical use::

    lines = make_lines(3)                          # valid IDs, unique order numbers
    data = build_form_xlsx(default_header(), lines)
    data = build_form_xlsx(default_header(district="和平区"), lines, layout="inline")
    data = build_form_xls(default_header(), lines, total=(3, "450.00"))

``header`` maps the label *as written on the form* to its value, so tests can vary the
label itself (``"*单位名称："``, ``"单 位 名 称"``); ``default_header(**overrides)``
takes canonical keys (``unit``, ``district``, ``tax_id``, ... see
``worker.form.HEADER_FIELDS``) and writes the form's standard labels.

Lines are dicts with the keys ``seq name id_number order_no year amount`` (missing
ones get defaults; other keys become extra columns such as ``备注``) or tuples
``(name, id_number, order_no, year, amount)``, optionally with ``seq`` first.

The same form in other shapes (body table, .csv, .ods, BIFF2, Strict, encrypted) is
built by ``tests.builders.formats``.  Hostile inputs for the safety tests live at the
bottom: ``rewrite_xlsx``, ``build_ole2``, ``encrypted_ooxml``, ``encrypted_xls``,
``billion_laughs``, ``zip_with_member``.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stdnum.cn import ric, uscc

from worker.form.labels import COLUMN_TITLES, HEADER_FIELDS
from worker.text import parse_amount

DEFAULT_TITLE = "2018年天津市政工专业人员继续教育网上培训线上缴费发票申请表"
LINE_KEYS = ("seq", "name", "id_number", "order_no", "year", "amount")
COLUMN_LABELS = COLUMN_TITLES  # the blank form's own column headers
NAMES = ("王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴芳")
LAYOUTS = frozenset({"standard", "inline", "shuffled", "numbers", "fullwidth"})


# --- valid identifiers -------------------------------------------------------------


def make_id_number(birth: str = "19800101", seq: int = 1, region: str = "120101") -> str:
    """A valid 18-digit resident ID (GB 11643): region + birth date + sequence + check.

    ``seq`` is the 3-digit sequence code (odd = male); the default region 和平区 has
    existed since before 1980, so stdnum's birth-place check passes too.
    """
    body = f"{region}{birth}{seq % 1000:03d}"
    number = body + ric.calc_check_digit(body + "0")
    assert ric.is_valid(number), number
    return number


def make_tax_id(region: str = "120114", org: str = "MA05K2A3B") -> str:
    """A valid 18-char unified social credit code (GB 32100), ``91`` = enterprise."""
    body = f"91{region}{org}"
    number = body + uscc.calc_check_digit(body + "0")
    assert uscc.is_valid(number), number
    return number


VALID_TAX_ID = make_tax_id()  # 91120114MA05K2A3BG

#: Canonical key -> value of a complete, valid application from a 武清区 company.
DEFAULT_VALUES: dict[str, str] = {
    "unit": "天津市武清区某某科技有限公司",
    "district": "武清区",
    "invoice_type": "增值税普通发票",
    "buyer_name": "天津市武清区某某科技有限公司",
    "tax_id": VALID_TAX_ID,
    "address_phone": "天津市武清区泉州路1号 022-29341234",
    "bank_account": "中国工商银行天津武清支行 0302090109300012345",
    "issue_mode": "合并开具",
    "contact": "张丽",
    "contact_phone": "13820001234",
}
RECIPIENT_VALUES: dict[str, str] = {
    "recipient": "李明",
    "recipient_phone": "13902223344",
    "recipient_address": "天津市武清区泉州路1号某某科技有限公司人事部",
}


def default_header(*, recipient: bool = False, **overrides: str | None) -> dict[str, str | None]:
    """Label -> value for a valid suburban application; override by canonical key.

    ``None`` drops the label from the form, ``""`` keeps the label with an empty value.
    ``recipient=True`` adds 收件人/收件电话/收件地址 to the form.
    """
    unknown = set(overrides) - set(HEADER_FIELDS)
    if unknown:
        raise KeyError(f"not a header field: {sorted(unknown)}")
    values: dict[str, str | None] = dict(DEFAULT_VALUES)
    if recipient:
        values.update(RECIPIENT_VALUES)
    values.update(overrides)
    return {
        HEADER_FIELDS[key][0]: value
        for key, value in ((k, values.get(k)) for k in HEADER_FIELDS)
        if key in values and value is not None
    }


def make_order_no(seq: int) -> str:
    """A 15-digit platform order number (15 digits survive being typed as a number)."""
    return f"2018{seq:011d}"


def make_line(
    seq: int = 1,
    *,
    name: str | None = None,
    birth: str = "19800101",
    id_number: str | None = None,
    order_no: str | None = None,
    year: object = 2018,
    amount: object = "150.00",
    **extra: object,
) -> dict[str, object]:
    """One trainee line (dict) with a valid ID and a unique order number per ``seq``."""
    line: dict[str, object] = {
        "seq": seq,
        "name": name if name is not None else NAMES[(seq - 1) % len(NAMES)],
        "id_number": id_number if id_number is not None else make_id_number(birth, seq),
        "order_no": order_no if order_no is not None else make_order_no(seq),
        "year": year,
        "amount": amount,
    }
    line.update(extra)
    return line


def make_lines(
    n: int, *, start: int = 1, year: object = 2018, amount: object = "150.00"
) -> list[dict[str, object]]:
    """``n`` lines numbered from ``start``; every ID and order number distinct."""
    return [make_line(seq, year=year, amount=amount) for seq in range(start, start + n)]


# --- the grid both writers share ---------------------------------------------------


@dataclass
class GridSheet:
    """A sheet as rows of cell values (None = empty) plus merged ranges and hidden rows
    (1-based; hidden as an AutoFilter or "隐藏" leaves them)."""

    title: str
    rows: list[list[object]] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden_rows: set[int] = field(default_factory=set)

    def add(self, *cells: object) -> int:
        self.rows.append(list(cells))
        return len(self.rows)


def _layouts(layout: str | Iterable[str]) -> frozenset[str]:
    names = frozenset(layout.split("+") if isinstance(layout, str) else layout)
    unknown = names - LAYOUTS
    if unknown:
        raise ValueError(f"unknown layout {sorted(unknown)}; choose from {sorted(LAYOUTS)}")
    return names


def to_fullwidth(text: str) -> str:
    """ASCII letters, digits and punctuation to their full-width forms (１５０，Ｘ，：)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _line_dict(line: Mapping[str, object] | Sequence[object], index: int) -> dict[str, object]:
    if isinstance(line, Mapping):
        out = dict(line)
        out.setdefault("seq", index + 1)
        return out
    values = list(line)
    if len(values) == 5:
        values.insert(0, index + 1)
    if len(values) != 6:
        raise ValueError("a line tuple is (name, id, order, year, amount), optionally seq first")
    return dict(zip(LINE_KEYS, values, strict=True))


def _cell(key: str, value: object, layouts: frozenset[str]) -> object:
    """A line value as the unit would have typed it under the chosen layout."""
    if value is None or value == "":
        return None
    if "numbers" in layouts:
        if key in ("year", "seq", "count") and str(value).isdigit():
            return int(str(value))
        number = parse_amount(value) if key == "amount" else None
        if number is not None:
            return int(number) if number == number.to_integral() else float(number)
        if key in ("order_no", "id_number") and str(value).isdigit():
            return int(str(value))
    if isinstance(value, (int, float, Decimal)) and key != "seq":
        value = str(value)
    if "fullwidth" in layouts and isinstance(value, str):
        return to_fullwidth(value)
    return value


def _label(label: str, layouts: frozenset[str]) -> str:
    return to_fullwidth(label) if "fullwidth" in layouts else label


def _header_value(value: object, layouts: frozenset[str]) -> object:
    if value is None or value == "":
        return None
    if "fullwidth" in layouts and isinstance(value, str):
        return to_fullwidth(value)
    return value


def _inline(label: str, value: object, index: int, layouts: frozenset[str]) -> str:
    """``单位名称：value`` with the colon style alternating (：, :, ： ) as people type."""
    colon = ("：", ":", "： ")[index % 3]
    text = label if label.endswith((":", "：")) else label + colon
    shown = _header_value(value, layouts)
    return text + ("" if shown is None else str(shown))


def form_grid(
    header: Mapping[str, object] | None = None,
    lines: Sequence[Mapping[str, object] | Sequence[object]] | None = None,
    *,
    total: object = "auto",
    layout: str | Iterable[str] = "standard",
    sheet_title: str = "申请表",
    blank_rows: int = 0,
    title: str = DEFAULT_TITLE,
    notes: bool = True,
) -> list[GridSheet]:
    """The sheets of a form; ``build_form_xlsx``/``build_form_xls`` only write them out.

    ``total``: ``"auto"`` (合计 row with ``N人`` and the sum), ``None`` (no 合计 row),
    a string (one cell, e.g. ``"合计：3人 450元"``) or ``(count, amount)`` written in the
    姓名 and 金额 columns (``None`` leaves a cell empty).
    ``blank_rows``: pre-numbered empty rows after the lines, as in the template (the
    shuffled layout has no 序号 column, so there they are plain empty rows that end
    the table before the 合计 row).
    ``notes``: a 填表说明 block under the table.
    The shuffled layout adds a cover sheet first, lists labels in a column, reorders
    the table columns with alternative titles and adds 性别/备注 columns.
    ``layout``: one or more of standard/inline/shuffled/numbers/fullwidth (``"a+b"``).
    """
    layouts = _layouts(layout)
    header = default_header() if header is None else header
    line_dicts = [_line_dict(line, i) for i, line in enumerate(make_lines(3) if lines is None else lines)]
    sheets: list[GridSheet] = []
    if "shuffled" in layouts:
        cover = GridSheet("封面")
        cover.add("线上缴费发票申请")
        cover.add("请在第二个工作表填写申请表。")
        sheets.append(cover)
    sheet = GridSheet(sheet_title)
    sheets.append(sheet)

    sheet.add(title)
    sheet.merges.append((1, 1, 1, 6))
    sheet.add()
    if "shuffled" in layouts:
        columns = ["name", "性别", "id_number", "order_no", "amount", "year", "备注"]
        titles = {"name": "姓名", "id_number": "身份证号码", "order_no": "订单编号",
                  "amount": "金额", "year": "培训年度"}  # fmt: skip
        for label, value in header.items():  # labels in a column, values beside them
            sheet.add(_label(label, layouts), _header_value(value, layouts))
        sheet.add()
    else:
        columns = list(LINE_KEYS)
        titles = dict(COLUMN_LABELS)
        _header_pairs(sheet, header, layouts)
        sheet.add()
    extra = [k for line in line_dicts for k in line if k not in LINE_KEYS and k not in columns]
    columns += list(dict.fromkeys(extra))
    sheet.add(*(_label(titles.get(c, c), layouts) for c in columns))
    for line in line_dicts:
        sheet.add(*(_cell(c, line.get(c), layouts) for c in columns))
    next_seq = len(line_dicts) + 1
    for number in range(next_seq, next_seq + blank_rows):
        sheet.add(*(number if c == "seq" else None for c in columns))
    _total_row(sheet, total, columns, line_dicts, layouts)
    if notes:
        sheet.add()
        sheet.add("填表说明：")
        sheet.add("1. 标 * 的为必填项。")
    return sheets


def _header_pairs(sheet: GridSheet, header: Mapping[str, object], layouts: frozenset[str]) -> None:
    items = list(header.items())
    for i in range(0, len(items), 2):
        pair = items[i : i + 2]
        if "inline" in layouts:
            cells: list[object] = [
                _inline(label, value, i + j, layouts) for j, (label, value) in enumerate(pair)
            ]
            row = sheet.add(cells[0], None, None, *(cells[1:]))
        else:
            cells = []
            for label, value in pair:
                cells += [_label(label, layouts), _header_value(value, layouts), None]
            row = sheet.add(*cells)
            sheet.merges.append((row, 2, row, 3))
            if len(pair) == 2:
                sheet.merges.append((row, 5, row, 6))


def _total_row(
    sheet: GridSheet,
    total: object,
    columns: list[str],
    lines: list[dict[str, object]],
    layouts: frozenset[str],
) -> None:
    if total is None:
        return
    row: list[object] = [None] * len(columns)
    first = 0
    if total == "auto":
        amounts = [parse_amount(line.get("amount")) or Decimal("0") for line in lines]
        count: object = f"{len(lines)}人"
        amount: object = f"{sum(amounts, Decimal('0')):.2f}"
    elif isinstance(total, str):
        row[first] = total
        sheet.add(*row)
        return
    else:
        count, amount = total  # type: ignore[misc]
    row[first] = "合计"
    name_col = columns.index("name")
    if name_col == first:  # no 序号 column: the count goes in the next column
        name_col = columns.index("id_number")
    row[name_col] = _cell("count", count, layouts)
    row[columns.index("amount")] = _cell("amount", amount, layouts)
    sheet.add(*row)


def build_form_xlsx(
    header: Mapping[str, object] | None = None,
    lines: Sequence[Mapping[str, object] | Sequence[object]] | None = None,
    **options: Any,
) -> bytes:
    """An .xlsx form (see ``form_grid`` for the options); defaults to a valid 3-line form."""
    return grid_to_xlsx(form_grid(header, lines, **options))


def build_form_xls(
    header: Mapping[str, object] | None = None,
    lines: Sequence[Mapping[str, object] | Sequence[object]] | None = None,
    **options: Any,
) -> bytes:
    """An Excel 97-2003 .xls form via xlwt; numbers become floats as in real .xls files."""
    return grid_to_xls(form_grid(header, lines, **options))


def grid_to_xlsx(sheets: Sequence[GridSheet]) -> bytes:
    """Write grid sheets with openpyxl (normal mode, so merged ranges are real)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for grid in sheets:
        ws = book.create_sheet(grid.title)
        for row in grid.rows:
            ws.append([float(v) if isinstance(v, Decimal) else v for v in row])
        for r1, c1, r2, c2 in grid.merges:
            ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
        for r in grid.hidden_rows:
            ws.row_dimensions[r].hidden = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def grid_to_xls(sheets: Sequence[GridSheet]) -> bytes:
    """Write grid sheets with xlwt; merged ranges keep their top-left value only."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    dates = xlwt.easyxf(num_format_str="yyyy/m/d")
    for grid in sheets:
        ws = book.add_sheet(grid.title)
        covered = {
            (r, c)
            for r1, c1, r2, c2 in grid.merges
            for r in range(r1, r2 + 1)
            for c in range(c1, c2 + 1)
            if (r, c) != (r1, c1)
        }
        for r, row in enumerate(grid.rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None and (r, c) not in covered:
                    if isinstance(value, dt.date):  # a date-formatted cell, as Excel saves it
                        ws.write(r - 1, c - 1, value, dates)
                        continue
                    ws.write(r - 1, c - 1, float(value) if isinstance(value, Decimal) else value)
        for r1, c1, r2, c2 in grid.merges:
            ws.merge(r1 - 1, r2 - 1, c1 - 1, c2 - 1)
        for r in grid.hidden_rows:
            ws.row(r - 1).hidden = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- hostile inputs ----------------------------------------------------------------


def rewrite_xlsx(data: bytes, changes: Mapping[str, bytes | Callable[[bytes], bytes] | None]) -> bytes:
    """Copy an xlsx replacing members (bytes or a function of the old bytes); None drops one.

    Names not in the archive are added.
    """
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename in changes:
                change = changes[info.filename]
                if change is None:
                    continue
                body = change(src.read(info)) if callable(change) else change
            else:
                body = src.read(info)
            dst.writestr(info.filename, body)
        for name, change in changes.items():
            if name not in src.namelist() and isinstance(change, bytes):
                dst.writestr(name, change)
    return out.getvalue()


def zip_with_member(
    data: bytes, name: str, size: int, *, chunk: bytes = b"\0" * (1 << 20), level: int = 9
) -> bytes:
    """Add a member of ``size`` bytes (repeated ``chunk``) streamed, never held in memory."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        with dst.open(name, "w", force_zip64=size > 2**31) as member:
            left = size
            while left > 0:
                piece = chunk[: min(left, len(chunk))]
                member.write(piece)
                left -= len(piece)
    return out.getvalue()


def billion_laughs(root: str = "sst", levels: int = 10) -> bytes:
    """XML whose entities expand exponentially (10 levels ~ 10^10 characters)."""
    decls = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, levels)
    ]
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE {root} [\n'
        + "\n".join(decls)
        + f'\n]>\n<{root} xmlns="{ns}"><si><t>&lol{levels - 1};</t></si></{root}>'
    ).encode()


_FREE, _END, _FAT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def build_ole2(streams: Mapping[str, bytes]) -> bytes:
    """A minimal, valid OLE2 compound file (v3, 512-byte sectors) holding ``streams``.

    Streams are padded to 4096 bytes so no mini-stream is needed; enough for xlrd's
    reader and for telling .xls, .doc and encrypted OOXML apart.
    """
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    bodies = [streams[n] + b"\0" * max(0, 4096 - len(streams[n])) for n in names]
    bodies = [b + b"\0" * (-len(b) % 512) for b in bodies]
    stream_secs = [len(b) // 512 for b in bodies]
    dir_secs = -(-(len(names) + 1) // 4)
    fat_secs = 1
    while fat_secs * 128 < fat_secs + dir_secs + sum(stream_secs):
        fat_secs += 1
    if fat_secs > 109:
        raise ValueError("too large for a header-only DIFAT")
    fat = [_FAT] * fat_secs
    first_dir = len(fat)
    fat += [first_dir + i + 1 for i in range(dir_secs - 1)] + [_END]
    starts = []
    for count in stream_secs:
        start = len(fat)
        starts.append(start)
        fat += [start + i + 1 for i in range(count - 1)] + [_END]
    fat += [_FREE] * (fat_secs * 128 - len(fat))

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0" if name else b""
        return (
            raw.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(raw), kind, 1, _NOSTREAM, right, child)
            + b"\0" * 36
            + struct.pack("<IQ", start, size)
        )

    entries = [entry("Root Entry", 5, _NOSTREAM, 1 if names else _NOSTREAM, _END, 0)]
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else _NOSTREAM
        size = max(4096, len(streams[name]))  # below 4096 it would live in the mini-stream
        entries.append(entry(name, 2, right, _NOSTREAM, starts[i], size))
    while len(entries) % 4:
        entries.append(entry("", 0, _NOSTREAM, _NOSTREAM, 0, 0))

    difat = list(range(fat_secs)) + [_FREE] * (109 - fat_secs)
    head = (
        OLE2_MAGIC
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, fat_secs, first_dir, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<109I", *difat)
    )
    assert len(head) == 512
    return head + struct.pack(f"<{len(fat)}I", *fat) + b"".join(entries) + b"".join(bodies)


def encrypted_ooxml() -> bytes:
    """What Excel writes for a password-protected .xlsx: OLE2 with an EncryptedPackage."""
    return build_ole2(
        {"EncryptionInfo": b"\x04\x00\x04\x00" + b"\0" * 60, "EncryptedPackage": b"\x01" * 5000}
    )


def encrypted_xls() -> bytes:
    """A BIFF8 workbook whose globals carry a FILEPASS record (password to open)."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 6)
    filepass = struct.pack("<HHHHH", 0x002F, 6, 0, 0x1234, 0x5678)
    eof = struct.pack("<HH", 0x000A, 0)
    return build_ole2({"Workbook": bof + filepass + eof})


def with_shared_strings(data: bytes, sst_xml: bytes) -> bytes:
    """Add (or replace) ``xl/sharedStrings.xml`` and register it, as Excel-made files have.

    openpyxl writes inline strings, so this is how a test gets a shared-string table
    into a workbook (e.g. a billion-laughs one).
    """
    part = (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    )

    def register(types: bytes) -> bytes:
        return types if b"sharedStrings" in types else types.replace(b"</Types>", part + b"</Types>")

    return rewrite_xlsx(data, {"[Content_Types].xml": register, "xl/sharedStrings.xml": sst_xml})


def with_many_rows(data: bytes, n: int, *, first_row: int, sheet: str = "xl/worksheets/sheet1.xml") -> bytes:
    """Append ``n`` rows (a name in column B) from ``first_row`` on, streamed into the zip.

    A million rows make a ~5 MB attachment that inflates to ~70 MB of sheet XML.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != sheet:
                dst.writestr(info.filename, src.read(info))
                continue
            head, tail = src.read(info).split(b"</sheetData>", 1)
            with dst.open(sheet, "w") as member:
                member.write(head)
                for block in range(first_row, first_row + n, 10_000):
                    stop = min(block + 10_000, first_row + n)
                    member.write(
                        "".join(
                            f'<row r="{r}"><c r="B{r}" t="inlineStr"><is><t>学员{r}</t></is></c></row>'
                            for r in range(block, stop)
                        ).encode()
                    )
                member.write(b"</sheetData>" + tail)
    return out.getvalue()
