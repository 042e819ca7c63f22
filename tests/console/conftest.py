"""A console over a real installation (tests.intake's World): held, accepted and
hostile applications made by the worker's own pass, a staff account, and a logged-in
Flask test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.intake.conftest import World
from worker.console import create_app
from worker.db.models import Application, Staff
from worker.samples import Trainee, Unit, form_xlsx, id_number, mail, tax_id
from worker.staff import Actor, accounts

TZ = ZoneInfo("Asia/Shanghai")
WHEN = datetime(2018, 9, 3, 10, 15, tzinfo=TZ)
BODY = "收件人：赵玥\n联系电话：13820000001\n地址：天津市武清区雍阳西道88号"
PASSWORD = "correct horse 2018"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real scrypt, small parameters: a login takes milliseconds in tests."""
    monkeypatch.setattr(accounts, "PARAMS", accounts.ScryptParams(n=2**10, r=8, p=1))
    monkeypatch.delenv("CONSOLE_SECRET_KEY", raising=False)


def people(prefix: str, n: int, **kw: object) -> list[Trainee]:
    return [Trainee(f"学员{prefix}{i}", id_number("120222", "19800101", i + 1),
                    f"{prefix}{i:05d}", **kw) for i in range(n)]  # type: ignore[arg-type]


def unit(trainees: list[Trainee], name: str = "天津市武清区雍阳科技有限公司",
         district: str = "武清区") -> Unit:
    return Unit(name, district, tax_id("91120222MA05JGUY2"), "赵玥", "13820000001",
                trainees=trainees)


def form_mail(u: Unit, *, body: str = BODY, name: str = "申请表.xlsx",
              sender: str = "zhaoyue@163.com") -> bytes:
    return mail(sender=sender, subject="发票申请", body=body, date=WHEN,
                attachments=[(name, form_xlsx(u))])


@dataclass
class Seeded:
    """Application ids by what is wrong with them."""

    no_recipient: int      # MISSING_RECIPIENT only
    refunded: int          # PAYMENT_REFUNDED on line 3
    accepted: int          # issued by the worker
    hostile: int           # unit name with <script>, held (MISSING_RECIPIENT)
    unpaid: int            # PAYMENT_NOT_FOUND until its payments are imported
    unpaid_people: list[Trainee]


def seed(world: World) -> Seeded:
    ok = people("A", 2)
    refunded = [*people("B", 2), Trainee("卫喆", id_number("120223", "19930303", 93), "B90002",
                                         status="已退款")]
    accepted = people("C", 3)
    hostile = people("D", 1)
    unpaid = people("E", 2)
    world.pay([*ok, *refunded, *accepted, *hostile])
    world.deliver(form_mail(unit(ok), body="请开发票，谢谢"))
    world.deliver(form_mail(unit(refunded, name="天津市宝坻区某某学校", district="宝坻区"),
                            sender="baodi@qq.com"))
    world.deliver(form_mail(unit(accepted, name="天津市静海区某某医院", district="静海区")))
    world.deliver(form_mail(unit(hostile, name="<script>alert('x')</script>单位"),
                            body="无收件信息", name="<img src=x onerror=alert(1)>.xlsx"))
    world.deliver(form_mail(unit(unpaid, name="天津市西青区未缴费单位", district="西青区")))
    world.run()
    with world.app.sessions() as s:
        apps = {a.unit: a.id for a in s.scalars(select(Application))}
    return Seeded(
        no_recipient=apps["天津市武清区雍阳科技有限公司"], refunded=apps["天津市宝坻区某某学校"],
        accepted=apps["天津市静海区某某医院"], hostile=apps["<script>alert('x')</script>单位"],
        unpaid=apps["天津市西青区未缴费单位"], unpaid_people=unpaid,
    )




@pytest.fixture
def seeded(world: World) -> Seeded:
    return seed(world)


@pytest.fixture
def staff(world: World) -> Actor:
    with world.app.sessions.begin() as s:
        row = accounts.create_staff(s, "李老师", PASSWORD)
        return Actor(row.id, row.name)


@pytest.fixture
def flask_app(world: World, staff: Actor) -> Iterator[Flask]:
    app = create_app(world.app.config)
    app.config["TESTING"] = True
    yield app
    app.extensions["invoice_worker"].close()


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def log_in(client: FlaskClient, name: str = "李老师", password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    return csrf_of(client.get("/").get_data(as_text=True))


@pytest.fixture
def client(flask_app: Flask) -> FlaskClient:
    return flask_app.test_client()


@pytest.fixture
def logged_in(client: FlaskClient) -> tuple[FlaskClient, str]:
    return client, log_in(client)


def staff_row(world: World, name: str = "李老师") -> Staff:
    with world.app.sessions() as s:
        return s.scalars(select(Staff).where(Staff.name == name)).one()
