"""Nothing lost, nothing doubled: SIGKILL at random moments, two workers at once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.intake.conftest import World, make_world
from tests.intake.test_pass import form_mail, trainees, unit
from worker.db.models import Counter, Invoice, InvoiceItem, Mail, Shipment
from worker.samples import Trainee

pytestmark = pytest.mark.slow


def season(world: World, mails: int) -> tuple[set[str], set[str]]:
    """``mails`` mails; every fifth is held (an unknown order). Returns (message ids,
    orders that must end up invoiced)."""
    ids: set[str] = set()
    expected: set[str] = set()
    paid: list[Trainee] = []
    for m in range(mails):
        people = trainees(f"M{m:03d}-", 1 + m % 4)
        if m % 5 == 4:
            paid.extend(people[1:])  # the first order was never paid: held
        else:
            paid.extend(people)
            expected.update(p.order_no for p in people)
        raw = form_mail(unit(people, issue_mode="每人一张" if m % 3 == 0 else "合并开具"))
        ids.add(message_from_bytes(raw)["Message-ID"])
        world.deliver(raw)
    world.pay(paid)
    return ids, expected


#: Mails per transaction in these workers: small, so that 60 mails make 15 chunks and
#: the kills (and the other worker) meet every step of a chunk's cycle many times over.
CHUNK_MAILS = 4


def worker_cmd(world: World) -> list[str]:
    config = world.config_file(chunk_mails=CHUNK_MAILS)
    return [sys.executable, "-m", "worker", "--config", str(config), "run", "--once"]


def assert_consistent(world: World, ids: set[str], expected: set[str]) -> None:
    assert world.folder("INBOX") == []
    moved = world.folder("Processed") + world.folder("Exceptions")
    assert sorted(message_from_bytes(raw)["Message-ID"] for raw in moved) == sorted(ids)
    with world.app.sessions() as s:
        assert set(s.scalars(select(Mail.message_id))) == ids
        assert s.scalar(select(func.count(Mail.id))) == len(ids)
        numbers = sorted(int(n) for n in s.scalars(select(Invoice.number)))
        assert numbers == list(range(1, len(numbers) + 1)), "gap or duplicate in invoice numbers"
        orders = list(s.scalars(select(InvoiceItem.order_no)))
        assert len(orders) == len(set(orders)) and set(orders) == expected
        waybills = sorted(int(w[2:]) for w in s.scalars(select(Shipment.waybill)))
        first = world.app.config.courier.waybill_first
        assert waybills == list(range(first, first + len(waybills)))
        counter = s.get(Counter, f"invoice:{world.app.config.invoice.code}")
        assert counter is not None and counter.next_value == len(numbers) + 1
        assert all(m.folder is not None for m in s.scalars(select(Mail)))


def test_sigkill_at_random_moments_loses_and_doubles_nothing(world: World) -> None:
    ids, expected = season(world, 60)
    rng = random.Random(20181130)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    inbox = world.maildir
    kills = 0
    # Kill each worker once the inbox has shrunk past a random mark, plus a random
    # fraction of a mail's processing time, so kills land all over a chunk's cycle:
    # parsing, inside the transaction (between savepoints, mid-mail), between commit
    # and move, mid-move, before moved_at is stamped. A kill before the commit loses
    # the whole chunk's work: its mails are read again by the next worker.
    while kills < 10:
        before = _inbox_count(inbox)
        if before == 0:
            break
        mark = rng.randint(max(0, before - 8), before - 1)
        proc = subprocess.Popen(worker_cmd(world), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while proc.poll() is None and _inbox_count(inbox) > mark and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.03))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    done = subprocess.run(worker_cmd(world), env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert kills >= 5
    assert_consistent(world, ids, expected)


def _inbox_count(maildir: Path) -> int:
    return sum(len(os.listdir(maildir / sub)) for sub in ("new", "cur"))


@pytest.mark.postgres
def test_two_workers_at_once_process_each_mail_once(pg_database: str, tmp_path: Path) -> None:
    from tests.fixtures.db import _reset_pg
    from worker.db import init_db

    world = make_world(pg_database, tmp_path)
    _reset_pg(world.app.engine)
    init_db(world.app.engine)
    try:
        ids, expected = season(world, 60)
        procs = [subprocess.Popen(worker_cmd(world), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
        reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in results]
        fresh = sum(r["mails"] - r["already_done"] for r in reports)
        assert fresh == len(ids), reports
        assert all(r["mails"] > 0 for r in reports), "both workers should have taken mail"
        assert_consistent(world, ids, expected)
    finally:
        world.app.close()
