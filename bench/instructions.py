#!/usr/bin/env python
"""Intake's marginal cost per mail in instructions, against the floor's: a cross-check of
``bench/intake.py`` that does not move with the machine.

    python bench/instructions.py [--mails 50] [--lines L] [--mix realistic|held] [--seed 1]

The same world, children and marginal as ``bench/intake.py`` (N and 3N mails; per mail
= (I(3N) - I(N)) / 2N, so start-up and imports cancel out), counted by valgrind's
callgrind (``Collected``: instructions executed by the child, whatever else the machine
does) instead of timed. One run per size is enough: the counts repeat (hash seed fixed)
within a few hundredths of a percent. The children run two at a time, one per core.

Why: on a shared VM the CPU-time ratio moves with the host, not only with the code.
The floor is mostly C and Rust (calamine) and stdlib email parsing; intake is mostly
Python. On a host whose Python runs slowly relative to native code (a busy neighbour,
another CPU model) the same code measured 3.8-4.1x in one session and 5.0-5.4x in
another. Instructions are the same on every host: a change that saves 1% of intake's
work shows as 1% here, where CPU time cannot tell it from noise. It is not the issue's
goal (that is CPU time, ``bench/intake.py``); it tells which way the code moved.

Needs valgrind (Debian: ``apt-get install valgrind``); about 50x slower than a plain
run: ~4 min at the default 50 -> 150 mails on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from common import ROOT, Row, machine, table  # noqa: E402
from world import build_worlds, write_config  # noqa: E402

INTAKE = Path(__file__).resolve().parent / "intake.py"
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def counted(role: str, args: list[str], workdir: Path) -> tuple[int, dict[str, Any]]:
    """Instructions of ``bench/intake.py --child ROLE ARGS`` under callgrind, and the
    child's JSON report. Exits with the log's tail when the child fails. Not
    ``common.run_child``: that one times a single child and reaps any process of ours
    (``waitpid(-1)``), which would take the other child running beside this one."""
    out = workdir / f"{role}.json"
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
           sys.executable, str(INTAKE), "--child", role, *args, "--child-out", str(out)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict and set orders each run
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    found = _COLLECTED.search(proc.stderr)
    if proc.returncode != 0 or found is None or not out.exists():
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
        raise SystemExit(f"bench: {role} child under valgrind failed (exit code {proc.returncode})")
    return int(found.group(1)), json.loads(out.read_text(encoding="utf-8"))


def measure(n: int, *, lines: int | None, mix: str, seed: int, tmp: Path | None,
            log: Any = print) -> dict[str, Any]:
    """Floor and intake instructions at N and 3N mails; marginal per mail and ratio."""
    base = Path(tempfile.mkdtemp(prefix="bench-instructions-", dir=tmp))
    try:
        log(f"[instructions] generating {n} + {2 * n} mails ...")
        worlds = build_worlds(base, n, seed, lines, mix)
        jobs = []
        for config_path, stats in worlds:
            run_root = base / f"run-{stats.mails}"
            shutil.copytree(config_path.parent, run_root)
            jobs.append((stats, "floor", [str(run_root / "mail"), "--floor-reader", "calamine"],
                         run_root / "floor"))
            jobs.append((stats, "intake", [str(write_config(run_root))], run_root / "intake"))
        for *_, workdir in jobs:
            workdir.mkdir()
        log(f"[instructions] {len(jobs)} children under valgrind, two at a time ...")
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda job: counted(job[1], job[2], job[3]), jobs))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    counts: dict[tuple[int, str], int] = {}
    warnings = []
    for (stats, role, _, _), (count, report) in zip(jobs, results, strict=True):
        counts[stats.mails, role] = count
        if role == "intake" and report["by_status"] != stats.expected:
            warnings.append(f"{stats.mails} mails: statuses {report['by_status']} "
                            f"!= expected {stats.expected}")
    small, big = n, 3 * n
    per_mail = {role: (counts[big, role] - counts[small, role]) / (big - small)
                for role in ("floor", "intake")}
    return {"n": n, "lines": lines, "mix": mix, "seed": seed, "counts": {
        f"{size}:{role}": count for (size, role), count in counts.items()},
        "floor_per_mail": per_mail["floor"], "intake_per_mail": per_mail["intake"],
        "ratio": per_mail["intake"] / per_mail["floor"], "warnings": warnings}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mails", type=int, default=50, help="N: the sizes are N and 3N (50)")
    p.add_argument("--lines", type=int, default=None, help="trainee lines of every form")
    p.add_argument("--mix", choices=("realistic", "held"), default="realistic")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tmp", type=Path, default=None, help="parent folder for the temp worlds")
    args = p.parse_args(argv)
    if args.mails < 1:
        raise SystemExit("--mails must be at least 1")
    if shutil.which("valgrind") is None:
        raise SystemExit("bench: valgrind is not installed (Debian: apt-get install valgrind)")
    before = machine()
    r = measure(args.mails, lines=args.lines, mix=args.mix, seed=args.seed, tmp=args.tmp,
                log=lambda s: print(s, flush=True))
    label = args.mix + (f" {args.lines}-line forms" if args.lines else "")
    print(f"\nintake instructions - {before}")
    print(table([Row(f"intake, {label}, per mail ({r['n']}->{3 * r['n']} marginal), "
                     "instructions (callgrind)", r["intake_per_mail"] / 1e6, "M",
                     r["floor_per_mail"] / 1e6, r["ratio"], "cross-check of CPU <= 4x")]))
    for w in r["warnings"]:
        print(f"WARNING: {w}")
    print(json.dumps({"bench": "instructions", **r}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
