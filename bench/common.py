"""Shared bench plumbing: measured child processes, process-tree memory, the table.

Every measurement runs in a fresh child process (``python bench/<script>.py --child
ROLE ...``) so that imports, caches and memory of one measurement never leak into the
next. The parent only orchestrates; it does not render or parse anything it times.

Memory of a child is taken three ways (Linux):

* ``own_hwm_mb`` - the child's own VmHWM (``/proc/self/status``, read by the child at
  its end): the exact peak RSS of that one process since exec.
* ``kids_maxrss_mb`` - ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` read by the child at
  its end: the exact peak RSS of the largest process it spawned and reaped (render
  children of the new code, say). One process's peak, not a sum.
* ``tree_peak_mb`` - sampled by the parent: every ``SAMPLE_S`` seconds it lists the
  child and all its descendants (psutil) and sums their RSS; the maximum of that sum.
  Shared pages (a forked child's copy-on-write pages, shared libraries) count once per
  process, so this is an upper bound of what the tree holds; a spike shorter than the
  sampling interval can be missed, which the two exact figures above bound from below.

``tree_mb`` = max of the three: the figure the goals are judged on.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SAMPLE_S = 0.1  # tree sampling period: ~3 ms of CPU per sample on this machine

# ------------------------------------------------------------------------ in the child


def own_hwm_mb() -> float | None:
    """This process's VmHWM in MB (peak RSS since exec), None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_now() -> float:
    """CPU seconds of this process plus its reaped children (user + system; getrusage,
    microseconds, where ``os.times`` counts 10 ms clock ticks)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child_report(out: str | Path, **data: Any) -> None:
    """Write a child's JSON result, with its own and its children's peak memory."""
    data["own_hwm_mb"] = own_hwm_mb()
    data["kids_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    Path(out).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


# ----------------------------------------------------------------------- in the parent


class TreeWatch(threading.Thread):
    """Samples the RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int, period: float = SAMPLE_S) -> None:
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.peak_sum = 0          # bytes
        self.peak_procs = 0        # processes alive at once, at most
        self.seen: set[int] = set()
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            total = alive = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                    alive += 1
                    self.seen.add(p.pid)
                except psutil.Error:
                    continue
            self.peak_sum = max(self.peak_sum, total)
            self.peak_procs = max(self.peak_procs, alive)
            self._stop_event.wait(self.period)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_child(script: Path, role: str, args: list[str], workdir: Path,
              env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python SCRIPT --child ROLE ARGS --child-out F`` and return its JSON result
    plus ``wall_s``/``cpu_s`` (whole process, from wait4: includes start-up and every
    reaped descendant), ``tree_peak_mb``, ``tree_procs`` and ``tree_mb`` (see the module
    docstring). Exits with the child's log tail when it fails."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / f"{role}.json"
    log_path = workdir / f"{role}.log"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(script), "--child", role, *args, "--child-out", str(out)]
    with log_path.open("wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, **(env or {})})
        watch = TreeWatch(proc.pid)
        watch.start()
        # wait4, not Popen.wait: the rusage of the child and its reaped descendants
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        watch.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not out.exists():
        sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
        raise SystemExit(f"bench: {script.name} {role} child failed "
                         f"(exit code {proc.returncode}); log: {log_path}")
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    data["wall_s"] = wall
    data["cpu_s"] = usage.ru_utime + usage.ru_stime
    data["tree_peak_mb"] = watch.peak_sum / 2**20
    data["tree_procs"] = watch.peak_procs
    data["tree_pids"] = len(watch.seen)
    data["tree_mb"] = max(data["tree_peak_mb"], data.get("own_hwm_mb") or 0,
                          data.get("kids_maxrss_mb") or 0)
    data["load1"] = os.getloadavg()[0]
    return data


def best(runs: list[dict[str, Any]], key: str) -> float:
    """The minimum of one figure over repeats (the least disturbed run)."""
    return min(r[key] for r in runs)


# ---------------------------------------------------------------------------- the table


@dataclass
class Row:
    """One line of the table. ``goal`` is text (``<= 4x``); ``ok`` None: no goal."""

    metric: str
    value: float | None
    unit: str
    floor: float | None = None
    ratio: float | None = None
    goal: str = ""
    ok: bool | None = None

    def cells(self) -> list[str]:
        def num(x: float | None) -> str:
            if x is None:
                return "-"
            return f"{x:.3g}" if abs(x) < 10 else f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}"

        value = f"{num(self.value)} {self.unit}".strip() if self.value is not None else "-"
        floor = f"{num(self.floor)} {self.unit}".strip() if self.floor is not None else "-"
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else "-"
        verdict = "-" if self.ok is None else "PASS" if self.ok else "FAIL"
        return [self.metric, value, floor, ratio, self.goal or "-", verdict]


HEAD = ["metric", "value", "floor", "ratio", "goal", "pass/fail"]


def table(rows: list[Row]) -> str:
    cells = [HEAD, *[r.cells() for r in rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEAD))]
    lines = []
    for n, c in enumerate(cells):
        lines.append("  ".join(x.ljust(w) if i == 0 else x.rjust(w)
                               for i, (x, w) in enumerate(zip(c, widths, strict=True))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _version(module: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    """One line: commit, cores, load, Python and the measured libraries' versions."""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, check=False).stdout.strip()
        branch = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--abbrev-ref", "HEAD"],
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = branch = "?"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{time.strftime('%Y-%m-%d %H:%M')}  {branch}@{commit}  {os.cpu_count()} cores  "
            f"load {load}  Python {platform.python_version()}  weasyprint "
            f"{_version('weasyprint')}  python-calamine {_version('python-calamine')}  "
            f"SQLAlchemy {_version('sqlalchemy')}")
