"""Every pass recorded: start, end, counts, and the error that stopped or spoiled it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from tests.console.conftest import form_mail, people, unit
from tests.intake.conftest import World
from worker.db.models import JobRun
from worker.errors import MailboxError
from worker.health.runs import ErrorKind, Job, RunLog, Trigger, recorded_pass


def runs(world: World) -> list[JobRun]:
    with world.app.sessions() as s:
        return list(s.scalars(select(JobRun).order_by(JobRun.id)))


def test_a_pass_is_recorded_with_its_counts(world: World) -> None:
    trainees = people("A", 2)
    world.pay(trainees)
    world.deliver(form_mail(unit(trainees)), form_mail(unit(people("X", 1)), sender="b@163.com"))
    summary = recorded_pass(world.app, RunLog(world.app.sessions, Trigger.CLI))
    assert summary.processed == 2
    (run,) = runs(world)
    assert (run.job, run.trigger, run.ok, run.error) == ("pass", "cli", True, None)
    assert run.finished_at is not None and run.finished_at >= run.started_at
    counts = json.loads(run.counts)
    assert counts["mails"] == 2 and counts["by_status"] == {"accepted": 1, "held": 1}
    assert counts["replies"]["sent"] == 2  # no SMTP configured: .eml files


def test_a_failed_pass_is_recorded_with_the_mailbox_error(world: World,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise MailboxError("imap.163.com: connection refused")

    monkeypatch.setattr(world.app, "run_once", broken)
    with pytest.raises(MailboxError):
        recorded_pass(world.app, RunLog(world.app.sessions))
    (run,) = runs(world)
    assert run.ok is False and run.error_kind == ErrorKind.MAILBOX
    assert run.error == "imap.163.com: connection refused" and run.finished_at is not None


def test_a_run_the_database_could_not_take_is_written_with_the_next(world: World) -> None:
    log = RunLog(world.app.sessions)
    with world.app.sessions.begin() as s:
        s.execute(text("ALTER TABLE job_runs RENAME TO job_runs_away"))
    with log.track(Job.MANIFEST) as note:
        note.counts = {"parcels": 3}
    assert len(log.unwritten) == 1
    with world.app.sessions.begin() as s:
        s.execute(text("ALTER TABLE job_runs_away RENAME TO job_runs"))
    with log.track(Job.PASS):
        pass
    assert [(r.job, r.ok, json.loads(r.counts)) for r in runs(world)] == [
        ("manifest", True, {"parcels": 3}), ("pass", True, {})]
    assert log.unwritten == []
