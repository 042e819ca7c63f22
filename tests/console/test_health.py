"""The dashboard's health panel and charts, the given-up reply retry, and /healthz."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from tests.console.conftest import Seeded
from tests.intake.conftest import World
from worker.db.models import AuditEntry, Invoice, JobRun, OutboxMessage
from worker.db.types import utcnow
from worker.health.runs import RunLog, recorded_pass


def give_up_one(world: World) -> int:
    with world.app.sessions.begin() as s:
        row = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
        assert row is not None
        row.status, row.last_error, row.attempts = "failed", "final: 550 用户不存在", 8
        row.sent_at = None
        return row.id


def test_healthz_needs_no_login_and_tells_nothing(client: FlaskClient, world: World) -> None:
    r = client.get("/healthz")
    assert r.status_code == 503 and r.get_data(as_text=True) == "unhealthy\n"  # no pass yet
    recorded_pass(world.app, RunLog(world.app.sessions))
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_data(as_text=True) == "ok\n"
    assert r.mimetype == "text/plain" and "Set-Cookie" not in r.headers


def test_dashboard_shows_health_ranges_and_charts(logged_in: tuple[FlaskClient, str],
                                                   seeded: Seeded, world: World) -> None:
    client, _ = logged_in
    recorded_pass(world.app, RunLog(world.app.sessions))
    html = client.get("/").get_data(as_text=True)
    top = html.index("运行状态")
    assert top < html.index("待处理申请")                      # at the top of the page
    assert "运行状态：<span class=\"good\">正常" in html
    assert re.search(r"<td>发票号码</td><td class=\"num\">99,999,998</td>", html)
    assert "运单号" in html and "不足 10%" not in html
    with world.app.sessions() as s:
        total = sum(i.amount for i in s.scalars(select(Invoice)))
    chart = html[html.index('aria-label="各区开票金额（元）"'):]
    chart = chart[:chart.index("</svg>")]
    assert "静海区" in chart and f"{total:,.2f} 元" in chart and "<script" not in html
    months = html[html.index('aria-label="每月开票金额（元）"'):]
    months = months[:months.index("</svg>")]
    assert months.count("<rect") == 1 and f"{total:,.2f}" in months  # one month so far


def test_a_stopped_worker_shows_red_with_its_last_error(logged_in: tuple[FlaskClient, str],
                                                        world: World) -> None:
    client, _ = logged_in
    old = utcnow() - timedelta(hours=2)
    with world.app.sessions.begin() as s:
        s.add(JobRun(job="pass", trigger="scheduler", started_at=old, finished_at=old, ok=True,
                     counts='{"mails": 3}'))
        s.add(JobRun(job="pass", trigger="scheduler", started_at=old + timedelta(minutes=5),
                     finished_at=old + timedelta(minutes=5), ok=False, error_kind="mailbox",
                     error="imap.163.com: Unsafe Login"))
    html = client.get("/").get_data(as_text=True)
    assert "运行状态：<span class=\"reason\">异常" in html and "worker 可能已停止" in html
    assert "imap.163.com: Unsafe Login" in html and ">邮箱<" in html
    assert client.get("/healthz").status_code == 503


def test_retry_a_given_up_reply_is_csrf_protected_and_audited(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, world: World) -> None:
    client, token = logged_in
    msg_id = give_up_one(world)
    html = client.get("/").get_data(as_text=True)
    assert "已放弃发送的回复（1）" in html and "final: 550 用户不存在" in html
    assert f'action="/outbox/{msg_id}/retry"' in html
    assert client.post(f"/outbox/{msg_id}/retry").status_code == 400          # no token
    with world.app.sessions() as s:
        assert s.get(OutboxMessage, msg_id).status == "failed"  # type: ignore[union-attr]
    r = client.post(f"/outbox/{msg_id}/retry", data={"csrf_token": token})
    assert r.status_code == 302
    with world.app.sessions() as s:
        row = s.get(OutboxMessage, msg_id)
        assert row is not None and (row.status, row.attempts) == ("pending", 0)
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "retry_reply"))
        assert entry.actor == "李老师" and "550" in entry.note
    again = client.post(f"/outbox/{msg_id}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert "不在“已放弃”状态" in again.get_data(as_text=True)
    audit = client.get("/audit").get_data(as_text=True)
    assert "重发回复" in audit and "发送状态：已放弃 → 待发送" in audit
