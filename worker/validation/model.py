"""What the checks look at: an application as plain data, independent of storage,
so the worker and the console's re-check run exactly the same functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, make_dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from worker.fields import FIELDS
from worker.form.model import Line  # the checks' line is the form's

#: Payment statuses and methods as ``worker.payments`` stores them (SPEC §3: refunded
#: orders and study-card payments are never invoiced by mail). Between paid and
#: refunded the platform also says a refund is under way (退款中) or returned part of
#: the money (部分退款): neither is a refund, neither may be invoiced as paid in full.
PAID = "已支付"
REFUNDING = "退款中"
PARTLY_REFUNDED = "部分退款"
REFUNDED = "已退款"
ONLINE = "在线支付"
CARD = "学习卡"

# How far an order has gone towards its money going back; a record never moves down.
_TOWARDS_REFUND = {PAID: 0, REFUNDING: 1, PARTLY_REFUNDED: 2, REFUNDED: 3}


def final_status(before: str, after: str) -> str:
    """The status an order keeps when a second record of it says ``after``: a refund is
    final (SPEC §2.4: "a later export updates a record (a refund)"), so an export that
    still says 已支付 never un-refunds an order, whether it was imported after the
    refund's export (exports arrive out of order) or lists the order twice itself
    (newest-first exports put the refund row above the payment's). A refund under way
    is kept too: if it failed, staff approve the application knowingly
    (PAYMENT_REFUNDING is waivable); an invoice for money on its way back would need
    a 红冲."""
    return before if _TOWARDS_REFUND.get(before, 0) > _TOWARDS_REFUND.get(after, 0) else after


class PaymentRow(NamedTuple):
    """One order of the training platform's payment export, as imported and as the
    checks compare it (no ORM: built by ``worker.payments`` and ``worker.decision``).
    Immutable; a NamedTuple because an intake chunk reads one per trainee line, and a
    frozen dataclass costs five times as much to make."""

    order_no: str
    name: str
    id_number: str
    year: int | None
    amount: Decimal
    paid_at: datetime | None
    method: str     # ONLINE | CARD
    status: str     # PAID | REFUNDING | PARTLY_REFUNDED | REFUNDED


def _draft_class() -> type:
    """``Draft``: one ``str`` attribute per registry field (``worker.fields``, default
    ""), then what the form says besides its header. Built from the registry so a new
    field reaches the checks without being restated here."""
    registry = [(f.key, str, field(default="")) for f in FIELDS]
    facts = [
        ("lines", list[Line], field(default_factory=list)),
        ("total_count", int | None, field(default=None)),
        ("total_amount", Decimal | None, field(default=None)),
        # Spreadsheet rows (1-based) of trainees below the empty row that ended the lines,
        # not read (worker.form.table); only a draft read from the form has them.
        ("below_blank", list[int], field(default_factory=list)),
        # Spreadsheet rows (1-based) of trainees the sheet hides (a filter), not read.
        ("hidden_rows", list[int], field(default_factory=list)),
        # When the mailbox received the mail: the date rules judge this, never its Date.
        ("received_at", datetime | None, field(default=None)),
        # What the unit typed in the choice fields (``Field.choices``), before normalising:
        # the checks say when it could not be read.
        *((f"raw_{f.key}", str, field(default="")) for f in FIELDS if f.choices),
    ]
    return make_dataclass("Draft", registry + facts, namespace={
        "__module__": __name__,
        "__doc__": "An application as the checks see it: the header fields of "
                   "worker.fields.FIELDS as str, lines, totals, when the mailbox received the mail and "
                   "the raw_<key> text of each choice field."})


Draft = _draft_class()


def draft_values(source: object) -> dict[str, str]:
    """``key -> value`` of every registry field read from ``source`` (a Draft, an
    Application row, anything with those attributes)."""
    return {f.key: getattr(source, f.key) for f in FIELDS}


@dataclass
class Lookups:
    """What the checks need from storage, loaded by the caller for this draft's orders."""

    payments: Mapping[str, PaymentRow]
    invoiced: Mapping[str, str]   # order_no -> invoice number it is already on
