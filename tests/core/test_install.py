"""Issue 11 item 2: ``pip install .`` (not editable), then ``invoice-worker demo`` from
another folder — the templates and the shipped defaults must come from the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).resolve().parents[2]


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False)


def test_the_built_wheel_runs_the_demo_from_another_folder(tmp_path: Path) -> None:
    # build from a copy: an in-tree build would leave build/ in the worktree
    src = tmp_path / "src"
    shutil.copytree(SOURCE, src, ignore=shutil.ignore_patterns(
        ".*", "__pycache__", "*.egg-info", "build", "tests", "bench", "docs", "var", "demo"))
    built = run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", src,
                cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("invoice_worker-*.whl")

    # a fresh venv: the wheel installed for real; its dependencies linked from this test's
    # environment instead of downloaded again (the point is the package's own files)
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                    cwd=tmp_path).stdout.strip())
    installed = run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
                    wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n",
                                                   encoding="utf-8")
    checked = run(sys.executable, "-m", "pip", "--python", python, "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout  # every declared dependency is there

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(python, "-c", "import worker.config as c; print(c.__file__); print(c.TEMPLATES_DIR); "
                              "print(c.DEFAULTS_PATH)", cwd=elsewhere)
    module, templates, defaults = where.stdout.split()
    assert all(Path(p).is_relative_to(site) for p in (module, templates, defaults)), where.stdout
    assert (Path(templates) / "console" / "base.html").is_file()
    assert (Path(templates) / "assets" / "invoice.css").is_file()

    demo = run(venv / "bin" / "invoice-worker", "demo", "--dir", "season", cwd=elsewhere)
    assert demo.returncode == 0, demo.stderr
    assert "[accepted]" in demo.stdout and "[held]" in demo.stdout
    batches = list((elsewhere / "season" / "out" / "batches").glob("*/invoices.pdf"))
    assert batches and batches[0].read_bytes().startswith(b"%PDF")
    assert list((elsewhere / "season" / "out" / "outbox").glob("*.eml"))

    version = run(venv / "bin" / "invoice-worker", "--version", cwd=elsewhere)
    assert version.stdout.strip() == "invoice-worker 0.1.0"
    example = Path(run(python, "-c", "from worker.config import EXAMPLE_PATH; print(EXAMPLE_PATH)",
                       cwd=elsewhere).stdout.strip())
    assert example.is_relative_to(site) and example.is_file()
