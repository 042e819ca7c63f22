"""Shared bench plumbing: measured child processes, process-tree memory and CPU, the table.

Every measurement runs in a fresh child process (``python bench/<script>.py --child
ROLE ...``) so that imports, caches and memory of one measurement never leak into the
next. The parent only orchestrates; it does not render or parse anything it times.

Memory of a child's process tree (Linux):

* ``own_hwm_mb`` - the child's own VmHWM (``/proc/self/status``, read by the child at
  its end): the exact peak RSS of that one process since exec.
* ``kids_maxrss_mb`` - ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` read by the child at
  its end: the exact peak RSS of the largest process it reaped (the kernel carries the
  maximum up through each wait). One process's peak, not a sum.
* ``tree_pss_mb`` - sampled by the parent: every ``SAMPLE_S`` seconds it lists the
  child and all its descendants (psutil) and sums their RSS; whenever that sum is
  within 5% of its peak so far (at most every ``PSS_EVERY_S``: reading smaps costs
  ~20 ms for a big process) it also sums their PSS - proportional set size: a page
  shared by k processes (copy-on-write after fork, a forkserver's preloaded modules,
  libraries) counts 1/k in each, so the sum is what the tree holds in memory. The
  maximum of that sum. ``tree_rss_mb``, the peak RSS sum, counts shared pages once
  per process: an upper bound, kept in the JSON.

``largest_mb`` - the highest VmHWM of any one process of the tree: the two figures
above, and each descendant's VmHWM read at every sample (``/proc/PID/status``; exact
but for growth in a process's last sample period, e.g. a render process a forkserver
starts and reaps, which the child's ru_maxrss never sees).

``tree_mb`` = max(tree_pss_mb, largest_mb): the figure the goals are judged on (a
peak shorter than a sample is bounded below by the largest single process).

CPU of the timed work, ``work_cpu_s``: the child measures its window itself (user +
system of itself and of every process it reaped meanwhile, ``getrusage``). Processes
it does not reap - a forkserver left running at its exit, and through it the render
processes the forkserver started and reaped - are added: the parent makes itself a
child subreaper (``PR_SET_CHILD_SUBREAPER``), so such orphans are reparented to it,
reaped after the child, and their CPU is the growth of the parent's RUSAGE_CHILDREN
beyond the child's own wait4 rusage. ``cpu_s`` is the whole tree's, start-up and exit
included.
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
SAMPLE_S = 0.1     # tree sampling period: ~3 ms of CPU per sample on this machine
PSS_EVERY_S = 0.5  # PSS read at most this often (smaps_rollup: ~20 ms for 700 MB)
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h

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


def system_now() -> float:
    """The system (kernel) part of ``cpu_now``, seconds."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_stime + kids.ru_stime


def child_report(out: str | Path, window: tuple[float, float], **data: Any) -> None:
    """Write a child's JSON result, with its own and its children's peak memory, and
    the CPU it spent outside its timed window (``window``: ``cpu_now()`` at its start
    and end)."""
    data["outside_cpu_s"] = window[0] + cpu_now() - window[1]
    data["own_hwm_mb"] = own_hwm_mb()
    data["kids_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    Path(out).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


# ----------------------------------------------------------------------- in the parent


class TreeWatch(threading.Thread):
    """Samples the memory of a process and all its descendants until stopped."""

    def __init__(self, pid: int, period: float = SAMPLE_S) -> None:
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.peak_rss = 0          # bytes, sum over the tree
        self.peak_pss = 0          # bytes, sum over the tree
        self.peak_procs = 0        # processes alive at once, at most
        self.largest = 0           # bytes: the highest VmHWM of any process seen
        self.seen: set[int] = set()
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        last_pss = 0.0
        while not self._stop_event.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            rss = 0
            alive = []
            for p in procs:
                try:
                    rss += p.memory_info().rss
                    alive.append(p)
                    self.seen.add(p.pid)
                except psutil.Error:
                    continue
                self.largest = max(self.largest, _hwm_bytes(p.pid))
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_procs = max(self.peak_procs, len(alive))
            now = time.monotonic()
            if rss >= 0.95 * self.peak_rss and now - last_pss >= PSS_EVERY_S:
                last_pss = now
                pss = 0
                for p in alive:
                    try:
                        pss += p.memory_full_info().pss
                    except (psutil.Error, AttributeError):
                        pss += 0
                self.peak_pss = max(self.peak_pss, pss)
            self._stop_event.wait(self.period)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _hwm_bytes(pid: int) -> int:
    """VmHWM of a process (0 if gone): its peak RSS so far."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _become_subreaper() -> bool:
    """Orphans of our children's trees get reparented to us (Linux), so their CPU ends
    up in our RUSAGE_CHILDREN once reaped; False where that is not available."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _reap_orphans(limit_s: float = 30.0) -> None:
    """Wait for processes of the finished tree that were reparented to us."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                print("bench: a process of the measured tree is still running; its CPU is "
                      "not counted", file=sys.stderr)
                return
            time.sleep(0.05)


def _rusage_children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_child(script: Path, role: str, args: list[str], workdir: Path,
              env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python SCRIPT --child ROLE ARGS --child-out F`` and return its JSON result
    plus ``wall_s`` (whole process), ``cpu_s`` (every process of the tree, start-up
    included), ``work_cpu_s`` (the same without the child's own CPU outside its timed
    window), ``tree_pss_mb``/``tree_rss_mb``/``tree_procs``/``tree_pids`` and
    ``tree_mb`` (see the module docstring). Exits with the child's log tail when it
    fails."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / f"{role}.json"
    log_path = workdir / f"{role}.log"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(script), "--child", role, *args, "--child-out", str(out)]
    subreaper = _become_subreaper()
    with log_path.open("wb") as log:
        cpu0 = _rusage_children_cpu()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, **(env or {})})
        watch = TreeWatch(proc.pid)
        watch.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        watch.stop()
        if subreaper:
            _reap_orphans()
        cpu = _rusage_children_cpu() - cpu0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not out.exists():
        sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
        raise SystemExit(f"bench: {script.name} {role} child failed "
                         f"(exit code {proc.returncode}); log: {log_path}")
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    data["wall_s"] = wall
    data["cpu_s"] = cpu
    # the child's window (itself and what it reaped meanwhile) + the orphans we reaped
    data["window_cpu_s"] = data["work_cpu_s"]
    data["orphans_cpu_s"] = cpu - (usage.ru_utime + usage.ru_stime)
    data["work_cpu_s"] = data["window_cpu_s"] + data["orphans_cpu_s"]
    data["tree_rss_mb"] = watch.peak_rss / 2**20
    data["tree_pss_mb"] = watch.peak_pss / 2**20
    data["tree_procs"] = watch.peak_procs
    data["tree_pids"] = len(watch.seen)
    data["largest_mb"] = max(watch.largest / 2**20, data.get("own_hwm_mb") or 0,
                             data.get("kids_maxrss_mb") or 0)
    data["tree_mb"] = max(data["tree_pss_mb"], data["largest_mb"])
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
