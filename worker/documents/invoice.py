"""What an invoice page shows, computed from the stored rows and nothing else.

Only ``Invoice``/``InvoiceItem`` rows go in (never "now", never today's seller: the
seller facts are the snapshot stored with the invoice, ``worker.issuing.facts``; config
gives only the time zone), so rendering the same invoice again (``reprint``) gives the
same page, whatever changed in config since. Amounts are the stored ones:
per item ``net = round(price / (1 + rate), 2)`` and ``tax = price - net`` were fixed at
issuing; a grouped line adds them up, so the page's totals equal the stored totals.

Lines: 每人一张 shows each of the trainee's paid years as a line (one trainee per
invoice); 合并开具 groups the trainees by 培训年度 and price, one line per group. Who
was trained goes in 备注 while the names fit there (``REMARK_NAMES``); otherwise, and
whenever the lines outgrow the grid (``LINE_ROWS``), a 销货清单-style trainee list
follows the invoice. The list prints full ID numbers: finance offices file it with the
invoice to match each fee to a person, and the invoice itself goes only to the unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import cn2an

from worker.status import InvoiceType, IssueMode
from worker.validation import normalize

# The views cross into render processes as pickles, so unpickling them imports this
# module there: the database layer stays out of it (~35 MB in the fork server), and
# ``invoice_view``, which runs in the worker only, imports what it reads rows with.
if TYPE_CHECKING:
    from worker.config import Config
    from worker.db.models import Application, Invoice, InvoiceItem
    from worker.issuing.facts import SellerFacts

LINE_ROWS = 6        # goods lines the grid has room for on an A5 landscape sheet
REMARK_NAMES = 8     # trainee names that fit in 备注; more get the attached list
LIST_ROWS = 16       # trainee rows per list page
GOODS_COLUMNS = ("name", "spec", "unit", "qty", "price", "amount", "rate", "tax")
FIELD_CHARS = 100    # buyer fields print at most this long (the tax system's own limit for
                     # 名称 and 地址电话); anything longer ends in "…" so the sheet stays one page


@dataclass(frozen=True)
class Line:
    name: str
    spec: str
    unit: str
    quantity: int
    unit_price: str   # excl. tax, as on a VAT invoice
    amount: str       # excl. tax
    rate: str
    tax: str


@dataclass(frozen=True)
class ListRow:
    seq: int
    name: str
    id_number: str
    order_no: str
    year: str
    price: str        # incl. tax, what the trainee paid
    amount: str
    tax: str


@dataclass(frozen=True)
class ListPage:
    rows: tuple[ListRow, ...]
    page: int          # page number within this invoice (the invoice itself is 1)
    last: bool


@dataclass(frozen=True)
class InvoiceView:
    """One invoice: its sheet and the list pages that follow it."""

    title: str
    code: str
    number: str
    date: str
    special: bool
    buyer_name: str
    buyer_tax_id: str
    buyer_address_phone: str
    buyer_bank_account: str
    seller_name: str
    seller_tax_id: str
    seller_address_phone: str
    seller_bank_account: str
    lines: tuple[Line, ...]
    blank_rows: int
    net: str
    tax: str
    amount: str
    capitals: str
    rate: str
    remarks: tuple[str, ...]
    issuer: str
    payee: str
    reviewer: str
    reference: str
    list_pages: tuple[ListPage, ...]
    list_totals: tuple[str, str, str]
    pages: int
    long_buyer: bool   # smaller type for long names and addresses, so a sheet stays one page

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        """The goods box's eight columns as (name, text) with one line per goods line:
        ``templates/invoices.html`` prints each column as one preformatted block on the
        box's picture (few elements per page). Whitespace inside a value is collapsed,
        as HTML would, so a value can never add a line."""
        rows = [(li.name, li.spec, li.unit, str(li.quantity), li.unit_price, li.amount,
                 li.rate, li.tax) for li in self.lines]
        return tuple((name, "\n".join(" ".join(row[k].split()) for row in rows))
                     for k, name in enumerate(GOODS_COLUMNS))


def reference(app: Application) -> str:
    """How staff find the application again: ``reprint`` takes this number."""
    return f"申请编号 {app.id}"


def capitals(amount: Decimal) -> str:
    """150.00 -> 壹佰伍拾元整 (cn2an, the RMB style the tax bureau prints)."""
    return str(cn2an.an2cn(f"{amount:.2f}", "rmb"))


def percent(rate: str | Decimal) -> str:
    value = Decimal(str(rate)) * 100
    return f"{value.normalize():f}%"


def local_date(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y年%m月%d日")


def invoice_view(inv: Invoice, app: Application, config: Config) -> InvoiceView:
    from worker.issuing.facts import seller_of

    items = list(inv.items)
    seller = seller_of(inv.seller_json, config)
    mode = normalize.issue_mode(app.issue_mode) or IssueMode.COMBINED
    rate = percent(inv.tax_rate)
    if mode is IssueMode.PER_PERSON:
        lines = [_item_line(item, seller, rate) for item in items]
    else:
        lines = _grouped_lines(items, seller, rate)
    too_many = len(lines) > LINE_ROWS
    if too_many:
        lines = [Line(seller.item_name, "（详见销货清单）", seller.unit,
                      len(items), "", _m(inv.net), rate, _m(inv.tax))]
    people = _people(items)
    needs_list = too_many or (mode is not IssueMode.PER_PERSON and len(people) > REMARK_NAMES)
    list_pages = _list_pages(items) if needs_list else ()
    special = inv.invoice_type == InvoiceType.SPECIAL
    return InvoiceView(
        title=f"天津{inv.invoice_type}",
        code=inv.code,
        number=inv.number,
        date=local_date(inv.issued_at, config.tz),
        special=special,
        buyer_name=_fit(inv.buyer_name),
        buyer_tax_id=_fit(inv.tax_id),
        buyer_address_phone=_fit(inv.address_phone),
        buyer_bank_account=_fit(inv.bank_account),
        seller_name=seller.name,
        seller_tax_id=seller.tax_id,
        seller_address_phone=seller.address_phone,
        seller_bank_account=seller.bank_account,
        lines=tuple(lines),
        blank_rows=LINE_ROWS - len(lines),
        net=_m(inv.net),
        tax=_m(inv.tax),
        amount=_m(inv.amount),
        capitals=capitals(inv.amount),
        rate=rate,
        remarks=_remarks(mode, items, people, len(list_pages)),
        issuer=inv.issuer or seller.issuer,  # null: issued before issuers were stored
        payee=seller.payee,
        reviewer=seller.reviewer,
        reference=reference(app),
        list_pages=list_pages,
        list_totals=(_m(inv.amount), _m(inv.net), _m(inv.tax)),
        pages=1 + len(list_pages),
        long_buyer=max(len(inv.buyer_name), len(inv.address_phone), len(inv.bank_account)) > 40,
    )


def _fit(text: str) -> str:
    return text if len(text) <= FIELD_CHARS else text[:FIELD_CHARS - 1] + "…"


def _m(value: Decimal) -> str:
    return f"{value:.2f}"


def _item_line(item: InvoiceItem, seller: SellerFacts, rate: str) -> Line:
    return Line(seller.item_name, f"{item.year}年度", seller.unit, 1,
                _m(item.net), _m(item.net), rate, _m(item.tax))


def _grouped_lines(items: Sequence[InvoiceItem], seller: SellerFacts, rate: str) -> list[Line]:
    """One line per (培训年度, price): same price means the same per-item net and tax."""
    groups: dict[tuple[int, Decimal], list[InvoiceItem]] = {}
    for item in items:
        groups.setdefault((item.year, item.amount), []).append(item)
    lines = []
    for (year, _price), group in sorted(groups.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
        net = sum((i.net for i in group), Decimal("0.00"))
        tax = sum((i.tax for i in group), Decimal("0.00"))
        lines.append(Line(seller.item_name, f"{year}年度", seller.unit,
                          len(group), _m(group[0].net), _m(net), rate, _m(tax)))
    return lines


def _people(items: Sequence[InvoiceItem]) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for item in items:
        seen.setdefault((item.name, item.id_number), None)
    return list(seen)


def _remarks(mode: IssueMode, items: Sequence[InvoiceItem], people: list[tuple[str, str]],
             list_pages: int) -> tuple[str, ...]:
    if list_pages:
        return (f"培训人员共 {len(people)} 人，名单见所附销货清单（{list_pages} 页）",)
    if mode is IssueMode.PER_PERSON and len(people) == 1:
        name, id_number = people[0]
        orders = "、".join(i.order_no for i in items)
        return (f"培训人员：{name}", f"身份证号：{id_number}", f"订单号：{orders}")
    names = "、".join(name for name, _ in people)
    return (f"培训人员：{names}（共 {len(people)} 人）",)


def _list_pages(items: Sequence[InvoiceItem]) -> tuple[ListPage, ...]:
    rows = [
        ListRow(n, i.name, i.id_number, i.order_no, f"{i.year}", _m(i.amount), _m(i.net),
                _m(i.tax))
        for n, i in enumerate(items, start=1)
    ]
    chunks = [rows[k:k + LIST_ROWS] for k in range(0, len(rows), LIST_ROWS)]
    return tuple(ListPage(tuple(chunk), page=n + 2, last=n == len(chunks) - 1)
                 for n, chunk in enumerate(chunks))
