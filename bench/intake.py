#!/usr/bin/env python
"""Intake benchmark: one ``App.run_once()`` over a Maildir of N realistic mails.

    python bench/intake.py [--mails 1000] [--scale 10] [--seed 1] [--no-scale]
                           [--repeat 1] [--stages intake|all]
                           [--floor-policy compat32|default] [--profile FILE]

For each size (N, then N x scale unless --no-scale) the script builds a fresh
installation in a temp folder (SQLite database migrated with ``init_db``, the
platform's payments imported with ``read_payment_file``/``store_payments``, the mails
delivered with the stdlib ``mailbox.Maildir``), then times two child processes on the
same mail files:

* floor  - the bare parse: ``email.message_from_bytes`` (policy given by
  --floor-policy, compat32 by default: the parser the worker itself uses), walk the
  parts, take the attachments, read each .xlsx with openpyxl (read_only, data_only,
  every row's values). No checks, no database, no moves.
* intake - ``App.from_config(load_config(config.toml)).run_once()``: schema check,
  listing, parse, analyse, checks, issuing, queued replies, commit, move. run_once()
  also renders the print batch and sends due replies after the pass; with the
  default ``--stages intake`` those two steps are stubbed out in the child (the print
  batch renders every pending invoice into ONE WeasyPrint PDF: minutes and GBs for a
  1,000-mail backlog); ``--stages all`` runs them and times them separately.

Times are measured inside each child around the work itself (interpreter start-up
and imports excluded), as wall time and as the child's CPU time (the latter is less
disturbed by other load on the machine). --repeat K times each size K times on fresh
copies of the same world and keeps the fastest. Peak RSS is that child's own: VmHWM
from /proc/self/status at its end. (wait4's / RUSAGE_CHILDREN's ``ru_maxrss`` is not
used: on Linux it also counts the parent's pages at fork time, before exec, i.e. the
generator's ~100 MB.)
Generation time is not measured. Mails follow one seeded distribution per mail, so
the scaled run has the same mix: forms of 1-50 trainee lines, GBK/UTF-8 plain or
HTML bodies with the recipient written in several ways, ~82% valid applications,
the rest held (refunded or unknown order, urban district, study card, no recipient,
no form) or ignored (auto-replies). The pass's statuses are checked against the mix.

--profile FILE runs one more (untimed) intake of the first size under cProfile,
writes the stats to FILE and prints the top functions in worker/.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve()
TZ_NAME = "Asia/Shanghai"

GOAL_FLOOR_RATIO = 2.0
GOAL_SCALE_SLACK = 1.1  # big/small time ratio goal: scale x 1.1 (11 for 10x)

# ----------------------------------------------------------------------------- data

SUBURBAN = {  # district -> 身份证 region code
    "武清区": "120222", "宝坻区": "120224", "静海区": "120223", "宁河区": "120221",
    "蓟州区": "120225", "滨海新区": "120116", "东丽区": "120110", "西青区": "120111",
    "津南区": "120112", "北辰区": "120113",
}
URBAN = {"和平区": "120101", "河东区": "120102", "河西区": "120103", "南开区": "120104",
         "河北区": "120105", "红桥区": "120106"}
# How units write their district: the canonical name mostly, sometimes the short form.
DISTRICT_SPELLING = {"武清区": "武清", "宝坻区": "宝坻", "滨海新区": "滨海", "蓟州区": "蓟县"}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鑫宇浩然欣怡博文"
ROADS = ("雍阳西道", "泉州北路", "团泊大道", "津围公路", "中山路", "黄海路", "京津公路",
         "芦台镇光明路", "津塘公路", "天祥工业园", "北辰道", "海河东路")
FIRMS = ("雍阳科技", "港湾物流", "团泊制造", "宏达建设", "华信电子", "金桥化工", "瑞丰农业",
         "恒通机械", "新宇医药", "盛世文化", "中环物业", "汇丰纺织", "津城食品", "万达印务")
KINDS = ("有限公司", "股份有限公司", "有限责任公司", "中心", "集团有限公司")
DOMAINS = ("163.com", "126.com", "qq.com", "sina.com", "tj.gov.cn", "yeah.net")
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

BODIES = (
    "老师您好：\n附件是{unit}的发票申请表，请查收。\n收件人：{name}\n联系电话：{phone}\n"
    "地址：{addr}\n\n{contact}\n{unit}",
    "您好！\n收 件 人：{name}\n手机：{phone}\n邮寄地址：{addr}\n谢谢！",
    "收件人：{name} 电话：{phone} 地址：{addr}",
    "老师好，我单位申请开具培训费发票，申请表见附件。\n收件人：{name}，电话 {phone}，"
    "地址：{addr}\n\n-----原始邮件-----\n发件人：xy23391756@163.com\n主题：Re: 发票申请\n"
    "请把申请表和收件信息发到本邮箱。",
    "各位老师好\n\n发票请寄：\n收件人姓名：{name}\n收件人电话：{phone}\n收件地址：{addr}\n\n"
    "经办人：{contact} {contact_phone}",
)
NO_RECIPIENT_BODY = "老师您好，附件是我单位的发票申请表，请开具发票，谢谢！\n{contact}"
INQUIRY_BODY = ("老师您好，我单位有{n}人参加了今年的网上培训，请问发票怎么申请？\n"
                "收件人：{name} 电话：{phone}")
AUTO_BODY = "您好，我正在休假，{date}后回复您的邮件。"

# (kind, share): the per-mail mix, identical for every size.
MIX = (
    ("refunded", 0.05),       # one order refunded                -> held
    ("unknown_order", 0.05),  # one order has no payment record   -> held
    ("urban", 0.03),          # 市内六区                            -> held
    ("study_card", 0.01),     # one order paid by 学习卡            -> held
    ("no_recipient", 0.01),   # body without recipient            -> held
    ("inquiry", 0.02),        # question, no attachment           -> held (NO_FORM)
    ("auto_reply", 0.01),     # 自动回复                            -> ignored
)
EXPECTED_STATUS = {"valid": "accepted", "auto_reply": "ignored"}


@dataclass
class WorldStats:
    mails: int = 0
    forms: int = 0
    lines: int = 0
    payments: int = 0
    mail_bytes: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)
    gen_s: float = 0.0


# ------------------------------------------------------------------ fast form bytes


class FormFactory:
    """``worker.samples.form_xlsx`` output, fast: one openpyxl workbook per line count
    with placeholder values, then per form only the sheet XML is filled in and the
    package re-zipped. The first forms are compared byte for byte with form_xlsx."""

    _TOKEN = re.compile(r"@@(\w+)@@|<v>(\d+)</v>")

    def __init__(self, verify: int = 12) -> None:
        self._templates: dict[int, tuple[list[tuple[str, bytes]], str, dict[str, str]]] = {}
        self._verify = verify

    def _template(self, n: int) -> tuple[list[tuple[str, bytes]], str, dict[str, str]]:
        if n not in self._templates:
            from worker.samples import Trainee, Unit, form_xlsx

            people = [Trainee(f"@@N{i}@@", f"@@I{i}@@", f"@@O{i}@@", year=700000 + i,
                              amount=str(800000 + i)) for i in range(n)]
            unit = Unit("@@U@@", "@@D@@", "@@T@@", "@@C@@", "@@P@@", issue_mode="@@M@@",
                        trainees=people)
            archive = zipfile.ZipFile(io.BytesIO(form_xlsx(unit)))
            members = [(info.filename, archive.read(info)) for info in archive.infolist()]
            sheet = dict(members)["xl/worksheets/sheet1.xml"].decode("utf-8")
            total = sum(float(t.amount) for t in people)
            numbers = {str(700000 + i): f"Y{i}" for i in range(n)}
            numbers |= {str(800000 + i): f"A{i}" for i in range(n)}
            numbers[_num(total)] = "TOTAL"
            for text in numbers:
                if f"<v>{text}</v>" not in sheet:
                    raise RuntimeError(f"form template: sentinel {text} not found")
            self._templates[n] = (members, sheet, numbers)
        return self._templates[n]

    def build(self, unit: Any) -> bytes:
        members, sheet, numbers = self._template(len(unit.trainees))
        values = {"U": unit.name, "D": unit.district, "T": unit.tax_id, "C": unit.contact,
                  "P": unit.phone, "M": unit.issue_mode,
                  "TOTAL": _num(sum(float(t.amount) for t in unit.trainees))}
        for i, t in enumerate(unit.trainees):
            values[f"N{i}"] = t.name
            values[f"I{i}"] = t.id_number
            values[f"O{i}"] = t.order_no
            values[f"Y{i}"] = str(t.year)
            values[f"A{i}"] = _num(float(t.amount))

        def fill(m: re.Match[str]) -> str:
            if m.group(1) is not None:
                return escape(values[m.group(1)])
            key = numbers.get(m.group(2))
            return m.group(0) if key is None else f"<v>{values[key]}</v>"

        filled = self._TOKEN.sub(fill, sheet).encode("utf-8")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
            for name, data in members:
                out.writestr(name, filled if name == "xl/worksheets/sheet1.xml" else data)
        result = buf.getvalue()
        if self._verify > 0:
            self._verify -= 1
            from worker.samples import form_xlsx

            ref = zipfile.ZipFile(io.BytesIO(form_xlsx(unit))).read("xl/worksheets/sheet1.xml")
            if ref != filled:
                raise RuntimeError("fast form differs from worker.samples.form_xlsx")
        return result


def _num(value: float) -> str:
    """A number as openpyxl writes it (integral floats without ``.0``)."""
    return str(int(value)) if float(value).is_integer() else repr(value)


# ----------------------------------------------------------------------- generation


class Generator:
    def __init__(self, seed: int) -> None:
        from zoneinfo import ZoneInfo

        self.rng = random.Random(seed)
        self.tz = ZoneInfo(TZ_NAME)
        self.forms = FormFactory()
        self.order_seq = 0

    def person_name(self) -> str:
        r = self.rng
        return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2))))

    def phone(self) -> str:
        r = self.rng
        if r.random() < 0.8:
            return r.choice(("138", "139", "136", "135", "158", "186", "152", "177")) + \
                f"{r.randrange(10**8):08d}"
        return f"022-{r.randrange(2 * 10**7, 9 * 10**7):08d}"

    def id_no(self, region: str) -> str:
        from worker.samples import id_number

        r = self.rng
        birth = datetime(1960, 1, 1) + timedelta(days=r.randrange(365 * 38))
        return id_number(region, birth.strftime("%Y%m%d"), r.randrange(1, 1000))

    def unit(self, district: str, region: str, lines: int) -> Any:
        from worker.samples import Trainee, Unit, tax_id

        r = self.rng
        short = district.removesuffix("新区").removesuffix("区")
        name = f"天津市{short}{r.choice(FIRMS)}{r.choice(KINDS)}"
        body17 = f"91{region}MA" + "".join(r.choice(USCC_CHARS) for _ in range(7))
        people = []
        for _ in range(lines):
            self.order_seq += 1
            paid = datetime(2018, 3, 1, 8, tzinfo=self.tz) + \
                timedelta(minutes=r.randrange(60 * 24 * 180))
            year, amount = r.choices(((2018, "150.00"), (2017, "150.00"), (2015, "160.00")),
                                     weights=(90, 5, 5))[0]
            people.append(Trainee(
                self.person_name(), self.id_no(r.choice((region, region, "120104", "130982"))),
                f"TJ{paid:%Y%m%d}{self.order_seq:07d}", year=year, amount=amount,
                paid_at=f"{paid:%Y-%m-%d %H:%M:%S}"))
        spelled = DISTRICT_SPELLING.get(district, district) if r.random() < 0.2 else district
        mode = "每人一张" if r.random() < 0.2 else "合并开具"
        return Unit(name, spelled, tax_id(body17), self.person_name(), self.phone(),
                    issue_mode=mode, trainees=people)

    def kind(self) -> str:
        x = self.rng.random()
        for kind, share in MIX:
            if x < share:
                return kind
            x -= share
        return "valid"

    def one(self) -> tuple[str, bytes, list[Any], int, int]:
        """(kind, raw mail, payment rows, forms, lines) for one mail."""
        from worker.samples import mail

        r = self.rng
        kind = self.kind()
        when = datetime(2018, 9, 1, 8, tzinfo=self.tz) + timedelta(minutes=r.randrange(60 * 24 * 120))
        urban = kind == "urban"
        district, region = r.choice(list((URBAN if urban else SUBURBAN).items()))
        contact = self.person_name()
        local = f"user{r.randrange(10**6)}"
        sender = f"{contact} <{local}@{r.choice(DOMAINS)}>" if r.random() < 0.7 \
            else f"{local}@{r.choice(DOMAINS)}"
        charset = "gbk" if r.random() < 0.6 else "utf-8"
        html = r.random() < 0.15
        road = f"{r.choice(ROADS)}{r.randrange(1, 300)}号"
        fields = {"name": self.person_name(), "phone": self.phone(),
                  "addr": f"天津市{district}{road}" + (f"{r.randrange(1, 20)}楼" if r.random() < .5 else ""),
                  "contact": contact, "contact_phone": self.phone()}
        if kind == "auto_reply":
            raw = mail(sender=sender, subject="自动回复：发票申请", date=when, charset=charset,
                       body=AUTO_BODY.format(date=f"{when + timedelta(days=7):%m月%d日}"),
                       headers={"Auto-Submitted": "auto-replied"})
            return kind, raw, [], 0, 0
        if kind == "inquiry":
            raw = mail(sender=sender, subject="咨询发票事宜", date=when, charset=charset, html=html,
                       body=INQUIRY_BODY.format(n=r.randrange(1, 50), **fields))
            return kind, raw, [], 0, 0

        lines = r.randint(1, 50)
        unit = self.unit(district, region, lines)
        fields["unit"] = unit.name
        paid = list(unit.trainees)
        pick = r.randrange(lines)
        if kind == "refunded":
            paid[pick] = replace(paid[pick], status="已退款")
        elif kind == "study_card":
            paid[pick] = replace(paid[pick], method="学习卡")
        elif kind == "unknown_order":
            del paid[pick]
        body = NO_RECIPIENT_BODY if kind == "no_recipient" else r.choice(BODIES)
        filename = r.choice(("发票申请表.xlsx", f"{unit.name}发票申请表.xlsx",
                             f"线上缴费发票申请表-{contact}.xlsx", "申请表.xlsx"))
        subject = r.choice((f"{unit.name} 发票申请", "发票申请", f"{district}{contact}申请发票"))
        raw = mail(sender=sender, subject=subject, date=when, charset=charset, html=html,
                   body=body.format(**fields), attachments=[(filename, self.forms.build(unit))])
        return kind, raw, paid, 1, lines


def build_world(root: Path, n: int, seed: int) -> tuple[Path, WorldStats]:
    """Temp installation: config.toml, migrated SQLite, payments, N mails in a Maildir."""
    import mailbox as stdlib_mailbox
    from zoneinfo import ZoneInfo

    from worker.app import App
    from worker.config import load_config
    from worker.db import init_db
    from worker.payments import read_payment_file, store_payments
    from worker.samples import payments_csv

    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / "config.toml"
    config_path.write_text(
        f'[database]\nurl = "sqlite:///{root / "invoices.db"}"\n'
        f'[mailbox]\nurl = "maildir:{root / "mail"}"\n'
        f'[output]\ndir = "{root / "out"}"\n', encoding="utf-8")
    app = App.from_config(load_config(config_path))
    init_db(app.engine)
    stats = WorldStats()
    gen = Generator(seed)
    box = stdlib_mailbox.Maildir(str(root / "mail"), create=True)
    pending: list[Any] = []

    def flush_payments() -> None:
        if not pending:
            return
        rows, errors = read_payment_file("payments.csv", payments_csv(pending),
                                         ZoneInfo(TZ_NAME))
        if errors:
            raise RuntimeError(f"payment rows rejected: {errors[:3]}")
        with app.sessions.begin() as session:
            store_payments(session, "payments.csv", rows, errors)
        stats.payments += len(rows)
        pending.clear()

    for _ in range(n):
        kind, raw, paid, forms, lines = gen.one()
        box.add(raw)
        pending.extend(paid)
        if len(pending) >= 20000:
            flush_payments()
        stats.mails += 1
        stats.forms += forms
        stats.lines += lines
        stats.mail_bytes += len(raw)
        stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
        status = EXPECTED_STATUS.get(kind, "held")
        stats.expected[status] = stats.expected.get(status, 0) + 1
    flush_payments()
    app.close()
    stats.gen_s = time.perf_counter() - t0
    return config_path, stats


# --------------------------------------------------------------------------- children


def child_intake(config_path: str, out: str, profile: str | None, stages: str) -> None:
    t0 = time.perf_counter()
    from worker.app import App
    from worker.config import load_config

    app = App.from_config(load_config(config_path))
    startup = time.perf_counter() - t0
    extra: dict[str, float] = {}
    for name in ("print_pending", "send_replies"):  # steps run_once does after the pass
        if hasattr(app, name):
            if stages == "intake":
                setattr(app, name, lambda *a, **k: None)
                extra[f"{name}_s"] = 0.0
            else:
                setattr(app, name, _timed(getattr(app, name), extra, f"{name}_s"))
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t1, c1 = time.perf_counter(), time.process_time()
    summary = app.run_once()
    seconds, cpu = time.perf_counter() - t1, time.process_time() - c1
    if prof is not None:
        prof.disable()
        prof.dump_stats(profile)
    app.close()
    _child_result(out, seconds=seconds, work_cpu_s=cpu, startup_s=startup,
                  processed=summary.processed, by_status=summary.by_status, **extra)


def _timed(func: Any, into: dict[str, float], key: str) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            into[key] = into.get(key, 0.0) + time.perf_counter() - t
    return timed


def child_floor(maildir: str, out: str, policy_name: str) -> None:
    t0 = time.perf_counter()
    import email
    import email.policy

    from openpyxl import load_workbook

    policy = email.policy.default if policy_name == "default" else email.policy.compat32
    startup = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), time.process_time()
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
            if not isinstance(data, bytes) or data[:4] != b"PK\x03\x04":
                continue
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            for ws in book.worksheets:
                for _ in ws.iter_rows(values_only=True):
                    rows += 1
            book.close()
    seconds, cpu = time.perf_counter() - t1, time.process_time() - c1
    _child_result(out, seconds=seconds, work_cpu_s=cpu, startup_s=startup, processed=mails,
                  attachments=attachments, rows=rows)


def _child_result(out: str, **data: Any) -> None:
    data["hwm_mb"] = _own_peak_rss_mb()
    Path(out).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _own_peak_rss_mb() -> float | None:
    """VmHWM: the peak RSS of this process image since exec (Linux).

    ``ru_maxrss`` (RUSAGE_SELF in the child, or wait4/RUSAGE_CHILDREN in the parent)
    also counts the parent's memory copied at fork time, before exec, so with a large
    parent it reports the parent's size, not the child's.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def run_child(role: str, target: Path, workdir: Path, extra: list[str]) -> dict[str, Any]:
    """Run this script as a child; its CPU time comes from wait4's rusage."""
    out = workdir / f"{role}.json"
    log_path = workdir / f"{role}.log"
    cmd = [sys.executable, str(HERE), "--child", role, str(target), "--child-out", str(out),
           *extra]
    with log_path.open("wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
        raise SystemExit(f"{role} child failed with exit code {proc.returncode}")
    data = json.loads(out.read_text(encoding="utf-8"))
    data["wall_s"] = wall
    data["cpu_s"] = usage.ru_utime + usage.ru_stime
    data["maxrss_mb"] = usage.ru_maxrss / 1024  # Linux: KiB; includes the pre-exec fork
    data["peak_rss_mb"] = data["hwm_mb"] if data.get("hwm_mb") else data["maxrss_mb"]
    return data


# ---------------------------------------------------------------------------- running


@dataclass
class RunResult:
    label: str
    stats: WorldStats
    floor: dict[str, Any]
    intake: dict[str, Any]

    @property
    def ratio(self) -> float:
        return self.intake["seconds"] / self.floor["seconds"]

    @property
    def cpu_ratio(self) -> float:
        return self.intake["work_cpu_s"] / self.floor["work_cpu_s"]


def run_size(label: str, n: int, args: argparse.Namespace, base: Path) -> RunResult:
    root = base / label
    print(f"[{label}] generating {n} mails ...", flush=True)
    config_path, stats = build_world(root, n, args.seed)
    os.sync()  # no generator writeback left to slow the timed fsyncs down
    print(f"[{label}] generated {stats.mails} mails, {stats.forms} forms, {stats.lines} lines, "
          f"{stats.payments} payments, {stats.mail_bytes / 1e6:.1f} MB in {stats.gen_s:.1f}s; "
          f"mix {stats.kinds}", flush=True)
    snapshot = base / f"{label}-pristine"
    if args.repeat > 1:
        shutil.copytree(root, snapshot)
    floors: list[dict[str, Any]] = []
    intakes: list[dict[str, Any]] = []
    for attempt in range(args.repeat):
        if attempt:  # the pass moved the mails and filled the database: start again
            shutil.rmtree(root)
            shutil.copytree(snapshot, root)
            os.sync()
        print(f"[{label}] floor ({args.floor_policy}) ...", flush=True)
        floors.append(run_child("floor", root / "mail", root,
                                ["--floor-policy", args.floor_policy]))
        print(f"[{label}] floor {floors[-1]['seconds']:.2f}s; intake ...", flush=True)
        intakes.append(run_child("intake", config_path, root, ["--stages", args.stages]))
        print(f"[{label}] intake {intakes[-1]['seconds']:.2f}s  {intakes[-1]['by_status']}",
              flush=True)
    floor = min(floors, key=lambda d: d["seconds"])
    intake = min(intakes, key=lambda d: d["seconds"])
    floor["runs"] = [round(d["seconds"], 3) for d in floors]
    intake["runs"] = [round(d["seconds"], 3) for d in intakes]
    shutil.rmtree(snapshot, ignore_errors=True)
    if intake["processed"] != n or floor["processed"] != n:
        print(f"[{label}] WARNING: processed intake={intake['processed']} "
              f"floor={floor['processed']} of {n}", flush=True)
    if intake["by_status"] != stats.expected:
        print(f"[{label}] WARNING: statuses {intake['by_status']} != expected {stats.expected}",
              flush=True)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return RunResult(label, stats, floor, intake)


def profile_run(n: int, args: argparse.Namespace, base: Path) -> None:
    import pstats

    root = base / "profile"
    print(f"[profile] generating {n} mails ...", flush=True)
    config_path, _ = build_world(root, n, args.seed)
    os.sync()
    data = run_child("intake", config_path, root,
                     ["--profile-out", str(args.profile), "--stages", args.stages])
    print(f"[profile] intake under cProfile: {data['seconds']:.2f}s -> {args.profile}")
    stats = pstats.Stats(str(args.profile))
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in \
            stats.stats.items():  # type: ignore[attr-defined]
        if f"{os.sep}worker{os.sep}" in filename and f"{os.sep}bench{os.sep}" not in filename:
            rel = filename[filename.rindex(f"{os.sep}worker{os.sep}") + 1:]
            rows.append((cumtime, tottime, ncalls, f"{rel}:{line}({func})"))
    rows.sort(reverse=True)
    total = data["seconds"]
    print(f"\nTop {args.profile_top} cumulative in worker/ (profiled pass {total:.2f}s):")
    print(f"{'cum s':>8} {'cum %':>6} {'own s':>8} {'calls':>8}  function")
    for cum, own, calls, where in rows[:args.profile_top]:
        print(f"{cum:8.2f} {100 * cum / total:5.1f}% {own:8.2f} {calls:8d}  {where}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


def report(results: list[RunResult], args: argparse.Namespace) -> dict[str, Any]:
    head = (f"{'run':<6} {'mails':>6} {'forms':>6} {'lines':>7} {'intake s':>9} {'mails/s':>8} "
            f"{'ms/mail':>8} {'cpu ms':>7} {'RSS MB':>7} {'floor s':>8} {'flr RSS':>7} "
            f"{'intk/flr':>8} {'cpu i/f':>7}")
    print()
    best = f"; fastest of {args.repeat}" if args.repeat > 1 else ""
    print(f"intake benchmark (seed {args.seed}; floor = email {args.floor_policy} + openpyxl "
          f"read_only; times inside the child, start-up excluded{best})")
    if args.stages == "intake":
        print("stages: intake = App.run_once() with print_pending/send_replies stubbed out")
    print(head)
    print("-" * len(head))
    for r in results:
        s, it, fl = r.stats, r.intake, r.floor
        print(f"{r.label:<6} {s.mails:>6} {s.forms:>6} {s.lines:>7} {it['seconds']:>9.2f} "
              f"{s.mails / it['seconds']:>8.1f} {1000 * it['seconds'] / s.mails:>8.2f} "
              f"{1000 * it['work_cpu_s'] / s.mails:>7.2f} {it['peak_rss_mb']:>7.1f} "
              f"{fl['seconds']:>8.2f} {fl['peak_rss_mb']:>7.1f} {r.ratio:>8.2f} "
              f"{r.cpu_ratio:>7.2f}")
        steps = {k: v for k, v in it.items() if k in ("print_pending_s", "send_replies_s")}
        if args.stages == "all" and steps:
            shown = ", ".join(f"{k[:-2]} {v:.2f}s" for k, v in steps.items())
            print(f"{'':<6} of which after the pass: {shown}; the pass itself "
                  f"{it['seconds'] - sum(steps.values()):.2f}s")
    print("(ms/mail: wall time of the pass; cpu ms: its CPU time, less sensitive to other "
          "load on the machine; cpu i/f: the intake/floor ratio on CPU time)")
    small = results[0]
    summary: dict[str, Any] = {
        "seed": args.seed, "floor_policy": args.floor_policy, "stages": args.stages,
        "mails": small.stats.mails, "forms": small.stats.forms, "lines": small.stats.lines,
        "intake_s": round(small.intake["seconds"], 3),
        "mails_per_s": round(small.stats.mails / small.intake["seconds"], 1),
        "ms_per_mail": round(1000 * small.intake["seconds"] / small.stats.mails, 2),
        "peak_rss_mb": round(small.intake["peak_rss_mb"], 1),
        "floor_s": round(small.floor["seconds"], 3),
        "floor_peak_rss_mb": round(small.floor["peak_rss_mb"], 1),
        "ratio_intake_floor": round(small.ratio, 2),
        "cpu_ms_per_mail": round(1000 * small.intake["work_cpu_s"] / small.stats.mails, 2),
        "cpu_ratio_intake_floor": round(small.cpu_ratio, 2),
        "goal_intake_floor": GOAL_FLOOR_RATIO,
        "by_status": small.intake["by_status"],
        "intake_runs_s": small.intake["runs"], "floor_runs_s": small.floor["runs"],
    }
    for key in ("print_pending_s", "send_replies_s"):
        if args.stages == "all" and key in small.intake:
            summary[key] = round(small.intake[key], 3)
    print()
    print(f"intake/floor ({small.label}): {small.ratio:.2f} (goal <= {GOAL_FLOOR_RATIO}) "
          f"{'OK' if small.ratio <= GOAL_FLOOR_RATIO else 'MISSED'}")
    ok = small.ratio <= GOAL_FLOOR_RATIO
    if len(results) > 1:
        big = results[1]
        factor = big.stats.mails / small.stats.mails
        goal = factor * GOAL_SCALE_SLACK
        scale_ratio = big.intake["seconds"] / small.intake["seconds"]
        print(f"intake/floor ({big.label}): {big.ratio:.2f} (goal <= {GOAL_FLOOR_RATIO})")
        print(f"time big/small: {scale_ratio:.2f} for {factor:g}x mail (goal <= {goal:g}) "
              f"{'OK' if scale_ratio <= goal else 'MISSED'}; "
              f"peak RSS big/small: {big.intake['peak_rss_mb'] / small.intake['peak_rss_mb']:.2f}")
        ok = ok and scale_ratio <= goal
        summary.update({
            "scale": factor, "big_mails": big.stats.mails,
            "big_intake_s": round(big.intake["seconds"], 3),
            "big_ms_per_mail": round(1000 * big.intake["seconds"] / big.stats.mails, 2),
            "big_peak_rss_mb": round(big.intake["peak_rss_mb"], 1),
            "big_floor_s": round(big.floor["seconds"], 3),
            "big_ratio_intake_floor": round(big.ratio, 2),
            "big_cpu_ms_per_mail": round(1000 * big.intake["work_cpu_s"] / big.stats.mails, 2),
            "cpu_ratio_big_small": round(big.intake["work_cpu_s"] / small.intake["work_cpu_s"],
                                         2),
            "ratio_big_small": round(scale_ratio, 2), "goal_big_small": round(goal, 2),
            "big_intake_runs_s": big.intake["runs"], "big_floor_runs_s": big.floor["runs"],
        })
    summary["goals_met"] = ok
    print(json.dumps(summary, ensure_ascii=False))
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mails", type=int, default=1000, help="mails in the first run (1000)")
    p.add_argument("--scale", type=int, default=10, help="second run has mails x scale (10)")
    p.add_argument("--no-scale", action="store_true", help="skip the scaled run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--floor-policy", choices=("compat32", "default"), default="compat32",
                   help="email policy of the parse floor (compat32, as the worker uses)")
    p.add_argument("--stages", choices=("intake", "all"), default="intake",
                   help="intake: run_once() without the steps after the pass (print batch, "
                        "sending replies), which are stubbed out in the child; all: run_once() "
                        "as is, print_pending/send_replies timed separately. The print batch "
                        "renders every pending invoice into one PDF (measured ~0.1 s and ~2 MB "
                        "per invoice): keep --mails small with 'all'")
    p.add_argument("--repeat", type=int, default=1,
                   help="time each size this many times on fresh copies; report the fastest")
    p.add_argument("--tmp", type=Path, default=None, help="parent folder for the temp worlds")
    p.add_argument("--keep", action="store_true", help="keep the temp worlds")
    p.add_argument("--profile", type=Path, default=None,
                   help="also profile one (untimed) intake of --mails; write pstats here")
    p.add_argument("--profile-top", type=int, default=20)
    p.add_argument("--child", choices=("intake", "floor"), help=argparse.SUPPRESS)
    p.add_argument("child_target", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    p.add_argument("--profile-out", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == "intake":
        child_intake(args.child_target, args.child_out, args.profile_out, args.stages)
        return 0
    if args.child == "floor":
        child_floor(args.child_target, args.child_out, args.floor_policy)
        return 0
    if args.mails < 1 or args.scale < 1 or args.repeat < 1:
        raise SystemExit("--mails, --scale and --repeat must be at least 1")
    base = Path(tempfile.mkdtemp(prefix="bench-intake-", dir=args.tmp))
    try:
        results = [run_size("small", args.mails, args, base)]
        if not args.no_scale and args.scale > 1:
            results.append(run_size("big", args.mails * args.scale, args, base))
        report(results, args)
        if args.profile:
            print()
            profile_run(args.mails, args, base)
    finally:
        if args.keep:
            print(f"kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
