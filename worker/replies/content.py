"""What a reply says, as plain values for the templates: read from the stored mail and
applications (the same rows the export and the console read), words from the one
reason table (``worker.validation.explain``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.config import Config
from worker.db.models import Application, Invoice, Mail
from worker.issuing.facts import courier_of
from worker.replies.compose import echo_text, one_line
from worker.status import ApplicationStatus, InvoiceState, MailStatus
from worker.text import money
from worker.validation import Code, explain
from worker.validation.reasons import NextStep, Role, next_step, with_role

# No parcel goes out for NO_PARCEL reasons, so "where to send it" (POSTAL) problems are
# noise in the reply; both are roles in the reason table.
_NO_PARCEL = with_role(Role.NO_PARCEL)
_POSTAL = with_role(Role.POSTAL)
_NAMES_SHOWN = 5


@dataclass(frozen=True)
class ReasonView:
    where: str    # 第3行（褚堃）, or "" for the whole form
    title: str
    detail: str
    advice: str
    same_as: int | None = None  # an earlier item that said how to fix it (``_told_once``)

    @property
    def text(self) -> str:
        head = f"{self.where}：" if self.where else ""
        detail = f"——{self.detail}" if self.detail else ""
        note = "" if self.same_as is None else f"（修改方法同第 {self.same_as} 条）"
        advice = self.advice.rstrip("。")
        if advice:
            return f"{head}{self.title}{detail}。{advice}{note}。"
        return f"{head}{self.title}{detail}{note}。"


_SENTENCE_END = re.compile(r"(?<=。)")


def _told_once(views: list[ReasonView]) -> list[ReasonView]:
    """The reasons with each how-to-fix sentence said once: a sentence of a detail or
    advice an earlier item gave word for word (a 25-line form typed with number cells
    is 25 INVALID_ID_NUMBER with the same 设置单元格格式 steps, and each line's
    PAYMENT_MISMATCH the same advice) points to that item instead. A sentence that
    names the line's own values differs from line to line and stays."""
    said: dict[str, int] = {}
    out = []
    for number, view in enumerate(views, 1):
        parts = []
        for text in (view.detail, view.advice):
            kept = []
            for sentence in filter(None, _SENTENCE_END.split(text)):
                first = said.setdefault(sentence.rstrip("。"), number)
                if first == number:
                    kept.append(sentence)
                else:
                    view = replace(view, same_as=min(view.same_as or first, first))
            parts.append("".join(kept).rstrip("。"))
        out.append(replace(view, detail=parts[0], advice=f"{parts[1]}。" if parts[1] else ""))
    return out


@dataclass(frozen=True)
class InvoiceView:
    number: str
    code: str
    amount: str
    people: str


@dataclass
class AppView:
    label: str
    status: str
    unit: str = ""
    district: str = ""
    invoice_type: str = ""
    issue_mode: str = ""
    invoices: list[InvoiceView] = field(default_factory=list)
    total: str = "0.00"
    trainees: int = 0
    courier: str = ""
    waybill: str = ""
    recipient: str = ""
    phone: str = ""
    address: str = ""
    postage: str = ""
    reasons: list[ReasonView] = field(default_factory=list)
    files_attached: bool = False  # delivery = "email": the platform's files are attached
    next_step: str = "resend"   # a NextStep: resend | in_person | contact | staff | done


def local_time(value: datetime | None, config: Config) -> str:
    return "" if value is None else f"{value.astimezone(config.tz):%Y年%m月%d日 %H:%M}"


def application_view(app: Application, config: Config) -> AppView:
    label = f"附件《{one_line(app.attachment, 120)}》" if app.attachment else "本邮件"
    view = AppView(label=label, status=str(app.status), unit=one_line(app.unit, 120),
                   district=one_line(app.district, 32),
                   invoice_type=one_line(app.invoice_type, 32),
                   issue_mode=one_line(app.issue_mode, 16))
    if app.status == ApplicationStatus.ACCEPTED:
        _fill_accepted(view, app, config)
    elif app.status == ApplicationStatus.HELD:
        _fill_held(view, app, config)
    return view


def _fill_accepted(view: AppView, app: Application, config: Config) -> None:
    # Live invoices only (a failed or reversed one is not the unit's); a platform invoice
    # is shown once issued, with its official number (code empty: a 数电票 has none).
    invoices: list[Invoice] = sorted(
        (i for i in app.invoices if InvoiceState(i.state).holds_orders),
        key=lambda i: (i.code, i.number or "", i.id))
    view.invoices = [InvoiceView(i.number or "", i.code, money(i.amount), _people(i))
                     for i in invoices]
    view.files_attached = config.invoicing.by_email and any(i.xml_path for i in invoices)
    view.total = money(sum((i.amount for i in invoices), Decimal("0")))
    view.trainees = sum(len(i.items) for i in invoices)
    ship = app.shipment
    if ship is not None:
        view.courier = one_line(courier_of(ship.courier_json, config).name)  # as on its label
        view.waybill = one_line(ship.waybill)
        view.recipient = one_line(ship.recipient, 100)
        view.phone = one_line(ship.phone, 64)
        view.address = one_line(ship.address, 300)
        view.postage = money(ship.postage_due)


def _people(invoice: Invoice) -> str:
    """The trainees an invoice is for: every name up to ``_NAMES_SHOWN``, else the first
    three and how many (only the names shown are cleaned: a 50-line form's invoice
    cleaned all fifty for three)."""
    items = invoice.items
    shown = items if len(items) <= _NAMES_SHOWN else items[:3]
    names = "、".join(one_line(item.name, 50) or "（未填姓名）" for item in shown)
    return names if shown is items else names + f" 等 {len(items)} 人"


def _fill_held(view: AppView, app: Application, config: Config) -> None:
    codes = {r.code for r in app.reasons}
    view.next_step = str(next_step(codes))
    if codes == {Code.ALREADY_INVOICED} and {r.line for r in app.reasons} >= {
            line.seq if line.seq is not None else line.position for line in app.lines}:
        # The same form sent again: nothing to fix, nothing to send (not "fix and resend",
        # which would have the unit delete every trainee).
        view.next_step = str(NextStep.DONE)
    names = {line.seq if line.seq is not None else line.position: one_line(line.name, 50)
             for line in app.lines}
    shown = [r for r in app.reasons if not (codes & _NO_PARCEL and r.code in _POSTAL)]
    for reason in shown:
        text = explain(reason.code, config.programme)
        detail = "" if reason.code == Code.INTERNAL_ERROR else one_line(reason.detail, 500)
        view.reasons.append(ReasonView(_where(reason.line, names, detail), text.title,
                                       detail.rstrip("。"), text.advice))
    view.reasons = _told_once(view.reasons)


def _where(line: int | None, names: dict[int, str], detail: str) -> str:
    if line is None:
        return ""
    name = names.get(line, "")
    return f"第{line}行（{name}）" if name and name not in detail else f"第{line}行"


def mail_context(mail: Mail, apps: list[Application], config: Config,
                 now: datetime) -> dict[str, Any]:
    views = [application_view(a, config) for a in apps]
    return {
        **common_context(mail, apps, config, now),
        "apps": views,
        "n_accepted": sum(v.status == ApplicationStatus.ACCEPTED for v in views),
        "n_held": sum(v.status == ApplicationStatus.HELD for v in views),
        "failed": mail.status == MailStatus.FAILED,
    }


def followup_context(app: Application, config: Config, now: datetime, *, action: str,
                     note: str) -> dict[str, Any]:
    return {
        **common_context(app.mail, [app], config, now),
        "app": application_view(app, config),
        "action": action,
        "note": note,
    }


def common_context(mail: Mail, apps: list[Application], config: Config,
                   now: datetime) -> dict[str, Any]:
    units = list(dict.fromkeys(one_line(a.unit, 120) for a in apps if one_line(a.unit)))
    greeting = units[0] if len(units) == 1 else echo_text(mail.sender_name,
                                                          config.reply_limits.subject_chars)
    return {
        "greeting": greeting,
        "received": local_time(mail.received_at or mail.date, config),  # our clock, not theirs
        # 《…》 in the templates: the subject as echoed, "（无主题）" for none, and
        # nothing when all it held was what a reply never repeats (a link, a formula).
        "subject": _subject(mail.subject, config),
        "institute": one_line(config.seller.name),
        "contact_phone": one_line(config.programme.contact_phone),
        "mailbox": one_line(config.programme.mailbox_address),
        "today": f"{now.astimezone(config.tz):%Y年%m月%d日}",
    }


def _subject(subject: str | None, config: Config) -> str:
    echoed = echo_text(subject, config.reply_limits.subject_chars)
    if echoed:
        return f"《{echoed}》"
    return "" if (subject or "").strip() else "《（无主题）》"
