"""The new dashboard (health, ranges, given-up replies, SVG charts), the report
downloads and the accounts page in headless Chromium, zh-CN, with a season's worth of
realistic applications. Screenshots go to $CONSOLE_SCREENSHOTS when set (that is how
docs/screenshots/dashboard-health.png, reports.png and staff.png are made)."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.console.conftest import BODY, form_mail
from tests.console.test_browser import ARGS, CHROMIUM, browser, pytestmark, server, shots, snap  # noqa: F401
from tests.intake.conftest import World
from worker.db.models import Invoice, OutboxMessage
from worker.health.runs import RunLog, recorded_pass
from worker.samples import Trainee, Unit, id_number, tax_id
from worker.staff.admin import add_staff

pytest.importorskip("playwright")
from playwright.sync_api import Browser, expect  # noqa: E402

NAMES = ["王建国", "李秀英", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周涛", "吴敏", "徐强",
         "孙悦", "马超", "朱琳", "胡军", "郭颖", "何平", "高峰", "林晓", "罗娟", "郑浩", "梁爽"]
UNITS = [  # name, district, region code, credit-code body, contact, phone, trainees
    ("天津市滨海新区塘沽街道办事处", "滨海新区", "120116", "11120116MB1736258", "刘洋", "022-25881234", 8),
    ("天津市武清区杨村第一中学", "武清区", "120114", "12120222401360257", "陈静", "13820023456", 6),
    ("天津市静海区人民医院", "静海区", "120118", "12120223401900111", "赵磊", "13702157788", 5),
    ("天津市西青区张家窝镇人民政府", "西青区", "120111", "11120111MB0T63345", "黄丽", "022-27391188", 4),
    ("天津市北辰区果园新村街道社区服务中心", "北辰区", "120113", "52120113MJ0T12345", "周涛", "13920001234",
     3),
    ("天津市宝坻区供销合作社联合社", "宝坻区", "120115", "12120224401520033", "吴敏", "13512345678", 2),
]




def season(world: World) -> None:
    """Six units' applications issued over three months, and one reply given up."""
    n = 0
    for name, district, region, body, contact, phone, count in UNITS:
        people = []
        for _ in range(count):
            n += 1
            birth = f"19{70 + n % 25}0{1 + n % 9}1{n % 9}"
            people.append(Trainee(NAMES[n % len(NAMES)], id_number(region, birth, n), f"TJ2018{n:06d}"))
        world.pay(people)
        unit = Unit(name, district, tax_id(body), contact, phone, trainees=people)
        world.deliver(form_mail(unit, body=BODY.replace("赵玥", contact), sender=f"unit{n}@163.com"))
    recorded_pass(world.app, RunLog(world.app.sessions))
    with world.app.sessions.begin() as s:
        for k, inv in enumerate(s.scalars(select(Invoice).order_by(Invoice.id))):
            inv.issued_at -= timedelta(days=31 * (k % 3))   # spread over three months
        reply = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert reply is not None
        reply.status, reply.attempts = "failed", 8
        reply.last_error = "final: 550 Mailbox not found or access denied"


def test_dashboard_reports_and_accounts_in_chromium(browser: Browser, server: str,  # noqa: F811
                                                   world: World, shots: Path) -> None:  # noqa: F811
    season(world)
    with world.app.sessions.begin() as s:
        add_staff(s, "王静", "correct horse 2018", admin=True)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(server + "/login")
    page.fill("input[name=name]", "王静")
    page.fill("input[name=password]", "correct horse 2018")
    page.click("button[type=submit]")

    expect(page.locator(".card.health h2")).to_contain_text("运行状态")
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator("svg.chart").first.locator("rect")).to_have_count(6)   # six districts
    expect(page.locator(".card.health")).to_contain_text("550 Mailbox not found")
    expect(page.locator(".card.health")).to_contain_text("发票号码")
    snap(page, shots, "dashboard-health")
    page.get_by_role("button", name="重发").click()
    expect(page.locator(".flash.ok")).to_contain_text("已重新排队")
    expect(page.locator(".card.health")).not_to_contain_text("550 Mailbox not found")

    page.click("nav >> text=报表")
    page.fill("input[name=from]", "2018-01-01")
    page.click("text=选定日期")
    expect(page).to_have_url(re.compile(r"/reports\?from=2018-01-01"))
    snap(page, shots, "reports")
    with page.expect_download() as download:
        page.locator("tr", has_text="开票台账").get_by_role("link", name="Excel（.xlsx）").click()
    assert download.value.suggested_filename.startswith("开票台账-2018-01-01")
    ws = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert ws.max_row == 1 + 6 and ws["F2"].data_type == "s" and len(ws["F2"].value) == 18

    page.click("nav >> text=账号")
    expect(page.locator("tbody tr, table tr").filter(has_text="王静")).to_contain_text("管理员")
    snap(page, shots, "staff")
    assert blocked == []   # the charts need no script or inline style: nothing was blocked
    context.close()
    assert os.environ.get("CONSOLE_SCREENSHOTS") is None or (shots / "dashboard-health.png").is_file()
