"""Characters ``str.isdigit`` calls digits and ``int()`` refuses (U+10A40 KHAROSHTHI
DIGIT ONE, '²'; U+10A40 survives the reader's NFKC): wherever text from a mail, a form
or a platform file is turned into a number, such a "digit" is unreadable, never a
ValueError (which made a mail INTERNAL_ERROR, or stopped a pass)."""

from __future__ import annotations

import pytest

from worker.form import FormLimits
from worker.form.body import html_table_sheet
from worker.message.words import parse_params
from worker.text import parse_int

ODD = "\U00010A40"
LIMITS = FormLimits(max_bytes=10**6, max_uncompressed=10**7, max_rows=1000, max_lines=500)


def test_the_odd_digit_is_a_digit_to_isdigit_only() -> None:
    assert ODD.isdigit()
    with pytest.raises(ValueError):
        int(ODD)


@pytest.mark.parametrize(("text", "value"), [
    (ODD, None), (f"20{ODD}8年", None), ("2018年", 2018), ("٢٠١٨", 2018), ("３人", 3),
])
def test_parse_int(text: str, value: int | None) -> None:
    assert parse_int(text) == value


def test_a_pasted_table_with_an_odd_colspan_reads_as_span_one() -> None:
    odd = html_table_sheet(f'<table><tr><td colspan="{ODD}">姓名</td><td>x</td></tr>'
                           "<tr><td>a</td><td>b</td></tr></table>", LIMITS)
    plain = html_table_sheet("<table><tr><td>姓名</td><td>x</td></tr>"
                             "<tr><td>a</td><td>b</td></tr></table>", LIMITS)
    assert odd is not None and plain is not None
    assert odd.rows == plain.rows


def test_an_rfc2231_section_with_an_odd_index_is_ignored() -> None:
    main, params = parse_params(
        f"attachment; filename*0*=utf-8''%E7%94%B3; filename*{ODD}*=%E8%AF%B7.xlsx")
    assert main == "attachment"
    assert params["filename"] == "申"
