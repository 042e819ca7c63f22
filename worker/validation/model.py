"""What the checks look at: an application as plain data, independent of storage,
so the worker and the console's re-check run exactly the same functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from worker.payments import PaymentRow


@dataclass
class Line:
    position: int                 # 1-based order in the form
    seq: int | None               # 序号 as written
    name: str
    id_number: str
    order_no: str
    year: int | None
    amount: Decimal | None
    year_raw: str = ""
    amount_raw: str = ""
    row: int | None = None

    @property
    def ref(self) -> int:
        """The line number reasons cite: the trainee's 序号, else its position."""
        return self.seq if self.seq is not None else self.position


@dataclass
class Draft:
    unit: str = ""
    district: str = ""
    invoice_type: str = ""
    buyer_name: str = ""
    tax_id: str = ""
    address_phone: str = ""
    bank_account: str = ""
    issue_mode: str = ""
    contact: str = ""
    contact_phone: str = ""
    recipient_name: str = ""
    recipient_phone: str = ""
    recipient_address: str = ""
    lines: list[Line] = field(default_factory=list)
    total_count: int | None = None
    total_amount: Decimal | None = None
    received_at: datetime | None = None  # when the mailbox received it: date rules judge this
    raw_invoice_type: str = ""
    raw_issue_mode: str = ""


@dataclass
class Lookups:
    """What the checks need from storage, loaded by the caller for this draft's orders."""

    payments: Mapping[str, PaymentRow]
    invoiced: Mapping[str, str]   # order_no -> invoice number it is already on
