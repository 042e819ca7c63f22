"""One pass end to end on a Maildir, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.intake.conftest import World
from worker.samples import Trainee, Unit, form_xlsx, id_number, mail, tax_id

TZ = ZoneInfo("Asia/Shanghai")
WHEN = datetime(2018, 9, 3, 10, 15, tzinfo=TZ)
BODY = "收件人：赵玥\n联系电话：13820000001\n地址：天津市武清区雍阳西道88号"


def trainees(prefix: str, n: int, **kw: object) -> list[Trainee]:
    return [Trainee(f"学员{prefix}{i}", id_number("120222", "19800101", i + 1),
                    f"{prefix}{i:05d}", **kw) for i in range(n)]  # type: ignore[arg-type]


def unit(people: list[Trainee], district: str = "武清区", **kw: object) -> Unit:
    return Unit("天津市武清区雍阳科技有限公司", district, tax_id("91120222MA05JGUY2"), "赵玥",
                "13820000001", trainees=people, **kw)  # type: ignore[arg-type]


def form_mail(u: Unit, *, body: str = BODY, name: str = "申请表.xlsx", **kw: object) -> bytes:
    return mail(sender="zhaoyue@163.com", subject="发票申请", body=body, date=WHEN,
                attachments=[(name, form_xlsx(u))], **kw)  # type: ignore[arg-type]


def test_accepted_mail_is_issued_and_moved(world: World) -> None:
    people = trainees("A", 3)
    world.pay(people)
    world.deliver(form_mail(unit(people)))
    assert world.run() == {"accepted": 1}
    (app,) = world.export()
    assert app["status"] == "accepted" and app["reasons"] == []
    assert app["attachment"] == "申请表.xlsx"
    assert app["district"] == "武清区"
    (invoice,) = app["invoices"]
    assert {k: v for k, v in invoice.items() if k != "pdf"} == {
        "number": "00000001", "code": "012001800111", "amount": "450.00",
        "orders": ["A00000", "A00001", "A00002"]}
    assert invoice["pdf"] and Path(invoice["pdf"]).is_file()  # the run's print batch
    assert app["shipment"]["label_pdf"] and Path(app["shipment"]["label_pdf"]).is_file()
    ship = app["shipment"]
    assert ship["waybill"] == "SF1400000000001"
    assert (ship["recipient"], ship["phone"]) == ("赵玥", "13820000001")
    assert ship["address"] == "天津市武清区雍阳西道88号"
    assert Decimal(ship["postage_due"]) == Decimal("12.00")
    assert world.folder("INBOX") == [] and len(world.folder("Processed")) == 1


def test_rerun_and_resent_mail_issue_nothing_new(world: World) -> None:
    people = trainees("B", 2)
    world.pay(people)
    raw = form_mail(unit(people))
    world.deliver(raw)
    world.run()
    world.deliver(raw)  # the same mail again (same Message-ID)
    world.run()
    # Re-sent by the unit: a new Message-ID and Date, the same orders (one Date would be
    # one mail that relays gave two IDs: worker.intake.copies.relayed_copies).
    form = [("申请表.xlsx", form_xlsx(unit(people)))]
    world.deliver(mail(sender="zhaoyue@163.com", subject="发票申请", body=BODY,
                       date=WHEN + timedelta(hours=1), attachments=form))
    world.run()
    apps = world.export()
    assert [a["status"] for a in apps] == ["accepted", "held"]
    assert {r["code"] for r in apps[1]["reasons"]} == {"ALREADY_INVOICED"}
    assert [i["number"] for a in apps for i in a["invoices"]] == ["00000001"]
    assert len(world.folder("Processed")) == 2 and len(world.folder("Exceptions")) == 1


def test_held_application_issues_nothing_and_lists_every_reason(world: World) -> None:
    good = trainees("C", 2)
    card = Trainee("褚堃", id_number("120223", "19920101", 82), "C90001", method="学习卡")
    refunded = Trainee("卫喆", id_number("120223", "19930303", 93), "C90002", status="已退款")
    world.pay([*good, card, refunded])
    world.deliver(form_mail(unit([*good, card, refunded]), body="请开发票"))
    assert world.run() == {"held": 1}
    (app,) = world.export()
    assert app["invoices"] == [] and app["shipment"] is None
    codes = {(r["code"], r["line"]) for r in app["reasons"]}
    assert codes == {("STUDY_CARD", 3), ("PAYMENT_REFUNDED", 4), ("MISSING_RECIPIENT", None)}
    assert len(world.folder("Exceptions")) == 1


def test_several_forms_in_one_mail_are_separate_applications(world: World) -> None:
    a, b = trainees("D", 2), trainees("E", 1)
    world.pay([*a, *b])
    raw = mail(sender="x@163.com", subject="两个单位", body=BODY, date=WHEN, attachments=[
        ("一.xlsx", form_xlsx(unit(a))), ("二.xlsx", form_xlsx(unit(b, issue_mode="每人一张"))),
        ("三.xlsx", form_xlsx(unit(a, issue_mode="每人一张")))])  # the first's orders again
    world.deliver(raw)
    world.run()
    apps = world.export()
    assert [x["attachment"] for x in apps] == ["一.xlsx", "二.xlsx", "三.xlsx"]
    assert [x["status"] for x in apps] == ["accepted", "accepted", "held"]
    assert [i["number"] for x in apps for i in x["invoices"]] == ["00000001", "00000002"]
    assert {r["code"] for r in apps[2]["reasons"]} == {"ALREADY_INVOICED"}
    assert apps[0]["shipment"]["waybill"] != apps[1]["shipment"]["waybill"]


def test_mail_without_form_and_auto_reply(world: World) -> None:
    world.deliver(
        mail(sender="a@163.com", subject="开票", body="怎么开发票？", date=WHEN),
        mail(sender="b@163.com", subject="自动回复：开票", body="休假中", date=WHEN,
             headers={"Auto-Submitted": "auto-replied"}),
    )
    world.run()
    apps = sorted(world.export(), key=lambda a: a["status"])
    assert [a["status"] for a in apps] == ["held", "ignored"]
    assert apps[0]["attachment"] is None
    assert {r["code"] for r in apps[0]["reasons"]} == {"NO_FORM", "MISSING_RECIPIENT"}


def test_per_person_and_split_invoices_are_numbered_without_gaps(world: World) -> None:
    many = trainees("F", 70)  # 70 x 150 = 10,500 > 10,000: split in two
    few = trainees("G", 3)
    world.pay([*many, *few])
    world.deliver(form_mail(unit(many)))
    world.run()
    world.deliver(form_mail(unit(few, issue_mode="每人一张")))
    world.run()
    invoices = [i for a in world.export() for i in a["invoices"]]
    assert [i["number"] for i in invoices] == [f"{n:08d}" for n in range(1, 6)]
    assert [i["amount"] for i in invoices] == ["9900.00", "600.00", "150.00", "150.00", "150.00"]
