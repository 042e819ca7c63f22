"""The outbox against real SMTP servers: down, refusing, back up; retries with backoff;
each reply delivered once (counted at the server), also with two senders at once."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.builders.form import build_form_xlsx, default_header, make_lines
from tests.builders.mail import build_mail
from tests.fixtures.smtp import PASSWORD, USER, Capture, SmtpServer, free_port
from tests.replies.conftest import Refusing, ReplyWorld, reply_world_at, serving
from worker.cli import main
from worker.db.models import OutboxMessage
from worker.db.types import utcnow
from worker.mailer import Mailer
from worker.replies import send_due
from worker.replies.outbox import LEASE, backoff
from worker.scheduler import build_scheduler


def deliver_units(rw: ReplyWorld, n: int) -> list[str]:
    """``n`` mails with forms (not paid) from different units: each gets a (held) reply."""
    senders = [f"unit{i}@163.com" for i in range(n)]
    form = [("申请表.xlsx", build_form_xlsx(default_header(), make_lines(1)))]
    rw.world.deliver(*(build_mail(sender=s, subject=f"发票 {i}", attachments=form)
                       for i, s in enumerate(senders)))
    return senders


def later(rw: ReplyWorld, minutes: float = 0) -> datetime:
    """A moment after everything queued so far, plus ``minutes`` (no wall-clock asserts)."""
    latest = max(r.created_at for r in rw.outbox())
    return latest + timedelta(seconds=1, minutes=minutes)


def test_smtp_down_then_up_loses_nothing_and_doubles_nothing(
        db_url: str, tmp_path: Path, dead_smtp_url: str) -> None:
    rw = reply_world_at(db_url, tmp_path, dead_smtp_url, None)
    try:
        senders = deliver_units(rw, 3)
        assert rw.world.run() == {"held": 3}        # run --once survives SMTP being down
        rows = rw.outbox()
        assert sorted(r.status for r in rows) == ["pending", "pending", "retry"]
        (tried,) = [r for r in rows if r.status == "retry"]
        assert tried.attempts == 1 and tried.last_error.startswith("server: ")
        assert "Connection" in tried.last_error or "refused" in tried.last_error

        now = later(rw)
        report = rw.send(now=now)                   # still down: one try, then stop
        assert (report.sent, report.failed, report.waiting) == (0, 1, 3)
        assert report.stopped
        assert sum(r.attempts for r in rw.outbox()) == 2

        port = int(dead_smtp_url.rsplit(":", 1)[1])
        with serving(Capture(), port) as server:    # the server is back
            report = rw.send(now=later(rw, minutes=10))
            assert (report.sent, report.failed, report.waiting) == (3, 0, 0)
            assert rw.send(now=later(rw, minutes=24 * 60)).sent == 0
            assert rw.world.run() == {}             # and a later pass sends nothing again
            assert sorted(m.rcpt_tos[0] for m in server.messages) == senders
            assert len({m.message()["Message-ID"] for m in server.messages}) == 3
        assert {r.status for r in rw.outbox()} == {"sent"}
    finally:
        rw.app.close()


def test_server_refusing_with_451_then_accepting(reply_world: ReplyWorld) -> None:
    server = reply_world.smtp
    assert server is not None
    server.handler.reject = "451 4.3.0 try again later"
    deliver_units(reply_world, 2)
    reply_world.world.run()
    rows = reply_world.outbox()
    assert sorted(r.status for r in rows) == ["pending", "retry"]
    assert "451" in next(r.last_error for r in rows if r.status == "retry")
    server.handler.reject = None
    report = reply_world.send(now=later(reply_world, minutes=5))
    assert (report.sent, report.waiting) == (2, 0)
    assert len(server.messages) == 2
    assert sorted(r.attempts for r in reply_world.outbox()) == [1, 2]


def test_backoff_doubles_and_a_refused_message_is_given_up(reply_world: ReplyWorld) -> None:
    server = reply_world.smtp
    assert server is not None
    server.handler.reject = "554 5.7.1 message content rejected"
    deliver_units(reply_world, 1)
    reply_world.process()
    retries = reply_world.app.config.replies
    now = later(reply_world)
    for attempt in range(1, retries.max_attempts + 1):
        if attempt > 1:
            assert reply_world.send(now=now - timedelta(seconds=1)).failed == 0   # not due yet
        report = reply_world.send(now=now)
        (row,) = reply_world.outbox()
        assert row.attempts == attempt and report.failed == 1 and "554" in row.last_error
        if attempt < retries.max_attempts:
            assert row.status == "retry" and report.given_up == 0
            assert row.next_attempt_at - now == backoff(attempt, retries)
            now = row.next_attempt_at
        else:
            assert row.status == "failed" and report.given_up == 1
    assert [backoff(n, retries) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    server.handler.reject = None
    assert reply_world.send(now=now + timedelta(days=1)).sent == 0   # given up stays given up
    assert server.messages == []


def test_a_refused_recipient_fails_alone_and_the_batch_goes_on(db_url: str, tmp_path: Path) -> None:
    handler = Refusing(refuse={"unit1@163.com"})
    with serving(handler, free_port()) as server:
        rw = reply_world_at(db_url, tmp_path, server.url, server)
        try:
            deliver_units(rw, 3)
            rw.process()
            report = rw.send(now=later(rw))
            assert (report.sent, report.failed, report.given_up, report.stopped) == (2, 1, 1, None)
            by_rcpt = {r.recipient: r for r in rw.outbox()}
            assert by_rcpt["unit1@163.com"].status == "failed"
            assert by_rcpt["unit1@163.com"].last_error.startswith("final: ")
            assert "550" in by_rcpt["unit1@163.com"].last_error
            assert sorted(m.rcpt_tos[0] for m in server.messages) == ["unit0@163.com", "unit2@163.com"]
        finally:
            rw.app.close()


def test_server_down_never_gives_a_reply_up_and_the_backoff_is_capped(
        db_url: str, tmp_path: Path, dead_smtp_url: str) -> None:
    rw = reply_world_at(db_url, tmp_path, dead_smtp_url, None)
    try:
        deliver_units(rw, 1)
        rw.process()
        now = later(rw)
        for _ in range(12):
            rw.send(now=now)
            (row,) = rw.outbox()
            now = row.next_attempt_at
        assert (row.status, row.attempts) == ("retry", 12)
        assert backoff(12, rw.app.config.replies) == timedelta(minutes=360)
    finally:
        rw.app.close()


def test_rows_that_only_waited_for_the_server_go_as_soon_as_it_is_back(
        reply_world: ReplyWorld) -> None:
    deliver_units(reply_world, 3)
    reply_world.process()
    now = later(reply_world)
    far = now + timedelta(hours=6)
    rows = reply_world.outbox()
    with reply_world.app.sessions.begin() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == rows[1].id).values(
            status="retry", attempts=12, next_attempt_at=far, last_error="server: was down"))
        s.execute(update(OutboxMessage).where(OutboxMessage.id == rows[2].id).values(
            status="retry", attempts=3, next_attempt_at=far, last_error="message: 554 refused"))
    report = reply_world.send(now=now)
    assert report.sent == 2                        # the fresh one, then the woken one
    status = {r.id: r.status for r in reply_world.outbox()}
    assert status == {rows[0].id: "sent", rows[1].id: "sent", rows[2].id: "retry"}


class CrashAfterSending(Mailer):
    """Delivers, then dies before the "sent" commit (SystemExit is no Exception)."""

    def __init__(self, inner: Mailer) -> None:
        super().__init__(inner.sender, inner.tz)
        self.inner = inner

    def _deliver(self, msg: EmailMessage) -> str:
        self.inner.send(msg)
        raise SystemExit("killed mid-send")


def test_a_crash_mid_send_is_retried_after_the_lease_with_the_same_message_id(
        reply_world: ReplyWorld) -> None:
    server = reply_world.smtp
    assert server is not None
    deliver_units(reply_world, 1)
    reply_world.process()
    now = later(reply_world)
    mailer = Mailer.from_config(reply_world.app.config)
    with pytest.raises(SystemExit):
        send_due(reply_world.app.sessions, CrashAfterSending(mailer), now=now)
    (row,) = reply_world.outbox()
    assert row.status == "sending" and row.next_attempt_at == now + LEASE
    assert reply_world.send(now=now + LEASE - timedelta(seconds=1)).sent == 0   # still leased
    assert reply_world.send(now=now + LEASE).sent == 1
    (row,) = reply_world.outbox()
    assert (row.status, row.attempts) == ("sent", 2)
    # At-least-once: the crash fell between the server's OK and our commit, so the
    # unit gets a second copy -- the same bytes, the same Message-ID.
    first, second = server.messages
    assert first.data == second.data
    assert first.message()["Message-ID"] == second.message()["Message-ID"]


class Slow(Mailer):
    """Stretches each send so two senders really overlap."""

    def __init__(self, inner: Mailer) -> None:
        super().__init__(inner.sender, inner.tz)
        self.inner = inner

    def _deliver(self, msg: EmailMessage) -> str:
        threading.Event().wait(0.02)
        return self.inner.send(msg)


def test_two_senders_at_once_send_each_reply_once(reply_world: ReplyWorld) -> None:
    server = reply_world.smtp
    assert server is not None
    deliver_units(reply_world, 20)
    reply_world.process()
    now = later(reply_world)
    start = threading.Barrier(2)
    reports = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            start.wait()
            mailer = Slow(Mailer.from_config(reply_world.app.config))
            reports.append(send_due(reply_world.app.sessions, mailer, now=now))
        except BaseException as e:  # surface in the main thread
            errors.append(e)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sum(r.sent for r in reports) == 20 and all(r.sent for r in reports)
    assert len(server.messages) == 20
    assert len({m.message()["Message-ID"] for m in server.messages}) == 20
    assert {(r.status, r.attempts) for r in reply_world.outbox()} == {("sent", 1)}


def test_without_smtp_the_replies_are_eml_files(db_url: str, tmp_path: Path) -> None:
    rw = reply_world_at(db_url, tmp_path, "", None)
    try:
        deliver_units(rw, 2)
        rw.world.run()
        files = sorted((tmp_path / "out" / "outbox").glob("*.eml"))
        assert len(files) == 2 and {r.status for r in rw.outbox()} == {"sent"}
        assert b"Auto-Submitted: auto-replied" in files[0].read_bytes()
    finally:
        rw.app.close()


def test_cli_run_once_and_send_replies(db_url: str, tmp_path: Path, dead_smtp_url: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    rw = reply_world_at(db_url, tmp_path, dead_smtp_url, None)
    try:
        cfg = rw.world.config_file()
        base = cfg.read_text(encoding="utf-8")
        cfg.write_text(base + f'[smtp]\nurl = "{dead_smtp_url}"\n', encoding="utf-8")
        deliver_units(rw, 1)
        assert main(["--config", str(cfg), "run", "--once"]) == 0
        assert [r.status for r in rw.outbox()] == ["retry"]
        capsys.readouterr()
        with rw.app.sessions.begin() as s:       # due again now
            s.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        assert main(["--config", str(cfg), "send-replies"]) == 3
        assert json.loads(capsys.readouterr().out)["failed"] == 1
        port = int(dead_smtp_url.rsplit(":", 1)[1])
        with serving(Capture(), port) as server:
            with rw.app.sessions.begin() as s:
                s.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
            assert main(["--config", str(cfg), "send-replies"]) == 0
            out = json.loads(capsys.readouterr().out)
            assert (out["sent"], out["waiting"]) == (1, 0)
            assert len(server.messages) == 1
    finally:
        rw.app.close()


def test_the_scheduler_sends_replies_every_minute(reply_world: ReplyWorld) -> None:
    job = build_scheduler(reply_world.app, threading.Event()).get_job("replies")
    assert job is not None and job.max_instances == 1 and job.coalesce
    assert job.trigger.interval == timedelta(minutes=1)


def test_replies_go_over_verified_starttls_with_login(
        db_url: str, tmp_path: Path, smtp_starttls: SmtpServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    rw = reply_world_at(db_url, tmp_path, smtp_starttls.url, smtp_starttls,
                        ca_file=smtp_starttls.ca_file or "")
    try:
        deliver_units(rw, 1)
        rw.world.run()
        (got,) = smtp_starttls.messages
        assert got.tls and got.login == USER and got.rcpt_tos == ["unit0@163.com"]
    finally:
        rw.app.close()
