"""The 税务平台 page and a 红冲 in headless Chromium (Debian's, via Playwright), zh-CN:
log in, see the invoice counts, open 税务平台, go to an issued invoice's application,
record its 红冲, find it on 税务平台.

With $CONSOLE_SCREENSHOTS set (``docs/screenshots/`` is made that way) it leaves
``tax-platform.png`` and ``invoice-reversal.png`` there.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.console.conftest import PASSWORD
from tests.console.taxdata import accepted, record_export, set_state, workbook
from tests.console.test_tax_page import FAILURE, Platform, build
from tests.intake.conftest import World, make_world
from worker.db.types import utcnow
from worker.staff import Actor
from worker.status import InvoiceState

pytest.importorskip("playwright")
from playwright.sync_api import Browser, expect  # noqa: E402

from tests.console.test_browser import CHROMIUM, browser, server, shots, snap  # noqa: E402, F401

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} not installed"),
]


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    """The office works in platform mode (``[invoicing] mode = "platform"``)."""
    w = make_world(db_url, tmp_path, invoicing={"mode": "platform"})
    yield w
    w.app.close()








def a_season(world: World, staff: Actor) -> Platform:
    """The page as an office sees it mid-season: a few more units planned and one more
    batch waiting for the platform, besides one invoice in each state."""
    now = utcnow()
    platform = build(world, staff, now)
    more = [("天津市滨海新区塘沽第一中学", "滨海新区", "12120116401234562", "tgyz@163.com",
             [("赵敏", "P60001"), ("孙丽", "P60002"), ("周杰", "P60003")]),
            ("天津市宁河区芦台镇中心小学", "宁河区", "12120117401234563", "ltxx@126.com",
             [("吴静", "P70001")]),
            ("天津市东丽区中医医院", "东丽区", "12120110MB1234564", "dlzy@163.com",
             [("郑强", "P80001"), ("冯雪", "P80002")]),
            ("天津市津南区咸水沽镇卫生院", "津南区", "12120112MB1234565", "xsg@163.com",
             [("何平", "P90001")]),
            ("天津市静海区第一中学", "静海区", "12120223401234566", "jhyz@163.com",
             [("马超", "P91001"), ("高洁", "P91002")]),
            ("天津市武清区人民医院", "武清区", "12120222MB1234567", "wqyy@126.com",
             [("罗军", "P92001")])]
    ids = [accepted(world, name, district, body, people, sender=sender)
           for name, district, body, sender, people in more]
    for n, app_id in enumerate(ids[:3]):
        set_state(world, app_id, InvoiceState.PLANNED, serial=f"TJPX000000{21 + n}")
    path = workbook(world.app.config.output_dir / "tax" / "20180906-1000" / "批量开票-1.xlsx",
                    ["TJPX00000031"])
    export_id = record_export(world, [path], 1, at=now - timedelta(hours=3))
    set_state(world, ids[3], InvoiceState.EXPORTED, serial="TJPX00000031", export_id=export_id)
    for n, app_id in enumerate(ids[4:]):
        set_state(world, app_id, InvoiceState.ISSUED, serial=f"TJPX0000001{6 + n}",
                  number=f"2412200000000000171{n}", issued_at=now - timedelta(hours=7 - n))
    set_state(world, platform.issued, InvoiceState.ISSUED, serial="TJPX00000013",
              number="24122000000000001313", issued_at=now - timedelta(hours=8))
    return platform


def test_tax_platform_page_and_a_reversal_in_the_browser(
        browser: Browser, server: str, world: World, staff: Actor,  # noqa: F811 (fixtures)
        shots: Path) -> None:  # noqa: F811
    platform = a_season(world, staff)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(server + "/login")
    page.fill("input[name=name]", "李老师")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/$"))

    # The dashboard counts invoices in each state, and leads to 税务平台.
    states = page.locator("#invoice-states")
    expect(states.locator(".stat.planned .n")).to_have_text("4")
    expect(states.locator(".stat.exported .n")).to_have_text("2")
    expect(states.locator(".stat.failed .n")).to_have_text("1")
    page.click("nav >> text=税务平台")
    expect(page.locator("h1")).to_have_text("税务平台")
    expect(page.locator("#planned tbody tr")).to_have_count(4)
    expect(page.locator("#failed")).to_contain_text(FAILURE)
    expect(page.locator("#imports details[open]")).to_contain_text("备注中没有申请编号和流水号")
    download = page.locator("#exports a", has_text="批量开票-1.xlsx").first
    got = context.request.get(server + download.get_attribute("href"))  # type: ignore[operator]
    assert got.status == 200 and got.body()[:2] == b"PK"

    # An issued invoice's application: record its 红冲 there.
    page.locator("#issued a", has_text=re.compile(rf"^#{platform.issued}$")).click()
    expect(page.locator("h1")).to_contain_text("天津市蓟州区卫生健康委员会")
    invoice = page.locator("tr", has_text="24122000000000001313")
    expect(invoice).to_contain_text("已开具")
    page.click("summary:has-text('登记红冲')")
    page.fill("input[name=confirmation_no]", "1201 0024 1211 0000 1313")
    page.fill("input[name=reason]", "单位名称应为“天津市蓟州区卫生健康委员会机关”，申请更正")
    snap(page, shots, "invoice-reversal")
    page.get_by_role("button", name="登记红冲", exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text(
        "已登记发票 24122000000000001313红冲，1 个订单可重新开票")
    expect(page.locator("h1 .badge")).to_have_text("待处理")
    expect(page.locator(".reasons li")).to_contain_text("已开具的发票已在税务平台红冲，需重新开具")
    expect(page.locator("tr.reversal")).to_contain_text("红字确认单 12010024121100001313")
    expect(page.locator("summary", has_text="登记红冲")).to_have_count(0)

    # Back on 税务平台: two reversals now, the new one first.
    page.click("nav >> text=税务平台")
    rows = page.locator("#reversed tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("24122000000000001313")
    expect(rows.first).to_contain_text("12010024121100001313")
    expect(page.locator(".stat.reversed .n")).to_have_text("2")
    snap(page, shots, "tax-platform")
    context.close()
