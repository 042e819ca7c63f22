"""``demo``: the embedded default end to end, on a local Maildir and SQLite.

Builds a small season of mail (accepted, held for several reasons, an auto-reply),
imports the platform's payments, runs one pass and prints what came out and where.
"""

from __future__ import annotations

import json
import mailbox as stdlib_mailbox
import shlex
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from worker.app import App
from worker.config import load_config
from worker.db import init_db
from worker.export import export_applications
from worker.form import write_blank_form
from worker.health.runs import RunLog, Trigger, recorded_pass
from worker.payments import import_payment_file
from worker.samples import Trainee, Unit, form_xlsx, id_number, mail, payments_csv, tax_id

MARKER = ".invoice-worker-demo"
TZ = ZoneInfo("Asia/Shanghai")
#: When the season's mail was written and arrived: deadlines are judged by the arrival
#: time, so the demo's 2018 mail is delivered as having arrived in 2018.
SENT = datetime(2018, 9, 3, 10, 15, tzinfo=TZ)


def _units() -> list[Unit]:
    wuqing = Unit("天津市武清区雍阳科技有限公司", "武清", tax_id("91120222MA05JGUY2"),
                  "赵玥", "13820000001", trainees=[
                      Trainee("张堃", id_number("120222", "19800101", 11), "TJ2018050100001"),
                      Trainee("李喆", id_number("120222", "19850202", 22), "TJ2018050100002",
                              year=2015, amount="160.00"),
                      Trainee("王镕", id_number("120222", "19900303", 33), "TJ2018050100003"),
                  ])
    binhai = Unit("天津滨海新区港湾物流有限公司", "滨海新区", tax_id("91120116MA06ABCD1"),
                  "钱玥", "022-25001234", issue_mode="每人一张", trainees=[
                      Trainee("孙喆", id_number("120116", "19781111", 41), "TJ2018060200011"),
                      Trainee("周堃", id_number("120116", "19820512", 52), "TJ2018060200012",
                              year=2017),
                  ])
    heping = Unit("天津市和平区某某商贸有限公司", "和平区", tax_id("91120101MA07H8W83"),
                  "吴敏", "13920000003", trainees=[
                      Trainee("郑镕", id_number("120101", "19870707", 61), "TJ2018070300021"),
                  ])
    jinghai = Unit("天津市静海区团泊制造有限公司", "静海区", tax_id("91120223MA08QWER4"),
                   "冯涛", "13620000004", trainees=[
                       Trainee("陈玥", id_number("120223", "19910909", 71), "TJ2018080400031"),
                       Trainee("褚堃", id_number("120223", "19920101", 82), "TJ2018080400032",
                               method="学习卡"),
                       Trainee("卫喆", id_number("120223", "19930303", 93), "TJ2018080400033",
                               status="已退款"),
                   ])
    return [wuqing, binhai, heping, jinghai]


def _mails(units: list[Unit]) -> list[bytes]:
    wuqing, binhai, heping, jinghai = units
    when = SENT
    return [
        mail(sender="赵玥 <zhaoyue@163.com>", subject="武清区雍阳科技 发票申请", date=when,
             body="您好！附件是我单位的发票申请表。\n收件人：赵玥\n联系电话：13820000001\n"
                  "地址：天津市武清区雍阳西道 88 号 3 楼",
             attachments=[("发票申请表-雍阳科技.xlsx", form_xlsx(wuqing))]),
        mail(sender="qianyue@qq.com", subject="滨海新区港湾物流发票申请", date=when, html=True,
             charset="utf-8",
             body="收 件 人：钱玥\n手机：13602000002\n邮寄地址：天津市滨海新区塘沽新港二号路 5 号",
             attachments=[("港湾物流申请表.xlsx", form_xlsx(binhai))]),
        mail(sender="wumin@163.com", subject="和平区申请发票", date=when,
             body="收件人：吴敏 电话：13920000003 地址：天津市和平区南京路 1 号",
             attachments=[("申请表.xlsx", form_xlsx(heping))]),
        mail(sender="fengtao@126.com", subject="静海区团泊制造 发票", date=when,
             body="收件人：冯涛，电话 022-68001234，地址：天津市静海区团泊新城 6 号",
             attachments=[("团泊制造.xlsx", form_xlsx(jinghai))]),
        mail(sender="liuyang@163.com", subject="申请发票", date=when,
             body="老师您好，我单位需要开发票，请问怎么办理？\n收件人：刘洋 13700000005"),
        mail(sender="zhaoyue@163.com", subject="自动回复：发票申请", date=when,
             body="您好，我休假中，回来后回复您。",
             headers={"Auto-Submitted": "auto-replied"}),
    ]


def run_demo(base: Path) -> int:
    base = base.resolve()
    if base.exists() and not base.is_dir():
        print(f"{base} is a file, not a folder; choose another with --dir")
        return 2
    if base.exists() and any(base.iterdir()):
        if not (base / MARKER).exists():
            print(f"{base} exists and is not a demo folder; choose another with --dir")
            return 2
        shutil.rmtree(base)
    base.mkdir(parents=True, exist_ok=True)  # an empty folder (mktemp -d) is taken as it is
    (base / MARKER).write_text("created by invoice-worker demo\n", encoding="utf-8")
    config_path = base / "config.toml"
    config_path.write_text(
        f'[database]\nurl = "sqlite:///{base / "invoices.db"}"\n'
        f'[mailbox]\nurl = "maildir:{base / "mail"}"\n'
        f'[output]\ndir = "{base / "out"}"\n',
        encoding="utf-8",
    )
    config = load_config(config_path)
    app = App.from_config(config)
    init_db(app.engine)

    units = _units()
    payments = base / "payments-export.csv"
    payments.write_bytes(payments_csv([t for u in units for t in u.trainees]))
    with app.sessions.begin() as session:
        result = import_payment_file(session, payments, TZ)
    write_blank_form(base / "blank-form.xlsx")

    inbox = stdlib_mailbox.Maildir(str(base / "mail"), create=True)
    for raw in _mails(units):
        message = stdlib_mailbox.MaildirMessage(raw)
        message.set_date((SENT + timedelta(minutes=1)).timestamp())  # the file time is the arrival
        inbox.add(message)
    # recorded like a `run --once`: the status and health pages the demo points at show it
    summary = recorded_pass(app, RunLog(app.sessions, Trigger.CLI))
    with app.sessions() as session:
        data = export_applications(session)
    app.close()
    _report(base, result.summary(), summary.by_status, data)
    return 0


def _report(base: Path, imported: str, by_status: dict[str, int], data: dict) -> None:
    print("invoice-worker demo")
    print(f"  payments imported: {imported}")
    print(f"  mails processed:   {json.dumps(by_status, ensure_ascii=False)}")
    print()
    for app in data["applications"]:
        print(f"- [{app['status']}] {app['unit'] or '(no form)'} {app['district']}"
              f"  {'attachment ' + app['attachment'] if app['attachment'] else '(no attachment)'}")
        for inv in app["invoices"]:
            orders = ", ".join(inv["orders"])
            print(f"    invoice {inv['number']}  {inv['amount']} 元  orders {orders}")
        if app["shipment"]:
            s = app["shipment"]
            print(f"    parcel {s['waybill']} to {s['recipient']} {s['phone']}, "
                  f"{s['address']}; 运费到付 {s['postage_due']} 元")
        for r in app["reasons"]:
            line = f" (第{r['line']}行)" if r["line"] is not None else ""
            print(f"    {r['code']}{line}: {r['detail']}")
    print()
    pdfs = [i["pdf"] for a in data["applications"] for i in a["invoices"] if i["pdf"]]
    labels = [a["shipment"]["label_pdf"] for a in data["applications"]
              if a["shipment"] and a["shipment"]["label_pdf"]]
    if pdfs and labels:
        print(f"Print batch: {pdfs[0]}")
        print(f"             {labels[0]}")
    print(f"Everything is under {base}:")
    print("  config.toml         the demo's config (SQLite + local Maildir)")
    print("  invoices.db         SQLite database (the forms as received are kept there too)")
    print("  mail/               Maildir: .Processed and .Exceptions hold the handled mail")
    print("  out/batches/        this run's print batch: invoices.pdf and labels.pdf")
    print("  out/outbox/         replies to the units, as .eml (no [smtp] url configured)")
    print("  blank-form.xlsx     the blank application form units fill in")
    cfg, iw = base / "config.toml", _command()
    print(f"Try: {iw} --config {cfg} export --json")
    print(f"     {iw} --config {cfg} manifest      # the courier's pickup list")
    print(f"     {iw} --config {cfg} staff add NAME && {iw} --config {cfg} console")


def _command() -> str:
    """How the reader can run the CLI now: its name when it is on PATH (an active venv,
    an installed package), else its path beside this interpreter (``scripts/demo.sh``
    runs .venv/bin/invoice-worker without activating the venv)."""
    if shutil.which("invoice-worker"):
        return "invoice-worker"
    beside = Path(sys.executable).parent / "invoice-worker"
    return shlex.quote(str(beside)) if beside.exists() else "invoice-worker"
