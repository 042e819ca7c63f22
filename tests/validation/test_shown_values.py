"""Reasons quote a value as the unit sees it in its sheet (issue 9, kind 7)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.validation.test_checks import PROGRAMME, good_draft
from worker.validation import Lookups, check_application


@pytest.mark.parametrize("shown", ["1.20114E+17", "1.20114e+17", "1.2E+17", "1E+17"])
def test_id_shown_as_a_number_is_quoted_with_the_fix(shown: str) -> None:
    draft, payments = good_draft()
    draft.lines[0] = replace(draft.lines[0], id_number=shown)
    reasons = check_application(draft, PROGRAMME, Lookups(payments, {}))
    invalid = [r for r in reasons if str(r.code) == "INVALID_ID_NUMBER"]
    (reason,) = invalid
    assert reason.line == 1 and shown in reason.detail
    assert "Excel" in reason.detail and "WPS" in reason.detail and "文本" in reason.detail
    mismatch = [r for r in reasons if str(r.code) == "PAYMENT_MISMATCH"]
    assert mismatch and f"表中 {shown}" in mismatch[0].detail


def test_an_18_digit_id_with_a_wrong_check_digit_keeps_the_old_hint() -> None:
    draft, payments = good_draft()
    wrong = draft.lines[0].id_number[:-1] + ("0" if draft.lines[0].id_number[-1] != "0" else "1")
    draft.lines[0] = replace(draft.lines[0], id_number=wrong)
    (reason,) = [r for r in check_application(draft, PROGRAMME, Lookups(payments, {}))
                 if str(r.code) == "INVALID_ID_NUMBER"]
    assert wrong in reason.detail and "E+" not in reason.detail
