"""Payment records from the training platform's exports (CSV or .xlsx).

Reading is separate from storing so the console's upload and the CLI share both.
A bad row is reported with its file and line; the good rows still load. Importing
the same file twice changes nothing; a later export updates a record (a refund).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.db.models import Payment, PaymentImport
from worker.db.types import utcnow
from worker.errors import PaymentFileError
from worker.text import label_key, normalize, parse_amount, parse_int, squash
from worker.validation.model import CARD, ONLINE, PAID, REFUNDED, PaymentRow

COLUMNS: dict[str, tuple[str, ...]] = {
    "order_no": ("订单号", "订单编号", "订单号码"),
    "name": ("姓名", "学员姓名"),
    "id_number": ("身份证号", "身份证号码", "证件号码"),
    "year": ("培训年度", "年度"),
    "amount": ("金额", "金额元", "支付金额", "缴费金额"),
    "paid_at": ("支付时间", "付款时间", "缴费时间"),
    "method": ("支付方式", "付款方式"),
    "status": ("状态", "支付状态", "订单状态"),
}
_LOOKUP = {label_key(label): key for key, labels in COLUMNS.items() for label in labels}
# Exports name things more ways than the spec's two words; anything not recognised
# is a bad row (reported), never guessed.
_PAID_WORDS = ("已支付", "支付成功", "已付款", "付款成功", "交易成功", "已缴费", "缴费成功", "已完成")
_REFUND_WORDS = ("退款", "退费")
_ONLINE_WORDS = ("在线", "线上", "网上", "网银", "微信", "支付宝", "银联", "快捷支付")
_CARD_WORDS = ("学习卡", "购卡", "充值卡")


def _status(value: object) -> str | None:
    text = squash(value)
    if any(w in text for w in _REFUND_WORDS):
        return REFUNDED
    return PAID if text in _PAID_WORDS else None


def _method(value: object) -> str | None:
    text = squash(value)
    if any(w in text for w in _CARD_WORDS):
        return CARD
    return ONLINE if any(w in text for w in _ONLINE_WORDS) else None

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d%H%M%S")


@dataclass(frozen=True)
class RowError:
    source: str
    line: int
    detail: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.detail}"


@dataclass
class ImportResult:
    source: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.source}: {self.rows} rows, {self.inserted} new, {self.updated} updated, "
                f"{self.unchanged} unchanged, {len(self.errors)} bad")


def read_payment_file(
    name: str, data: bytes, tz: ZoneInfo
) -> tuple[list[PaymentRow], list[RowError]]:
    """Parse an export; raises PaymentFileError only when the file as a whole is unusable."""
    if data[:4] == b"PK\x03\x04":
        table = _xlsx_rows(name, data)
    elif data[:8] == OLE2_MAGIC:
        table = _xls_rows(name, data)
    else:
        table = _csv_rows(data)
    return _rows(name, table, tz)


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    for lineno, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        yield lineno, list(row)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _xlsx_rows(name: str, data: bytes) -> Iterator[tuple[int, list[object]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many unrelated types on bad files
        raise PaymentFileError(f"{name}: not a readable .xlsx file ({e})") from e
    try:
        ws = wb.worksheets[0]
        for lineno, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield lineno, list(row)
    finally:
        wb.close()


def _xls_rows(name: str, data: bytes) -> Iterator[tuple[int, list[object]]]:
    """Excel 97-2003 exports (some platform versions still write them)."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
        sheet = book.sheet_by_index(0)
    except Exception as e:  # xlrd raises bare Exceptions for bad files
        raise PaymentFileError(f"{name}: not a readable .xls file ({e})") from e
    for r in range(sheet.nrows):
        cells: list[object] = []
        for cell in sheet.row(r):
            if cell.ctype == xlrd.XL_CELL_DATE:
                cells.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
            else:
                cells.append(cell.value)
        yield r + 1, cells


def _rows(name: str, table: Iterable[tuple[int, list[object]]], tz: ZoneInfo,
          ) -> tuple[list[PaymentRow], list[RowError]]:
    rows: list[PaymentRow] = []
    errors: list[RowError] = []
    columns: dict[str, int] | None = None
    for lineno, cells in table:
        if not any(normalize(c) for c in cells):
            continue
        if columns is None:
            found = {_LOOKUP[k]: i for i, c in enumerate(cells) if (k := label_key(c)) in _LOOKUP}
            if "order_no" in found:
                missing = [COLUMNS[k][0] for k in COLUMNS if k not in found]
                if missing:
                    raise PaymentFileError(f"{name}:{lineno}: missing columns {'、'.join(missing)}")
                columns = found
            continue
        row, problem = _row(cells, columns, tz)
        if problem:
            errors.append(RowError(name, lineno, problem))
        elif row:
            rows.append(row)
    if columns is None:
        raise PaymentFileError(f"{name}: no header row with 订单号 found")
    return rows, errors


def _row(cells: list[object], columns: dict[str, int], tz: ZoneInfo,
         ) -> tuple[PaymentRow | None, str | None]:
    def cell(key: str) -> object:
        i = columns[key]
        return cells[i] if i < len(cells) else None

    order_no = squash(cell("order_no"))
    if order_no.endswith(".0") and order_no[:-2].isdigit():
        order_no = order_no[:-2]
    if not order_no:
        return None, "订单号 is empty"
    amount = parse_amount(cell("amount"))
    if amount is None:
        return None, f"金额 {normalize(cell('amount'))!r} is not an amount"
    status = _status(cell("status"))
    if status is None:
        return None, f"状态 {normalize(cell('status'))!r} is not 已支付 or 已退款"
    method = _method(cell("method"))
    if method is None:
        return None, f"支付方式 {normalize(cell('method'))!r} is not 在线支付 or 学习卡"
    raw_time = cell("paid_at")
    paid_at = _parse_time(raw_time, tz)
    if paid_at is None and normalize(raw_time):
        return None, f"支付时间 {normalize(raw_time)!r} is not a date-time"
    return PaymentRow(
        order_no=order_no,
        name=squash(cell("name")),
        id_number=squash(cell("id_number")).upper(),
        year=parse_int(cell("year")),
        amount=amount,
        paid_at=paid_at,
        method=method,
        status=status,
    ), None


def _parse_time(value: object, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    text = normalize(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    except ValueError:
        pass
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    return None


def store_payments(session: Session, source: str, rows: list[PaymentRow],
                   errors: list[RowError]) -> ImportResult:
    """Upsert rows in the caller's transaction. A refund is final: an older export
    that still says 已支付 does not un-refund an order."""
    result = ImportResult(source=source, rows=len(rows) + len(errors), errors=list(errors))
    latest: dict[str, PaymentRow] = {}
    for row in rows:
        latest[row.order_no] = row
    existing = {
        p.order_no: p
        for chunk in _chunks(list(latest), 500)
        for p in session.scalars(select(Payment).where(Payment.order_no.in_(chunk)))
    }
    now = utcnow()
    for order_no, row in latest.items():
        current = existing.get(order_no)
        values = {
            "name": row.name, "id_number": row.id_number, "year": row.year, "amount": row.amount,
            "paid_at": row.paid_at, "method": row.method, "status": row.status,
        }
        if current is None:
            session.add(Payment(order_no=order_no, source=source, imported_at=now,
                                updated_at=now, **values))
            result.inserted += 1
            continue
        if current.status == REFUNDED and row.status == PAID:
            values["status"] = REFUNDED
        if all(getattr(current, k) == v for k, v in values.items()):
            result.unchanged += 1
            continue
        for k, v in values.items():
            setattr(current, k, v)
        current.source = source
        current.updated_at = now
        result.updated += 1
    session.add(PaymentImport(
        source=source[:255], rows=result.rows, inserted=result.inserted, updated=result.updated,
        unchanged=result.unchanged,
        errors=json.dumps([str(e) for e in result.errors], ensure_ascii=False),
    ))
    return result


def import_payment_file(session: Session, path: Path, tz: ZoneInfo) -> ImportResult:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PaymentFileError(f"{path}: cannot read ({e.strerror})") from e
    rows, errors = read_payment_file(path.name, data, tz)
    return store_payments(session, path.name, rows, errors)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
