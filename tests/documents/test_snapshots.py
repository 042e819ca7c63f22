"""Documents read the seller and courier each invoice and parcel was issued with: a
reprint after a config change reads exactly as the batch, a second courier's parcels
coexist with the first's, and only rows from before migration 0003 fall back to config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.builders.form import make_line
from tests.documents.conftest import submit
from tests.documents.pdf import pages_text
from tests.intake.conftest import World, make_world
from worker.db.models import Application, Invoice, Shipment
from worker.documents import reprint
from worker.errors import StorageError
from worker.issuing.facts import CourierFacts, SellerFacts

OLD_SELLER = "天津市政工师进修学院"
NEW_SELLER = "天津市政工职业培训中心"
OLD_COURIER = "顺丰速运"
NEW_COURIER = "中国邮政EMS"

NEXT_YEAR: dict[str, Any] = {
    "seller": {"name": NEW_SELLER, "tax_id": "12120000MB0A12345X",
               "address_phone": "天津市南开区卫津路1号 022-27000000",
               "bank_account": "中国银行天津南开支行 275600000001"},
    "invoice": {"issuer": "赵敏", "payee": "周芳", "reviewer": "吴刚",
                "item_name": "*教育服务*继续教育培训费", "unit": "人次"},
    "courier": {"name": NEW_COURIER, "email": "pickup@ems.example",
                "sender_name": "政工职业培训中心", "sender_phone": "022-27000000",
                "sender_address": "天津市南开区卫津路1号", "waybill_prefix": "EA",
                "waybill_first": 1000000000001, "waybill_last": 1000000099999},
}


@pytest.fixture
def later(db_url: str, tmp_path: Path, world: World) -> Any:
    """The same installation after next year's seller and courier went into config."""
    w = make_world(db_url, tmp_path, **NEXT_YEAR)
    yield w
    w.app.close()


def only_application(world: World, after: int = 0) -> int:
    with world.app.sessions() as s:
        return s.scalars(select(Application.id).where(Application.id > after)).one()


def test_a_reprint_after_a_config_change_reads_exactly_as_the_batch(
        world: World, later: World, tmp_path: Path) -> None:
    submit(world, [make_line(1, name="孙玥"), make_line(2, name="褚堃")])
    summary = world.app.run_once()
    assert summary.invoices_pdf and summary.labels_pdf
    batch_invoices, batch_labels = pages_text(summary.invoices_pdf), pages_text(summary.labels_pdf)
    first = only_application(world)
    assert OLD_SELLER in batch_invoices[0] and "王静" in batch_invoices[0]
    assert OLD_COURIER in batch_labels[0]

    invoices, label = reprint(later.app.sessions, later.app.config, first, tmp_path / "r")
    assert pages_text(invoices) == batch_invoices
    assert pages_text(label) == batch_labels
    for text in (*pages_text(invoices), *pages_text(label)):
        assert NEW_SELLER not in text and NEW_COURIER not in text and "赵敏" not in text

    # Next year's application, issued under the new config, prints the new facts, and the
    # first one still reprints as it was: both configs' documents coexist.
    submit(later, [make_line(3, name="钱镕")])
    second_run = later.app.run_once()
    assert second_run.invoices_pdf and second_run.labels_pdf
    (new_invoice,) = pages_text(second_run.invoices_pdf)
    (new_label,) = pages_text(second_run.labels_pdf)
    for fact in (NEW_SELLER, "12120000MB0A12345X", "中国银行天津南开支行", "赵敏", "周芳",
                 "吴刚", "*教育服务*继续教育培训费", "人次"):
        assert fact in new_invoice, fact
    assert OLD_SELLER not in new_invoice
    assert NEW_COURIER in new_label and "政工职业培训中心" in new_label
    assert "EA1000000000001" in new_label and OLD_COURIER not in new_label

    again, again_label = reprint(later.app.sessions, later.app.config, first, tmp_path / "s")
    assert pages_text(again) == batch_invoices and pages_text(again_label) == batch_labels


def test_rows_from_before_the_snapshots_read_todays_config(
        world: World, later: World, tmp_path: Path) -> None:
    submit(world, [make_line(1)])
    world.app.run_once()
    first = only_application(world)
    with world.app.sessions.begin() as s:  # what migration 0003 leaves on older rows
        s.execute(update(Invoice).values(seller_json=None))
        s.execute(update(Shipment).values(courier_json=None))
    invoices, label = reprint(later.app.sessions, later.app.config, first, tmp_path)
    assert NEW_SELLER in pages_text(invoices)[0] and OLD_SELLER not in pages_text(invoices)[0]
    assert NEW_COURIER in pages_text(label)[0]


def test_each_invoice_and_parcel_stores_the_facts_it_was_made_with(world: World) -> None:
    submit(world, [make_line(1)])
    world.app.run_once()
    with world.app.sessions() as s:
        invoice = s.scalars(select(Invoice)).one()
        shipment = s.scalars(select(Shipment)).one()
        assert invoice.seller_json is not None and shipment.courier_json is not None
        assert SellerFacts.from_json(invoice.seller_json) == SellerFacts.from_config(world.app.config)
        assert (CourierFacts.from_json(shipment.courier_json)
                == CourierFacts.from_config(world.app.config))


@pytest.mark.parametrize("stored", ["", "[]", '{"name": "学院"}', '{"name": 1}', "{"])
def test_a_damaged_snapshot_is_a_storage_error_not_a_blank_field(stored: str) -> None:
    with pytest.raises(StorageError, match="SellerFacts"):
        SellerFacts.from_json(stored)
