"""红冲 over HTTP (SQLite and PostgreSQL): staff record that an issued invoice was
reversed on the tax platform; its orders become free, the application is held again
for re-planning, the audit log keeps it; anything else is refused and changes nothing."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.console.conftest import Seeded
from tests.console.taxdata import invoices_of, set_state
from tests.intake.conftest import World
from worker.db.models import Application, AuditEntry, InvoiceReversal
from worker.decision import draft_of, evaluate_draft
from worker.staff import ActionRefused, Actor
from worker.staff.reversal import clean_confirmation, reverse_invoice
from worker.status import InvoiceState
from worker.validation import Code

BLUE = "24122000000012345678"          # a 数电票 number: 20 digits
CONFIRMATION = "12010024121100001234"   # 红字确认单编号: 20 digits
REASON = "购买方名称开错，单位要求更正"


def issued_on_platform(world: World, app_id: int) -> int:
    (invoice_id,) = set_state(world, app_id, InvoiceState.ISSUED, serial="TJPX00000001",
                              number=BLUE)
    return invoice_id


def post_reverse(client: FlaskClient, token: str | None, app_id: int, invoice_id: int,
                 **form: str) -> Any:
    data = {"confirmation_no": CONFIRMATION, "reason": REASON, **form}
    if token is not None:
        data["csrf_token"] = token
    return client.post(f"/applications/{app_id}/invoices/{invoice_id}/reverse", data=data,
                       follow_redirects=True)


def codes_now(world: World, app_id: int) -> list[str]:
    """What the worker's own decision finds now for these lines sent in again by anyone
    (``worker.decision.evaluate_draft``; an application's own live invoices do not
    block its own re-plan, so the lines are judged as a new application's)."""
    with world.app.sessions() as s:
        app = s.get(Application, app_id)
        assert app is not None
        return sorted({str(r.code) for r in evaluate_draft(s, draft_of(app), world.app.config)})


def app_id(world: World, unit_name: str) -> int:
    with world.app.sessions() as s:
        return s.scalars(select(Application.id).where(Application.unit == unit_name)).one()


def reversals(world: World) -> list[tuple[int, str, str, str]]:
    with world.app.sessions() as s:
        return [(r.invoice_id, r.confirmation_no, r.reason, r.actor)
                for r in s.scalars(select(InvoiceReversal).order_by(InvoiceReversal.id))]


def audit_entries(world: World, action: str = "reverse") -> list[AuditEntry]:
    with world.app.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_reversal_frees_the_orders_and_holds_the_application(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, world: World) -> None:
    client, token = logged_in
    invoice_id = issued_on_platform(world, seeded.accepted)
    # Before: the application's own orders are invoiced.
    assert Code.ALREADY_INVOICED in codes_now(world, seeded.accepted)
    page = client.get(f"/applications/{seeded.accepted}").get_data(as_text=True)
    assert BLUE in page and "登记红冲" in page

    r = post_reverse(client, token, seeded.accepted, invoice_id,
                     confirmation_no=" 1201 0024 1211 0000 1234 ")  # typed with spaces
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f"已登记发票 {BLUE}红冲，3 个订单可重新开票" in html
    assert f"红字确认单 {CONFIRMATION}" in html and "已红冲" in html
    assert "已开具的发票已在税务平台红冲，需重新开具" in html   # the reason, from the table
    # Approving is how staff settle a 红冲: the button is on, nothing "须先更正".
    assert "须先更正" not in html and 'class="primary" >批准开具' in html

    (row,) = invoices_of(world, seeded.accepted)
    assert row.state == InvoiceState.REVERSED and row.number == BLUE
    assert row.orders == ("C00000", "C00001", "C00002") and row.active == (False,) * 3
    assert reversals(world) == [(invoice_id, CONFIRMATION, REASON, "李老师")]
    with world.app.sessions() as s:
        app = s.get(Application, seeded.accepted)
        assert app is not None and app.status == "held"
        assert [(r.code, r.detail) for r in app.reasons] == [
            ("INVOICE_REVERSED", f"发票 {BLUE}已红冲（红字确认单 {CONFIRMATION}）：{REASON}")]
    # The orders are free: the decision no longer finds them invoiced.
    assert Code.ALREADY_INVOICED not in codes_now(world, seeded.accepted)
    assert codes_now(world, seeded.accepted) == []

    (entry,) = audit_entries(world)
    assert (entry.actor, entry.application_id, entry.note) == ("李老师", seeded.accepted, REASON)
    assert json.loads(entry.changes) == {
        "invoice": f"发票 {BLUE}", "confirmation_no": CONFIRMATION,
        "state": ["issued", "reversed"], "status": ["accepted", "held"],
        "orders": ["C00000", "C00001", "C00002"], "reasons": [[], ["INVOICE_REVERSED"]]}
    audit_page = client.get("/audit").get_data(as_text=True)
    assert "红冲" in audit_page and f"红字确认单编号：{CONFIRMATION}" in audit_page
    assert "发票状态：已开具 → 已红冲" in audit_page


def test_staff_approve_a_reversed_application_in_the_console(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, world: World) -> None:
    """INVOICE_REVERSED is not waivable, yet approving is how it ends: the console let
    staff do it (its button was off for every reason that is not waivable)."""
    client, token = logged_in
    invoice_id = issued_on_platform(world, seeded.accepted)
    post_reverse(client, token, seeded.accepted, invoice_id)
    r = client.post(f"/applications/{seeded.accepted}/approve",
                    data={"csrf_token": token}, follow_redirects=True)
    assert r.status_code == 200 and "已批准" in r.get_data(as_text=True)
    with world.app.sessions() as s:
        app = s.get(Application, seeded.accepted)
        assert app is not None and app.status == "accepted" and app.reasons == []
    (reversed_, again) = invoices_of(world, seeded.accepted)
    assert reversed_.state == InvoiceState.REVERSED and reversed_.number == BLUE
    assert again.orders == ("C00000", "C00001", "C00002") and again.active == (True,) * 3


def test_a_new_application_with_the_reversed_orders_is_accepted(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, world: World) -> None:
    """The unit sends the same trainees again (say with the right 抬头): before the 红冲
    the pass holds it as ALREADY_INVOICED only; after it the decision finds nothing."""
    from tests.console.conftest import form_mail, people, unit

    client, token = logged_in
    invoice_id = issued_on_platform(world, seeded.accepted)
    again = unit(people("C", 3), name="天津市静海区某某医院门诊部", district="静海区")
    world.deliver(form_mail(again))
    world.run()
    first = next(a for a in world.export() if a["unit"] == "天津市静海区某某医院门诊部")
    assert first["status"] == "held"
    assert {r["code"] for r in first["reasons"]} == {"ALREADY_INVOICED"}

    assert "已登记" in post_reverse(client, token, seeded.accepted, invoice_id).get_data(as_text=True)
    # The held copy is now clean as well.
    assert codes_now(world, app_id(world, "天津市静海区某某医院门诊部")) == []


def test_reversal_needs_the_csrf_token(logged_in: tuple[FlaskClient, str], seeded: Seeded,
                                       world: World) -> None:
    client, token = logged_in
    invoice_id = issued_on_platform(world, seeded.accepted)
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (None, "", wrong):
        r = post_reverse(client, bad, seeded.accepted, invoice_id)
        assert r.status_code == 400
    assert invoices_of(world, seeded.accepted)[0].state == InvoiceState.ISSUED
    assert reversals(world) == [] and audit_entries(world) == []


@pytest.mark.parametrize(("state", "words"), [
    (InvoiceState.PLANNED, "尚未导出到税务平台"),
    (InvoiceState.EXPORTED, "尚未在税务平台开具"),
    (InvoiceState.FAILED, "在税务平台开具失败"),
])
def test_only_an_issued_invoice_can_be_reversed(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, world: World,
        state: InvoiceState, words: str) -> None:
    client, token = logged_in
    (invoice_id,) = set_state(world, seeded.accepted, state, serial="TJPX00000002")
    html = post_reverse(client, token, seeded.accepted, invoice_id).get_data(as_text=True)
    assert f"流水号 TJPX00000002{words}，不能红冲" in html
    (row,) = invoices_of(world, seeded.accepted)
    assert row.state == state and reversals(world) == [] and audit_entries(world) == []
    # The page offers no 红冲 form for it, and names it by its 流水号.
    page = client.get(f"/applications/{seeded.accepted}").get_data(as_text=True)
    assert "登记红冲" not in page and "流水号 TJPX00000002" in page


def test_reversing_twice_is_refused(logged_in: tuple[FlaskClient, str], seeded: Seeded,
                                    world: World) -> None:
    client, token = logged_in
    invoice_id = issued_on_platform(world, seeded.accepted)
    assert "已登记" in post_reverse(client, token, seeded.accepted, invoice_id).get_data(as_text=True)
    again = post_reverse(client, token, seeded.accepted, invoice_id,
                         confirmation_no="12010024121100009999").get_data(as_text=True)
    assert f"发票 {BLUE}已经红冲，不能红冲" in again
    assert len(reversals(world)) == 1 and len(audit_entries(world)) == 1


def test_bad_input_is_refused_with_a_reason(logged_in: tuple[FlaskClient, str], seeded: Seeded,
                                            world: World) -> None:
    client, token = logged_in
    invoice_id = issued_on_platform(world, seeded.accepted)
    for number in ("", "1234", "1201002412110000123X", "1" * 21, "１２" * 3, "=1+1"):
        html = post_reverse(client, token, seeded.accepted, invoice_id,
                            confirmation_no=number).get_data(as_text=True)
        assert "红字确认单编号应为 20 位数字" in html
    for reason in ("", "   ", "因" * 501):
        html = post_reverse(client, token, seeded.accepted, invoice_id,
                            reason=reason).get_data(as_text=True)
        assert "红冲原因" in html
    # An invoice of another application, or none at all: 404.
    assert post_reverse(client, token, seeded.no_recipient, invoice_id).status_code == 404
    assert post_reverse(client, token, seeded.accepted, 2**31 - 1).status_code == 404
    assert reversals(world) == [] and invoices_of(world, seeded.accepted)[0].state == "issued"


def test_one_confirmation_reverses_one_invoice(
        world: World, seeded: Seeded, staff: Actor) -> None:
    from tests.console.conftest import form_mail, people, unit

    first = issued_on_platform(world, seeded.accepted)
    world.pay(people("F", 1))
    world.deliver(form_mail(unit(people("F", 1), name="天津市蓟州区某某中学", district="蓟州区")))
    world.run()
    other_app = app_id(world, "天津市蓟州区某某中学")
    (second,) = set_state(world, other_app, InvoiceState.ISSUED, serial="TJPX00000009",
                          number="24122000000012349999")
    reverse_invoice(world.app.sessions, staff, first, CONFIRMATION, REASON)
    with pytest.raises(ActionRefused, match="已登记在另一张发票上"):
        reverse_invoice(world.app.sessions, staff, second, CONFIRMATION, REASON)
    assert invoices_of(world, other_app)[0].state == "issued"


def test_concurrent_reversals_record_one(world: World, seeded: Seeded, staff: Actor) -> None:
    invoice_id = issued_on_platform(world, seeded.accepted)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def press(n: int) -> None:
        barrier.wait()
        try:
            reverse_invoice(world.app.sessions, staff, invoice_id,
                            f"1201002412110000{n:04d}", REASON)
            outcomes.append("done")
        except ActionRefused as e:
            outcomes.append(str(e))

    threads = [threading.Thread(target=press, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count("done") == 1, outcomes
    assert all("已经红冲" in o for o in outcomes if o != "done")
    assert len(reversals(world)) == 1 and len(audit_entries(world)) == 1
    with world.app.sessions() as s:
        reasons = s.scalar(select(func.count()).select_from(Application)
                           .where(Application.id == seeded.accepted,
                                  Application.reasons.any(code="INVOICE_REVERSED")))
        assert reasons == 1


@pytest.mark.parametrize(("typed", "stored"), [
    ("12010024121100001234", "12010024121100001234"),
    ("１２０１００２４１２１１００００１２３４", "12010024121100001234"),  # full-width
    ("1201 0024 1211 0000 1234", "12010024121100001234"),
    ("1200000000001234", "1200000000001234"),  # 16-digit 红字发票信息表编号
])
def test_confirmation_numbers_as_staff_type_them(typed: str, stored: str) -> None:
    assert clean_confirmation(typed) == stored
