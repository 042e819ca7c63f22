"""Every spreadsheet format a unit can send is read, or named in the reason; "no form"
is only said of a file that was read (issue 9, kind 5)."""

from __future__ import annotations

import pytest

from tests.builders.form import (
    GridSheet,
    build_form_xls,
    build_form_xlsx,
    default_header,
    form_grid,
    make_lines,
)
from tests.builders.formats import grid_to_biff2, grid_to_csv, grid_to_html, grid_to_ods, to_strict, to_xlsm
from worker.errors import FormUnreadable
from worker.form import FormLimits, classify_attachment, read_form
from worker.form.reader import NO_FORM, UNRECOGNISED

LINES = make_lines(3)
GRID = form_grid(default_header(), LINES)
UNIT = default_header()["单位名称"]

FORMATS = {
    "xlsx transitional": ("申请表.xlsx", lambda: build_form_xlsx(default_header(), LINES)),
    "xlsx strict": ("申请表.xlsx", lambda: to_strict(build_form_xlsx(default_header(), LINES))),
    "xlsm": ("申请表.xlsm", lambda: to_xlsm(build_form_xlsx(default_header(), LINES))),
    "xls BIFF8": ("申请表.xls", lambda: build_form_xls(default_header(), LINES)),
    "xls BIFF2": ("申请表.xls", lambda: grid_to_biff2(GRID)),
    "WPS et": ("申请表.et", lambda: build_form_xls(default_header(), LINES)),
    "ods": ("申请表.ods", lambda: grid_to_ods(GRID)),
    "csv gbk": ("申请表.csv", lambda: grid_to_csv(GRID)),
    "csv utf-8 bom": ("申请表.csv", lambda: grid_to_csv(GRID, encoding="utf-8", bom=True)),
    "csv tab": ("申请表.csv", lambda: grid_to_csv(GRID, delimiter="\t")),
    "html saved as xls": ("申请表.xls", lambda: grid_to_html(GRID).encode("gb18030")),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_is_read(fmt: str) -> None:
    name, build = FORMATS[fmt]
    data = build()
    assert classify_attachment(name, "application/octet-stream", data) == "form"
    form = read_form(name, data)
    assert form.header["unit"] == UNIT
    assert [line.id_number for line in form.lines] == [line["id_number"] for line in LINES]
    assert [line.order_no for line in form.lines] == [line["order_no"] for line in LINES]
    assert form.total_count == 3


def test_ods_empty_tail_of_a_million_rows_is_not_materialised() -> None:
    form = read_form("a.ods", grid_to_ods(GRID, tail_rows=1_048_000), FormLimits(max_rows=200))
    assert len(form.lines) == 3


def test_csv_saved_from_a_sheet_with_ids_as_numbers_keeps_what_excel_showed() -> None:
    grid = form_grid(default_header(), [{**LINES[0], "id_number": "1.20101E+17"}])
    form = read_form("a.csv", grid_to_csv(grid))
    assert form.lines[0].id_number == "1.20101E+17"


@pytest.mark.parametrize(("name", "data"), [
    ("申请表.ods", grid_to_ods([GridSheet("说明", [["请见附件说明", None, "无"]])])),
    ("申请表.csv", "说明,无\n".encode("gb18030")),
    ("申请表.xls", b"<html><table><tr><td>hello</td></tr></table></html>"),
])
def test_a_file_read_without_a_form_says_no_form(name: str, data: bytes) -> None:
    with pytest.raises(FormUnreadable) as caught:
        read_form(name, data)
    assert caught.value.detail == NO_FORM


@pytest.mark.parametrize(("name", "data", "words"), [
    ("申请表.xlsb", None, ".xlsb"),
    ("申请表.xls", b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
     "XML"),
    ("申请表.dat", b"\x00\x01\x02 what is this", None),
])
def test_formats_not_read_are_named_never_called_not_a_form(name: str, data: bytes | None,
                                                             words: str | None) -> None:
    if data is None:  # an .xlsb: a zip with xl/workbook.bin
        import io
        import zipfile

        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("xl/workbook.bin", b"\x00")
        data = out.getvalue()
    with pytest.raises(FormUnreadable) as caught:
        read_form(name, data)
    detail = caught.value.detail
    assert "不是 Excel 申请表" not in detail and detail != NO_FORM
    assert (words in detail) if words else detail == UNRECOGNISED
