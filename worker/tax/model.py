"""What the tax platform round trip is made of: plain frozen values, no storage.

``PlannedInvoice`` is one invoice as handed to the 电子发票服务平台 (a row of the
batch-issuing workbook plus its detail lines); ``IssuedInvoice`` is what its XML says
after issue; ``FailedRow`` is one line of the platform's failure workbook. The
integrator builds ``PlannedInvoice`` from the planning in ``worker.issuing.plan`` (a
different, mutable class of the same name that holds the trainees) and the stored
application; nothing here touches the database.

Amounts are ``Decimal`` in CNY with two places. Prices include tax (SPEC §4), so a
line's ``unit_price`` is tax-inclusive while ``amount`` is the net 金额 as printed and
as the platform's XML reports it (``IssuItemInformation/Amount``); ``gross`` is
``amount + tax`` (the workbook's 金额 with 是否含税 = 是).

The 备注 reference: the platform's XML does not carry our 发票流水号, so the remark we
write holds ``申请编号 <id> 流水号 <serial>`` (``make_reference``) and
``parse_reference`` finds it again in whatever the platform prints, tolerant of
full-width colons and spacing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

SERIAL_MAX = 20  # 发票流水号: 必填（限20字符）in the template's row 2
SERIAL_CHARS = re.compile(r"[A-Za-z0-9]{1,20}")


class PlatformInvoiceType(StrEnum):
    """The 发票类型 drop-down of sheet 1 (column B), exactly as the template lists it."""

    NORMAL = "普通发票"
    SPECIAL = "增值税专用发票"

    @classmethod
    def from_form(cls, text: str) -> PlatformInvoiceType:
        """Our form's 增值税普通发票 / 增值税专用发票 (``worker.status.InvoiceType``) -> this."""
        return cls.SPECIAL if "专用" in text else cls.NORMAL


@dataclass(frozen=True)
class PlannedLine:
    """One 明细 line: sheet 2 row. ``unit_price`` incl. tax, ``amount`` net, ``tax`` 税额."""

    item_name: str
    tax_code: str
    spec: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.amount + self.tax


@dataclass(frozen=True)
class PlannedInvoice:
    """One invoice for the platform: sheet 1 row + its sheet 2 lines, keyed by ``serial``."""

    serial: str
    application_id: int
    invoice_type: PlatformInvoiceType
    buyer_name: str
    buyer_tax_id: str
    lines: tuple[PlannedLine, ...]
    remark: str = ""
    buyer_address: str = ""
    buyer_phone: str = ""
    buyer_bank: str = ""
    buyer_account: str = ""
    buyer_email: str = ""

    @property
    def total_net(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def total_tax(self) -> Decimal:
        return sum((line.tax for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        """价税合计 (tax included): what the unit paid."""
        return self.total_net + self.total_tax


@dataclass(frozen=True)
class IssuedLine:
    """One ``IssuItemInformation`` of an issued invoice's XML."""

    item_name: str
    tax_code: str
    spec: str
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal
    tax_rate: Decimal | None
    tax: Decimal


@dataclass(frozen=True)
class RedLetterInfo:
    """A 红冲: the blue invoice it reverses and the 红字确认单 number.

    From a red-letter XML (``SpecificInformation/RedEInvoice``) or recorded by staff in
    the console (then ``reason`` says why).
    """

    original_number: str
    confirmation_number: str = ""
    reason: str = ""


@dataclass(frozen=True)
class IssuedInvoice:
    """An invoice the platform issued, as its XML states it (see ``worker.tax.xml``)."""

    number: str  # 20-digit 发票号码
    issue_time: str  # IssueTime as written (e.g. 2024-03-01 10:12:13); parsing is the caller's
    buyer_name: str
    buyer_tax_id: str
    seller_name: str
    seller_tax_id: str
    total_net: Decimal
    total_tax: Decimal
    total: Decimal
    remark: str
    lines: tuple[IssuedLine, ...]
    kind: str = ""  # GeneralOrSpecialVAT/LabelName, e.g. 普通发票
    red: RedLetterInfo | None = None
    digest: str = ""  # sha256 of the XML bytes: the same file imported twice is recognised

    @property
    def is_red(self) -> bool:
        return self.red is not None or self.total < 0


@dataclass(frozen=True)
class FailedRow:
    """One line of the platform's failure workbook: which 流水号 failed and its words."""

    serial: str
    reason: str
    sheet: str = ""
    row: int = 0  # spreadsheet row number (1-based) in that sheet
    buyer_name: str = ""


@dataclass(frozen=True)
class Problem:
    """A file (or zip member) that could not be used, with a Chinese reason for staff."""

    source: str
    detail: str


@dataclass(frozen=True)
class ImportReport:
    """Counts printed by ``tax import``, with what lies behind each count."""

    issued: tuple[str, ...] = ()  # official numbers recorded
    failed: tuple[FailedRow, ...] = ()
    unmatched: tuple[str, ...] = ()  # numbers that matched no planned invoice exactly
    duplicates: tuple[str, ...] = ()
    unreadable: tuple[Problem, ...] = ()
    details: tuple[str, ...] = field(default=())  # one Chinese line per unmatched/duplicate

    def counts(self) -> dict[str, int]:
        """``{"issued": N, "failed": N, "unmatched": N, "duplicates": N, "unreadable": N}``."""
        return {
            "issued": len(self.issued),
            "failed": len(self.failed),
            "unmatched": len(self.unmatched),
            "duplicates": len(self.duplicates),
            "unreadable": len(self.unreadable),
        }


# --- the 备注 reference and the 流水号 ------------------------------------------------

_REF_APP = re.compile(r"申请\s*编号\s*[:：]?\s*(\d{1,12})")
_REF_SERIAL = re.compile(r"流\s*水\s*号\s*[:：]?\s*([A-Za-z0-9]{1,20})")


def make_serial(prefix: str, number: int, digits: int) -> str:
    """``('TJZG', 7, 8)`` -> ``'TJZG00000007'``; ValueError past 20 chars or non-ASCII."""
    serial = f"{prefix}{number:0{digits}d}"
    if not SERIAL_CHARS.fullmatch(serial):
        raise ValueError(f"发票流水号 {serial!r} 须为不超过 {SERIAL_MAX} 位的字母或数字")
    return serial


def make_reference(application_id: int, serial: str) -> str:
    """The remark reference the issued XML carries back: ``申请编号 123 流水号 TJZG00000007``."""
    return f"申请编号 {application_id} 流水号 {serial}"


@dataclass(frozen=True)
class Reference:
    application_id: int | None
    serial: str | None


def parse_reference(remark: str) -> Reference:
    """Find ``申请编号`` / ``流水号`` in a remark as the platform returns it (NFKC first)."""
    text = unicodedata.normalize("NFKC", remark or "")
    app = _REF_APP.search(text)
    serial = _REF_SERIAL.search(text)
    return Reference(int(app.group(1)) if app else None, serial.group(1).upper() if serial else None)


# --- the form's combined fields, split for the platform's separate columns ----------

_PHONE_TAIL = re.compile(r"[\s,，;；]*((?:\(?0\d{2,3}\)?[-\s]?)?\d{7,8}(?:-\d{1,6})?|1[3-9]\d{9})\s*$")
_ACCOUNT_TAIL = re.compile(r"[\s,，;；:：]*(\d[\d\s-]{5,38}\d)\s*$")


def split_address_phone(text: str) -> tuple[str, str]:
    """``'天津市武清区某路1号 022-29341234'`` -> (address, phone); no phone found -> (text, '')."""
    text = (text or "").strip()
    match = _PHONE_TAIL.search(text)
    if not match or match.start() == 0:
        return text, ""
    return text[: match.start()].strip(), match.group(1).strip()


def split_bank_account(text: str) -> tuple[str, str]:
    """``'中国银行天津武清支行 2750 1234 5678'`` -> (bank, account without spaces)."""
    text = (text or "").strip()
    match = _ACCOUNT_TAIL.search(text)
    if not match or match.start() == 0:
        return text, ""
    return text[: match.start()].strip(), re.sub(r"[\s-]", "", match.group(1))
