"""When the worker is unhealthy (issue 11 item 3): stopped, replies failing; ranges low."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.health.conftest import add_run
from tests.intake.conftest import World, make_world
from worker.db.models import Counter, OutboxMessage
from worker.health.report import check

T0 = datetime(2018, 9, 3, 2, 0, tzinfo=UTC)   # 10:00 in Tianjin


def health_at(world: World, now: datetime):  # type: ignore[no-untyped-def]
    with world.app.sessions() as s:
        return check(s, world.app.config, now)


def codes(h) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.code for p in h.problems]


def reply(world: World, status: str, *, error: str | None = None, created: datetime = T0,
          sent: datetime | None = None) -> None:
    with world.app.sessions.begin() as s:
        n = s.query(OutboxMessage).count()
        s.add(OutboxMessage(key=f"k{n}", kind="reply", recipient=f"u{n}@163.com", subject="回复",
                            message=b"x", status=status, attempts=1, next_attempt_at=created,
                            last_error=error, created_at=created, sent_at=sent))


def test_no_pass_ever_means_stopped(world: World) -> None:
    h = health_at(world, T0)
    assert codes(h) == ["stopped"] and h.exit_code == 1


def test_stale_after_three_poll_intervals(world: World) -> None:
    add_run(world, T0, T0 + timedelta(seconds=20))
    add_run(world, T0 + timedelta(minutes=5), None, ok=False)          # a pass still running
    add_run(world, T0 + timedelta(minutes=6), T0 + timedelta(minutes=6, seconds=1), ok=False,
            error_kind="mailbox", error="connection refused")
    fine = health_at(world, T0 + timedelta(minutes=15))                 # 3 x 5 min, exactly
    assert fine.ok and fine.exit_code == 0
    assert fine.last_ok_pass is not None and fine.last_ok_pass.finished_at == T0 + timedelta(seconds=20)
    assert fine.last_errors["mailbox"].error == "connection refused"
    late = health_at(world, T0 + timedelta(minutes=16))
    assert codes(late) == ["stopped"] and late.exit_code == 1
    assert "15 分钟" in late.problems[0].text


def test_poll_interval_comes_from_config(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db_url, tmp_path, schedule={"poll_minutes": 20})
    try:
        add_run(w, T0, T0)
        assert health_at(w, T0 + timedelta(minutes=59)).ok
        assert not health_at(w, T0 + timedelta(minutes=61)).ok
    finally:
        w.app.close()


def test_replies_waiting_for_the_server_are_failing(world: World) -> None:
    add_run(world, T0, T0)
    reply(world, "retry", error="server: [Errno 111] Connection refused")
    h = health_at(world, T0)
    assert codes(h) == ["replies_failing"] and h.waiting_for_server == 1 and h.exit_code == 1


def test_a_given_up_reply_fails_until_one_is_sent_after_it(world: World) -> None:
    add_run(world, T0, T0)
    reply(world, "failed", error="final: 550 no such user", created=T0)
    h = health_at(world, T0)
    assert codes(h) == ["replies_failing"]
    assert [g.error for g in h.given_up] == ["final: 550 no such user"]
    reply(world, "sent", created=T0 + timedelta(minutes=1), sent=T0 + timedelta(minutes=1))
    later = health_at(world, T0 + timedelta(minutes=2))
    assert later.ok and len(later.given_up) == 1  # still listed for staff, no longer failing


def test_number_ranges_warn_under_ten_percent(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db_url, tmp_path, invoice={"first_number": 1, "last_number": 1000},
                   courier={"waybill_prefix": "SF", "waybill_first": 100, "waybill_last": 199})
    try:
        add_run(w, T0, T0)
        with w.app.sessions.begin() as s:
            s.add(Counter(name=f"invoice:{w.app.config.invoice.code}", next_value=902))
            s.add(Counter(name="waybill:SF", next_value=190))
        h = health_at(w, T0)
        invoices, waybills = h.ranges
        assert (invoices.left, invoices.low) == (99, True)
        assert (waybills.left, waybills.low) == (10, False)          # exactly 10 %: no warning
        assert codes(h) == ["range_low"] and h.ok                    # a warning, exit 0
        assert "发票号码只剩 99 个" in h.problems[0].text
    finally:
        w.app.close()
