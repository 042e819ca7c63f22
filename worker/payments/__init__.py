"""Payment records from the training platform's exports (CSV or .xlsx).

Reading is separate from storing so the console's upload and the CLI share both.
A bad row is reported with its file and line; the good rows still load. Importing
the same file twice changes nothing; a later export updates a record (a refund).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from worker.db.models import Payment
from worker.errors import PaymentFileError
from worker.payments.results import ImportResult, RowError
from worker.payments.sheets import table_rows
from worker.payments.store import store_payments
from worker.text import (
    EXACT_DIGITS,
    cut_by_number_cell,
    label_key,
    masked,
    normalize,
    number_text,
    parse_amount,
    parse_int,
    squash,
    storable,
)
from worker.validation.ids import is_valid_id_number
from worker.validation.model import (
    CARD,
    ONLINE,
    PAID,
    PARTLY_REFUNDED,
    REFUNDED,
    REFUNDING,
    PaymentRow,
    final_status,
)

__all__ = ["ImportResult", "RowError", "import_payment_file", "read_payment_file",
           "store_payments"]


@dataclass(frozen=True)
class Column:
    """A column of the export: ``title`` is SPEC §2.4's word (what an error names);
    ``labels`` every title platforms and payment providers give it, the preferred one
    first when an export has several (实付金额 is what was paid; 订单金额 what was
    asked, before any discount). ``every``: all columns with its labels are read
    (a 退款状态 beside the 支付状态 says what became of the payment)."""

    title: str
    labels: tuple[str, ...]
    every: bool = False


COLUMNS: dict[str, Column] = {
    "order_no": Column("订单号", ("订单号", "订单编号", "订单号码", "商户订单号", "交易单号",
                                "交易订单号", "交易编号", "交易号")),
    "name": Column("姓名", ("姓名", "学员姓名", "真实姓名", "用户姓名")),
    "id_number": Column("身份证号", ("身份证号", "身份证号码", "证件号码", "证件号", "身份证",
                                    "公民身份号码", "公民身份证号码")),
    "year": Column("培训年度", ("培训年度", "年度", "培训年份", "年份")),
    "amount": Column("金额", ("实付金额", "实收金额", "实缴金额", "支付金额", "付款金额", "缴费金额",
                            "交易金额", "金额", "金额元", "订单金额")),
    "paid_at": Column("支付时间", ("支付时间", "付款时间", "缴费时间", "交易时间", "支付日期",
                                  "付款日期", "缴费日期")),
    "method": Column("支付方式", ("支付方式", "付款方式", "缴费方式", "支付渠道", "支付类型")),
    "status": Column("状态", ("状态", "支付状态", "订单状态", "交易状态", "缴费状态", "退款状态"),
                     every=True),
}
# label -> (key, preference): the one lookup from a header cell to its column.
_LOOKUP = {label_key(label): (key, rank)
           for key, column in COLUMNS.items() for rank, label in enumerate(column.labels)}


# Exports name things more ways than the spec's two words; anything not recognised
# is a bad row (reported), never guessed. Statuses are whole words: a word that only
# contains 退款 may say the money was NOT returned (退款失败, 拒绝退款, 未退款).
_STATUS_WORDS: dict[str, tuple[str, ...]] = {
    PAID: ("已支付", "支付成功", "已付款", "付款成功", "交易成功", "已缴费", "缴费成功", "已完成",
           # A refund asked for and not made: the platform kept the money, the trainee
           # paid, and a finance office invoices what it kept. Read as unknown instead,
           # the order would not be stored and the unit told it has no payment record.
           "退款失败", "退费失败", "退款关闭", "退款已关闭", "拒绝退款", "退款被拒绝", "退款已拒绝",
           "退款驳回", "退款已驳回", "退款被驳回", "退款已撤销", "退款已取消", "取消退款",
           "撤销退款", "未退款", "无退款", "未退费", "无退费"),
    REFUNDING: ("退款中", "退款处理中", "退款申请中", "申请退款", "待退款", "退款审核中",
                "退款待审核", "退费中", "退费处理中", "申请退费"),
    PARTLY_REFUNDED: ("部分退款", "已部分退款", "部分退款成功", "部分退费", "已部分退费"),
    REFUNDED: ("已退款", "退款成功", "退款完成", "已全额退款", "全额退款", "退款", "已退费",
               "退费成功", "退费"),
}
_STATUSES = {word: status for status, words in _STATUS_WORDS.items() for word in words}
_STATUS_NAMES = "、".join(f"“{status}”" for status in _STATUS_WORDS)
_ONLINE_WORDS = ("在线", "线上", "网上", "网银", "微信", "支付宝", "银联", "快捷支付")
_CARD_WORDS = ("学习卡", "购卡", "充值卡")


def _status(value: object) -> str | None:
    """The status a whole word names (brackets and spaces aside: 退款（失败）), or None."""
    return _STATUSES.get(label_key(value))


def _statuses(values: list[object]) -> tuple[str, str | None]:
    """One status from the status columns (状态, 退款状态, ...): the one furthest towards
    a refund (``final_status``); an empty one says nothing (no refund, no 退款状态), a
    word not known makes the row bad."""
    said = [value for value in values if normalize(value)]
    if not said:
        return "", f"状态 {_shown(values[0] if values else None)} 不是{_STATUS_NAMES}之一"
    status = PAID
    for value in said:
        read = _status(value)
        if read is None:
            return "", f"状态 {_shown(value)} 不是{_STATUS_NAMES}之一"
        status = final_status(status, read)
    return status, None


def _method(value: object) -> str | None:
    text = squash(value)
    if any(w in text for w in _CARD_WORDS):
        return CARD
    return ONLINE if any(w in text for w in _ONLINE_WORDS) else None

# What a row may hold to be stored as it is: the columns' lengths (worker.db.models),
# and numbers and dates no real export has beyond (the database would refuse some).
_LENGTHS = {key: Payment.__table__.c[key].type.length for key in ("order_no", "name", "id_number")}
_YEARS = range(1900, 2201)
_MAX_AMOUNT = Decimal("1000000000")  # yuan; as worker.intake.record keeps form amounts
_SHOWN = 40  # characters of a bad cell quoted in its error

# As exports and spreadsheet programs write a date-time: ISO first (fromisoformat), then
# slashes and dots, Chinese 年月日 (what Excel and WPS show on a Chinese system, and so
# write into a CSV saved from it) and 上午/下午 (the Windows Chinese long time); seconds
# with a fraction as platforms store them (DATETIME(3)) in every form, not only ISO.
_TIME_FORMATS = tuple(
    f"{day}{time}"
    for day in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
    for time in (" %H:%M:%S", " %H:%M:%S.%f", " %H:%M", "", " %p %I:%M:%S", " %p %I:%M")
) + ("%Y%m%d%H%M%S",)
_MERIDIEM = {"上午": "AM", "下午": "PM"}
# The first words of a line under the records (label_key: no spaces or colons).
_FOOTER = re.compile(r"(?:合计|总计|小计|共计|累计|导出时间|导出日期|导出人|制表人|制表时间|制表日期|"
                     r"打印时间|打印日期)|共[0-9]+(?:条|笔|行|人|单)")
# A long number Excel showed in scientific notation and saved that way: its digits are
# gone (``2.01806E+14``, ``1.20114E+17``).
_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?E\+?[0-9]+", re.IGNORECASE)
_ZEROED = "文件可能在 Excel 中以数字格式另存过，末尾数字已丢失，请导入培训平台导出的原始文件"


def read_payment_file(
    name: str, data: bytes, tz: ZoneInfo,
    progress: Callable[[Iterable[tuple[int, list[object]]]], Iterable[tuple[int, list[object]]]]
    | None = None,
) -> tuple[list[PaymentRow], list[RowError]]:
    """Parse an export; raises PaymentFileError only when the file as a whole is unusable.
    ``progress`` wraps the row reader (a progress bar on a terminal)."""
    table = table_rows(name, data)
    return _rows(name, progress(table) if progress else table, tz)


def _rows(name: str, table: Iterable[tuple[int, list[object]]], tz: ZoneInfo,
          ) -> tuple[list[PaymentRow], list[RowError]]:
    rows: list[tuple[int, PaymentRow]] = []
    errors: list[RowError] = []
    columns: dict[str, tuple[int, ...]] | None = None
    header_line = 0
    for lineno, cells in table:
        if not any(normalize(c) for c in cells):
            continue
        if columns is None:
            found = _header(cells)
            if "order_no" in found:
                missing = [column.title for k, column in COLUMNS.items() if k not in found]
                if missing:
                    raise PaymentFileError(f"{name}:{lineno}: 缺少列：{'、'.join(missing)}")
                columns, header_line = found, lineno
            continue
        if _footer(cells, columns["order_no"][0]):
            continue
        row, problem = _row(cells, columns, tz)
        if problem:
            errors.append(RowError(name, lineno, problem))
        elif row:
            rows.append((lineno, row))
    if columns is None:
        raise PaymentFileError(f"{name}: 没有找到含“订单号”的表头行，不像培训平台的缴费导出文件")
    zeroed = _zeroed_orders([row for _, row in rows])
    kept: list[PaymentRow] = []
    for lineno, row in rows:
        if row.order_no in zeroed:
            errors.append(RowError(name, lineno,
                                   f"订单号 {_shown(row.order_no)} 第 15 位以后都是 0：{_ZEROED}"))
        else:
            kept.append(row)
    errors.sort(key=lambda e: e.line)
    if notice := _masked_notice(kept):
        errors.insert(0, RowError(name, header_line, notice, about_file=True))
    return kept, errors


def _masked_notice(rows: list[PaymentRow]) -> str | None:
    """What staff must know of an export whose platform masked 身份证号 or 姓名
    (120222********0011, 张*): its rows are stored and the checks compare what shows
    (``worker.validation.checks.same_id``), so units are not told right numbers are
    wrong; but a wrong digit under the mask goes unseen, which only an unmasked export
    can catch."""
    which = [title for title, hit in (
        ("身份证号", sum(masked(r.id_number) for r in rows)), ("姓名", sum(masked(r.name) for r in rows)),
    ) if hit]
    count = sum(masked(r.id_number) or masked(r.name) for r in rows)
    if not count:
        return None
    return (f"注意：有 {count} 行的{'、'.join(which)}被培训平台部分遮挡（如 ****）：已导入，"
            f"核对申请表时只比对未遮挡的部分；如需完整核对，请在培训平台导出不遮挡的文件后重新导入")


def _zeroed_orders(rows: list[PaymentRow]) -> set[str]:
    """Order numbers an export re-saved from Excel with the column as 数值 holds: past
    the 15 significant digits Excel keeps, only zeros (``201805100930001234`` ->
    ``…1000``). Excel does that to the whole column, so one long number in the file
    with other digits there shows the column kept its digits, and none is suspect."""
    long = {row.order_no for row in rows
            if row.order_no.isdigit() and len(row.order_no.lstrip("0")) > EXACT_DIGITS}
    return long if all(map(cut_by_number_cell, long)) else set()


def _footer(cells: list[object], order_at: int) -> bool:
    """A line under the records that is no order: the 合计 row, 导出时间：…, 共 12 条.
    Reported as a bad row on every import, it taught staff to skip the error list and
    miss the real ones. Only where no order number is written beside it: an order row
    with a bad cell is still reported."""
    first = next((text for cell in cells if (text := label_key(cell))), "")
    order = label_key(cells[order_at]) if order_at < len(cells) else ""
    return order in ("", first) and bool(_FOOTER.match(first))


def _header(cells: list[object]) -> dict[str, tuple[int, ...]]:
    """``key -> positions`` of the columns a header row names: the preferred label's
    first column, or every column of an ``every`` key in the row's order."""
    seen: dict[str, list[tuple[int, int]]] = {}
    for i, cell in enumerate(cells):
        if (hit := _LOOKUP.get(label_key(cell))) is not None:
            key, rank = hit
            seen.setdefault(key, []).append((rank, i))
    return {key: tuple(sorted(i for _, i in hits)) if COLUMNS[key].every else (min(hits)[1],)
            for key, hits in seen.items()}


def _row(cells: list[object], columns: dict[str, tuple[int, ...]], tz: ZoneInfo,
         ) -> tuple[PaymentRow | None, str | None]:
    def at(i: int) -> object:
        return cells[i] if i < len(cells) else None

    def cell(key: str) -> object:
        return at(columns[key][0])

    order_no, problem = _key(cell("order_no"), "订单号")
    if problem:
        return None, problem
    if not order_no:
        return None, "订单号为空"
    id_number, problem = _key(cell("id_number"), "身份证号")
    if problem:
        return None, problem
    if len(id_number) == 18 and cut_by_number_cell(id_number) and not is_valid_id_number(id_number):
        # Excel kept 15 digits of an ID typed as a number: its check digit gives it away.
        return None, f"身份证号 {_shown(id_number)} 末三位是 000 且校验位不符：{_ZEROED}"
    amount = parse_amount(cell("amount"))
    if amount is None or abs(amount) >= _MAX_AMOUNT:
        return None, f"金额 {_shown(cell('amount'))} 不是金额"
    status, problem = _statuses([at(i) for i in columns["status"]])
    if problem:
        return None, problem
    method = _method(cell("method"))
    if method is None:
        return None, f"支付方式 {_shown(cell('method'))} 不是“在线支付”或“学习卡”"
    raw_time = cell("paid_at")
    paid_at = _parse_time(raw_time, tz)
    if (paid_at is None and normalize(raw_time)) or (paid_at and paid_at.year not in _YEARS):
        return None, f"支付时间 {_shown(raw_time)} 不是日期时间"
    year = parse_int(cell("year"))
    if (year is None and normalize(cell("year"))) or (year is not None and year not in _YEARS):
        return None, f"培训年度 {_shown(cell('year'))} 不是年度"
    row = PaymentRow(
        order_no=order_no,
        name=squash(cell("name")),
        id_number=id_number.upper(),
        year=year,
        amount=amount,
        paid_at=paid_at,
        method=method,
        status=status,
    )
    return (None, problem) if (problem := _unstorable(row)) else (row, None)


def _key(value: object, title: str) -> tuple[str, str | None]:
    """An order or ID number cell as its text, or why its digits cannot be trusted.

    Exports keep long numbers text with Excel's tricks (``="2018..."``, a leading
    ``'``), which are not part of the number.  A number past Excel's 15 digits (a
    number cell, or one written out as ``…740.0``) or one saved in scientific notation
    has lost its last digits: storing it would match no form, or the wrong trainee."""
    text = number_text(normalize(value))
    written_as_number = isinstance(value, float)
    if text.endswith(".0") and text[:-2].isdigit():
        text, written_as_number = text[:-2], True
    if _SCIENTIFIC.fullmatch(text):
        return "", (f"{title} {_shown(value)} 是科学计数法（用 Excel 另存过？），后几位数字已丢失："
                    f"请导入培训平台导出的原始文件")
    if written_as_number and len(text) > EXACT_DIGITS:
        return "", (f"{title} {_shown(value)} 以数字保存，已丢失末尾数字："
                    f"请将该列设为文本后重新导出")
    return text, None


def _unstorable(row: PaymentRow) -> str | None:
    """Why a row cannot be stored as read, or None. An order number or ID number with
    a character the database refuses (NUL, a lone surrogate) or longer than its
    column is no real one: cleaning or cutting it would store a different key."""
    for key, length in _LENGTHS.items():
        value = getattr(row, key)
        if len(value) > length:
            return f"{COLUMNS[key].title} {_shown(value)} 超过 {length} 个字符"
        if key != "name" and storable(value) != value:
            return f"{COLUMNS[key].title} {_shown(value)} 含有 NUL 或无效字符"
    return None


def _shown(value: object) -> str:
    """A cell quoted in an error: at most ``_SHOWN`` characters, control characters
    escaped (``repr``)."""
    text = normalize(value)
    return repr(text[:_SHOWN] + ("…" if len(text) > _SHOWN else ""))


def _parse_time(value: object, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    text = normalize(value)
    if not text:
        return None
    for word, meridiem in _MERIDIEM.items():
        text = text.replace(word, meridiem)
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


def import_payment_file(session: Session, path: Path, tz: ZoneInfo,
                        progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
                        ) -> ImportResult:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PaymentFileError(f"{path}: 无法读取（{e.strerror}）") from e
    rows, errors = read_payment_file(path.name, data, tz, progress)
    return store_payments(session, path.name, rows, errors)
