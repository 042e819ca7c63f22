"""The demo's season: its pass is recorded like a ``run --once``, so the status command
it points at reports it (it said no pass had ever completed, and exited 1)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
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


def test_the_demo_runs_in_an_empty_folder_that_exists(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """``--dir "$(mktemp -d)"``: an empty folder is the demo's, not an error."""
    assert run_demo(tmp_path) == 0
    out = capsys.readouterr().out
    assert "mails processed" in out and "attachment=None" not in out
    assert "(no attachment)" in out  # the mail that asked without a form


def test_the_demo_refuses_a_file_or_a_folder_of_something_else(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    assert run_demo(tmp_path / "notes.txt") == 2
    assert "is a file" in capsys.readouterr().out
    assert run_demo(tmp_path) == 2
    assert "is not a demo folder" in capsys.readouterr().out
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("on_path", [True, False])
def test_the_commands_the_demo_suggests_run_as_printed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        on_path: bool) -> None:
    """``scripts/demo.sh`` runs .venv/bin/invoice-worker without activating the venv:
    the "Try:" lines name the command so that it runs as printed, on PATH or not."""
    bin_dir = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p != bin_dir]
    monkeypatch.setenv("PATH", os.pathsep.join([bin_dir, *path] if on_path else path))
    if not on_path and shutil.which("invoice-worker"):
        pytest.skip("another invoice-worker is on PATH")
    assert run_demo(tmp_path) == 0
    tried = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Try: "))
    argv = shlex.split(tried.removeprefix("Try: "))
    assert (argv[0] == "invoice-worker") is on_path
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and '"applications"' in done.stdout
