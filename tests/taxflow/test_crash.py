"""SIGKILL during ``tax import`` (a real process, killed at random moments), then a
re-run: every official number is recorded once, every reply queued once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from tests.intake.conftest import World
from tests.taxflow.conftest import accept, config_file, export, issue_on_platform
from worker.db.models import Invoice, OutboxMessage, TaxImport

CLI = [sys.executable, "-m", "worker"]


def _import(cfg: Path, path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*CLI, "--config", str(cfg), "tax", "import", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(Path.cwd())})


def test_killed_imports_record_each_number_once(pworld: World) -> None:
    accept(pworld, "K", 12, issue_mode="每人一张")
    archive, numbers = issue_on_platform(export(pworld))
    path = pworld.root / "发票.zip"
    path.write_bytes(archive)
    cfg = config_file(pworld)
    rng = random.Random(8)
    for _ in range(8):
        proc = _import(cfg, path)
        # A run takes a few seconds here (start-up, reading, one transaction): the kill
        # lands before, during or after the commit, and sometimes after the process ended.
        time.sleep(rng.uniform(0.5, 6.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    final = _import(cfg, path)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    counts = json.loads(out)
    assert counts["issued"] + counts["duplicates"] == len(numbers)
    assert counts["unmatched"] == counts["unreadable"] == 0
    with pworld.app.sessions() as s:
        recorded = list(s.scalars(select(Invoice.number).order_by(Invoice.id)))
        imports = list(s.scalars(select(TaxImport)))
        replies = s.scalar(select(func.count()).select_from(OutboxMessage))
    assert recorded == numbers                      # each once, on its own invoice
    assert sum(i.issued for i in imports) == len(numbers)  # a killed run recorded all or nothing
    assert replies == 1                             # the one application, told once
