"""Print batches are claimed before rendering (issue 10 item 8): two passes at once
never render the same documents, and a claim whose worker died is taken over at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.builders.form import make_line
from tests.documents.conftest import submit
from tests.documents.pdf import pages_text
from tests.intake.conftest import World
from worker.config import Config
from worker.db.models import Application, Invoice
from worker.db.types import utcnow
from worker.documents import Batch, render_pending
from worker.documents import batch as batch_module
from worker.intake import run_pass

WAIT = 60.0
ROOT = Path(__file__).resolve().parents[2]


def issue(world: World, n: int) -> list[str]:
    """``n`` accepted applications of one invoice each, through the pass (no printing);
    returns the invoice numbers."""
    for i in range(n):
        submit(world, [make_line(40 + i)], issue_mode="合并开具")
    with world.app.open_mailbox() as mailbox:
        assert run_pass(mailbox, world.app.sessions, world.app.config).by_status == {"accepted": n}
    with world.app.sessions() as s:
        return list(s.scalars(select(Invoice.number).order_by(Invoice.number)))


def printed(world: World) -> Counter[str]:
    """Invoice number -> how many batch PDFs show it."""
    seen: Counter[str] = Counter()
    with world.app.sessions() as s:
        numbers = list(s.scalars(select(Invoice.number)))
    for pdf in (world.app.config.output_dir / "batches").glob("*/invoices.pdf"):
        text = " ".join(pages_text(pdf))
        seen.update(n for n in numbers if n in text)
    return seen


def claims(world: World) -> list[str | None]:
    with world.app.sessions() as s:
        return list(s.scalars(select(Application.print_claim)))


def race(world: World, config: Config, monkeypatch: pytest.MonkeyPatch,
         ) -> tuple[Batch | None, Batch | None]:
    """Pass A claims and hangs in rendering; pass B runs meanwhile; then A finishes."""
    first = threading.current_thread()
    rendering, release = threading.Event(), threading.Event()
    real_start = batch_module._start

    def slow_start(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is not first:
            rendering.set()             # A holds its claim and is rendering
            assert release.wait(WAIT)
        return real_start(*args, **kwargs)

    monkeypatch.setattr(batch_module, "_start", slow_start)
    box: dict[str, Batch | None] = {}
    a = threading.Thread(target=lambda: box.update(a=render_pending(world.app.sessions, config)))
    a.start()
    try:
        assert rendering.wait(WAIT)
        b = render_pending(world.app.sessions, config)
    finally:
        release.set()
    a.join(WAIT)
    assert not a.is_alive()
    return box["a"], b


def test_two_passes_at_once_never_render_the_same_batch(world: World,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = issue(world, 3)
    a, b = race(world, world.app.config, monkeypatch)
    assert b is None                    # everything pending was A's: B rendered nothing
    assert a is not None and a.invoices == len(numbers)
    assert printed(world) == Counter(numbers)
    assert claims(world) == [None] * 3  # released


def test_a_capped_backlog_is_shared_not_doubled(world: World,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = issue(world, 3)
    config = world.app.config.model_copy(update={
        "documents": world.app.config.documents.model_copy(update={"max_invoices_per_batch": 2})})
    a, b = race(world, config, monkeypatch)
    assert a is not None and b is not None and (a.invoices, b.invoices) == (2, 1)
    assert printed(world) == Counter(numbers)


def test_a_dead_workers_claim_is_taken_over_at_once_a_live_ones_is_not(world: World) -> None:
    numbers = issue(world, 2)
    proc = subprocess.Popen([sys.executable, "-m", "tests.documents.stuck_render",
                             str(world.config_file())], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "rendering"
        (owner,) = set(claims(world))
        assert owner is not None and f"/{proc.pid}/" in owner
        assert render_pending(world.app.sessions, world.app.config) is None  # alive: its claim holds
        assert printed(world) == Counter()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(WAIT)
    batch = render_pending(world.app.sessions, world.app.config)  # well inside the 30 minutes
    assert batch is not None and batch.invoices == len(numbers)
    assert printed(world) == Counter(numbers) and claims(world) == [None, None]


def test_a_claim_from_another_machine_holds_until_its_time_is_over(world: World) -> None:
    numbers = issue(world, 1)
    until = utcnow() + timedelta(minutes=30)
    with world.app.sessions.begin() as s:
        s.execute(update(Application).values(print_claim="elsewhere/0000/1/1.00/abcd",
                                             print_claimed_until=until))
    assert render_pending(world.app.sessions, world.app.config, now=until - timedelta(seconds=1)) is None
    batch = render_pending(world.app.sessions, world.app.config, now=until)
    assert batch is not None and batch.invoices == 1 and printed(world) == Counter(numbers)
