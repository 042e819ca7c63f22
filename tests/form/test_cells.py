"""Cell values as the unit sees them (issue 9, kind 7)."""

from __future__ import annotations

import pytest

from tests.builders.form import build_form_xls, build_form_xlsx, default_header, make_line
from worker.form import read_form
from worker.form.cells import excel_general, id_text


@pytest.mark.parametrize(("value", "shown"), [
    (120114198503031008.0, "1.20114E+17"),   # an 18-digit ID typed into a number cell
    (1.20114198503031e17, "1.20114E+17"),
    (120000000000000000.0, "1.2E+17"),       # trailing zeros dropped, as Excel does
    (99999999999999999.0, "1E+17"),          # rounding up moves the exponent
    (120114850303070.0, "1.20115E+14"),      # a 15-digit (first-generation) ID
    (123456789012.0, "1.23457E+11"),         # 12 digits no longer fit
    (12345678901.0, "12345678901"),          # 11 digits still do
    (150.0, "150"),
    (-120114198503031008.0, "-1.2011E+17"),
])
def test_excel_general(value: float, shown: str) -> None:
    assert excel_general(value) == shown


def test_id_text_keeps_exact_integers_and_text() -> None:
    assert id_text(120101198001010018) == "120101198001010018"  # some writers store ints
    assert id_text(" 12010119800101001x ") == "12010119800101001X"
    assert id_text(1.2010119800101e17) == "1.20101E+17"


@pytest.mark.parametrize("build", [build_form_xlsx, build_form_xls])
def test_an_id_typed_as_a_number_reads_as_excel_shows_it(build) -> None:
    line = make_line(1, id_number="120114198503030701")
    form = read_form("a.x", build(default_header(), [line], layout="numbers"))
    assert form.lines[0].id_number == "1.20114E+17"
