"""Sample data for the demo: a filled application form, payments and mails as real
units' mail clients send them (GBK bodies, RFC 2231/2047 file names, HTML-only)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid

from openpyxl import Workbook
from stdnum.cn import ric, uscc


@dataclass
class Trainee:
    name: str
    id_number: str
    order_no: str
    year: int = 2018
    amount: str = "150.00"
    paid_at: str = "2018-05-10 09:30:00"
    method: str = "在线支付"
    status: str = "已支付"


@dataclass
class Unit:
    name: str
    district: str
    tax_id: str
    contact: str
    phone: str
    invoice_type: str = "增值税普通发票"
    issue_mode: str = "合并开具"
    trainees: list[Trainee] = field(default_factory=list)


def id_number(region: str, birth: str, seq: int) -> str:
    body = f"{region}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum wants a placeholder digit


def tax_id(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


def form_xlsx(unit: Unit) -> bytes:
    """A filled form in the shipped layout, as a unit would send it."""
    wb = Workbook()
    ws = wb.active
    ws.title = "发票申请表"
    ws.append(["线上缴费发票申请表"])
    ws.append(["单位名称", unit.name, None, "所属区", unit.district])
    ws.append(["发票类型", unit.invoice_type, None, "开票方式", unit.issue_mode])
    ws.append(["发票抬头", unit.name, None, "纳税人识别号", unit.tax_id])
    ws.append(["经办人", unit.contact, None, "经办人电话", unit.phone])
    ws.append([])
    ws.append(["序号", "姓名", "身份证号", "订单号", "培训年度", "金额（元）"])
    for i, t in enumerate(unit.trainees, start=1):
        ws.append([i, t.name, t.id_number, t.order_no, t.year, float(t.amount)])
    total = sum(float(t.amount) for t in unit.trainees)
    ws.append(["合计", f"{len(unit.trainees)}人", None, None, None, total])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def payments_csv(trainees: list[Trainee]) -> bytes:
    """The platform's export, GB18030 as Excel on a Chinese Windows saves it."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(
        ["订单号", "姓名", "身份证号", "培训年度", "金额", "支付时间", "支付方式", "状态"]
    )
    for t in trainees:
        writer.writerow([t.order_no, t.name, t.id_number, t.year, t.amount, t.paid_at, t.method,
                         t.status])
    return buf.getvalue().encode("gb18030")


def mail(*, sender: str, subject: str, body: str, date: datetime,
         attachments: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
         html: bool = False, charset: str = "gbk", headers: dict[str, str] | None = None,
         ) -> bytes:
    msg = MIMEMultipart("mixed")
    msg["From"] = sender
    msg["To"] = "xy23391756@163.com"
    msg["Subject"] = Header(subject, charset).encode()
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">"))
    for key, value in (headers or {}).items():
        msg[key] = value
    if html:
        markup = "".join(f"<div>{line}</div>" for line in body.splitlines())
        msg.attach(MIMEText(f"<html><body>{markup}</body></html>", "html", charset))
    else:
        msg.attach(MIMEText(body, "plain", charset))
    for filename, data in attachments:
        part = MIMEApplication(data, "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", filename))
        msg.attach(part)
    return msg.as_bytes()
