"""The one reason table: each code's Chinese title, what the unit should do, and
every property the rest of the worker asks of a reason.

Replies, the console, staff approval and the export all read this table, so a reason
reads and behaves the same everywhere. Checks only produce (code, line, detail); the
words and properties live here. Adding a code: the ``Code`` member, its entry in
``REASONS`` (every property is a required argument), and the check that produces it;
``tests/validation/test_reasons.py`` fails if an entry is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, replace
from enum import StrEnum

from worker.fields import FIELDS, Field, Group, Required, required


class Code(StrEnum):
    NOT_SUBURBAN_DISTRICT = "NOT_SUBURBAN_DISTRICT"
    UNKNOWN_DISTRICT = "UNKNOWN_DISTRICT"
    NO_FORM = "NO_FORM"
    UNSUPPORTED_ATTACHMENT = "UNSUPPORTED_ATTACHMENT"
    FORM_UNREADABLE = "FORM_UNREADABLE"
    TOO_MANY_FORMS = "TOO_MANY_FORMS"
    FORM_INCOMPLETE = "FORM_INCOMPLETE"
    MISSING_RECIPIENT = "MISSING_RECIPIENT"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_TAX_ID = "INVALID_TAX_ID"
    SPECIAL_INVOICE_INCOMPLETE = "SPECIAL_INVOICE_INCOMPLETE"
    INVALID_ID_NUMBER = "INVALID_ID_NUMBER"
    PAYMENT_NOT_FOUND = "PAYMENT_NOT_FOUND"
    PAYMENT_MISMATCH = "PAYMENT_MISMATCH"
    PAYMENT_REFUNDED = "PAYMENT_REFUNDED"
    PAYMENT_PARTLY_REFUNDED = "PAYMENT_PARTLY_REFUNDED"
    PAYMENT_REFUNDING = "PAYMENT_REFUNDING"
    STUDY_CARD = "STUDY_CARD"
    PAID_OUTSIDE_WINDOW = "PAID_OUTSIDE_WINDOW"
    FEE_MISMATCH = "FEE_MISMATCH"
    ALREADY_INVOICED = "ALREADY_INVOICED"
    DUPLICATE_LINE = "DUPLICATE_LINE"
    TOTAL_MISMATCH = "TOTAL_MISMATCH"
    LINES_BELOW_BLANK_ROW = "LINES_BELOW_BLANK_ROW"
    HIDDEN_ROWS = "HIDDEN_ROWS"
    PAST_DEADLINE = "PAST_DEADLINE"
    INVOICE_REVERSED = "INVOICE_REVERSED"
    TAX_PLATFORM_REJECTED = "TAX_PLATFORM_REJECTED"
    INTERNAL_ERROR = "INTERNAL_ERROR"


@dataclass(frozen=True)
class Reason:
    """One finding: stable code, the trainee's 序号 it concerns (or None), a detail."""

    code: Code
    line: int | None
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"code": str(self.code), "line": self.line, "detail": self.detail}


class Role(StrEnum):
    """What a reason means for the rest of the decision (one per code)."""

    FORMLESS = "formless"    # no form was read: every later re-check or approval passes
                             # these as the decision's ``pre_reasons`` again
    POSTAL = "postal"        # where to send the parcel
    NO_PARCEL = "no_parcel"  # no parcel goes out whatever is fixed, so a reply leaves the
                             # POSTAL reasons out (they would only be noise)
    CHECK = "check"          # any other finding: the form, a line, the payment records
    INTERNAL = "internal"    # our failure, not the unit's


class NextStep(StrEnum):
    """What a reply about a held application tells the unit to do. In order of
    precedence: the first step any of its reasons asks for is the one sent."""

    IN_PERSON = "in_person"  # come to the institute, do not mail again
    CONTACT = "contact"      # call the institute
    RESEND = "resend"        # fix the form and send it again
    STAFF = "staff"          # nothing to do: staff handle it
    DONE = "done"            # nothing to do: every trainee was invoiced before (a resend)


@dataclass(frozen=True)
class ReasonText:
    """A reason's words and properties.

    ``waivable``: staff may knowingly approve despite it (facts about timing and
    totals); anything else would issue a wrong invoice or send a parcel nowhere, so
    it must be fixed first. ``sticky``: set by an event (the platform refused the
    invoice, staff recorded a 红冲) or found only in the form as received (rows left
    unread), never by a check of stored data, so a re-check keeps it.
    ``explains``: codes this reason accounts for when both are found (trainees left
    unread make the 合计 disagree: saying so too would ask the unit to fix a right
    合计 row); those are not given (``without_explained``).
    ``settled_by_approval``: a sticky reason staff act on (a 红冲, a platform refusal):
    approving is how it ends (the invoice is planned again); any other reason that is
    not waivable blocks approval (``BLOCKING``) until a check no longer finds it, and
    a sticky one (rows left unread) blocks it for good: the unit sends the form again.
    ``fields``: the header fields (``worker.fields`` keys) the
    console shows it next to; with ``only_lacking`` only those of them that are
    lacking now (empty when required, unreadable when a choice).
    """

    title: str   # what is wrong, in plain words
    advice: str  # what the unit should do about it
    _: KW_ONLY
    role: Role
    waivable: bool
    next_step: NextStep
    fields: tuple[str, ...] = ()
    only_lacking: bool = False
    sticky: bool = False
    settled_by_approval: bool = False
    explains: tuple[Code, ...] = ()


def _keys(fields: Iterable[Field]) -> tuple[str, ...]:
    return tuple(f.key for f in fields)


# FORM_INCOMPLETE names required header fields left empty, then choices it cannot read,
# then fields showing a formula's error value (``worker.validation.checks.incomplete``);
# the console marks those of the header that are lacking now.
_INCOMPLETE = (_keys(required(Required.ALWAYS)) + _keys(f for f in FIELDS if f.choices)
               + _keys(f for f in FIELDS if f.group is Group.HEADER
                       and f.required is not Required.ALWAYS and not f.choices))

REASONS: dict[Code, ReasonText] = {
    Code.NOT_SUBURBAN_DISTRICT: ReasonText(
        "市内六区的单位不能通过邮件申请开具发票",
        "请参训人员按开票时间安排，携带填写完整的《线上缴费发票申请表》到{in_person_address}"
        "现场办理，无需再发邮件；开票人数在 20 人以上的单位请提前电话预约（{contact_phone}），"
        "避免现场排队。",
        role=Role.NO_PARCEL, waivable=False, next_step=NextStep.IN_PERSON,
        fields=("district",),
    ),
    Code.UNKNOWN_DISTRICT: ReasonText(
        "“所属区”不是天津市的区",
        "请在申请表“所属区”一栏填写单位所在的区（如：武清区），然后重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND, fields=("district",),
    ),
    Code.NO_FORM: ReasonText(
        "邮件中没有找到发票申请表附件",
        "请将填写完整的《线上缴费发票申请表》（Excel 文件，.xlsx 或 .xls）作为附件重新发送。",
        role=Role.FORMLESS, waivable=False, next_step=NextStep.RESEND,
    ),
    Code.UNSUPPORTED_ATTACHMENT: ReasonText(
        "附件格式无法处理",
        "请使用 Excel 或 WPS 表格格式（.xlsx、.xls 或 .et）的申请表，直接作为普通附件发送，"
        "不要使用 Word、PDF、图片、RAR/7z 或加密的压缩包，也不要使用“超大附件”链接。",
        role=Role.FORMLESS, waivable=False, next_step=NextStep.RESEND,
    ),
    Code.FORM_UNREADABLE: ReasonText(
        "申请表无法读取",
        "请确认文件没有损坏、没有设置密码，并使用学院提供的申请表模板填写后重新发送。",
        role=Role.FORMLESS, waivable=False, next_step=NextStep.RESEND,
    ),
    Code.TOO_MANY_FORMS: ReasonText(
        "一封邮件中的申请表过多",
        "请把申请表分成几封邮件发送，每封邮件附上的申请表不要超过上限；"
        "同一单位的学员请尽量填在同一份申请表中。",
        role=Role.FORMLESS, waivable=False, next_step=NextStep.RESEND,
    ),
    Code.FORM_INCOMPLETE: ReasonText(
        "申请表填写不完整",
        "请补全申请表中缺少的项目后重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND,
        fields=_INCOMPLETE, only_lacking=True,
    ),
    Code.MISSING_RECIPIENT: ReasonText(
        "缺少收件信息",
        "请在邮件正文中写明收件人姓名、联系电话和收件地址，例如：“收件人：张三 电话：13800000000 "
        "地址：天津市武清区……”。",
        role=Role.POSTAL, waivable=False, next_step=NextStep.RESEND,
        fields=_keys(required(Required.ALWAYS, Group.RECIPIENT)), only_lacking=True,
    ),
    Code.INVALID_PHONE: ReasonText(
        "收件电话不是有效的电话号码",
        "请填写 11 位手机号码或带区号的固定电话（如 022-23391756），以便快递员联系。",
        role=Role.POSTAL, waivable=False, next_step=NextStep.RESEND,
        fields=("recipient_phone",),
    ),
    Code.INVALID_TAX_ID: ReasonText(
        "纳税人识别号不正确",
        "请核对 18 位统一社会信用代码（可在营业执照或事业单位法人证书上查到）后重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND, fields=("tax_id",),
    ),
    Code.SPECIAL_INVOICE_INCOMPLETE: ReasonText(
        "开具增值税专用发票缺少必填信息",
        "专用发票须填写购买方“地址电话”和“开户行及账号”，请补全后重新发送；如不需要专用发票，请将发票类型改为增值税普通发票。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND,
        fields=("invoice_type", *_keys(required(Required.SPECIAL))),
    ),
    Code.INVALID_ID_NUMBER: ReasonText(
        "身份证号不正确",
        "请核对该学员的 18 位身份证号（最后一位可以是 X）。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND,
    ),
    Code.PAYMENT_NOT_FOUND: ReasonText(
        # Also an empty 订单号 (the detail says so): the title and advice hold for both.
        "在培训平台的缴费记录中找不到该学员的订单",
        "请核对并填写该学员的订单号（可在培训网“我的订单”中查看）；如刚刚缴费，请稍后重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND,
    ),
    Code.PAYMENT_MISMATCH: ReasonText(
        "申请表中的信息与缴费记录不一致",
        "请按培训平台的缴费记录更正该行后重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND,
    ),
    Code.PAYMENT_REFUNDED: ReasonText(
        "该订单已退款，不能开具发票",
        "请从申请表中删除该学员后重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND,
    ),
    # Part of the fee went back: an invoice for the form's amount would be for money the
    # institute does not hold, and the net amount is not in the records.
    Code.PAYMENT_PARTLY_REFUNDED: ReasonText(
        "该订单已部分退款，不能按申请表中的金额开具发票",
        "该学员的发票须按实际缴纳的金额开具，请联系学院（{contact_phone}）办理；"
        "请从申请表中删除该学员，将其余学员的申请表重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND,
    ),
    # A refund asked for and not yet settled: staff ask the platform; one that failed or
    # was closed leaves the money paid, and staff approve knowingly.
    Code.PAYMENT_REFUNDING: ReasonText(
        "该订单正在办理退款，暂不能开具发票",
        "工作人员会向培训平台核实退款结果：退款未成功的，核实后继续开具，无需重新发送；"
        "如该学员已退款，请从申请表中删除该学员后重新发送。如有疑问请联系学院（{contact_phone}）。",
        role=Role.CHECK, waivable=True, next_step=NextStep.STAFF,
    ),
    Code.STUDY_CARD: ReasonText(
        "该订单使用学习卡支付，不能通过邮件开票",
        "学习卡缴费的发票不通过本邮箱开具，请该学员到{card_window}办理；"
        "请从申请表中删除该学员，将其余学员的申请表重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND,
    ),
    Code.PAID_OUTSIDE_WINDOW: ReasonText(
        "该订单不在线上缴费时间内支付",
        "线上缴费时间为{window}，请联系学院（{contact_phone}）核实。",
        role=Role.CHECK, waivable=True, next_step=NextStep.RESEND,
    ),
    Code.FEE_MISMATCH: ReasonText(
        "金额与该培训年度的收费标准不符",
        "收费标准：{fees}。请核对该行的培训年度和金额。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND,
    ),
    Code.ALREADY_INVOICED: ReasonText(
        "该订单已经开具过发票",
        "同一订单只能开具一次发票。如果这封邮件是重复发送的（发票已开具），无需处理；"
        "否则请从申请表中删除该学员后重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND,
    ),
    Code.DUPLICATE_LINE: ReasonText(
        "同一订单在申请表中重复填写",
        "请删除重复的行后重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND,
    ),
    Code.TOTAL_MISMATCH: ReasonText(
        "合计人数或金额与明细不符",
        "请核对合计行（或删除合计行）后重新发送。",
        role=Role.CHECK, waivable=True, next_step=NextStep.RESEND,
    ),
    # Found only while reading the form (worker.form.table: trainees below the empty row
    # that ends the lines are not read); no check of the stored lines finds it again, so
    # a re-check keeps it (sticky). Not waivable: one application is one parcel (SPEC 3),
    # so the unit sends the form again whole rather than the rest in a second parcel.
    Code.LINES_BELOW_BLANK_ROW: ReasonText(
        "学员名单中间有空行，空行以下的学员未被读取",
        "请删除学员之间的空行（名单须连续填写）后重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND, sticky=True,
        explains=(Code.TOTAL_MISMATCH,),
    ),
    # Found only while reading the form (worker.form.table: trainees in rows the sheet
    # hides, an AutoFilter's or hidden by hand, are not read as lines): the unit sees and
    # prints fewer trainees than the file holds, so neither reading them (an invoice for
    # people the unit did not mean) nor dropping them silently is right. Sticky and not
    # waivable as LINES_BELOW_BLANK_ROW: the unit sends the form again as it means it.
    Code.HIDDEN_ROWS: ReasonText(
        "申请表中有隐藏的行（筛选或隐藏），其中的学员未被读取",
        "请取消筛选并取消隐藏所有行，确认表中只保留需要开具发票的学员（不需要开票的学员请删除整行，"
        "不要隐藏）后重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.RESEND, sticky=True,
        explains=(Code.TOTAL_MISMATCH,),
    ),
    Code.PAST_DEADLINE: ReasonText(
        "已超过邮件申请开具发票的截止时间",
        "请联系学院（{contact_phone}）咨询办理方式。",
        role=Role.NO_PARCEL, waivable=True, next_step=NextStep.CONTACT,
    ),
    # Set by staff recording a 红冲 (worker.staff.reversal), never by a check: sticky, so
    # re-checks and corrections keep it; approval plans the freed orders again.
    Code.INVOICE_REVERSED: ReasonText(
        "已开具的发票已在税务平台红冲，需重新开具",
        "工作人员会核对后重新开具发票，无需重新发送。",
        role=Role.CHECK, waivable=False, next_step=NextStep.STAFF, sticky=True,
        settled_by_approval=True,
    ),
    # Set by ``tax import`` from the platform's failure workbook (worker.taxflow), never by
    # a check: the detail carries the 流水号 and the platform's own words. Staff correct
    # the buyer facts and approve; the orders are planned again on a new 流水号.
    Code.TAX_PLATFORM_REJECTED: ReasonText(
        "电子发票服务平台未能开具该发票",
        "工作人员会核对开票信息并重新提交税务平台开具，无需重新发送；如需更正单位信息，"
        "请致电 {contact_phone}。",
        role=Role.CHECK, waivable=False, next_step=NextStep.STAFF, sticky=True,
        settled_by_approval=True,
        fields=("buyer_name", "tax_id", "address_phone", "bank_account", "invoice_type",
                "buyer_email"),
    ),
    Code.INTERNAL_ERROR: ReasonText(
        "系统处理该邮件时出错",
        "工作人员会人工处理，无需重新发送。",
        role=Role.INTERNAL, waivable=False, next_step=NextStep.STAFF,
    ),
}


#: What staff may knowingly accept (approve despite).
WAIVABLE: frozenset[Code] = frozenset(c for c, r in REASONS.items() if r.waivable)
#: What stands in the way of approving while it is on the application (see ReasonText).
BLOCKING: frozenset[Code] = frozenset(
    c for c, r in REASONS.items() if not r.waivable and not r.settled_by_approval)


def without_explained(reasons: list[Reason]) -> list[Reason]:
    """``reasons`` without those another of them accounts for (``ReasonText.explains``)."""
    explained = {c for r in reasons if r.code in REASONS for c in REASONS[r.code].explains}
    return [r for r in reasons if r.code not in explained] if explained else reasons


def blocks_approval(code: str) -> bool:
    """Whether a stored reason ``code`` keeps staff from approving (a code this version
    no longer knows does too: nobody can say what it meant)."""
    return code not in Code.__members__ or Code(code) in BLOCKING


def with_role(role: Role) -> frozenset[Code]:
    """The codes whose entry has ``role``."""
    return frozenset(c for c, r in REASONS.items() if r.role is role)


def next_step(codes: Iterable[str]) -> NextStep:
    """The step a reply asks of the unit for an application held with ``codes``:
    the most pressing any of them asks for (``NextStep`` order); RESEND for none."""
    asked = {REASONS[Code(c)].next_step if c in Code.__members__ else NextStep.RESEND
             for c in codes}
    return next((step for step in NextStep if step in asked), NextStep.RESEND)


#: Detail wordings (``str.format`` templates, fields named) that the intake and the
#: checks fill in, kept with the titles so a reason reads the same everywhere.
DETAILS: dict[str, str] = {
    # PAST_DEADLINE: judged by the mailbox's arrival time, never the sender's Date.
    "past_deadline": "邮件到达学院邮箱的时间 {arrived}，截止时间 {deadline}",
    # TOO_MANY_FORMS: more forms in one mail than limits.max_forms.
    "too_many_forms": "一封邮件中有 {count} 个申请表附件，超过每封邮件 {limit} 个的上限，本邮件未作处理",
    # FORM_UNREADABLE of a mail over mailbox.max_mail_bytes: neither its text nor its files read.
    "mail_too_large": ("邮件过大（约 {size}，超过 {limit} 的上限），邮件正文和附件都没有读取："
                       "请只附上填写好的申请表（一般只有几十 KB）重新发送，"
                       "照片、扫描件等大文件不要放在同一封邮件中"),
    # FORM_UNREADABLE of the mail itself (too deep, too many parts, broken MIME).
    "mail_unreadable": "邮件本身无法完整读取：{why}",
    # FORM_UNREADABLE of a form pasted into the body.
    "body_form": "邮件正文中的申请表：{why}",
    # LINES_BELOW_BLANK_ROW: the rows (1-based, as the spreadsheet numbers them; "12、13 行").
    "below_blank": "第 {rows}的 {count} 名学员在空行之下，没有读取（名单在第一个空行处结束）",
    # HIDDEN_ROWS: the rows (1-based, as the spreadsheet numbers them; "9、11 行").
    "hidden_rows": "第 {rows}是隐藏行（表格设置了筛选或隐藏了这些行），其中的 {count} 名学员没有读取",
    # INVALID_ID_NUMBER of an ID typed into a number cell: quoted as Excel/WPS show it.
    "id_shown_as_number": (
        "{who} 的身份证号在表格中显示为 {shown}：这一列是数字格式，Excel 和 WPS 只保留 15 位数字，"
        "身份证号的后几位已经丢失。请在 Excel 或 WPS 中选中身份证号这一列，右键选“设置单元格格式”→“文本”，"
        "再重新输入完整的 18 位身份证号（也可以先输入英文单引号 ' 再输入号码）"
    ),
    # PAYMENT_NOT_FOUND of an order number of 16+ digits typed into a number cell.
    "order_shown_as_number": (
        "{who} 的订单号在表格中显示为 {shown}：这一列是数字格式，Excel 和 WPS 只保留 15 位数字，"
        "订单号的后几位已经丢失。请选中订单号这一列，右键选“设置单元格格式”→“文本”，"
        "再重新输入完整的订单号（也可以先输入英文单引号 ' 再输入号码）"
    ),
    "order_lost_digits": ("（如该列在 Excel 中是数字格式，超过 15 位的数字末尾会变成 0，"
                          "请设为文本格式后重新填写）"),
    # FORM_INCOMPLETE of a field whose cell shows a formula's error value (#N/A, #REF!).
    "error_value": ("{title}（表格中显示为 {shown}，这是公式出错的结果，不是内容："
                    "请在该单元格直接填写{title}，不要用公式引用其他表格）"),
    # A year or amount typed into a date-formatted cell (worker.form.cells): the number as
    # read, and the date the sheet shows instead, so the unit can find and fix the cell.
    "number_shown_as_date": "{value}（该单元格是日期格式，表格中显示为 {shown}，请设为“常规”格式）",
}


def explain(code: str, programme: object) -> ReasonText:
    """Title and advice with the programme's facts (addresses, fees, window) filled in."""
    text = REASONS.get(Code(code)) if code in Code.__members__ else None
    if text is None:
        return ReasonText(code, "", role=Role.CHECK, waivable=False, next_step=NextStep.RESEND)
    facts = {
        "in_person_address": getattr(programme, "in_person_address", ""),
        "card_window": getattr(programme, "card_window", ""),
        "contact_phone": getattr(programme, "contact_phone", ""),
        "window": _window(programme),
        "fees": "；".join(
            f"{year}年度 {fee} 元" for year, fee in sorted(getattr(programme, "fees", {}).items())
        ),
    }
    return replace(text, advice=text.advice.format(**facts))


def _window(programme: object) -> str:
    start = getattr(programme, "payment_window_start", None)
    end = getattr(programme, "payment_window_end", None)
    if start is None or end is None:
        return ""
    return f"{start:%Y年%m月%d日}至{end:%Y年%m月%d日}"


def mail_unread(attachment: str | None, text: str, codes: Iterable[str]) -> bool:
    """Whether an application stands for a mail that could not be read at all (too
    large, not a mail, its MIME broken before any text): FORM_UNREADABLE without an
    attachment, and no text read from the mail. A recipient it may hold was never
    looked for, so it is not said to be missing (``worker.decision.evaluate_draft``'s
    ``unread``), by intake (``worker.intake.analyse``) and by a re-check
    (``worker.staff.checks``); and it may well carry the form, so the unit is
    answered as for one (``worker.replies.policy``)."""
    return attachment is None and not text and Code.FORM_UNREADABLE in codes
