"""The mail that takes a manifest to the courier: a Chinese summary and both files.

Built with the default email policy, so the Chinese subject is RFC 2047-encoded and the
Chinese attachment names RFC 2231-encoded, as 163/QQ/Outlook expect. The Message-ID is
derived from the manifest, so a re-send after a crash carries the same ID and the
courier's mail system can tell it is the same manifest.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

from worker.config import Config
from worker.mailer import sender_domain
from worker.manifest.sheet import ManifestSheet

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
PDF_TYPE = ("application", "pdf")


def subject(sheet: ManifestSheet) -> str:
    return (f"取件清单 第{sheet.number}号 {sheet.pickup_date.isoformat()} "
            f"共{len(sheet.parcels)}件 到付合计{sheet.postage:.2f}元")


def body(sheet: ManifestSheet) -> str:
    lines = [
        f"{sheet.courier}：",
        "",
        f"您好！{sheet.sender_name}今日有快件待取，均为运费到付，清单见附件（Excel 与 PDF 各一份）。",
        "",
        f"清单号：第{sheet.number}号",
        f"取件日期：{sheet.pickup_date.isoformat()}",
        f"件数：{len(sheet.parcels)} 件（共 {sheet.pieces} 件包裹，{sheet.weight_kg} kg）",
        f"到付合计：{sheet.postage:,.2f} 元",
        f"取件地址：{sheet.sender_address}",
        f"联系电话：{sheet.sender_phone}",
        "",
        "运单号：",
        *(f"  {p.seq}. {p.waybill}  {p.recipient}  {p.district}  到付 {p.postage:.2f} 元"
          for p in sheet.parcels),
        "",
        "取件时请携带清单，逐件核对运单号后在“取件人签字”处签字。",
        "",
        "（本邮件由系统自动发送。）",
        sheet.sender_name,
    ]
    return "\n".join(lines) + "\n"


def manifest_message(sheet: ManifestSheet, xlsx: Path, pdf: Path, config: Config) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject(sheet)
    msg["From"] = formataddr((sheet.sender_name, config.smtp.sender))
    msg["To"] = sheet.courier_email
    msg["Message-ID"] = (f"<manifest-{sheet.number}-{sheet.created_at:%Y%m%d%H%M%S}"
                         f"@{sender_domain(config.smtp.sender)}>")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body(sheet), cte="base64")  # 7-bit safe through any relay
    msg.add_attachment(xlsx.read_bytes(), *XLSX_TYPE, filename=f"{sheet.display_stem}.xlsx")
    msg.add_attachment(pdf.read_bytes(), *PDF_TYPE, filename=f"{sheet.display_stem}.pdf")
    return msg
