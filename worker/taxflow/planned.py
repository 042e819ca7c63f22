"""One stored invoice as the tax platform sees it (``worker.tax.model.PlannedInvoice``).

The same function feeds the export (the workbook rows) and the import (what the
issued XML is checked against), so the two can never disagree on a total, a line
count or the 备注 reference.

One 明细 line per trainee (item): SPEC §4 splits the tax per line, and so does the
platform (是否含税 = 是, 金额 tax-inclusive), so the invoice's 税额 is exactly the
planned one. Merging trainees into one line of quantity N would let the platform round
the tax of the sum instead.
"""

from __future__ import annotations

from decimal import Decimal

from worker.config import Config
from worker.db.models import Application, Invoice
from worker.issuing.facts import seller_of
from worker.replies.compose import plain_address
from worker.tax.columns import BASIC_COLUMNS
from worker.tax.model import (
    PlannedInvoice,
    PlannedLine,
    PlatformInvoiceType,
    make_reference,
    split_address_phone,
    split_bank_account,
)

_EMAIL_MAX = next(c.max_len or 320 for c in BASIC_COLUMNS if c.field == "buyer_email")


def buyer_email(app: Application) -> str:
    """Where the platform mails the 数电票: the form's 购买方邮箱 if it is an address,
    else the mail's Reply-To or sender (the unit's own mailbox), else ''."""
    for candidate in (app.buyer_email, app.mail.reply_to, app.mail.sender):
        address = plain_address(candidate)
        if address and len(address) <= _EMAIL_MAX:
            return address
    return ""


def planned_invoice(invoice: Invoice, config: Config) -> PlannedInvoice:
    """``invoice`` (with its items and application loaded) for the platform; ValueError
    for an invoice without a 流水号 (print mode)."""
    if invoice.serial is None:
        raise ValueError(f"invoice {invoice.id} has no 发票流水号 (print mode)")
    app = invoice.application
    address, phone = split_address_phone(invoice.address_phone)
    bank, account = split_bank_account(invoice.bank_account)
    unit = seller_of(invoice.seller_json, config).unit
    rate = Decimal(invoice.tax_rate)
    lines = tuple(
        PlannedLine(item_name=config.invoicing.item_name, tax_code=config.invoicing.tax_code,
                    spec=f"{item.year}年度", unit=unit, quantity=Decimal(1),
                    unit_price=item.amount, amount=item.net, tax_rate=rate, tax=item.tax)
        for item in invoice.items
    )
    return PlannedInvoice(
        serial=invoice.serial, application_id=invoice.application_id,
        invoice_type=PlatformInvoiceType.from_form(invoice.invoice_type),
        buyer_name=invoice.buyer_name, buyer_tax_id=invoice.tax_id, lines=lines,
        remark=make_reference(invoice.application_id, invoice.serial),
        buyer_address=address, buyer_phone=phone, buyer_bank=bank, buyer_account=account,
        buyer_email=buyer_email(app),
    )
