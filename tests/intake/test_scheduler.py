"""``run``: the scheduled worker polls, and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.intake.conftest import World
from tests.intake.test_pass import form_mail, trainees, unit
from worker import scheduler

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_worker_polls_until_told_to_stop(world: World, sig: signal.Signals) -> None:
    cfg = world.config_file()
    cfg.write_text(cfg.read_text(encoding="utf-8") + "[schedule]\npoll_minutes = 0.01\n",
                   encoding="utf-8")
    people = trainees("S", 1)
    world.pay(people)
    proc = subprocess.Popen([sys.executable, "-m", "worker", "--config", str(cfg), "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        world.deliver(form_mail(unit(people)))
        _wait(lambda: not world.folder("INBOX"), proc)
        world.deliver(form_mail(unit(people, district="和平区")))  # picked up by a later poll
        _wait(lambda: not world.folder("INBOX"), proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "worker stopped" in err and "Traceback" not in err
    assert [a["status"] for a in world.export()] == ["accepted", "held"]


def _wait(done: object, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        if done():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("the worker did not get to the mail in time")


def test_closing_the_jobs_waits_for_the_one_running() -> None:
    """`run` closes the database once run_forever returns (after jobs.close()): a pass
    still running then (the signal came mid-pass) would meet a closed App."""
    jobs, started, release, order = scheduler.Jobs(), threading.Event(), threading.Event(), []

    def slow_pass() -> None:
        started.set()
        release.wait(30)
        order.append("pass done")

    runner = threading.Thread(target=jobs.tracked(slow_pass))
    runner.start()
    started.wait(30)
    closer = threading.Thread(target=lambda: (jobs.close(), order.append("closed")))
    closer.start()
    closer.join(0.3)
    assert closer.is_alive() and order == []  # still waiting for the pass
    release.set()
    closer.join(30)
    runner.join(30)
    assert order == ["pass done", "closed"]


def test_no_job_starts_once_the_jobs_are_closed() -> None:
    jobs, ran = scheduler.Jobs(), []
    job = jobs.tracked(lambda: ran.append(1))
    job()
    jobs.close()
    job()
    assert ran == [1]
