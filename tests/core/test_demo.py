"""The demo's season: its pass is recorded like a ``run --once``, so the status command
it points at reports it (it said no pass had ever completed, and exited 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.cli import main
from worker.demo import run_demo


def test_the_demo_pass_is_what_status_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(tmp_path / "season") == 0
    capsys.readouterr()
    assert main(["--config", str(tmp_path / "season" / "config.toml"), "status"]) == 0
    shown = capsys.readouterr().out
    assert "状态：正常" in shown and "收信处理（cli）成功" in shown and "mails=6" in shown
