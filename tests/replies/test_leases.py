"""A reply in flight when its worker dies is sent again at once by a worker on the same
machine, not after the whole lease (issue 10 item 8); a live sender's lease holds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import update

from tests.builders.form import build_form_xlsx, default_header, make_lines
from tests.builders.mail import build_mail
from tests.replies.conftest import ReplyWorld
from worker.db.models import OutboxMessage
from worker.db.types import utcnow
from worker.replies.outbox import LEASE

WAIT = 60.0
ROOT = Path(__file__).resolve().parents[2]


def test_a_dead_senders_lease_is_taken_over_at_once_a_live_ones_is_not(
        reply_world: ReplyWorld) -> None:
    form = [("申请表.xlsx", build_form_xlsx(default_header(), make_lines(1)))]
    reply_world.world.deliver(build_mail(sender="unit@163.com", attachments=form))
    reply_world.process()
    proc = subprocess.Popen([sys.executable, "-m", "tests.replies.stuck_sender",
                             str(reply_world.world.config_file())], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "sending"
        (row,) = reply_world.outbox()
        assert row.status == "sending" and f"/{proc.pid}/" in (row.lease_owner or "")
        assert reply_world.send().sent == 0          # its sender is alive: the lease holds
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(WAIT)
    report = reply_world.send()    # a restarted worker, long before the lease's end
    assert report.sent == 1
    (got,) = reply_world.received()
    assert got.rcpt_tos == ["unit@163.com"]
    (row,) = reply_world.outbox()
    assert (row.status, row.attempts) == ("sent", 2) and row.sent_at is not None


def test_a_lease_from_another_machine_waits_for_its_end(reply_world: ReplyWorld) -> None:
    form = [("申请表.xlsx", build_form_xlsx(default_header(), make_lines(1)))]
    reply_world.world.deliver(build_mail(sender="unit@163.com", attachments=form))
    reply_world.process()
    now = utcnow()
    with reply_world.app.sessions.begin() as s:
        s.execute(update(OutboxMessage).values(status="sending", attempts=1,
                                               next_attempt_at=now + LEASE,
                                               lease_owner="elsewhere/0000/1/1.00/abcd"))
    assert reply_world.send(now=now + LEASE / 2).sent == 0
    assert reply_world.send(now=now + LEASE).sent == 1
