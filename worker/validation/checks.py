"""The checks of SPEC §3 as plain functions returning reasons; never raising for a
unit's mistake. ``check_application`` runs them all and returns every reason."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from worker.config import ProgrammeConfig
from worker.fields import FIELDS, Field, Group, Required, required
from worker.form.cells import NUMBERS_SHOWN_AS_DATES, shows_error
from worker.phone import is_valid_phone
from worker.status import InvoiceType
from worker.text import agrees_unmasked, cut_by_number_cell, masked, money, same_name
from worker.validation import normalize
from worker.validation.ids import is_valid_id_number, is_valid_tax_id
from worker.validation.model import CARD, PARTLY_REFUNDED, REFUNDED, REFUNDING, Draft, Line, Lookups
from worker.validation.reasons import DETAILS, Code, Reason, without_explained

# The registry's groups the checks walk, worked out once (``worker.fields`` is fixed).
_ALWAYS = required(Required.ALWAYS)
_CHOICES = tuple(f for f in FIELDS if f.choices)
_SPECIAL = required(Required.SPECIAL)
_RECIPIENT = required(Required.ALWAYS, Group.RECIPIENT)
# Neither required always nor a choice: FORM_INCOMPLETE only when showing an error value.
# Worked out here, not per form: ``f not in _ALWAYS`` compares Fields with the
# dataclass's ``__eq__`` (a tuple of all their attributes each), most of ``incomplete``.
_OTHERS = tuple(f for f in FIELDS if f not in _ALWAYS and not f.choices)


def lacking(field: Field, value: str) -> bool:
    """Whether ``value`` leaves ``field`` unusable: a choice that cannot be read (an empty
    one takes its default), a field required always left empty, or any field showing a
    formula's error value (``#N/A``, ``#REF!``: ``shows_error``), which would otherwise
    be printed on an invoice or a label as if it were a name or an address."""
    if field.choices:
        return normalize.CHOICE_READERS[field.key](value) is None
    if shows_error(value):
        return True
    return field.required is Required.ALWAYS and not value.strip()


def incomplete(value: Callable[[Field], str]) -> list[Field]:
    """The fields that make a form FORM_INCOMPLETE, in the order the reason names them:
    required header fields left empty, then choices that cannot be read, then any other
    field showing an error value (a recipient's too: an empty one is MISSING_RECIPIENT's).
    ``value`` gives a field's text (the raw text for a choice)."""
    empty = [f for f in _ALWAYS if lacking(f, value(f))]
    return empty + [f for f in _CHOICES if lacking(f, value(f))] + [
        f for f in _OTHERS if shows_error(value(f))]


def check_application(draft: Draft, programme: ProgrammeConfig, lookups: Lookups) -> list[Reason]:
    reasons: list[Reason] = []
    reasons += check_deadline(draft, programme)
    reasons += check_header(draft, programme)
    reasons += check_recipient(draft)
    reasons += check_totals(draft)
    reasons += check_below_blank(draft)
    reasons += check_hidden_rows(draft)
    reasons += check_lines(draft, programme, lookups)
    return without_explained(reasons)


def check_deadline(draft: Draft, programme: ProgrammeConfig) -> list[Reason]:
    """PAST_DEADLINE by the mailbox's arrival time, a clock the institute controls (a
    sender's Date header can be wrong or made up: issue 9)."""
    if draft.received_at and draft.received_at >= after_end(programme.request_deadline):
        local = draft.received_at.astimezone(programme.request_deadline.tzinfo)
        detail = DETAILS["past_deadline"].format(
            arrived=f"{local:%Y-%m-%d %H:%M}",
            deadline=f"{programme.request_deadline:%Y-%m-%d %H:%M}")
        return [Reason(Code.PAST_DEADLINE, None, detail)]
    return []


def check_header(draft: Draft, programme: ProgrammeConfig) -> list[Reason]:
    reasons: list[Reason] = []
    missing = [_lacking_detail(f, _as_typed(draft, f))
               for f in incomplete(lambda f: _as_typed(draft, f))]
    if not draft.lines:
        missing.append("学员明细（表中没有学员）")
    if missing:
        reasons.append(Reason(Code.FORM_INCOMPLETE, None, "缺少或无法识别：" + "、".join(missing)))

    if draft.district.strip() and not shows_error(draft.district):
        name = normalize.district(draft.district)
        if name is None:
            reasons.append(Reason(Code.UNKNOWN_DISTRICT, None, f"所属区填写为“{draft.district}”"))
        elif name in programme.urban_districts or name not in programme.suburban_districts:
            reasons.append(Reason(Code.NOT_SUBURBAN_DISTRICT, None,
                                  f"{name}属于市内六区，须到学院现场开具发票"))

    if draft.tax_id.strip() and not shows_error(draft.tax_id) and not is_valid_tax_id(draft.tax_id):
        reasons.append(Reason(Code.INVALID_TAX_ID, None,
                              f"“{draft.tax_id}”不是有效的 18 位统一社会信用代码"))

    if normalize.invoice_type(draft.raw_invoice_type) is InvoiceType.SPECIAL:
        empty = [f.title for f in _SPECIAL if not getattr(draft, f.key).strip()]
        if empty:
            reasons.append(Reason(Code.SPECIAL_INVOICE_INCOMPLETE, None,
                                  "缺少：" + "、".join(empty)))
    return reasons


def _lacking_detail(field: Field, value: str) -> str:
    """How FORM_INCOMPLETE names a lacking field: its title, and what the sheet shows
    when that is not simply nothing."""
    if field.choices:
        return f"{field.title}（“{value}”无法识别，请填写{'或'.join(field.choices)}）"
    if shows_error(value):
        return DETAILS["error_value"].format(title=field.title, shown=value.strip())
    return field.title


def _as_typed(draft: Draft, field: Field) -> str:
    """The field as the unit typed it: choices are normalised in the draft, so their
    raw text is kept beside them (``raw_<key>``)."""
    return str(getattr(draft, f"raw_{field.key}" if field.choices else field.key))


def check_recipient(draft: Draft) -> list[Reason]:
    missing = [f.title for f in _RECIPIENT
               if not getattr(draft, f.key).strip()]
    reasons: list[Reason] = []
    if missing:
        reasons.append(Reason(Code.MISSING_RECIPIENT, None,
                              "邮件正文和申请表中都没有找到：" + "、".join(missing)))
    if (draft.recipient_phone.strip() and not shows_error(draft.recipient_phone)
            and not is_valid_phone(draft.recipient_phone)):
        reasons.append(Reason(Code.INVALID_PHONE, None,
                              f"收件电话“{draft.recipient_phone}”不是有效的手机或固定电话号码"))
    return reasons


def check_totals(draft: Draft) -> list[Reason]:
    problems: list[str] = []
    if draft.total_count is not None and draft.total_count != len(draft.lines):
        # More counted than read: most often trainees under a blank row, which ends
        # the table (worker.form.table); say so, or the unit cannot see why (when the
        # reader saw them, LINES_BELOW_BLANK_ROW names their rows instead: it explains this).
        hint = "（学员之间如有空行，空行以下的学员未被读取，请删除空行）" \
            if draft.total_count > len(draft.lines) else ""
        problems.append(f"合计人数 {draft.total_count}，明细 {len(draft.lines)} 行{hint}")
    # Compared only when every line's amount was read: one that was not is its line's
    # reason (how to write it); "明细合计 0.00" beside it would be the sum of nothing.
    amounts = [line.amount for line in draft.lines if line.amount is not None]
    if draft.total_amount is not None and len(amounts) == len(draft.lines):
        total = sum(amounts, Decimal("0"))
        if draft.total_amount != total:
            problems.append(f"合计金额 {money(draft.total_amount)} 元，明细合计 {money(total)} 元")
    return [Reason(Code.TOTAL_MISMATCH, None, "；".join(problems))] if problems else []


def check_below_blank(draft: Draft) -> list[Reason]:
    """LINES_BELOW_BLANK_ROW when trainees follow the empty row that ended the lines
    (SPEC 2.2: the lines end there). ``draft.below_blank``: their rows, 1-based."""
    rows = draft.below_blank
    if not rows:
        return []
    return [Reason(Code.LINES_BELOW_BLANK_ROW, None,
                   DETAILS["below_blank"].format(rows=_rows_text(rows), count=len(rows)))]


def _rows_text(rows: list[int]) -> str:
    """Spreadsheet rows as a detail names them: ``12、13 行``, the first five of more ``等行``."""
    return "、".join(str(r) for r in rows[:5]) + (" 等行" if len(rows) > 5 else " 行")


def check_hidden_rows(draft: Draft) -> list[Reason]:
    """HIDDEN_ROWS when trainees stand in rows the sheet hides (``draft.hidden_rows``:
    their rows, 1-based): the unit does not see them, so they are not read."""
    rows = draft.hidden_rows
    if not rows:
        return []
    return [Reason(Code.HIDDEN_ROWS, None,
                   DETAILS["hidden_rows"].format(rows=_rows_text(rows), count=len(rows)))]


def check_lines(draft: Draft, programme: ProgrammeConfig, lookups: Lookups) -> list[Reason]:
    reasons: list[Reason] = []
    window = _utc_window(programme)
    seen: dict[str, Line] = {}  # order number -> the first line that has it
    for line in draft.lines:
        first = seen.setdefault(line.order_no, line)
        if first is not line and line.order_no:
            reasons.append(Reason(Code.DUPLICATE_LINE, line.ref,
                                  f"订单号 {line.order_no} 与第 {first.ref} 行重复"))
            continue
        reasons += check_line(line, programme, lookups, window)
    return reasons


def after_end(end: datetime) -> datetime:
    """The first instant past an end the config names to the second: SPEC §3's window
    "2018-03-01 to 2018-11-30" and deadline "2018-12-31 23:59:59" take in all of their
    last second. Compared as an instant, a payment exported with milliseconds
    (23:59:59.500, Java/MySQL DATETIME(3)) or a mail stamped within that second was
    "after" it, though made on the last day."""
    return end.replace(microsecond=0) + timedelta(seconds=1)


def _utc_window(programme: ProgrammeConfig) -> tuple[datetime, datetime]:
    """The payment window in UTC, ``[start, after_end(end))``, in the zone payment
    times are read back in (``worker.db.types.UtcDateTime``): an aware comparison
    across two zones asks both for their UTC offset, which took a third of a line's
    checks; within one zone it compares plainly. The same instants either way."""
    return (programme.payment_window_start.astimezone(UTC),
            after_end(programme.payment_window_end).astimezone(UTC))


#: ``1.20114E+17``: how Excel and WPS show a long number in a General cell (also what a
#: CSV saved from such a sheet holds).
_EXCEL_SCIENTIFIC = re.compile(r"^-?\d(?:\.\d+)?E[+-]\d{2,3}$", re.IGNORECASE)


def same_id(record: str, written: str) -> bool:
    """The record's 身份证号 is the form's; one the platform exported masked
    (120222********0011) by the digits it shows: the unit cannot see the mask and
    must not be told a right number is wrong."""
    return record == written or (masked(record) and agrees_unmasked(record, written))


#: What a payment's refund status means for its line, in the reply's words (never
#: "已退款" for an order whose money went back only in part, or not yet).
_REFUNDS = {
    REFUNDED: (Code.PAYMENT_REFUNDED, "已退款"),
    PARTLY_REFUNDED: (Code.PAYMENT_PARTLY_REFUNDED, "已部分退款"),
    REFUNDING: (Code.PAYMENT_REFUNDING, "正在办理退款"),
}


def check_line(line: Line, programme: ProgrammeConfig, lookups: Lookups,
               window: tuple[datetime, datetime]) -> list[Reason]:
    """``window``: the programme's payment window in UTC, its end excluded (``_utc_window``)."""
    reasons: list[Reason] = []
    who = line.name or "（未填姓名）"
    id_number = line.id_number.strip().upper()
    if not is_valid_id_number(id_number):  # (a number in Excel's notation never is)
        if _EXCEL_SCIENTIFIC.match(id_number):
            # Typed into a number cell: quoted as Excel/WPS show it, with how to fix it there.
            detail = DETAILS["id_shown_as_number"].format(who=who, shown=line.id_number)
        else:
            shown = line.id_number or "（未填写）"
            hint = ""
            if len(id_number) == 18 and cut_by_number_cell(id_number):
                # Excel keeps 15 significant digits of a number: an ID typed into a number
                # cell ends in 000. Say so, or the unit retypes it the same way (a typo in
                # a text cell gets no such hint: it would send the unit the wrong way).
                hint = "（如该列在 Excel 中是数字格式，末尾数字会丢失，请设为文本格式后重新填写）"
            detail = f"{who} 的身份证号 {shown} 无效{hint}"
        reasons.append(Reason(Code.INVALID_ID_NUMBER, line.ref, detail))

    fee = programme.fees.get(line.year) if line.year is not None else None
    # (an amount equal to its year's fee, most lines, has no FEE_MISMATCH to word)
    fee_detail = _fee_detail(line, fee, programme) if fee is None or line.amount != fee else ""
    if fee_detail:
        reasons.append(Reason(Code.FEE_MISMATCH, line.ref, fee_detail))

    if not line.order_no:
        reasons.append(Reason(Code.PAYMENT_NOT_FOUND, line.ref, f"{who} 未填写订单号"))
        return reasons
    invoice_no = lookups.invoiced.get(line.order_no)
    if invoice_no:
        reasons.append(Reason(Code.ALREADY_INVOICED, line.ref,
                              f"订单号 {line.order_no} 已开具发票（发票号码 {invoice_no}）"))
    payment = lookups.payments.get(line.order_no)
    if payment is None:
        if _EXCEL_SCIENTIFIC.match(line.order_no):
            detail = DETAILS["order_shown_as_number"].format(who=who, shown=line.order_no)
        else:
            detail = f"订单号 {line.order_no}（{who}）没有缴费记录" + (
                DETAILS["order_lost_digits"] if cut_by_number_cell(line.order_no) else "")
        reasons.append(Reason(Code.PAYMENT_NOT_FOUND, line.ref, detail))
        return reasons
    refund = _REFUNDS.get(payment.status)
    if refund:
        code, said = refund
        reasons.append(Reason(code, line.ref, f"订单号 {line.order_no} {said}"))
    if payment.method == CARD:
        reasons.append(Reason(Code.STUDY_CARD, line.ref,
                              f"订单号 {line.order_no} 为学习卡支付"))
    differ = []
    # The record's own name and 身份证号 are never quoted: the detail goes into the reply,
    # and anyone who knows an order number could otherwise read a trainee's identity
    # out of it. Staff see the record in the console (payments page).
    # (equal, as most are, needs neither comparison's call: both begin with it)
    if payment.name != line.name and not same_name(payment.name, line.name):
        differ.append(f"姓名（表中“{line.name}”，与缴费记录不一致）")
    record_id = payment.id_number.upper()
    if record_id != id_number and not same_id(record_id, id_number):
        differ.append(f"身份证号（表中 {line.id_number or '未填写'}，与缴费记录不一致）")
    # A year or amount that could not be read is FEE_MISMATCH's to say (how to write it):
    # "表中 壹佰伍拾元，缴费记录 150.00" beside it would tell the unit the two differ.
    if line.year is not None and payment.year != line.year:
        year = _shown_as_date(line.year, line.year_raw) or line.year_raw or line.year
        differ.append(f"培训年度（表中 {year}，缴费记录 {payment.year}）")
    if line.amount is None and fee is None:  # FEE_MISMATCH spoke of the year only
        written = f"表中“{line.amount_raw}”无法识别" if line.amount_raw else "表中未填写"
        differ.append(f"金额（{written}，缴费记录 {money(payment.amount)}）")
    elif line.amount is not None and payment.amount != line.amount:
        differ.append(f"金额（表中 {_amount_as_written(line)}，缴费记录 {money(payment.amount)}）")
    if differ:
        reasons.append(Reason(Code.PAYMENT_MISMATCH, line.ref,
                              f"订单号 {line.order_no}：" + "；".join(differ)))
    if payment.paid_at is None or not window[0] <= payment.paid_at < window[1]:
        when = (f"{payment.paid_at.astimezone(programme.payment_window_start.tzinfo):%Y-%m-%d %H:%M}"
                if payment.paid_at else "无支付时间")
        reasons.append(Reason(Code.PAID_OUTSIDE_WINDOW, line.ref,
                              f"订单号 {line.order_no} 支付时间 {when}"))
    return reasons


def _years(programme: ProgrammeConfig) -> str:
    """The fee schedule's years as a detail lists them; written only for a detail that
    names them (every line asked for its fee: joining them each time cost a third of
    a valid line's checks)."""
    return "、".join(str(y) for y in sorted(programme.fees))


def _fee_detail(line: Line, fee: Decimal | None, programme: ProgrammeConfig) -> str:
    """FEE_MISMATCH's detail for a line ('' when its year and amount agree with the fee
    schedule). A year or amount that could not be read is said to be so, with how to
    write it: never "2017(补训) is not in the schedule (…2017…)", which contradicts itself."""
    if line.year is None:
        years = _years(programme)
        if not line.year_raw:
            return f"未填写培训年度（收费标准内的年度：{years}）"
        return (f"培训年度“{line.year_raw}”无法识别：请只填写一个年份数字（{years} 之一），"
                f"补训等说明请写在备注中")
    if fee is None:
        year = _shown_as_date(line.year, line.year_raw) or line.year
        return f"培训年度 {year} 不在收费标准内（{_years(programme)}）"
    if line.amount is None:
        if not line.amount_raw:
            return f"未填写金额（{line.year} 年度应为 {money(fee)} 元）"
        return (f"金额“{line.amount_raw}”无法识别：请用阿拉伯数字填写金额（{line.year} 年度应为 "
                f"{money(fee)}）")
    if line.amount != fee:
        return f"{line.year} 年度应为 {money(fee)} 元，表中为 {_amount_as_written(line)}"
    return ""


#: How a date cell reads as text (worker.form.cells.cell_text): ISO, maybe with a time.
_DATE_TEXT = re.compile(r"(\d{4}-\d{2}-\d{2})(?: \d{2}:\d{2}:\d{2})?")
#: A later date is a date's year or nothing: the sheet may show it as it is.
_LAST_SHOWN = (NUMBERS_SHOWN_AS_DATES[1] - timedelta(days=1)).date().isoformat()


def _amount_as_written(line: Line) -> str:
    """The amount for a detail: as read (and what its date format shows), else its text."""
    return _shown_as_date(line.amount, line.amount_raw) or (
        money(line.amount) if line.amount is not None else (line.amount_raw or "未填写"))


def _shown_as_date(value: int | Decimal | None, raw: str) -> str | None:
    """A year or amount as read (``value``) with the date its cell shows instead, when a
    date format hides the number (``raw``: the cell's text; worker.form.cells reads the
    number under it): the unit finds the cell by what it sees, and learns why it shows
    that. None when the cell shows its number (the caller quotes it as before)."""
    shown = _DATE_TEXT.fullmatch(raw) if raw and value is not None else None
    if shown is None or shown.group(1) > _LAST_SHOWN:
        return None
    text = money(value) if isinstance(value, Decimal) else str(value)
    return DETAILS["number_shown_as_date"].format(value=text, shown=shown.group(1))
