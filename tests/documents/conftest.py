"""A whole installation per test (the intake tests' ``World``), plus a way to submit an
application the way a unit would: pay the lines, mail the form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tests.builders.form import build_form_xlsx, default_header
from tests.builders.mail import DEFAULT_BODY, build_mail
from tests.builders.payments import Pay, payments_csv
from tests.intake.conftest import World
from worker.documents import children
from worker.payments import read_payment_file, store_payments


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render in the test's own process, for tests that patch the rendering itself or
    watch what it does (a patch or an audit hook does not reach a child process)."""
    monkeypatch.setattr(children, "IN_PROCESS", True)


def pay(world: World, lines: Sequence[dict[str, Any]]) -> None:
    rows = [Pay(str(li["order_no"]), str(li["name"]), str(li["id_number"]), li["year"],
                li["amount"]) for li in lines]
    parsed, errors = read_payment_file("p.csv", payments_csv(rows), world.app.config.tz)
    assert errors == []
    with world.app.sessions.begin() as s:
        store_payments(s, "p.csv", parsed, errors)


def submit(world: World, lines: Sequence[dict[str, Any]], *, body: str = DEFAULT_BODY,
           name: str = "发票申请表.xlsx", **header: str | None) -> bytes:
    """Pay ``lines`` and deliver a mail with their form; returns the raw mail."""
    pay(world, lines)
    raw = build_mail(body=body, attachments=[(name, build_form_xlsx(default_header(**header),
                                                                     list(lines)))])
    world.deliver(raw)
    return raw
