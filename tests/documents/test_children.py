"""Batches render in child processes (issue 12): several at once, and a child that fails
or is killed loses nothing -- the next run prints exactly those documents, once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.documents.test_claims import ROOT, WAIT, claims, issue, printed
from tests.intake.conftest import World
from worker.config import Config
from worker.documents import RenderError, children, render_batches, render_pending
from worker.documents import batch as batch_module


def no_space() -> Any:
    """A fetcher factory that fails in the child (module level: it crosses as a pickle)."""
    raise OSError("No space left on device")


def configured(world: World, **documents: int) -> Config:
    config = world.app.config
    return config.model_copy(update={"documents": config.documents.model_copy(update=documents)})


def recorded(world: World) -> list[str | None]:
    return [inv["pdf"] for a in world.export() for inv in a["invoices"]]


def batch_folders(world: World) -> list[Path]:
    root = world.app.config.output_dir / "batches"
    return sorted(root.iterdir()) if root.exists() else []


def watch_starts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[children.Child, list[bool]]]:
    """Every child started, with whether each earlier one was already collected then."""
    started: list[tuple[children.Child, list[bool]]] = []
    real_start = batch_module._start

    def start(job: Any) -> children.Child:
        before = [c.done() for c, _ in started]
        child = real_start(job)
        started.append((child, before))
        return child

    monkeypatch.setattr(batch_module, "_start", start)
    return started


def test_a_killed_child_loses_nothing_and_the_next_run_prints_those_documents_once(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = issue(world, 8)
    started = watch_starts(monkeypatch)
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["batch"] = render_pending(world.app.sessions, world.app.config)
        except RenderError as e:
            box["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not started and time.monotonic() < deadline:
        time.sleep(0.01)
    (child, _), = started
    assert child.pid is not None and child.pid != os.getpid()
    # at a random moment of its work: importing fonts, laying out, writing
    process = psutil.Process(child.pid)
    spent = random.uniform(0.0, 0.4)
    while sum(process.cpu_times()[:2]) < spent and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    thread.join(WAIT)
    assert not thread.is_alive()
    assert "killed by SIGKILL" in str(box["error"]) and "batch" not in box
    assert recorded(world) == [None] * len(numbers)        # nothing recorded as printed
    assert batch_folders(world) == [] and claims(world) == [None] * len(numbers)

    monkeypatch.undo()
    healed = list(render_batches(world.app.sessions, world.app.config))
    assert [b.invoices for b in healed] == [len(numbers)]
    assert printed(world) == Counter(numbers)              # each exactly once
    assert recorded(world) == [str(healed[0].invoices_pdf)] * len(numbers)


def test_batches_render_side_by_side_each_in_its_own_process(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = issue(world, 3)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    started = watch_starts(monkeypatch)
    batches = list(render_batches(world.app.sessions,
                                  configured(world, max_invoices_per_batch=1, render_processes=2)))
    assert [b.invoices for b in batches] == [1, 1, 1]
    # two at a time: the second starts before the first is done, the third once one is
    assert [before for _, before in started[:2]] == [[], [False]]
    assert started[2][1].count(False) <= 1
    assert len({c.pid for c, _ in started} | {os.getpid()}) == 4
    assert printed(world) == Counter(numbers) and claims(world) == [None] * 3
    # yielded in parcel order, whichever child finished first
    assert [printed_numbers(b.invoices_pdf, numbers) for b in batches] == [[n] for n in numbers]


def printed_numbers(pdf: Path | None, numbers: list[str]) -> list[str]:
    from tests.documents.pdf import pages_text

    assert pdf is not None
    text = " ".join(pages_text(pdf))
    return [n for n in numbers if n in text]


def test_one_render_process_means_one_child_at_a_time(world: World,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = issue(world, 2)
    started = watch_starts(monkeypatch)
    batches = list(render_batches(world.app.sessions,
                                  configured(world, max_invoices_per_batch=1, render_processes=1)))
    assert [b.invoices for b in batches] == [1, 1]
    assert [before for _, before in started] == [[], [True]]
    assert os.getpid() not in {c.pid for c, _ in started}
    assert printed(world) == Counter(numbers)


def test_an_error_in_the_child_comes_back_with_its_reason(world: World) -> None:
    numbers = issue(world, 2)
    with pytest.raises(RenderError, match="OSError: No space left on device"):
        render_pending(world.app.sessions, world.app.config, fetcher=no_space)
    assert recorded(world) == [None, None] and batch_folders(world) == []
    assert claims(world) == [None, None]
    batch = render_pending(world.app.sessions, world.app.config)
    assert batch is not None and printed(world) == Counter(numbers)


def test_the_worker_process_never_imports_weasyprint(world: World) -> None:
    numbers = issue(world, 2)
    script = ("import json, sys\n"
              "from worker.app import App, RunSummary\n"
              "app = App.load(sys.argv[1])\n"
              "summary = RunSummary()\n"
              "app.print_pending(summary)\n"
              "print(json.dumps({'batches': summary.batches, 'error': summary.render_error,\n"
              "                  'weasyprint': sorted(m for m in sys.modules\n"
              "                                       if m.split('.')[0] == 'weasyprint')}))\n")
    done = subprocess.run([sys.executable, "-c", script, str(world.config_file())], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["weasyprint"] == [] and out["error"] is None and len(out["batches"]) == 1
    assert printed(world) == Counter(numbers)


def test_slots_are_the_cores_at_most_the_configured_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert [children.slots(n) for n in (1, 2, 8)] == [1, 2, 2]


def test_the_render_child_imports_the_installed_package_whatever_the_working_directory(
        world: World, tmp_path: Path) -> None:
    """Staff run the command from a folder holding a ``worker`` folder (a second checkout,
    a home directory): the fork server (``python -c``, which on 3.11 puts the working
    directory first) must not import that one instead of the package the parent runs."""
    numbers = issue(world, 1)
    shadow = tmp_path / "elsewhere" / "worker"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise SystemExit('the working directory was imported')\n")
    script = ("import json, sys\n"
              f"sys.path.insert(0, {str(ROOT)!r})\n"  # the parent's package, as installed
              "from worker.app import App, RunSummary\n"
              "app = App.load(sys.argv[1])\n"
              "summary = RunSummary()\n"
              "app.print_pending(summary)\n"
              "print(json.dumps({'batches': summary.batches, 'error': summary.render_error}))\n")
    done = subprocess.run([sys.executable, "-c", script, str(world.config_file())],
                          cwd=shadow.parent, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["error"] is None and len(out["batches"]) == 1, out
    assert printed(world) == Counter(numbers)
