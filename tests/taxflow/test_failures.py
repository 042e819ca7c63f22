"""A row the platform refuses: failed -> held with the platform's words -> corrected and
approved by staff -> planned again on a new 流水号 (same parcel) -> exported -> issued."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.intake.conftest import World
from tests.tax.builders import failure_workbook
from tests.taxflow.conftest import accept, body, export, imported, issue_on_platform, outbox, rows_of
from worker.db.models import InvoiceItem, Shipment
from worker.staff.accounts import Actor
from worker.staff.actions import approve, correct_fields

WORDS = "购买方名称与纳税人识别号不一致，请核实后重新开具"
STAFF = Actor(None, "王静")


def test_failed_row_is_held_fixed_reexported_and_issued(pworld: World) -> None:
    accept(pworld, "F", 2)
    first = export(pworld)
    (row,) = rows_of(first.files[0])
    assert row.serial == "TJZG00000001"

    report = imported(pworld, ("导入失败明细.xlsx", failure_workbook([(row.serial, WORDS)])))
    assert report.counts() == {"issued": 0, "failed": 1, "unmatched": 0, "duplicates": 0,
                               "unreadable": 0}
    (app,) = pworld.export()
    assert app["status"] == "held"
    (reason,) = app["reasons"]
    assert reason["code"] == "TAX_PLATFORM_REJECTED" and WORDS in reason["detail"]
    assert row.serial in reason["detail"]
    assert [(i["serial"], i["state"]) for i in app["invoices"]] == [("TJZG00000001", "failed")]
    with pworld.app.sessions() as s:  # the orders are free again
        assert s.scalar(select(func.count()).select_from(InvoiceItem).where(InvoiceItem.active)) == 0
    assert imported(pworld, ("again.xlsx", failure_workbook([(row.serial, WORDS)]))).counts()[
        "duplicates"] == 1

    with pworld.app.sessions() as s:
        app_id = s.scalar(select(Shipment.application_id))
    corrected = correct_fields(pworld.app.sessions, pworld.app.config, STAFF, app_id,
                               {"buyer_name": "天津市武清区雍阳科技股份有限公司"})
    # The platform's refusal is an event no check can find again: the correction's
    # re-check keeps it on the application until staff approve.
    assert corrected.status == "held"
    (app,) = pworld.export()
    assert [r["code"] for r in app["reasons"]] == ["TAX_PLATFORM_REJECTED"]
    result = approve(pworld.app.sessions, pworld.app.config, STAFF, app_id)
    assert result.status == "accepted"
    (app,) = pworld.export()
    assert [(i["serial"], i["state"]) for i in app["invoices"]] == [
        ("TJZG00000001", "failed"), ("TJZG00000002", "planned")]
    assert app["invoices"][1]["orders"] == app["invoices"][0]["orders"]
    assert app["shipment"]["waybill"] == "SF1400000000001"  # the same parcel, no new waybill
    with pworld.app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Shipment)) == 1
    assert outbox(pworld) == []  # approved, but the unit hears when the platform issued

    second = export(pworld)
    (again,) = rows_of(second.files[0])
    assert (second.invoices, again.serial) == (1, "TJZG00000002")
    assert again.buyer_name == "天津市武清区雍阳科技股份有限公司"
    archive, (num,) = issue_on_platform(second)
    assert imported(pworld, ("dl.zip", archive)).counts()["issued"] == 1
    (app,) = pworld.export()
    assert app["invoices"][1]["number"] == num and app["invoices"][0]["number"] is None
    (reply,) = outbox(pworld)
    assert f"发票号码 {num}" in body(reply)


def test_failure_rows_for_unknown_or_issued_serials_are_reported(pworld: World) -> None:
    accept(pworld, "G", 1)
    result = export(pworld)
    archive, _ = issue_on_platform(result)
    imported(pworld, ("dl.zip", archive))
    report = imported(pworld, ("f.xlsx", failure_workbook([("TJZG00000001", WORDS),
                                                           ("TJZG09999999", WORDS)])))
    assert (report.failed, report.unmatched) == (0, 2)
    assert pworld.export()[0]["status"] == "accepted"
