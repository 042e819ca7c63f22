#!/usr/bin/env python
"""Render benchmark: a whole ``run --once`` that issues and prints K applications x M
trainees in 每人一张 (K*M invoices, K labels), against bare WeasyPrint rendering the same
number of comparable pages.

    python bench/render.py [--apps 40] [--trainees 10] [--repeat 3] [--per-doc 8]
                           [--fonttools] [--keep DIR]

Each repeat builds a fresh installation in a temp folder (SQLite migrated with
``init_db``, payments stored, K mails in a Maildir, a config file), then times child
processes, interleaved so they share the machine's load:

* run      - ``python -m worker --config C run --once``: the whole pass (parse, checks,
  issuing, commit, move) and the print batch (one invoices PDF, one labels PDF). The
  wall time of the child process, interpreter start-up and imports included.
* bare     - bare WeasyPrint in a child: import it, render K*M comparable invoice pages
  as ONE document (A5 landscape, Noto Serif CJK SC: a bordered 9-column table with
  the same rows and about the same text as an invoice) and K comparable label pages
  as ONE document (100 x 150 mm, Noto Sans CJK SC, text blocks and an inline SVG of
  the same number of bars), with a plain stylesheet, no jinja, no database. Child wall
  time too, so both sides pay start-up and imports.
* same     - bare WeasyPrint rendering the exact HTML the worker's templates produce for
  the same documents (read from files, default URL fetcher): how much of the gap is
  our page design rather than the worker around it. Informational.
* per-doc  - bare WeasyPrint rendering --per-doc comparable invoices as one document
  EACH, extrapolated to K*M + K documents: what the one-batch design saves.
  Informational.

Note: the worker pauses Python's cyclic garbage collector while WeasyPrint builds a
document (worker/documents/render.py); bare and same run WeasyPrint as shipped.

Goal: run / bare <= 1.2 (the min over repeats of each). --fonttools disables
HarfBuzz subsetting in every child (WeasyPrint's fallback when libharfbuzz-subset0
is missing), to show what a machine without it pays per document.
Output: a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

GOAL = 1.2
TZ = ZoneInfo("Asia/Shanghai")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕褚卫"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红玲芬燕彬鑫宇浩然欣怡博文堃喆镕玥"
DISTRICTS = {"武清区": "120222", "宝坻区": "120224", "静海区": "120223", "宁河区": "120221",
             "蓟州区": "120225", "滨海新区": "120116", "东丽区": "120110", "西青区": "120111",
             "津南区": "120112", "北辰区": "120113"}

# ----------------------------------------------------------------------------- setup


def build_installation(root: Path, apps: int, trainees: int) -> Path:
    """Database, payments, mails and config for one run; returns the config path."""
    import mailbox as stdlib_mailbox

    from worker.db import init_db, make_engine, session_factory
    from worker.payments import read_payment_file, store_payments
    from worker.samples import Trainee, Unit, form_xlsx, id_number, mail, payments_csv, tax_id

    root.mkdir(parents=True)
    db_url = f"sqlite:///{root / 'invoices.db'}"
    config = root / "config.toml"
    # The whole run in one batch, as the comparison assumes (the default cap would
    # split 400 invoices in two; each extra batch costs one more font subsetting).
    config.write_text(f'[database]\nurl = "{db_url}"\n[mailbox]\nurl = "maildir:{root / "mail"}"\n'
                      f'[output]\ndir = "{root / "out"}"\n'
                      '[documents]\nmax_invoices_per_batch = 100000\n', encoding="utf-8")
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
        box.add(mail(sender=f"unit{k}@163.com", subject="发票申请", body=body,
                     date=start + timedelta(minutes=k),
                     attachments=[(f"申请表{k + 1}.xlsx", form_xlsx(unit))]))
    rows, errors = read_payment_file("payments.csv", payments_csv(everyone), TZ)
    assert not errors, errors[:3]
    with session_factory(engine).begin() as session:
        store_payments(session, "payments.csv", rows, errors)
    engine.dispose()
    return config


# ----------------------------------------------------------------------------- children

FONTTOOLS = """
import weasyprint.pdf.fonts as _fonts
_fonts.harfbuzz_subset = None   # WeasyPrint's fallback: fontTools subsetting
"""

RSS = """
def _rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
"""

RUN_CHILD = RSS + """
import json, sys, time
t0 = time.perf_counter()
{fonttools}
from worker.cli import main
t1 = time.perf_counter()
code = main(["--config", sys.argv[1], "run", "--once"])
t2 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "command": t2 - t1, "code": code, "rss_mb": _rss()}}),
      file=sys.stderr)
sys.exit(code)
"""

INVOICE_PAGE = """<section class="p"><div class="h"><span class="t">天津增值税普通发票</span>
<span class="ids">发票代码 012001800111<br>发票号码 {n:08d}<br>开票日期 2018年09月03日</span></div>
<table><tr><td class="s" rowspan="4">购买方</td><td colspan="8">名称：天津市武清区第{k}培训中心</td></tr>
<tr><td colspan="8">纳税人识别号：91120222MA05K{k:04d}X</td></tr><tr><td colspan="8">地址、电话：</td></tr>
<tr><td colspan="8">开户行及账号：</td></tr>
<tr><td colspan="2">货物或应税劳务、服务名称</td><td>规格型号</td><td>单位</td><td>数量</td><td>单价</td>
<td>金额</td><td>税率</td><td>税额</td></tr>
<tr><td colspan="2">*教育服务*培训费</td><td>2018年度</td><td>人</td><td>1</td><td>145.63</td>
<td>145.63</td><td>3%</td><td>4.37</td></tr>
{blank}
<tr><td colspan="2">合计</td><td colspan="4"></td><td>¥145.63</td><td></td><td>¥4.37</td></tr>
<tr><td colspan="2">价税合计（大写）</td><td colspan="4">⊗ 壹佰伍拾元整</td>
<td colspan="3">（小写）¥150.00</td></tr>
<tr><td class="s" rowspan="4">销售方</td><td colspan="4">名称：天津市政工师进修学院</td>
<td rowspan="4">备注</td>
<td colspan="3" rowspan="4">培训人员：王堃<br>身份证号：120222198001150013<br>订单号：2018{n:011d}</td></tr>
<tr><td colspan="4">纳税人识别号：121200004013594468</td></tr>
<tr><td colspan="4">地址、电话：天津市河东区大桥道52号A座 022-23391756</td></tr>
<tr><td colspan="4">开户行及账号：中国工商银行天津河东支行 0302020109024900000</td></tr></table>
<p>收款人：李楠　复核：李楠　开票人：王静　销售方：（章）　申请编号 {k} · 第 1 页 / 共 1 页</p></section>
"""
BLANK_ROW = "<tr>" + "<td></td>" * 8 + "</tr>"
INVOICE_CSS = """@page { size: A5 landscape; margin: 7mm 8mm; }
body { margin: 0; font-family: "Noto Serif CJK SC"; font-size: 8.5pt; }
* { font-weight: normal; }
.p { break-before: page; } .p:first-child { break-before: auto; }
.h { height: 17mm; position: relative; } .t { font-size: 16pt; margin-left: 60mm; }
.ids { position: absolute; right: 0; top: 0; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
td { border: 0.5pt solid #7a2e1d; padding: 0.4mm 1.2mm; height: 5mm; }
.s { width: 8mm; }
"""
LABEL_PAGE = """<section class="p"><div class="top"><div>顺丰速运<br>{district}</div>
<div class="cod">运费到付<br>¥12.00</div></div>
<div class="code">{svg}<br>运单号 SF14000000{k:05d}</div>
<div class="to">收 李明{k}　1390222{k:04d}<br>天津市{district}泉州路{k}号人事部<br>
天津市{district}第{k}培训中心</div>
<div class="from">寄 天津市政工师进修学院　022-23391756<br>天津市河东区大桥道52号A座309室</div>
<div class="facts">内件 发票 10 张　件数 1　重量 0.14 kg　区县 {district}</div>
<div class="foot">申请编号 {k}　寄件日期 2018-09-03　签收人：</div></section>
"""
LABEL_CSS = """@page { size: 100mm 150mm; margin: 3mm; }
body { margin: 0; font-family: "Noto Sans CJK SC"; font-size: 8.5pt; }
* { font-weight: normal; }
.p { break-before: page; height: 144mm; } .p:first-child { break-before: auto; }
.top, .code, .to, .from, .facts, .foot { border: 0.8pt solid #000; }
.top { height: 25mm; display: flex; } .top div { flex: 1; font-size: 15pt; }
.cod { background: #000; color: #fff; font-size: 22pt; }
.code { height: 28mm; text-align: center; } .to { height: 41mm; font-size: 13pt; }
.from { height: 18mm; } .facts { height: 13mm; } .foot { height: 10mm; }
"""

BARE_CHILD = RSS + """
import json, sys, time
t0 = time.perf_counter()
{fonttools}
from weasyprint import HTML
t1 = time.perf_counter()
spec = json.loads(sys.argv[1])
for kind, html in (("invoices", spec["invoices"]), ("labels", spec["labels"])):
    data = HTML(string=open(html, encoding="utf-8").read()).write_pdf()
    open(html + ".pdf", "wb").write(data)
t2 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "render": t2 - t1, "rss_mb": _rss()}}), file=sys.stderr)
"""

SAME_CHILD = RSS + """
import json, sys, time
t0 = time.perf_counter()
{fonttools}
from weasyprint import HTML
t1 = time.perf_counter()
spec = json.loads(sys.argv[1])
for html in (spec["invoices"], spec["labels"]):
    HTML(filename=html, base_url=spec["base"]).write_pdf(html + ".pdf")
t2 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "render": t2 - t1, "rss_mb": _rss()}}), file=sys.stderr)
"""

PER_DOC_CHILD = """
import json, sys, time
{fonttools}
from weasyprint import HTML
spec = json.loads(sys.argv[1])
pages = open(spec["pages"], encoding="utf-8").read().split("<!--page-->")
t1 = time.perf_counter()
for page in pages:
    HTML(string=spec["head"] + page + "</body></html>").write_pdf()
t2 = time.perf_counter()
print(json.dumps({{"render": t2 - t1, "documents": len(pages)}}), file=sys.stderr)
"""


def child(code: str, *args: str, fonttools: bool) -> tuple[float, dict[str, Any], str]:
    """Run a child Python; returns (wall seconds, its JSON report, its stdout). The
    report gains ``cpu``: the child's user + system seconds, which a busy machine
    disturbs far less than wall time."""
    script = code.format(fonttools=FONTTOOLS if fonttools else "")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stderr.strip().splitlines()[-1])
    report["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, report, done.stdout


def barcode_svg(k: int) -> str:
    from worker.documents.barcode import code128_svg

    return str(code128_svg(f"SF14000000{k:05d}", width_mm=88, height_mm=18))


def comparable_html(folder: Path, apps: int, trainees: int) -> dict[str, str]:
    """The bare baseline's two documents, and the per-invoice pages for per-doc."""
    districts = list(DISTRICTS)
    blank = BLANK_ROW * 5
    pages = [INVOICE_PAGE.format(n=k * trainees + m + 1, k=k + 1, blank=blank)
             for k in range(apps) for m in range(trainees)]
    head = f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>{INVOICE_CSS}'\
           '</style></head><body>'
    labels = [LABEL_PAGE.format(k=k + 1, district=districts[k % len(districts)],
                                svg=barcode_svg(k + 1)) for k in range(apps)]
    label_head = head.replace(INVOICE_CSS, LABEL_CSS)
    paths = {"invoices": folder / "bare-invoices.html", "labels": folder / "bare-labels.html",
             "pages": folder / "bare-pages.html"}
    paths["invoices"].write_text(head + "".join(pages) + "</body></html>", encoding="utf-8")
    paths["labels"].write_text(label_head + "".join(labels) + "</body></html>", encoding="utf-8")
    paths["pages"].write_text("<!--page-->".join(pages), encoding="utf-8")
    return {**{k: str(v) for k, v in paths.items()}, "head": head}


def worker_html(config: Path, folder: Path) -> dict[str, str]:
    """The exact HTML our templates made for the run's documents (for 'same')."""
    from worker.app import App
    from worker.config import TEMPLATES_DIR
    from worker.documents import batch

    app = App.load(config)
    with app.sessions() as session:
        apps = session.scalars(batch._with_documents(batch.select(batch.Application)).where(
            batch.Application.status == "accepted")).all()
        docs = [batch._documents(a, app.config, every=True)
                for a in sorted(apps, key=lambda a: a.shipment.id)]
    app.close()
    inv, lab = folder / "same-invoices.html", folder / "same-labels.html"
    inv.write_text(batch._invoices_html(docs), encoding="utf-8")
    lab.write_text(batch._labels_html(docs), encoding="utf-8")
    return {"invoices": str(inv), "labels": str(lab), "base": f"{TEMPLATES_DIR}/"}


def pages_of(path: str) -> list[tuple[float, float]]:
    from pypdf import PdfReader

    mm = 72 / 25.4
    return [(round(float(p.mediabox.width) / mm), round(float(p.mediabox.height) / mm))
            for p in PdfReader(path).pages]


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=40, help="applications (K), default 40")
    parser.add_argument("--trainees", type=int, default=10, help="trainees each (M), default 10")
    parser.add_argument("--repeat", type=int, default=3, help="fresh runs; min is reported")
    parser.add_argument("--per-doc", type=int, default=8,
                        help="invoices rendered one document each for the extrapolation (0: skip)")
    parser.add_argument("--fonttools", action="store_true",
                        help="disable HarfBuzz subsetting in every child (no libharfbuzz-subset0)")
    parser.add_argument("--keep", type=Path, help="keep the last installation here")
    args = parser.parse_args()
    K, M = args.apps, args.trainees
    invoices_n, labels_n = K * M, K

    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    runs: list[dict[str, float]] = []
    try:
        template = build_installation(work / "template", K, M)
        bare_spec = comparable_html(work, K, M)
        for r in range(args.repeat):
            inst = work / f"run{r}"
            shutil.copytree(template.parent, inst)
            config = inst / "config.toml"
            config.write_text(config.read_text(encoding="utf-8").replace(
                str(template.parent), str(inst)), encoding="utf-8")
            wall, rep, out = child(RUN_CHILD, str(config), fonttools=args.fonttools)
            summary = json.loads(out)
            assert summary["by_status"] == {"accepted": K}, summary
            assert pages_of(summary["invoices_pdf"]) == [(210, 148)] * invoices_n
            assert pages_of(summary["labels_pdf"]) == [(100, 150)] * labels_n
            bare_wall, bare, _ = child(BARE_CHILD, json.dumps(bare_spec), fonttools=args.fonttools)
            assert len(pages_of(bare_spec["invoices"] + ".pdf")) == invoices_n
            assert len(pages_of(bare_spec["labels"] + ".pdf")) == labels_n
            same_spec = worker_html(config, inst)
            same_wall, same, _ = child(SAME_CHILD, json.dumps(same_spec), fonttools=args.fonttools)
            runs.append({"run": wall, "run_imports": rep["imports"], "run_command": rep["command"],
                         "run_cpu": rep["cpu"], "run_rss_mb": rep["rss_mb"], "bare": bare_wall,
                         "bare_render": bare["render"], "bare_cpu": bare["cpu"],
                         "bare_rss_mb": bare["rss_mb"], "same": same_wall,
                         "same_render": same["render"], "same_cpu": same["cpu"],
                         "same_rss_mb": same["rss_mb"]})
            print(f"repeat {r + 1}: run {wall:.2f} s ({rep['cpu']:.2f} cpu), bare "
                  f"{bare_wall:.2f} s ({bare['cpu']:.2f} cpu), same {same_wall:.2f} s "
                  f"({same['cpu']:.2f} cpu); load {os.getloadavg()[0]:.1f}", file=sys.stderr)
            if r < args.repeat - 1:
                shutil.rmtree(inst)
        per_doc = None
        if args.per_doc:
            pages = Path(bare_spec["pages"]).read_text(encoding="utf-8").split("<!--page-->")
            sample = work / "per-doc.html"
            sample.write_text("<!--page-->".join(pages[:args.per_doc]), encoding="utf-8")
            _, rep, _ = child(PER_DOC_CHILD, json.dumps({"pages": str(sample),
                                                         "head": bare_spec["head"]}),
                              fonttools=args.fonttools)
            per_doc = rep["render"] / rep["documents"] * (invoices_n + labels_n)
        if args.keep:
            shutil.rmtree(args.keep, ignore_errors=True)
            shutil.copytree(inst, args.keep)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    best = {key: min(r[key] for r in runs) for key in runs[0]}
    ratio = best["run"] / best["bare"]
    cpu_ratio = best["run_cpu"] / best["bare_cpu"]
    rows = [
        ("run --once (whole process)", best["run"], f"{K} mails -> {invoices_n} invoices + "
                                                    f"{labels_n} labels"),
        ("  of which the command", best["run_command"], "pass + print batch, after start-up"),
        ("  cpu (user + sys)", best["run_cpu"], f"peak RSS {best['run_rss_mb']:.0f} MB"),
        ("bare weasyprint (whole process)", best["bare"], "comparable pages, one document each"),
        ("  of which rendering", best["bare_render"], ""),
        ("  cpu (user + sys)", best["bare_cpu"], f"peak RSS {best['bare_rss_mb']:.0f} MB"),
        ("our HTML, bare weasyprint", best["same"], "informational: our page design"),
        ("  of which rendering", best["same_render"], ""),
        ("  cpu (user + sys)", best["same_cpu"], f"peak RSS {best['same_rss_mb']:.0f} MB"),
    ]
    if per_doc is not None:
        rows.append(("one document per page (est.)", per_doc,
                     f"from {args.per_doc} documents, x{per_doc / best['bare_render']:.0f} "
                     "bare rendering"))
    print(f"\nrender bench: {K} x {M} 每人一张, best of {len(runs)}"
          f"{', fontTools subsetting' if args.fonttools else ''}")
    print(f"{'measure':34} {'seconds':>8}  note")
    for name, value, note in rows:
        print(f"{name:34} {value:8.2f}  {note}")
    print(f"{'ratio run / bare':34} {ratio:8.2f}  goal <= {GOAL} "
          f"({'met' if ratio <= GOAL else 'NOT met'})")
    print(f"{'ratio run / bare, cpu time':34} {cpu_ratio:8.2f}  "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(json.dumps({"bench": "render", "apps": K, "trainees": M, "invoices": invoices_n,
                      "labels": labels_n, "repeats": len(runs), "fonttools": args.fonttools,
                      **{k: round(v, 3) for k, v in best.items()},
                      "per_doc_estimate": per_doc and round(per_doc, 1),
                      "ratio": round(ratio, 3), "cpu_ratio": round(cpu_ratio, 3), "goal": GOAL,
                      "met": ratio <= GOAL}))


if __name__ == "__main__":
    main()
