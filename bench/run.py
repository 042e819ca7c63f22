#!/usr/bin/env python
"""Issue 12's bench: intake and rendering against their floors, as ONE table.

    python bench/run.py [--repeat 1] [--mails 200] [--profile-mails 100]
                        [--apps 40] [--trainees 10] [--memory-apps 20,80]
                        [--only intake|render] [--out FILE]

Runs, each in fresh child processes (see bench/intake.py and bench/render.py):

1. intake, realistic mix: marginal CPU and wall per mail between --mails N and 3N,
   against the floor (stdlib email parsing + python-calamine reading the same forms);
   peak RSS of the intake process at 3N and its growth from N.
2. intake, the issue's profile case: every form 25 lines, every mail held
   (--profile-mails N and 3N; 0 skips it). CPU and wall per mail against the floor.
3. print step: --apps x --trainees invoices (每人一张) + --apps labels, wall and CPU per
   page against bare WeasyPrint rendering as many simple invoice pages (100 a document)
   in one process;
   peak memory of the print step's whole process tree there and at each --memory-apps
   size.

Then prints: metric, value, floor, ratio, goal, pass/fail; the machine line (commit,
cores, load) under it; and one JSON line with every figure. --out FILE also writes the
table to FILE. Defaults take about 4-6 minutes on 2 idle cores; --repeat 3 (minimum of
three runs per figure) for figures to publish, on a machine as quiet as you can get.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import intake  # noqa: E402
import render  # noqa: E402
from common import Row, machine, table  # noqa: E402


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=1, help="runs per figure; minimum kept (1)")
    p.add_argument("--mails", type=int, default=200, help="intake sizes N and 3N (200)")
    p.add_argument("--profile-mails", type=int, default=100,
                   help="N for the 25-line all-held case (100; 0 skips it)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--apps", type=int, default=40, help="render: applications (40)")
    p.add_argument("--trainees", type=int, default=10, help="render: trainees each (10)")
    p.add_argument("--memory-apps", default="20,80",
                   help="render: more sizes (applications) for memory only (20,80)")
    p.add_argument("--only", choices=("intake", "render"), help="run one half only")
    p.add_argument("--tmp", type=Path, default=None, help="parent folder for temp worlds")
    p.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = p.parse_args(argv)
    if args.repeat < 1 or args.mails < 1:
        raise SystemExit("--repeat and --mails must be at least 1")
    if args.only != "render":
        missing = intake.floor_reader_missing("calamine")
        if missing:
            raise SystemExit(f"bench: {missing}")

    started, head = time.perf_counter(), machine()
    rows: list[Row] = []
    results: dict[str, object] = {}
    if args.only != "render":
        real = intake.measure(args.mails, repeat=args.repeat, seed=args.seed, tmp=args.tmp,
                              label="realistic", log=log)
        rows += intake.rows(real)
        results["intake"] = real
        if args.profile_mails:
            held = intake.measure(args.profile_mails, lines=25, mix="held", repeat=args.repeat,
                                  seed=args.seed, tmp=args.tmp, label="25-line held", log=log)
            rows += intake.rows(held, memory=False)
            results["intake_25_held"] = held
    if args.only != "intake":
        rend = render.measure(args.apps, args.trainees, repeat=args.repeat,
                              memory_apps=render.memory_sizes(args.memory_apps), tmp=args.tmp,
                              log=log)
        rows += render.rows(rend)
        results["render"] = rend
    minutes = (time.perf_counter() - started) / 60
    loads = [x for r in results.values() for size in
             ([r["load1"]] if "load1" in r else [s["load1"] for s in r["sizes"].values()])
             for x in size] if results else []
    lines = [
        f"issue 12 bench (python bench/run.py --repeat {args.repeat}): intake, median of "
        f"{args.repeat} paired repeat(s); render, min of {args.repeat} run(s); {minutes:.1f} min",
        f"start: {head}",
        table(rows),
        "intake per mail = (t(3N) - t(N)) / 2N, timed inside the child (start-up excluded); "
        "intake floor = email (compat32) + python-calamine on the same mails.",
        "print per page = print_pending's time / (invoices + labels), all-in; floor = bare "
        "WeasyPrint, as many simple invoice pages, 100 a document, one process.",
        "CPU = user + system of every process of the step's tree; memory = the tree's peak "
        "(sampled PSS sum, at least its largest process's VmHWM): bench/README.md.",
        f"load average (1 min) at the end of each timed run: min {min(loads, default=0):.1f}, "
        f"max {max(loads, default=0):.1f}, now {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores",
    ]
    lines += [intake.spread(r) for name, r in results.items() if name.startswith("intake")]  # type: ignore[arg-type]
    for name, r in results.items():
        for w in r.get("warnings", []):  # type: ignore[union-attr]
            lines.append(f"WARNING ({name}): {w}")
    text = "\n".join(lines)
    print(text)
    print(json.dumps({"bench": "issue-12", "repeat": args.repeat, "machine": head, **results},
                     ensure_ascii=False, default=str))
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
