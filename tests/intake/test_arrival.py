"""The deadline is judged by when the mailbox received a mail, not by its Date header
(issue 9, kind 3): a clock the institute controls.  Mail is delivered with the arrival
time each test means (the Maildir file's time)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.builders.form import build_form_xlsx, default_header, make_lines
from tests.builders.mail import build_mail
from tests.intake.conftest import World
from tests.intake.test_in_the_wild import pay
from worker.db.models import Application, Mail
from worker.decision import date_skew, evaluate
from worker.message import SHANGHAI

LINES = make_lines(2)
FORM = build_form_xlsx(default_header(), LINES)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def outcome(world: World, raw: bytes, arrival: datetime | None) -> dict[str, object]:
    pay(world, LINES)
    world.deliver(raw, arrival=arrival)
    world.run()
    (app,) = world.export()
    return app


def test_backdated_date_does_not_beat_the_deadline(world: World, caplog: pytest.LogCaptureFixture) -> None:
    raw = build_mail(date=at(2018, 12, 30, 9, 0), attachments=[("a.xlsx", FORM)])
    with caplog.at_level(logging.WARNING, logger="worker.intake.record"):
        app = outcome(world, raw, arrival=at(2019, 1, 2, 8, 0))
    assert [r["code"] for r in app["reasons"]] == ["PAST_DEADLINE"]
    assert "2019-01-02 08:00" in app["reasons"][0]["detail"]
    assert "from its arrival time" in caplog.text
    with world.app.sessions() as s:
        mail = s.scalars(select(Mail)).one()
        assert mail.received_at == at(2019, 1, 2, 8, 0) and mail.date == at(2018, 12, 30, 9, 0)
        assert date_skew(mail) == -timedelta(days=2, hours=23)  # flagged for staff


def test_a_fast_sender_clock_does_not_miss_the_deadline(world: World) -> None:
    raw = build_mail(date=at(2019, 1, 5, 9, 0), attachments=[("a.xlsx", FORM)])
    app = outcome(world, raw, arrival=at(2018, 12, 20, 9, 0))
    assert app["status"] == "accepted", app["reasons"]


def test_mail_without_a_date_is_judged_by_its_arrival(world: World) -> None:
    raw = build_mail(date=None, attachments=[("a.xlsx", FORM)])
    app = outcome(world, raw, arrival=at(2019, 1, 1, 0, 0, 1))
    assert [r["code"] for r in app["reasons"]] == ["PAST_DEADLINE"]


def test_recheck_judges_the_stored_arrival_and_old_rows_their_date(world: World) -> None:
    raw = build_mail(date=at(2018, 12, 31, 23, 59), body="申请表见附件",   # held: no recipient
                     attachments=[("a.xlsx", FORM)])
    app = outcome(world, raw, arrival=at(2019, 1, 1, 0, 1))
    assert {r["code"] for r in app["reasons"]} == {"PAST_DEADLINE", "MISSING_RECIPIENT"}
    with world.app.sessions.begin() as s:
        stored = s.scalars(select(Application)).one()
        assert "PAST_DEADLINE" in {str(r.code) for r in evaluate(s, stored, world.app.config)}
        stored.mail.received_at = None  # a row from before arrival times were kept
        assert "PAST_DEADLINE" not in {str(r.code) for r in evaluate(s, stored, world.app.config)}
