"""The intake bench's world: seeded realistic mails, their payments, a Maildir.

``build_worlds(base, n, seed, lines, mix)`` makes two installations (N and 3N mails; the
first N mails of the 3N world are the N world's) in a temp folder: config.toml, SQLite
migrated with ``init_db``, payments imported with ``read_payment_file``/
``store_payments``, mails delivered into a stdlib ``mailbox.Maildir`` with the file's
mtime (the worker's arrival time) set to the mail's date. Form bytes are made by
filling a cached ``worker.samples.form_xlsx`` workbook per line count (checked byte
for byte against ``form_xlsx`` for the first forms).
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import time
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

TZ_NAME = "Asia/Shanghai"

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
HELD_KINDS = ("refunded", "unknown_order", "urban", "study_card", "no_recipient")


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
    """Seeded mails: ``lines`` fixes every form's trainee count (else 1-50 at random);
    ``mix`` "held" draws every mail from the five held kinds with a form."""

    def __init__(self, seed: int, lines: int | None = None, mix: str = "realistic") -> None:
        from zoneinfo import ZoneInfo

        self.lines, self.mix = lines, mix
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
        if self.mix == "held":
            return self.rng.choice(HELD_KINDS)
        x = self.rng.random()
        for kind, share in MIX:
            if x < share:
                return kind
            x -= share
        return "valid"

    def one(self) -> tuple[str, bytes, list[Any], int, int, datetime]:
        """(kind, raw mail, payment rows, forms, lines, date) for one mail."""
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
            return kind, raw, [], 0, 0, when
        if kind == "inquiry":
            raw = mail(sender=sender, subject="咨询发票事宜", date=when, charset=charset, html=html,
                       body=INQUIRY_BODY.format(n=r.randrange(1, 50), **fields))
            return kind, raw, [], 0, 0, when

        lines = self.lines or r.randint(1, 50)
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
        return kind, raw, paid, 1, lines, when


# ---------------------------------------------------------------------------- worlds


def write_config(root: Path) -> Path:
    config_path = root / "config.toml"
    config_path.write_text(
        f'[database]\nurl = "sqlite:///{root / "invoices.db"}"\n'
        f'[mailbox]\nurl = "maildir:{root / "mail"}"\n'
        f'[output]\ndir = "{root / "out"}"\n', encoding="utf-8")
    return config_path


def build_worlds(base: Path, n: int, seed: int, lines: int | None = None,
                 mix: str = "realistic") -> list[tuple[Path, WorldStats]]:
    """Two installations, N and 3N mails: the 3N world is the N world plus 2N more
    mails of the same seeded stream. Returns [(config path, stats)] for N, then 3N."""
    import mailbox as stdlib_mailbox
    from zoneinfo import ZoneInfo

    from worker.app import App
    from worker.config import load_config
    from worker.db import init_db
    from worker.payments import read_payment_file, store_payments
    from worker.samples import payments_csv

    t0 = time.perf_counter()
    root = base / f"world-{3 * n}"
    root.mkdir(parents=True)
    config_path = write_config(root)
    app = App.from_config(load_config(config_path))
    init_db(app.engine)
    stats = WorldStats()
    gen = Generator(seed, lines, mix)
    box = stdlib_mailbox.Maildir(str(root / "mail"), create=True)
    pending: list[Any] = []
    worlds: list[tuple[Path, WorldStats]] = []

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

    for i in range(3 * n):
        if i == n:  # snapshot the N world: same mails, only their payments
            flush_payments()
            app.close()
            small = base / f"world-{n}"
            shutil.copytree(root, small)
            worlds.append((write_config(small), replace(
                stats, kinds=dict(stats.kinds), expected=dict(stats.expected),
                gen_s=time.perf_counter() - t0)))
            app = App.from_config(load_config(config_path))
        kind, raw, paid, forms, form_lines, when = gen.one()
        key = box.add(raw)
        # The worker's arrival time is the file's mtime (worker/mailbox/maildir.py):
        # the mail's date, inside the application window, as a delivery agent sets it.
        stamp = when.timestamp()
        os.utime(root / "mail" / "new" / key, (stamp, stamp))
        pending.extend(paid)
        if len(pending) >= 20000:
            flush_payments()
        stats.mails += 1
        stats.forms += forms
        stats.lines += form_lines
        stats.mail_bytes += len(raw)
        stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
        status = EXPECTED_STATUS.get(kind, "held")
        stats.expected[status] = stats.expected.get(status, 0) + 1
    flush_payments()
    app.close()
    stats.gen_s = time.perf_counter() - t0
    worlds.append((config_path, stats))
    os.sync()  # no generator writeback left to slow the timed commits down
    return worlds
