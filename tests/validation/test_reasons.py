"""The reason table is the one place for a reason's properties: every code has an entry
with every property, and the sets other stages use are read from it."""

from __future__ import annotations

import dataclasses

import pytest

from worker.fields import FIELD
from worker.staff.checks import FORMLESS
from worker.validation.reasons import (
    BLOCKING,
    REASONS,
    WAIVABLE,
    Code,
    NextStep,
    ReasonText,
    Role,
    blocks_approval,
    next_step,
    with_role,
)

PROPERTIES = {f.name for f in dataclasses.fields(ReasonText)}


@pytest.mark.parametrize("code", list(Code))
def test_every_code_has_an_entry_with_every_property(code: Code) -> None:
    assert code in REASONS, f"{code} has no entry in REASONS"
    entry = REASONS[code]
    assert {"title", "advice", "role", "waivable", "next_step", "fields",
                          "only_lacking"} <= PROPERTIES
    assert entry.title.strip() and entry.advice.strip()
    assert isinstance(entry.role, Role) and isinstance(entry.next_step, NextStep)
    assert isinstance(entry.waivable, bool) and isinstance(entry.only_lacking, bool)
    assert all(key in FIELD for key in entry.fields), entry.fields
    assert not entry.only_lacking or entry.fields


def test_a_property_cannot_be_left_out() -> None:
    with pytest.raises(TypeError):
        ReasonText("标题", "建议", role=Role.CHECK, waivable=False)  # type: ignore[call-arg]


def test_the_derived_sets_are_what_the_stages_always_used() -> None:
    # A refund under way is a fact staff settle with the platform (a failed one leaves
    # the money paid), so they may approve despite it.
    assert {Code.PAST_DEADLINE, Code.PAID_OUTSIDE_WINDOW, Code.TOTAL_MISMATCH,
            Code.PAYMENT_REFUNDING} == WAIVABLE
    assert FORMLESS == with_role(Role.FORMLESS) == {
        Code.NO_FORM, Code.UNSUPPORTED_ATTACHMENT, Code.FORM_UNREADABLE,
        Code.TOO_MANY_FORMS}  # issue 9: a mail over limits.max_forms has no form read either
    assert with_role(Role.POSTAL) == {Code.MISSING_RECIPIENT, Code.INVALID_PHONE}
    assert with_role(Role.NO_PARCEL) == {Code.NOT_SUBURBAN_DISTRICT, Code.PAST_DEADLINE}
    placed = {c: e.fields for c, e in REASONS.items() if e.fields and not e.only_lacking}
    assert placed == {
        Code.UNKNOWN_DISTRICT: ("district",), Code.NOT_SUBURBAN_DISTRICT: ("district",),
        Code.INVALID_TAX_ID: ("tax_id",),
        Code.SPECIAL_INVOICE_INCOMPLETE: ("invoice_type", "address_phone", "bank_account"),
        Code.INVALID_PHONE: ("recipient_phone",),
        Code.TAX_PLATFORM_REJECTED: ("buyer_name", "tax_id", "address_phone", "bank_account",
                                     "invoice_type", "buyer_email"),
    }


def test_approving_settles_only_what_staff_act_on() -> None:
    """A 红冲 and a platform refusal end when staff approve (the invoice is planned again);
    rows the reader left unread end only when the unit sends the form again."""
    settled = {c for c, e in REASONS.items() if e.settled_by_approval}
    assert settled == {Code.INVOICE_REVERSED, Code.TAX_PLATFORM_REJECTED}
    assert all(REASONS[c].sticky and not REASONS[c].waivable for c in settled)
    assert set(Code) - WAIVABLE - settled == BLOCKING
    assert blocks_approval("LINES_BELOW_BLANK_ROW") and blocks_approval("PAYMENT_NOT_FOUND")
    assert not blocks_approval("INVOICE_REVERSED") and not blocks_approval("TOTAL_MISMATCH")
    assert blocks_approval("A_CODE_FROM_A_LATER_VERSION")


@pytest.mark.parametrize(("codes", "step"), [
    (set(), NextStep.RESEND),
    ({Code.FORM_INCOMPLETE}, NextStep.RESEND),
    ({Code.INTERNAL_ERROR}, NextStep.STAFF),
    ({Code.INTERNAL_ERROR, Code.NO_FORM}, NextStep.RESEND),
    ({Code.INTERNAL_ERROR, "NOT_A_CODE"}, NextStep.RESEND),
    ({Code.PAST_DEADLINE, Code.MISSING_RECIPIENT}, NextStep.CONTACT),
    ({Code.PAST_DEADLINE, Code.NOT_SUBURBAN_DISTRICT}, NextStep.IN_PERSON),
])
def test_the_most_pressing_next_step_wins(codes: set[str], step: NextStep) -> None:
    assert next_step(codes) is step
