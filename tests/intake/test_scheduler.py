"""``run``: the scheduled worker polls, and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.intake.conftest import World
from tests.intake.test_pass import form_mail, trainees, unit

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
