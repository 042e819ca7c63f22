"""From a parsed mail to application drafts: no storage, no network.

One draft per form attachment; a mail without a usable form gives one draft with
``attachment`` None and the reason why (NO_FORM, UNSUPPORTED_ATTACHMENT, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

from worker.config import Config
from worker.errors import FormUnreadable
from worker.fields import FIELDS
from worker.form import FormLimits, ParsedForm, classify_attachment, read_form
from worker.form.sniff import Format, sniff
from worker.message import Attachment, ParsedMail
from worker.recipient import Recipient, merge, parse_recipient
from worker.validation import Code, Draft, Line, Reason
from worker.validation import normalize as norm


@dataclass
class AppDraft:
    """One application-to-be: the draft the checks see plus what storage keeps."""

    attachment: Attachment | None
    draft: Draft
    header: dict[str, str] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)   # found before the checks
    has_form: bool = False
    ignored: bool = False


def form_limits(config: Config) -> FormLimits:
    lim = config.limits
    return FormLimits(
        max_bytes=lim.max_attachment_bytes,
        max_uncompressed=lim.max_uncompressed_bytes,
        max_rows=lim.max_rows,
        max_lines=lim.max_lines,
    )


def analyse(mail: ParsedMail, config: Config) -> list[AppDraft]:
    body_recipient = parse_recipient(mail.text or "")
    if mail.auto_reason:
        return [AppDraft(None, Draft(mail_date=mail.date), ignored=True)]
    forms: list[tuple[Attachment, Format]] = []
    unsupported: list[str] = []
    for att in mail.attachments:
        if att.inline:
            continue  # a logo in the signature, not something the unit attached
        fmt = sniff(att.data) if att.data else "unknown"  # once, for classify and read
        kind = classify_attachment(att.filename, att.content_type, att.data, kind=fmt)
        if kind == "form":
            forms.append((att, fmt))
        elif kind == "unsupported":
            unsupported.append(att.filename or att.content_type)
    if forms:
        limits = form_limits(config)
        return [_from_form(att, fmt, mail, body_recipient, limits) for att, fmt in forms]

    draft = _draft({}, None, mail, body_recipient)
    if unsupported or mail.large_attachment_links:
        parts = [f"附件 {name}" for name in unsupported]
        parts += ["超大附件（云附件）链接" for _ in mail.large_attachment_links[:1]]
        reason = Reason(Code.UNSUPPORTED_ATTACHMENT, None,
                        "、".join(parts) + " 不是 Excel 申请表")
    else:
        reason = Reason(Code.NO_FORM, None, "邮件没有 Excel 附件")
    return [AppDraft(None, draft, reasons=[reason])]


def _from_form(att: Attachment, fmt: Format, mail: ParsedMail, body: Recipient,
               limits: FormLimits) -> AppDraft:
    try:
        form = read_form(att.filename, att.data, limits, kind=fmt)
    except FormUnreadable as e:
        draft = _draft({}, None, mail, body)
        return AppDraft(att, draft, reasons=[Reason(Code.FORM_UNREADABLE, None, e.detail)])
    return AppDraft(att, _draft(form.header, form, mail, body), header=dict(form.header),
                    has_form=True)


def _draft(header: dict[str, str], form: ParsedForm | None, mail: ParsedMail,
           body: Recipient) -> Draft:
    """The checks' draft: every registry field as the form wrote it, then the few that
    are normalised (district, choices, tax ID), defaulted (发票抬头 -> 单位名称) or
    merged with the recipient written in the mail body."""
    values = {f.key: header.get(f.header_key, "") for f in FIELDS}
    form_recipient = Recipient(values["recipient_name"] or None, values["recipient_phone"] or None,
                               values["recipient_address"] or None)
    who = merge(body, form_recipient)
    raw = {f"raw_{f.key}": values[f.key] for f in FIELDS if f.choices}
    values.update(
        district=norm.district(values["district"]) or values["district"],
        buyer_name=values["buyer_name"] or values["unit"],
        tax_id=values["tax_id"].replace(" ", "").upper(),
        recipient_name=who.name or "",
        recipient_phone=who.phone or "",
        recipient_address=who.address or "",
    )
    for f in FIELDS:
        if f.choices:
            values[f.key] = str(norm.CHOICE_READERS[f.key](values[f.key]) or values[f.key])
    draft = Draft(**values, **raw, mail_date=mail.date)
    if form is not None:
        draft.lines = [
            Line(position=i, seq=fl.seq, name=fl.name, id_number=fl.id_number,
                 order_no=fl.order_no, year=fl.year, amount=fl.amount,
                 year_raw=fl.year_raw, amount_raw=fl.amount_raw, row=fl.row)
            for i, fl in enumerate(form.lines, start=1)
        ]
        draft.total_count = form.total_count
        draft.total_amount = form.total_amount
    return draft


def safe_suffix(filename: str | None) -> str:
    """A storage suffix from a whitelist: never a path from the mail."""
    suffix = PurePath(filename or "").suffix.lower()
    return suffix if suffix in (".xlsx", ".xls", ".xlsm", ".et") else ".bin"
