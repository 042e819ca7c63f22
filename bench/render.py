#!/usr/bin/env python
"""Render benchmark: the worker's print step, per page, against bare WeasyPrint.

    python bench/render.py [--apps 40] [--trainees 10] [--repeat 3]
                           [--memory-apps 20,80] [--keep]

A world is K applications (mails) of M trainees each, 每人一张: K*M invoices and K
labels, so K*M + K printed documents. It is built in a temp folder (SQLite migrated
with ``init_db``, payments stored, the mails delivered into a Maildir with their
arrival time inside the application window) with the installation's DEFAULT
configuration (batch size cap, and any render workers the code may have), then:

1. intake - a child runs ``App.run_once()`` with ``print_pending``/``send_replies``
   stubbed out (bench/intake.py's intake child): every application accepted and
   issued, nothing printed. The folder is kept as a snapshot.
2. print  - per repeat, on a fresh copy of the snapshot, a child times
   ``App.from_config(load_config(...)).print_pending(RunSummary())``: the worker's
   print step, every batch until nothing is pending, all-in (imports made inside the
   step, rendering, recording, any render processes it starts). Timed inside the child
   around the call: wall, and CPU of the child plus every process it reaped.
3. floor  - per repeat, interleaved with 2 so both share the machine's load, a child
   imports WeasyPrint and renders the same number of pages of a simple invoice page
   (A5 landscape: the title, then an invoice's text - numbers, buyer, item, totals,
   seller, remarks - as a plain two-column table, in the invoice's font Noto Serif CJK
   SC), in documents of FLOOR_DOC_PAGES (100) pages, one after the other in one
   process; timed from before the import to the last written PDF. From about 100
   pages a document on, bare WeasyPrint's cost per page is at its lowest (smaller
   documents pay each document's fonts and PDF writing more often), so the floor is
   the cheapest a simple page gets.

Per page = time / (K*M + K). Ratio = print wall per page / floor wall per page
(issue 12 goal 2: <= 1.2). Memory, at the ratio size and at each --memory-apps size
(one run each, default 20 and 80 applications: 200 and 800 invoices), two rows each
(bench/common.py explains both): the peak of the print child's whole process tree as
the sum of its processes' PSS (a page shared by k processes - a fork server's
preloaded modules - counts 1/k in each: what the tree costs the machine; bounded below
by the largest single process's peak), goal < 400 MB at every size; and the largest
single process's peak RSS (shared pages counted in full), for information.

Output: a table (bench/common.py) and one JSON line. ``python bench/run.py`` runs this
with the intake bench and prints the combined table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from common import Row, best, child_report, cpu_now, machine, run_child, table  # noqa: E402

HERE = Path(__file__).resolve()
INTAKE = HERE.parent / "intake.py"

GOAL_RATIO = 1.2
GOAL_RSS_MB = 400.0
# The floor's pages per document: WeasyPrint's cost per page is at its lowest here. On
# the 2-core machine, CPU ms per floor page (load ~11): 1-page documents 113, 10 pages
# 47, 100 pages 42-48, one 440-page document 43 (a richer page - collapsed borders,
# spans - grows with the document: 78 at 100 pages, 133 at 440).
FLOOR_DOC_PAGES = 100
TZ = ZoneInfo("Asia/Shanghai")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕褚卫"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红玲芬燕彬鑫宇浩然欣怡博文堃喆镕玥"
DISTRICTS = {"武清区": "120222", "宝坻区": "120224", "静海区": "120223", "宁河区": "120221",
             "蓟州区": "120225", "滨海新区": "120116", "东丽区": "120110", "西青区": "120111",
             "津南区": "120112", "北辰区": "120113"}

# ----------------------------------------------------------------------------- worlds


def build_installation(root: Path, apps: int, trainees: int) -> Path:
    """Database, payments, mails and a default config for one world; the config path."""
    import mailbox as stdlib_mailbox

    from worker.db import init_db, make_engine, session_factory
    from worker.payments import read_payment_file, store_payments
    from worker.samples import Trainee, Unit, form_xlsx, id_number, mail, payments_csv, tax_id

    root.mkdir(parents=True)
    db_url = f"sqlite:///{root / 'invoices.db'}"
    config = root / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[mailbox]\nurl = "maildir:{root / "mail"}"\n'
                      f'[output]\ndir = "{root / "out"}"\n', encoding="utf-8")
    engine = make_engine(db_url)
    init_db(engine)
    box = stdlib_mailbox.Maildir(str(root / "mail"), create=True)
    everyone: list[Any] = []
    districts = list(DISTRICTS.items())
    start = datetime(2018, 9, 3, 9, 0, tzinfo=TZ)
    for k in range(apps):
        district, region = districts[k % len(districts)]
        people = []
        for m in range(trainees):
            n = k * trainees + m
            name = SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)]
            people.append(Trainee(name, id_number(region, f"198{n % 10}0{1 + n % 9}15", n % 1000),
                                  f"2018{n:011d}"))
        everyone.extend(people)
        unit = Unit(f"天津市{district}第{k + 1}培训中心", district,
                    tax_id(f"91{region}MA05K{k:04d}"), "张丽", "13820001234",
                    issue_mode="每人一张", trainees=people)
        body = (f"收件人：李明{k}\n电话：1390222{k:04d}\n"
                f"地址：天津市{district}泉州路{k + 1}号人事部")
        when = start + timedelta(minutes=k)
        key = box.add(mail(sender=f"unit{k}@163.com", subject="发票申请", body=body, date=when,
                           attachments=[(f"申请表{k + 1}.xlsx", form_xlsx(unit))]))
        # arrival time = the file's mtime (worker/mailbox/maildir.py): inside the window
        os.utime(root / "mail" / "new" / key, (when.timestamp(), when.timestamp()))
    rows, errors = read_payment_file("payments.csv", payments_csv(everyone), TZ)
    assert not errors, errors[:3]
    with session_factory(engine).begin() as session:
        store_payments(session, "payments.csv", rows, errors)
    engine.dispose()
    return config


def _config_for(root: Path, template: Path) -> Path:
    """The template's config with its folder replaced by ``root`` (a copy of it)."""
    config = root / "config.toml"
    config.write_text((template.parent / "config.toml").read_text(encoding="utf-8")
                      .replace(str(template.parent), str(root)), encoding="utf-8")
    return config


def issued_world(base: Path, apps: int, trainees: int, log: Any) -> Path:
    """A world after intake (every application accepted and issued, nothing printed)."""
    root = base / f"world-{apps}x{trainees}"
    config = build_installation(root, apps, trainees)
    os.sync()
    done = run_child(INTAKE, "intake", [str(config)], base / f"intake-{apps}x{trainees}")
    if done["by_status"] != {"accepted": apps} or done["pdfs"]:
        raise SystemExit(f"bench: intake of the render world gave {done['by_status']} and "
                         f"{done['pdfs']} PDFs; expected {{'accepted': {apps}}} and none")
    log(f"[render] {apps} x {trainees}: intake {done['seconds']:.1f}s, "
        f"{apps * trainees} invoices + {apps} labels pending")
    return config


# --------------------------------------------------------------------------- children


def child_print(config_path: str, out: str) -> None:
    t0 = time.perf_counter()
    from worker.app import App, RunSummary
    from worker.config import load_config

    app = App.from_config(load_config(config_path))
    preloaded = "weasyprint" in sys.modules
    startup = time.perf_counter() - t0
    summary = RunSummary()
    t1, c1 = time.perf_counter(), cpu_now()
    app.print_pending(summary)
    seconds, c2 = time.perf_counter() - t1, cpu_now()
    cpu = c2 - c1
    app.close()
    from pypdf import PdfReader

    pages = {"invoices": 0, "labels": 0, "other": 0}
    for folder in summary.batches:
        for pdf in sorted(Path(folder).glob("*.pdf")):
            kind = "labels" if "label" in pdf.name else \
                "invoices" if "invoice" in pdf.name else "other"
            pages[kind] += len(PdfReader(pdf).pages)
    child_report(out, (c1, c2), seconds=seconds, work_cpu_s=cpu, startup_s=startup,
                 batches=len(summary.batches), render_error=summary.render_error,
                 weasyprint_preloaded=preloaded, **{f"{k}_pages": v for k, v in pages.items()})


# The floor's page: an invoice's text (title, numbers, buyer, item, totals, seller,
# remarks) as a plain two-column table in the invoice's font - a simple invoice page.
FLOOR_PAGE = """<section class="p"><h1>天津增值税普通发票</h1><table>
<tr><td>发票代码</td><td>012001800111</td></tr>
<tr><td>发票号码</td><td>{n:08d}</td></tr>
<tr><td>开票日期</td><td>2018年09月03日</td></tr>
<tr><td>购买方</td><td>天津市武清区第{k}培训中心　纳税人识别号 91120222MA05K{k:04d}X</td></tr>
<tr><td>项目</td><td>*教育服务*培训费　2018年度　人　1　145.63　3%　4.37</td></tr>
<tr><td>合计</td><td>¥145.63　税额 ¥4.37</td></tr>
<tr><td>价税合计</td><td>⊗ 壹佰伍拾元整　（小写）¥150.00</td></tr>
<tr><td>销售方</td><td>天津市政工师进修学院　纳税人识别号 121200004013594468<br>
天津市河东区大桥道52号A座 022-23391756<br>中国工商银行天津河东支行 0302020109024900000</td></tr>
<tr><td>备注</td><td>培训人员：王堃　身份证号：120222198001150013　订单号：2018{n:011d}</td></tr>
</table><p>收款人：李楠　复核：李楠　开票人：王静　销售方：（章）　申请编号 {k} · 第 1 页 / 共 1 页</p>
</section>
"""
FLOOR_CSS = """@page { size: A5 landscape; margin: 7mm 8mm; }
body { margin: 0; font-family: "Noto Serif CJK SC"; font-size: 8.5pt; }
h1 { font-size: 16pt; font-weight: normal; text-align: center; margin: 0 0 4mm; }
.p { break-before: page; } .p:first-child { break-before: auto; }
table { width: 100%; border: 0.5pt solid #7a2e1d; }
td { padding: 0.6mm 1.2mm; vertical-align: top; }
"""


def floor_docs(folder: Path, pages: int) -> Path:
    """``pages`` simple invoice pages as HTML documents of at most FLOOR_DOC_PAGES pages
    each, in ``folder`` (the floor's input)."""
    folder.mkdir(parents=True, exist_ok=True)
    head = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>'
            f'{FLOOR_CSS}</style></head><body>')
    for start in range(0, pages, FLOOR_DOC_PAGES):
        body = "".join(FLOOR_PAGE.format(n=i + 1, k=i // 10 + 1)
                       for i in range(start, min(pages, start + FLOOR_DOC_PAGES)))
        (folder / f"floor-{start:06d}.html").write_text(f"{head}{body}</body></html>",
                                                        encoding="utf-8")
    return folder


def child_floor(folder: str, out: str) -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(Path(folder).glob("*.html"))]
    t0, c0 = time.perf_counter(), cpu_now()
    from weasyprint import HTML

    pages = 0
    for n, text in enumerate(texts):
        document = HTML(string=text).render()
        document.write_pdf(Path(folder) / f"floor-{n}.pdf")
        pages += len(document.pages)
    seconds, c2 = time.perf_counter() - t0, cpu_now()
    cpu = c2 - c0
    child_report(out, (c0, c2), seconds=seconds, work_cpu_s=cpu, pages=pages, documents=len(texts))


# ---------------------------------------------------------------------------- running


def _print_run(template: Path, run_root: Path, invoices: int, labels: int) -> dict[str, Any]:
    shutil.copytree(template.parent, run_root)
    config = _config_for(run_root, template)
    os.sync()
    done = run_child(HERE, "print", [str(config)], run_root / "logs")
    if done["render_error"]:
        raise SystemExit(f"bench: the print step failed: {done['render_error']}")
    if done["invoices_pages"] < invoices or done["labels_pages"] < labels:
        raise SystemExit(f"bench: the print step printed {done['invoices_pages']} invoice and "
                         f"{done['labels_pages']} label pages; expected {invoices} invoices "
                         f"and {labels} labels")
    return done


def _memory(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The memory figures of print runs (max over runs): see bench/common.py."""
    return {"procs": max(r["tree_pids"] for r in runs),
            "at_once": max(r["tree_procs"] for r in runs),
            "pss_sum_mb": max(r["tree_pss_mb"] for r in runs),
            "rss_sum_mb": max(r["tree_rss_mb"] for r in runs),
            "largest_mb": max(r["largest_mb"] for r in runs)}


def measure(apps: int = 40, trainees: int = 10, *, repeat: int = 1,
            memory_apps: tuple[int, ...] = (20, 80), tmp: Path | None = None,
            keep: bool = False, log: Any = print) -> dict[str, Any]:
    """Print step and floor at ``apps`` x ``trainees`` (``repeat`` times, minimum kept),
    then the print step once per ``memory_apps`` size for its memory.

    Returns a dict: ``print_ms``/``floor_ms`` (wall per page), ``print_cpu_ms``/
    ``floor_cpu_ms``, ``ratio``, ``cpu_ratio``, ``rss`` {invoices: tree MB} and the runs.
    """
    base = Path(tempfile.mkdtemp(prefix="bench-render-", dir=tmp))
    documents = apps * trainees + apps
    result: dict[str, Any] = {"apps": apps, "trainees": trainees, "documents": documents,
                              "repeat": repeat, "rss": {}, "sizes": {}}
    try:
        template = issued_world(base, apps, trainees, log)
        html = floor_docs(base / "floor", documents)
        prints, floors = [], []
        for attempt in range(repeat):
            floors.append(run_child(HERE, "floor", [str(html)], base / f"floor-{attempt}"))
            if floors[-1]["pages"] != documents:
                raise SystemExit(f"bench: the floor rendered {floors[-1]['pages']} pages")
            prints.append(_print_run(template, base / f"print-{attempt}", apps * trainees, apps))
            p, f = prints[-1], floors[-1]
            log(f"[render] {apps * trainees} invoices + {apps} labels, run {attempt + 1}: print "
                f"{p['seconds']:.1f}s ({p['work_cpu_s']:.1f} cpu, {p['batches']} batches, "
                f"{p['tree_mb']:.0f} MB, RSS sum {p['tree_rss_mb']:.0f}, {p['tree_pids']} "
                f"processes), floor "
                f"{f['seconds']:.1f}s ({f['work_cpu_s']:.1f} cpu, {f['tree_mb']:.0f} MB); "
                f"load {p['load1']:.1f}")
            if not keep:
                shutil.rmtree(base / f"print-{attempt}", ignore_errors=True)
        result.update({
            "print_ms": 1000 * best(prints, "seconds") / documents,
            "print_cpu_ms": 1000 * best(prints, "work_cpu_s") / documents,
            "floor_ms": 1000 * best(floors, "seconds") / documents,
            "floor_cpu_ms": 1000 * best(floors, "work_cpu_s") / documents,
            "floor_rss_mb": max(f["tree_mb"] for f in floors),
            "print_runs_s": [round(p["seconds"], 2) for p in prints],
            "floor_runs_s": [round(f["seconds"], 2) for f in floors],
            "batches": prints[0]["batches"], "pages": {k: prints[0][f"{k}_pages"]
                                                       for k in ("invoices", "labels", "other")},
            "weasyprint_preloaded": prints[0]["weasyprint_preloaded"],
            "load1": [round(p["load1"], 2) for p in prints],
        })
        result["ratio"] = result["print_ms"] / result["floor_ms"]
        result["cpu_ratio"] = result["print_cpu_ms"] / result["floor_cpu_ms"]
        result["rss"][apps * trainees] = max(p["tree_mb"] for p in prints)
        result["sizes"][apps * trainees] = {"ms_per_page": result["print_ms"],
                                            "batches": result["batches"], **_memory(prints)}
        if not keep:
            shutil.rmtree(template.parent, ignore_errors=True)
        for k in memory_apps:
            if k == apps:
                continue
            world = issued_world(base, k, trainees, log)
            done = _print_run(world, base / f"print-{k}", k * trainees, k)
            log(f"[render] {k * trainees} invoices + {k} labels: print {done['seconds']:.1f}s, "
                f"{done['batches']} batches, {done['tree_mb']:.0f} MB (RSS sum "
                f"{done['tree_rss_mb']:.0f}, {done['tree_pids']} processes); "
                f"load {done['load1']:.1f}")
            result["rss"][k * trainees] = done["tree_mb"]
            result["sizes"][k * trainees] = {
                "ms_per_page": 1000 * done["seconds"] / (k * trainees + k),
                "batches": done["batches"], **_memory([done])}
            if not keep:
                shutil.rmtree(world.parent, ignore_errors=True)
                shutil.rmtree(base / f"print-{k}", ignore_errors=True)
    finally:
        if keep:
            log(f"[render] kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return result


def rows(r: dict[str, Any]) -> list[Row]:
    """Table rows: wall and CPU per page against the floor; per size, the tree's peak
    memory (PSS sum: what the tree costs the machine, the goal) and the largest single
    process's peak RSS (what one process needs, shared pages included)."""
    what = f"print step, {r['apps'] * r['trainees']} invoices + {r['apps']} labels, per page"
    out = [
        Row(f"{what}, wall", r["print_ms"], "ms", r["floor_ms"], r["ratio"],
            f"<= {GOAL_RATIO:g}x", r["ratio"] <= GOAL_RATIO),
        Row(f"{what}, CPU (all processes)", r["print_cpu_ms"], "ms", r["floor_cpu_ms"],
            r["cpu_ratio"]),
    ]
    for invoices, mb in sorted(r["rss"].items()):
        size = r["sizes"][invoices]
        out.append(Row(f"print step, {invoices} invoices ({size['batches']} batches): peak "
                       "memory of the process tree, sum of PSS", mb, "MB",
                       goal=f"< {GOAL_RSS_MB:g} MB", ok=mb < GOAL_RSS_MB))
        out.append(Row(f"print step, {invoices} invoices: peak RSS of the largest single "
                       "process", size["largest_mb"], "MB"))
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--apps", type=int, default=40, help="applications K (40)")
    p.add_argument("--trainees", type=int, default=10, help="trainees each, M (10)")
    p.add_argument("--repeat", type=int, default=1, help="print/floor runs; minimum kept")
    p.add_argument("--memory-apps", default="20,80",
                   help="more sizes (applications, comma-separated) whose print step is "
                        "run once for its memory; '' for none (20,80)")
    p.add_argument("--tmp", type=Path, default=None, help="parent folder for the temp worlds")
    p.add_argument("--keep", action="store_true", help="keep the temp worlds")
    p.add_argument("--child", choices=("print", "floor"), help=argparse.SUPPRESS)
    p.add_argument("child_target", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def memory_sizes(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == "print":
        child_print(args.child_target, args.child_out)
        return 0
    if args.child == "floor":
        child_floor(args.child_target, args.child_out)
        return 0
    before = machine()
    result = measure(args.apps, args.trainees, repeat=args.repeat,
                     memory_apps=memory_sizes(args.memory_apps), tmp=args.tmp, keep=args.keep,
                     log=lambda s: print(s, flush=True))
    print(f"\nrender bench - {before}")
    print(f"floor: bare WeasyPrint, simple invoice pages, {FLOOR_DOC_PAGES} a document, one "
          f"process; min of "
          f"{args.repeat} run(s); load at the end {os.getloadavg()[0]:.2f}")
    print(table(rows(result)))
    print(json.dumps({"bench": "render", **result}, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
