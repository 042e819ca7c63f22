"""An installation with parcels issued through the real pass, ready to close out."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.intake.conftest import World, make_world
from tests.intake.test_pass import form_mail, trainees, unit
from worker.db.models import Manifest, Shipment
from worker.errors import SmtpError
from worker.intake import run_pass
from worker.mailer import Mailer
from worker.manifest import ManifestResult, close_out

TZ = ZoneInfo("Asia/Shanghai")
PICKUP = datetime(2018, 9, 3, 16, 0, tzinfo=TZ)

RECIPIENTS = [
    ("赵玥", "13820000001", "武清区", "天津市武清区雍阳西道88号"),
    ("钱坤", "022-29142233", "蓟州区", "天津市蓟州区人民大街12号财务科"),
    ("孙丽华", "13920000003", "滨海新区", "天津市滨海新区新港二号路35号"),
    ("李明", "15822000004", "西青区", "天津市西青区杨柳青镇柳霞路6号"),
    ("周建国", "022-27390011-802", "北辰区", "天津市北辰区京津路188号（北辰大厦5层）"),
]


@dataclass
class Site:
    """A World plus parcel issuing and manifest helpers."""

    world: World
    _seq: Iterator[int] = field(default_factory=itertools.count)

    @property
    def app(self) -> Any:
        return self.world.app

    def issue(self, n: int) -> list[str]:
        """``n`` accepted applications (one parcel each), round-robin over RECIPIENTS;
        returns their waybills."""
        mails = []
        for _ in range(n):
            i = next(self._seq)
            name, phone, district, address = RECIPIENTS[i % len(RECIPIENTS)]
            people = trainees(f"M{i:03d}X", 1 + i % 3)
            self.world.pay(people)
            body = f"收件人：{name}\n联系电话：{phone}\n地址：{address}"
            mails.append(form_mail(unit(people, district=district), body=body))
        before = set(self.waybills())
        self.world.deliver(*mails)
        with self.app.open_mailbox() as mailbox:  # the pass only: no print batch needed here
            done = run_pass(mailbox, self.app.sessions, self.app.config)
        assert done.by_status == {"accepted": n}
        return [w for w in self.waybills() if w not in before]

    def waybills(self) -> list[str]:
        with self.app.sessions() as s:
            return list(s.scalars(select(Shipment.waybill).order_by(Shipment.id)))

    def shipments(self) -> list[Shipment]:
        with self.app.sessions() as s:
            return list(s.scalars(select(Shipment).order_by(Shipment.id)))

    def manifests(self) -> list[Manifest]:
        with self.app.sessions() as s:
            return list(s.scalars(select(Manifest).order_by(Manifest.id)))

    def close(self, mailer: Mailer | None = None, now: datetime = PICKUP) -> ManifestResult:
        return close_out(self.app.sessions, self.app.config,
                         mailer or Mailer.from_config(self.app.config), now=now)


class RecordingMailer(Mailer):
    """Keeps what it is given (after ``complete``); can be told to fail."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__("xy23391756@163.com", TZ)
        self.sent: list[EmailMessage] = []
        self.fail = fail

    def _deliver(self, msg: EmailMessage) -> str:
        if self.fail:
            raise SmtpError("smtp://127.0.0.1:1: cannot send: Connection refused")
        self.sent.append(msg)
        return "recorded"


@pytest.fixture
def make_site(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Site]]:
    sites: list[Site] = []

    def make(**overrides: Any) -> Site:
        site = Site(make_world(db_url, tmp_path, **overrides))
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.app.close()


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()
