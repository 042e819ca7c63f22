#!/usr/bin/env python
"""Intake benchmark: the marginal cost of a mail in ``App.run_once()``, against a floor.

    python bench/intake.py [--mails 200] [--lines L] [--mix realistic|held]
                           [--repeat 3] [--seed 1] [--floor-reader calamine|openpyxl]
                           [--keep] [--profile FILE]

Two sizes of one seeded world are measured, N and 3N mails (the first N mails of the
3N world are the N world's, byte for byte). Each size is a fresh installation in a
temp folder (SQLite migrated with ``init_db``, the platform's payments imported with
``read_payment_file``/``store_payments``, the mails delivered into a stdlib
``mailbox.Maildir`` with the file's mtime - the worker's arrival time - set to the
mail's date). Per size and repeat, two child processes run on the same mail files:

* floor  - the bare cost of reading the mails: ``email.message_from_bytes`` (compat32,
  the worker's parser), walk the parts, and read every spreadsheet attachment with
  python-calamine (every sheet, every row; ``--floor-reader openpyxl`` for the old
  floor, openpyxl ``read_only``). No checks, no database, no moves.
* intake - ``App.from_config(load_config(config.toml)).run_once()`` with the steps
  run_once does after the pass stubbed out on the App instance: ``print_pending``
  (rendering, measured by bench/render.py) and ``send_replies`` (SMTP). The bench
  checks afterwards that no PDF was written.

Times are taken inside each child around the work (start-up and imports excluded):
wall, and CPU (user + system of the child and any children it reaped). The cost per
mail is MARGINAL: (t(3N) - t(N)) / 2N, so whatever a pass pays once (schema check,
listing, first imports inside the pass) cancels out. --repeat K runs both sizes K times
on fresh copies; each repeat's four runs (floor and intake at N and 3N) give that
repeat's marginals and ratio, and the figures kept are their medians (``paired``).
Memory: the intake child's peak RSS at N and at 3N (bench/common.py: own VmHWM, and
the sampled sum over its process tree) and the growth between them (flat = the goal).

Mails (--mix realistic): forms of 1-50 trainee lines (--lines L: every form L lines),
GBK/UTF-8 plain or HTML bodies with the recipient written several ways, ~82% valid
applications, the rest held (refunded or unknown order, urban district, study card, no
recipient, no form) or ignored (auto-replies). --mix held: every mail has a form and is
held, for one of the five form reasons drawn at random (checks still run and record
every reason); ``--lines 25 --mix held`` is the issue's profile case. The pass's
statuses are checked against the mix. Generation time is not measured.

--profile FILE runs one more (untimed) intake of N mails under cProfile, writes the
stats to FILE and prints the top functions in worker/.

Output: a table (bench/common.py) and one JSON line. ``python bench/run.py`` runs this
with the render bench and prints the combined table.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from common import Row, best, child_report, cpu_now, machine, run_child, system_now, table  # noqa: E402
from world import build_worlds, write_config  # noqa: E402

HERE = Path(__file__).resolve()

GOAL_RATIO = 4.0        # issue 12 goal 1: intake per mail <= 4x the floor's
GOAL_RSS_MB = 150.0     # ... with peak RSS under 150 MB
GOAL_GROWTH = 0.10      # ... and flat: 3N's peak at most 10% above N's (the bench's reading)

# --------------------------------------------------------------------------- children


def child_intake(config_path: str, out: str, profile: str | None) -> None:
    t0 = time.perf_counter()
    from worker.app import App
    from worker.config import load_config

    app = App.from_config(load_config(config_path))
    startup = time.perf_counter() - t0
    # The steps run_once does after the pass: rendering (bench/render.py measures it)
    # and sending (SMTP). Stubbed on the instance, as run_once calls them on self.
    for name in ("print_pending", "send_replies"):
        setattr(app, name, lambda *a, **k: None)
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t1, c1, s1 = time.perf_counter(), cpu_now(), system_now()
    summary = app.run_once()
    seconds, c2, s2 = time.perf_counter() - t1, cpu_now(), system_now()
    cpu = c2 - c1
    if prof is not None:
        prof.disable()
        prof.dump_stats(profile)
    pdfs = sum(1 for _ in app.config.output_dir.rglob("*.pdf"))
    app.close()
    child_report(out, (c1, c2), seconds=seconds, work_cpu_s=cpu, work_sys_s=s2 - s1,
                 startup_s=startup, processed=summary.processed, by_status=summary.by_status,
                 pdfs=pdfs)


def child_floor(maildir: str, out: str, reader: str) -> None:
    t0 = time.perf_counter()
    import email
    import email.policy

    if reader == "calamine":
        from python_calamine import CalamineWorkbook

        def read(data: bytes) -> int:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            return sum(len(book.get_sheet_by_name(name).to_python())
                       for name in book.sheet_names)
    else:
        from openpyxl import load_workbook

        def read(data: bytes) -> int:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            count = sum(1 for ws in book.worksheets for _ in ws.iter_rows(values_only=True))
            book.close()
            return count

    policy = email.policy.compat32  # the worker's parser
    startup = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), cpu_now()
    mails = attachments = rows = 0
    paths = [e.path for sub in ("new", "cur") for e in os.scandir(os.path.join(maildir, sub))
             if e.is_file() and not e.name.startswith(".")]
    for path in paths:
        with open(path, "rb") as f:
            raw = f.read()
        msg = email.message_from_bytes(raw, policy=policy)
        mails += 1
        for part in msg.walk():
            if part.is_multipart():
                continue
            if not part.get_filename() and part.get_content_disposition() != "attachment":
                continue
            data = part.get_payload(decode=True)
            attachments += 1
            if isinstance(data, bytes) and data[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0"):
                rows += read(data)
    seconds, c2 = time.perf_counter() - t1, cpu_now()
    cpu = c2 - c1
    child_report(out, (c1, c2), seconds=seconds, work_cpu_s=cpu, startup_s=startup, processed=mails,
                 attachments=attachments, rows=rows)


def floor_reader_missing(reader: str) -> str | None:
    """A clear sentence when the floor's reader cannot be imported, else None."""
    if reader != "calamine":
        return None
    try:
        import python_calamine  # noqa: F401
    except ImportError as e:
        return (f"python-calamine is not importable ({e}): the intake floor of issue 12 "
                "reads forms with it. Install it (pip install python-calamine) or pass "
                "--floor-reader openpyxl for the old floor.")
    return None


# ---------------------------------------------------------------------------- running


def measure(n: int, *, lines: int | None = None, mix: str = "realistic", repeat: int = 1,
            seed: int = 1, floor_reader: str = "calamine", tmp: Path | None = None,
            keep: bool = False, label: str = "realistic", log: Any = print) -> dict[str, Any]:
    """Floor and intake at N and 3N mails, ``repeat`` times each; the marginal figures.

    Returns a dict: per-mail marginal ``intake_cpu_ms``/``intake_wall_ms`` and
    ``floor_cpu_ms``/``floor_wall_ms``, their ratios, ``rss_n_mb``/``rss_3n_mb`` (MB,
    the intake tree's peak, max over repeats), the per-size runs and any warnings.
    """
    missing = floor_reader_missing(floor_reader)
    if missing:
        raise SystemExit(f"bench: {missing}")
    base = Path(tempfile.mkdtemp(prefix=f"bench-intake-{label.replace(' ', '-')}-", dir=tmp))
    result: dict[str, Any] = {"label": label, "n": n, "lines": lines, "mix": mix,
                              "seed": seed, "floor_reader": floor_reader, "repeat": repeat,
                              "warnings": [], "sizes": {}}
    try:
        log(f"[intake {label}] generating {n} + {2 * n} mails ...")
        worlds = build_worlds(base, n, seed, lines, mix)
        for _, stats in worlds:
            log(f"[intake {label}] {stats.mails} mails: {stats.forms} forms, {stats.lines} lines, "
                f"{stats.mail_bytes / 1e6:.1f} MB; mix {stats.kinds}")
        runs: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
            stats.mails: ([], []) for _, stats in worlds}
        # Each repeat runs both sizes, floor then intake for each, so that a slow spell of
        # the machine (a shared VM's CPU time moves by a quarter within minutes) weighs
        # on N and 3N alike instead of on one side of the marginal.
        for attempt in range(repeat):
            for config_path, stats in worlds:
                size = stats.mails
                floors, intakes = runs[size]
                run_root = base / f"run-{size}-{attempt}"
                shutil.copytree(config_path.parent, run_root)
                os.sync()
                # Run folders are all deleted at the end, none between runs: on ext4
                # without a journal (this VM's root) creating a file walks the inodes
                # deleted within the last half-minute (ialloc.c recently_deleted), so a
                # run right after a deletion paid for the bench's own clean-up, as
                # system time, in each attachment intake stores: 0.3-1.4 s of a
                # 900-mail pass against 0.3 s without it.
                floors.append(run_child(HERE, "floor", [str(run_root / "mail"),
                                                        "--floor-reader", floor_reader],
                                        run_root))
                intake = run_child(HERE, "intake", [str(write_config(run_root))], run_root)
                intakes.append(intake)
                log(f"[intake {label}] {size} mails, run {attempt + 1}: floor "
                    f"{floors[-1]['seconds']:.2f}s ({floors[-1]['work_cpu_s']:.2f} cpu), "
                    f"intake {intake['seconds']:.2f}s ({intake['work_cpu_s']:.2f} cpu, "
                    f"{intake['work_sys_s']:.2f} system, "
                    f"{intake['tree_mb']:.0f} MB); load {intake['load1']:.1f}")
                if intake["by_status"] != stats.expected:
                    result["warnings"].append(f"{size} mails: statuses {intake['by_status']} "
                                              f"!= expected {stats.expected}")
                if intake["pdfs"]:
                    result["warnings"].append(f"{size} mails: the intake child wrote "
                                              f"{intake['pdfs']} PDFs (printing not stubbed)")
        for _, stats in worlds:
            size = stats.mails
            floors, intakes = runs[size]
            result["sizes"][size] = {
                "mails": size, "forms": stats.forms, "lines": stats.lines,
                "expected": stats.expected,
                "intake_s": best(intakes, "seconds"), "intake_cpu_s": best(intakes, "work_cpu_s"),
                "floor_s": best(floors, "seconds"), "floor_cpu_s": best(floors, "work_cpu_s"),
                "intake_rss_mb": max(r["tree_mb"] for r in intakes),
                "intake_hwm_mb": max(r["own_hwm_mb"] or 0 for r in intakes),
                "floor_rss_mb": max(r["tree_mb"] for r in floors),
                "intake_runs_s": [round(r["seconds"], 3) for r in intakes],
                "intake_runs_cpu_s": [round(r["work_cpu_s"], 3) for r in intakes],
                "intake_runs_sys_s": [round(r["work_sys_s"], 3) for r in intakes],
                "floor_runs_cpu_s": [round(r["work_cpu_s"], 3) for r in floors],
                "floor_runs_s": [round(r["seconds"], 3) for r in floors],
                "load1": [round(r["load1"], 2) for r in intakes],
            }
    finally:
        if keep:
            log(f"[intake {label}] kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    small, big = result["sizes"][n], result["sizes"][3 * n]
    result.update({"rss_n_mb": small["intake_rss_mb"], "rss_3n_mb": big["intake_rss_mb"]})
    result.update(paired(runs[n], runs[3 * n], n, result["warnings"]))
    return result


def paired(small: tuple[list[dict[str, Any]], list[dict[str, Any]]],
           big: tuple[list[dict[str, Any]], list[dict[str, Any]]], n: int,
           warnings: list[str]) -> dict[str, Any]:
    """The marginal figures, each repeat on its own, then their median.

    ``small``/``big``: (floor runs, intake runs) at N and 3N, one of each per repeat,
    in repeat order. Per repeat k and kind (CPU, wall): intake's and the floor's
    marginal ms per mail, ``(t(3N) - t(N)) / 2N``, and their ratio. The four runs of a
    repeat follow each other within seconds, so the machine's speed at that moment
    weighs on numerator and denominator alike; the minimum of each figure over all
    repeats (``min_*``, what the bench reported before) takes the four figures from
    different moments, and a shared VM's speed moves by a quarter within minutes.
    Returns ``{kind}_ratio`` (the median of the repeats' ratios; None if any repeat's
    marginal is not positive: noise, use more mails), ``intake_{kind}_ms`` and
    ``floor_{kind}_ms`` (medians), the per-repeat lists and the ``min_*`` figures.
    """
    out: dict[str, Any] = {}
    keys = {"cpu": "work_cpu_s", "wall": "seconds"}
    for kind, key in keys.items():
        per: dict[str, list[float]] = {"intake": [], "floor": [], "ratio": []}
        for who, index in (("floor", 0), ("intake", 1)):
            per[who] = [1000 * (b[key] - s[key]) / (2 * n)
                        for s, b in zip(small[index], big[index], strict=True)]
        positive = all(x > 0 for x in per["intake"] + per["floor"])
        per["ratio"] = [i / f for i, f in zip(per["intake"], per["floor"], strict=True)] if positive else []
        if not positive:
            warnings.append(f"{kind}: a repeat's marginal cost is not positive (intake "
                            f"{per['intake']}, floor {per['floor']} ms): noise; use more mails")
        out[f"intake_{kind}_ms"] = statistics.median(per["intake"])
        out[f"floor_{kind}_ms"] = statistics.median(per["floor"])
        out[f"{kind}_ratio"] = statistics.median(per["ratio"]) if positive else None
        out[f"{kind}_ratios"] = [round(r, 3) for r in per["ratio"]]
        minimum = {who: 1000 * (best(big[index], key) - best(small[index], key)) / (2 * n)
                   for who, index in (("floor", 0), ("intake", 1))}
        out[f"min_intake_{kind}_ms"], out[f"min_floor_{kind}_ms"] = minimum["intake"], minimum["floor"]
        out[f"min_{kind}_ratio"] = (minimum["intake"] / minimum["floor"]
                                    if minimum["intake"] > 0 and minimum["floor"] > 0 else None)
    return out


def rows(r: dict[str, Any], memory: bool = True) -> list[Row]:
    """Table rows: marginal CPU and wall per mail against the floor; memory at 3N and
    its growth from N."""
    n = r["n"]
    what = f"intake, {r['label']}, per mail ({n}->{3 * n} marginal)"
    out = [
        Row(f"{what}, {kind.upper() if kind == 'cpu' else kind}", r[f"intake_{kind}_ms"], "ms",
            r[f"floor_{kind}_ms"], r[f"{kind}_ratio"], f"<= {GOAL_RATIO:g}x",
            None if r[f"{kind}_ratio"] is None else r[f"{kind}_ratio"] <= GOAL_RATIO)
        for kind in ("cpu", "wall")
    ]
    if memory:
        growth = r["rss_3n_mb"] - r["rss_n_mb"]
        out += [
            Row(f"intake, {r['label']}, peak RSS at {3 * n} mails", r["rss_3n_mb"], "MB",
                goal=f"< {GOAL_RSS_MB:g} MB", ok=r["rss_3n_mb"] < GOAL_RSS_MB),
            Row(f"intake, {r['label']}, RSS growth {n}->{3 * n} mails (from "
                f"{r['rss_n_mb']:.0f} MB)", growth, "MB",
                ratio=r["rss_3n_mb"] / r["rss_n_mb"], goal=f"flat (<= {GOAL_GROWTH:.0%})",
                ok=r["rss_3n_mb"] <= r["rss_n_mb"] * (1 + GOAL_GROWTH)),
        ]
    return out


def spread(r: dict[str, Any]) -> str:
    """One line: each repeat's CPU ratio, and the ratio of the minimum figures."""
    ratios = ", ".join(f"{x:.2f}" for x in r["cpu_ratios"]) or "-"
    least = r["min_cpu_ratio"]
    return (f"{r['label']}: CPU ratio per repeat {ratios}; of the minimum figures "
            f"{r['min_intake_cpu_ms']:.3g} / {r['min_floor_cpu_ms']:.3g} ms = "
            + (f"{least:.2f}x" if least is not None else "-"))


def profile_run(n: int, args: argparse.Namespace) -> None:
    import pstats

    base = Path(tempfile.mkdtemp(prefix="bench-intake-profile-", dir=args.tmp))
    try:
        print(f"[profile] generating {n} mails ...", flush=True)
        config_path, _ = build_worlds(base, n, args.seed, args.lines, args.mix)[0]
        data = run_child(HERE, "intake", [str(config_path), "--profile-out", str(args.profile)],
                         base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"[profile] intake under cProfile: {data['seconds']:.2f}s -> {args.profile}")
    stats = pstats.Stats(str(args.profile))
    found = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in \
            stats.stats.items():  # type: ignore[attr-defined]
        if f"{os.sep}worker{os.sep}" in filename and f"{os.sep}bench{os.sep}" not in filename:
            rel = filename[filename.rindex(f"{os.sep}worker{os.sep}") + 1:]
            found.append((cumtime, tottime, ncalls, f"{rel}:{line}({func})"))
    found.sort(reverse=True)
    total = data["seconds"]
    print(f"\nTop {args.profile_top} cumulative in worker/ (profiled pass {total:.2f}s):")
    print(f"{'cum s':>8} {'cum %':>6} {'own s':>8} {'calls':>8}  function")
    for cum, own, calls, where in found[:args.profile_top]:
        print(f"{cum:8.2f} {100 * cum / total:5.1f}% {own:8.2f} {calls:8d}  {where}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mails", type=int, default=200, help="N: the sizes are N and 3N (200)")
    p.add_argument("--lines", type=int, default=None,
                   help="trainee lines of every form (default: 1-50 at random)")
    p.add_argument("--mix", choices=("realistic", "held"), default="realistic",
                   help="realistic: ~82%% valid; held: every mail held (issue's profile case)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--floor-reader", choices=("calamine", "openpyxl"), default="calamine",
                   help="how the floor reads forms (calamine: issue 12's floor)")
    p.add_argument("--repeat", type=int, default=1,
                   help="time each size this many times on fresh copies; the median of "
                        "the repeats' paired figures is kept (5 for figures to publish)")
    p.add_argument("--tmp", type=Path, default=None, help="parent folder for the temp worlds")
    p.add_argument("--keep", action="store_true", help="keep the temp worlds")
    p.add_argument("--profile", type=Path, default=None,
                   help="also profile one (untimed) intake of N mails; write pstats here")
    p.add_argument("--profile-top", type=int, default=20)
    p.add_argument("--child", choices=("intake", "floor"), help=argparse.SUPPRESS)
    p.add_argument("child_target", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    p.add_argument("--profile-out", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == "intake":
        child_intake(args.child_target, args.child_out, args.profile_out)
        return 0
    if args.child == "floor":
        child_floor(args.child_target, args.child_out, args.floor_reader)
        return 0
    if args.mails < 1 or args.repeat < 1 or (args.lines is not None and args.lines < 1):
        raise SystemExit("--mails, --repeat and --lines must be at least 1")
    label = args.mix + (f" {args.lines}-line forms" if args.lines else "")
    before = machine()
    result = measure(args.mails, lines=args.lines, mix=args.mix, repeat=args.repeat,
                     seed=args.seed, floor_reader=args.floor_reader, tmp=args.tmp,
                     keep=args.keep, label=label, log=lambda s: print(s, flush=True))
    print(f"\nintake bench - {before}")
    print(f"floor: email compat32 + {args.floor_reader}; median of {args.repeat} paired "
          f"repeat(s); load at the end {os.getloadavg()[0]:.2f}")
    print(table(rows(result)))
    print(spread(result))
    for w in result["warnings"]:
        print(f"WARNING: {w}")
    print(json.dumps({"bench": "intake", **result}, ensure_ascii=False, default=str))
    if args.profile:
        print()
        profile_run(args.mails, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
