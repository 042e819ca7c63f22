"""Payment exports built in code, the way the training platform writes them."""

from __future__ import annotations

import csv
import io
from dataclasses import astuple, dataclass

from openpyxl import Workbook

HEADER = ("订单号", "姓名", "身份证号", "培训年度", "金额", "支付时间", "支付方式", "状态")


@dataclass
class Pay:
    order_no: str
    name: str
    id_number: str
    year: object = 2018
    amount: object = "150.00"
    paid_at: object = "2018-05-10 09:30:00"
    method: str = "在线支付"
    status: str = "已支付"


def payments_csv(rows: list[Pay], *, encoding: str = "utf-8", bom: bool = False,
                 delimiter: str = ",", header: tuple[str, ...] = HEADER) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(astuple(row))
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def payments_xlsx(rows: list[Pay], *, title_row: str | None = "培训平台订单导出") -> bytes:
    wb = Workbook()
    ws = wb.active
    if title_row:
        ws.append([title_row])
    ws.append(list(HEADER))
    for row in rows:
        ws.append(list(astuple(row)))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def payments_xls(rows: list[Pay]) -> bytes:
    """An Excel 97-2003 export, with 支付时间 as a real date cell."""
    from datetime import datetime

    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("订单")
    stamp = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    for c, label in enumerate(HEADER):
        ws.write(0, c, label)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(astuple(row)):
            if c == 5 and isinstance(value, str):
                ws.write(r, c, datetime.fromisoformat(value), stamp)
            else:
                ws.write(r, c, value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
