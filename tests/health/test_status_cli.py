"""`invoice-worker status` through the real command: exit 0 after a good pass, 1 once
the worker has stopped (its last pass long ago) or its replies cannot be sent."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tests.console.conftest import form_mail, people, unit
from tests.core.test_cli import cli
from tests.fixtures.smtp import free_port
from tests.intake.conftest import make_world
from worker.db.models import JobRun


def install(tmp_path: Path, db_url: str, smtp: str = "") -> Path:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n[mailbox]\nurl = "maildir:var/mail"\n'
                   f'[output]\ndir = "var/out"\n[smtp]\nurl = "{smtp}"\n', encoding="utf-8")
    assert cli("--config", str(cfg), "init-db", cwd=tmp_path).returncode == 0
    return cfg


def deliver(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "var").mkdir(exist_ok=True)
    world = make_world(db_url, tmp_path / "var")  # the same Maildir as the config's
    trainees = people("S", 2)
    world.pay(trainees)
    world.deliver(form_mail(unit(trainees)))
    world.app.close()


def test_status_after_a_good_pass_and_after_the_worker_stopped(tmp_path: Path, db_url: str) -> None:
    cfg = install(tmp_path, db_url)
    before = cli("--config", str(cfg), "status", cwd=tmp_path)
    assert before.returncode == 1 and "从未" in before.stdout      # never ran yet
    deliver(tmp_path, db_url)
    assert cli("--config", str(cfg), "run", "--once", cwd=tmp_path).returncode == 0
    ok = cli("--config", str(cfg), "status", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "状态：正常" in ok.stdout and "收信处理（cli）成功" in ok.stdout and "accepted 1" in ok.stdout
    assert "发票号码 剩 99999998" in ok.stdout

    # The worker stops: its last pass is now an hour old (the clock is not touched).
    world = make_world(db_url, tmp_path / "var")
    with world.app.sessions.begin() as s:
        for run in s.scalars(select(JobRun)):
            run.started_at -= timedelta(hours=1)
            run.finished_at = run.finished_at and run.finished_at - timedelta(hours=1)
    world.app.close()
    stopped = cli("--config", str(cfg), "status", "--json", cwd=tmp_path)
    assert stopped.returncode == 1
    report = json.loads(stopped.stdout)
    assert report["ok"] is False and [p["code"] for p in report["problems"]] == ["stopped"]
    assert report["last_ok_pass"]["counts"]["by_status"] == {"accepted": 1}


def test_status_fails_while_replies_cannot_be_sent(tmp_path: Path, db_url: str) -> None:
    cfg = install(tmp_path, db_url, smtp=f"smtp://127.0.0.1:{free_port()}")  # nobody listens
    deliver(tmp_path, db_url)
    ran = cli("--config", str(cfg), "run", "--once", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr                 # the pass itself went through
    status = cli("--config", str(cfg), "status", "--json", cwd=tmp_path)
    assert status.returncode == 1
    report = json.loads(status.stdout)
    assert [p["code"] for p in report["problems"]] == ["replies_failing"]
    assert report["replies_waiting_for_server"] == 1
    assert report["last_pass"]["ok"] is True and report["last_pass"]["error_kind"] == "smtp"
    assert "smtp" in report["last_errors"]
