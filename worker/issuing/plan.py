"""How an accepted application becomes invoices: pure arithmetic, no storage.

Prices include tax: per line, amount = round(price / (1 + rate), 2) and tax = price -
amount. 合并开具 packs trainees in form order into invoices under the per-invoice
limit, never splitting one trainee's lines; 每人一张 gives each trainee their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter
from typing import NamedTuple

from worker.status import IssueMode
from worker.text import CENT


class PlannedItem(NamedTuple):
    """One trainee's order on a planned invoice (immutable: a NamedTuple, which an
    intake chunk makes for every accepted line at a fifth of a frozen dataclass's cost)."""

    order_no: str
    name: str
    id_number: str
    year: int
    amount: Decimal   # incl. tax
    net: Decimal
    tax: Decimal


#: ``PlannedItem(*fields)`` without its generated Python ``__new__``, which only passes
#: them on to this (one call fewer for every accepted line).
_new_item = tuple.__new__


@dataclass
class PlannedInvoice:
    items: list[PlannedItem] = field(default_factory=list)

    # Summed by ``map`` over C getters: the same additions, in the same order, as a
    # generator's, without resuming a Python frame for every item.
    @property
    def amount(self) -> Decimal:
        return sum(map(_AMOUNT, self.items), Decimal("0.00"))

    @property
    def net(self) -> Decimal:
        return sum(map(_NET, self.items), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        return sum(map(_TAX, self.items), Decimal("0.00"))


_AMOUNT, _NET, _TAX = attrgetter("amount"), attrgetter("net"), attrgetter("tax")


def split_tax(price: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    net = (price / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, price - net


def plan_invoices(
    lines: list[tuple[str, str, str, int, Decimal]],
    mode: IssueMode,
    limit: Decimal,
    rate: Decimal,
) -> list[PlannedInvoice]:
    """``lines`` are (order_no, name, id_number, year, price) in form order."""
    trainees: dict[str, list[PlannedItem]] = {}
    subtotals: dict[str, Decimal] = {}  # each trainee's prices, summed as they are read
    # Each distinct price's net, divided once (a form's lines repeat a few fees): equal
    # prices have equal nets (rounded to cents). The tax is subtracted per line, from
    # the line's own price, whose exponent it keeps (split_tax's).
    nets: dict[Decimal, Decimal] = {}
    for order_no, name, id_number, year, price in lines:
        net = nets.get(price)
        if net is None:
            net = nets[price] = split_tax(price, rate)[0]
        tax = price - net
        id_upper = id_number.upper()
        key = id_upper or f"order:{order_no}"
        item = _new_item(PlannedItem, (order_no, name, id_upper, year, price, net, tax))
        if key in trainees:
            trainees[key].append(item)
            subtotals[key] += price
        else:
            trainees[key], subtotals[key] = [item], price
    if mode is IssueMode.PER_PERSON:
        return [PlannedInvoice(items) for items in trainees.values()]
    invoices: list[PlannedInvoice] = []
    current = PlannedInvoice()
    filled = Decimal("0")  # current's amount, kept as it fills (not summed again per trainee)
    for key, items in trainees.items():
        subtotal = subtotals[key]
        if current.items and filled + subtotal > limit:
            invoices.append(current)
            current, filled = PlannedInvoice(), Decimal("0")
        current.items.extend(items)
        filled += subtotal
    if current.items:
        invoices.append(current)
    return invoices


def parcel_weight(invoices: int, envelope_grams: int, invoice_grams: int) -> int:
    return envelope_grams + invoices * invoice_grams


def postage(weight_grams: int, first_kg: Decimal, extra_kg: Decimal) -> Decimal:
    """Courier tariff: the first kilogram, then each started kilogram."""
    extra = max(0, -(-weight_grams // 1000) - 1)
    return (first_kg + extra_kg * extra).quantize(CENT)
