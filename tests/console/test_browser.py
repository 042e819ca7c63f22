"""End to end in headless Chromium (Debian's, driven by Playwright): log in, find a
held application, correct it, drop a refunded line, re-check, approve, see its invoice
and label appear, look at the print centre, log out.

Screenshots go to $CONSOLE_SCREENSHOTS when set (docs/screenshots/ is made that way),
else into the test's temp folder.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.console.conftest import PASSWORD, Seeded, form_mail, people, unit
from tests.intake.conftest import World
from worker.mailer import Mailer
from worker.manifest import close_out
from worker.samples import Trainee, id_number

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} not installed"),
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def server(flask_app: Flask) -> Iterator[str]:
    srv = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(10)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path / "shots")
    target.mkdir(parents=True, exist_ok=True)
    return target


def beichen(world: World) -> None:
    """A school in 北辰区: no recipient in the mail, and one trainee was refunded."""
    good = people("N", 2)
    refunded = Trainee("韩雪", id_number("120113", "19900505", 55), "N90009", status="已退款")
    world.pay([*good, refunded])
    world.deliver(form_mail(unit([*good, refunded], name="天津市北辰区实验中学", district="北辰区"),
                            body="您好，附件是我校的发票申请表，请审核。", sender="bc@163.com"))
    world.run()


def snap(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_held_application_to_issued_in_the_browser(
        browser: Browser, server: str, world: World, seeded: Seeded, shots: Path) -> None:
    beichen(world)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()

    # A stranger is sent to the login page; a wrong password is refused.
    page.goto(server + "/queue")
    expect(page).to_have_url(re.compile(r"/login\?next=/queue"))
    page.fill("input[name=name]", "李老师")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".flash.error")).to_have_text("用户名或密码错误")
    snap(page, shots, "login")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/queue$"))

    # Dashboard.
    page.click("nav >> text=概览")
    expect(page.locator(".stat.held .n")).to_have_text("5")
    snap(page, shots, "dashboard")

    # Queue: search for the school.
    page.click("nav >> text=待处理队列")
    expect(page.locator("tbody tr")).to_have_count(5)
    snap(page, shots, "queue")
    page.fill("input[name=q]", "北辰区实验")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.click("tbody tr >> text=天津市北辰区实验中学")
    expect(page.locator("h1")).to_contain_text("天津市北辰区实验中学")
    expect(page.locator(".reasons li")).to_have_count(2)  # no recipient + refunded line
    expect(page.locator("tr.flagged", has_text="N90009")).to_contain_text("该订单已退款")
    # Approving is not offered while a reason must be fixed first.
    expect(page.locator("button", has_text="批准开具")).to_be_disabled()
    snap(page, shots, "application-held")

    # Correct the recipient (from a phone call), save: the reason goes away.
    page.fill("input[name=recipient_name]", "孙老师")
    page.fill("input[name=recipient_phone]", "13920001234")
    page.fill("input[name=recipient_address]", "天津市北辰区果园新村街88号")
    page.fill("input[name=note]", "电话联系学校确认收件信息")
    page.click("text=保存修改并重新检查")
    expect(page.locator(".flash.ok")).to_contain_text("已修改收件人、收件电话、收件地址")
    expect(page.locator(".reasons li")).to_have_count(1)

    # Drop the refunded line: the form's 合计 row now disagrees (waivable).
    page.locator("tr", has_text="N90009").locator("button", has_text="删除此行").click()
    expect(page.locator(".flash.ok")).to_contain_text("已删除第 3 行")
    expect(page.locator("tr.dropped")).to_contain_text("N90009")
    expect(page.locator(".reasons li")).to_contain_text("合计人数或金额与明细不符")

    # Re-check, then approve, waiving the totals.
    page.get_by_role("button", name="重新检查", exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text("仍有问题：合计人数或金额与明细不符")
    page.check("input[name=waive][value=TOTAL_MISMATCH]")
    page.get_by_role("button", name="批准开具", exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text("已批准：发票")
    expect(page.locator("h1 .badge")).to_have_text("已开具")
    invoice_link = page.locator("a", has_text="发票 PDF")
    label_link = page.locator("a", has_text="面单 PDF")
    expect(invoice_link).to_have_count(1)
    expect(label_link).to_have_count(1)
    expect(page.locator("dl.kv").first).to_contain_text("孙老师 13920001234")
    snap(page, shots, "application-issued")
    for link in (invoice_link, label_link):
        got = context.request.get(server + link.get_attribute("href"))  # type: ignore[operator]
        assert got.status == 200 and got.body()[:5] == b"%PDF-"
        assert got.headers["x-content-type-options"] == "nosniff"

    # The afternoon pickup is closed out (as the scheduler does): a manifest appears.
    close_out(world.app.sessions, world.app.config, Mailer.from_config(world.app.config))

    # Print centre: the batch with this invoice, the manifest with its files.
    page.goto(server + "/print")
    expect(page.locator("h2", has_text="发票 PDF")).to_be_visible()
    invoices_card = page.locator(".card", has=page.locator("h2", has_text="发票 PDF"))
    expect(invoices_card).to_contain_text("invoices.pdf")
    manifests = page.locator(".card", has=page.locator("h2", has_text="取件清单"))
    expect(manifests).to_contain_text("第 1 号")
    for kind in ("Excel", "PDF"):
        href = manifests.locator("a", has_text=kind).get_attribute("href")
        got = context.request.get(server + href)  # type: ignore[operator]
        assert got.status == 200 and got.body()[:2] in (b"PK", b"%P")
    snap(page, shots, "print-centre")
    page.click("nav >> text=缴费记录")
    snap(page, shots, "payments")
    page.click("nav >> text=操作记录")
    expect(page.locator("tbody")).to_contain_text("批准开具")
    expect(page.locator("tbody")).to_contain_text("电话联系学校确认收件信息")
    snap(page, shots, "audit")

    # Log out: the pages are closed again.
    page.click("button:has-text('退出')")
    expect(page.locator(".flash.info")).to_have_text("已退出登录")
    page.goto(server + "/print")
    expect(page).to_have_url(re.compile(r"/login"))
    context.close()


def test_double_submit_from_two_tabs_issues_once(
        browser: Browser, server: str, world: World, seeded: Seeded) -> None:
    context = browser.new_context()
    tabs = [context.new_page(), context.new_page()]
    tabs[0].goto(server + "/login")
    tabs[0].fill("input[name=name]", "李老师")
    tabs[0].fill("input[name=password]", PASSWORD)
    tabs[0].click("button[type=submit]")
    url = f"{server}/applications/{seeded.unpaid}"
    for tab in tabs:
        tab.goto(url)
    # Both tabs show the reject form; the first rejects, the second tries too.
    for n, tab in enumerate(tabs):
        tab.fill("textarea[name=message]", f"第 {n + 1} 次退回")
        tab.click("button:has-text('退回并回复单位')")
    expect(tabs[0].locator(".flash.ok")).to_contain_text("已退回")
    expect(tabs[1].locator(".flash.error")).to_have_text("该申请已退回，不能退回")
    context.close()


def test_failed_tries_notice_after_login_in_the_browser(
        browser: Browser, server: str, world: World, shots: Path) -> None:
    """Someone guessed at the account; the owner's next login says so, once."""
    owner = browser.new_context(locale="zh-CN")
    page = owner.new_page()

    def log_in() -> None:
        page.goto(server + "/login")
        page.fill("input[name=name]", "李老师")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")

    log_in()
    expect(page.locator(".flash.warn")).to_have_count(0)
    page.click("button:has-text('退出')")

    stranger = browser.new_context(locale="zh-CN")
    guess = stranger.new_page()
    guess.goto(server + "/login")
    for n in range(6):
        guess.fill("input[name=name]", "李老师")
        guess.fill("input[name=password]", f"guess {n}")
        guess.click("button[type=submit]")
    expect(guess.locator(".flash.error")).to_contain_text("登录失败次数过多")
    stranger.close()

    log_in()  # the owner's browser is known: the stranger's failures do not hold it back
    expect(page).to_have_url(re.compile(r"/$"))
    notice = page.locator(".flash.warn")
    expect(notice).to_contain_text("您的账户有 6 次登录失败（其中 1 次因尝试过多被直接拒绝）")
    expect(notice).to_contain_text("来自 127.0.0.1")
    snap(page, shots, "login-failures-notice")
    page.click("nav >> text=待处理队列")
    expect(page.locator(".flash.warn")).to_have_count(0)  # shown once
    owner.close()
