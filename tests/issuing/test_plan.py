from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal

from worker.config import load_config
from worker.issuing.facts import CourierFacts, SellerFacts
from worker.issuing.plan import PlannedItem, plan_invoices, postage, split_tax
from worker.status import IssueMode

RATE = Decimal("0.03")


def lines(n: int, price: str = "150.00", per_person: int = 1) -> list[tuple[str, str, str, int, Decimal]]:
    out = []
    for i in range(n):
        for j in range(per_person):
            out.append((f"O{i:04d}-{j}", f"学员{i}", f"ID{i:04d}", 2018 - j, Decimal(price)))
    return out


def test_tax_is_split_per_line_and_adds_up() -> None:
    assert split_tax(Decimal("150.00"), RATE) == (Decimal("145.63"), Decimal("4.37"))
    assert split_tax(Decimal("160.00"), RATE) == (Decimal("155.34"), Decimal("4.66"))
    assert split_tax(Decimal("150.00"), Decimal("0.06")) == (Decimal("141.51"), Decimal("8.49"))


def test_combined_stays_one_invoice_under_the_limit() -> None:
    (inv,) = plan_invoices(lines(66), IssueMode.COMBINED, Decimal("10000"), RATE)
    assert inv.amount == Decimal("9900.00")
    assert inv.net + inv.tax == inv.amount


def test_combined_splits_at_trainee_boundaries() -> None:
    # 40 trainees each paying 2018 and a make-up year: 300.00 per trainee.
    planned = plan_invoices(lines(40, per_person=2), IssueMode.COMBINED, Decimal("10000"), RATE)
    assert [len(p.items) for p in planned] == [66, 14]
    assert all(p.amount <= Decimal("10000") for p in planned)
    for p in planned:  # nobody's lines are spread over two invoices
        ids = [i.id_number for i in p.items]
        assert len(ids) % 2 == 0 and ids[::2] == ids[1::2]
    assert sum((p.amount for p in planned), Decimal(0)) == Decimal("12000.00")


def test_exactly_at_the_limit_is_not_split() -> None:
    planned = plan_invoices(lines(50, price="200.00"), IssueMode.COMBINED, Decimal("10000"), RATE)
    assert len(planned) == 1


def test_per_person_gives_one_invoice_per_trainee() -> None:
    planned = plan_invoices(lines(3, per_person=2), IssueMode.PER_PERSON, Decimal("10000"), RATE)
    assert [len(p.items) for p in planned] == [2, 2, 2]
    assert [p.amount for p in planned] == [Decimal("300.00")] * 3


def test_postage_first_kg_then_each_started_kg() -> None:
    assert postage(80, Decimal("12"), Decimal("2")) == Decimal("12.00")
    assert postage(1000, Decimal("12"), Decimal("2")) == Decimal("12.00")
    assert postage(1001, Decimal("12"), Decimal("2")) == Decimal("14.00")
    assert postage(2500, Decimal("12"), Decimal("2")) == Decimal("16.00")


def test_facts_json_is_the_dataclass_as_dict() -> None:
    """``to_json`` writes the instance's attributes: the same text ``asdict`` gave."""
    config = load_config()
    for facts in (SellerFacts.from_config(config), CourierFacts.from_config(config)):
        assert facts.to_json() == json.dumps(asdict(facts), ensure_ascii=False, sort_keys=True)
        assert type(facts).from_json(facts.to_json()) == facts


def test_each_item_splits_its_own_price_as_split_tax_does() -> None:
    """A price's net is divided once per distinct value: every item still holds
    ``split_tax`` of its own price, exponent and all (``150`` and ``150.000`` are equal
    prices whose taxes are written differently)."""
    prices = ["150.00", "150", "150.000", "150.00", "160.00", "0.01", "-150.00", "150.005",
              "150.0", "160.00"]
    rows = [(f"O{i}", f"学员{i}", f"ID{i}", 2018, Decimal(p)) for i, p in enumerate(prices)]
    for rate in (RATE, Decimal("0.06")):
        (invoice,) = plan_invoices(rows, IssueMode.COMBINED, Decimal("100000"), rate)
        for item, price in zip(invoice.items, prices, strict=True):
            net, tax = split_tax(Decimal(price), rate)
            assert (str(item.net), str(item.tax)) == (str(net), str(tax))


def test_planned_items_are_the_named_tuples_the_fields_make() -> None:
    """``plan_invoices`` makes its items with ``tuple.__new__``: each is the
    ``PlannedItem`` its fields make, with the field names and the type."""
    (inv,) = plan_invoices([("o1", "张三", "12022219800101001x", 2018, Decimal("150"))],
                           IssueMode.COMBINED, Decimal("10000"), RATE)
    (item,) = inv.items
    assert type(item) is PlannedItem and item == PlannedItem(*item)
    assert (item.order_no, item.id_number, item.amount) == ("o1", "12022219800101001X", Decimal("150"))
    assert item.net + item.tax == item.amount


def test_the_seller_snapshot_kept_is_the_one_each_config_makes() -> None:
    """``invoice_rows`` keeps the last sections' snapshot: every config, asked in turn,
    still gets its own (a new seller is a new frozen section)."""
    from worker.issuing import _seller_json

    one = load_config()
    other = one.model_copy(update={"seller": one.seller.model_copy(update={"name": "另一学院"})})
    for config in (one, one, other, one, other, other):
        assert _seller_json(config) == SellerFacts.from_config(config).to_json()
    assert _seller_json(one) != _seller_json(other)
