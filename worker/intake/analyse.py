"""From a parsed mail to application drafts: no storage, no network.

One draft per form attachment; a mail without a usable form gives one draft with
``attachment`` None and the reason why (NO_FORM, UNSUPPORTED_ATTACHMENT, ...).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import PurePath

from worker.config import Config
from worker.errors import FormUnreadable
from worker.fields import FIELDS
from worker.form import FormLimits, ParsedForm, read_form
from worker.form.body import html_table_sheet, tab_text_sheet
from worker.form.reader import NO_FORM as NO_FORM_DETAIL
from worker.form.reader import build_form
from worker.form.sniff import Format
from worker.intake.attachments import sort_attachments
from worker.message import Attachment, ParsedMail
from worker.recipient import BodyRecipient, Recipient, merge, parse_recipient_parts, phone_in
from worker.validation import Code, Draft, Reason
from worker.validation import normalize as norm
from worker.validation.reasons import DETAILS, mail_unread

log = logging.getLogger(__name__)


@dataclass
class AppDraft:
    """One application-to-be: the draft the checks see plus what storage keeps."""

    attachment: Attachment | None
    draft: Draft
    header: dict[str, str] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)   # found before the checks
    has_form: bool = False
    ignored: bool = False
    # The mail's text and files were not looked at (too large, not a mail at all): its
    # ``reasons`` say so, and nothing the mail holds (the recipient) is checked.
    unread: bool = False


def form_limits(config: Config) -> FormLimits:
    lim = config.limits
    return FormLimits(
        max_bytes=lim.max_attachment_bytes,
        max_uncompressed=lim.max_uncompressed_bytes,
        max_rows=lim.max_rows,
        max_lines=lim.max_lines,
    )


def analyse(mail: ParsedMail, config: Config) -> list[AppDraft]:
    body_recipient = parse_recipient_parts(mail.text or "")
    if mail.auto_reason:
        log.info("mail %s ignored: %s", mail.message_id, mail.auto_reason)
        return [AppDraft(None, Draft(), ignored=True)]
    limits = form_limits(config)
    found = sort_attachments(mail.attachments, limits)
    count = len(found.forms) + len(found.broken)
    if count > config.limits.max_forms:
        detail = DETAILS["too_many_forms"].format(count=count, limit=config.limits.max_forms)
        return [AppDraft(None, _draft({}, None, mail, body_recipient),
                         reasons=[Reason(Code.TOO_MANY_FORMS, None, detail)])]
    drafts = [_from_form(att, fmt, mail, body_recipient, limits) for att, fmt in found.forms]
    drafts += [AppDraft(att, _draft({}, None, mail, body_recipient),
                        reasons=[Reason(Code.FORM_UNREADABLE, None, detail)])
               for att, detail in found.broken]
    drafts = _applications(drafts, mail.message_id)
    if not drafts:
        pasted = _from_body(mail, body_recipient, limits)
        drafts = [pasted] if pasted is not None else []
    if drafts:
        return drafts

    draft = _draft({}, None, mail, body_recipient)
    reasons: list[Reason] = []
    if found.unsupported or mail.large_attachment_links:
        parts = list(found.unsupported)
        parts += ["超大附件（云附件）链接不是 Excel 申请表" for _ in mail.large_attachment_links[:1]]
        reasons.append(Reason(Code.UNSUPPORTED_ATTACHMENT, None, "；".join(parts)))
    if mail.unreadable:
        # Not NO_FORM: the unit may well have attached the form; the mail itself broke.
        reasons.append(Reason(Code.FORM_UNREADABLE, None,
                              DETAILS["mail_unreadable"].format(why=mail.unreadable)))
    if not reasons:
        reasons.append(Reason(Code.NO_FORM, None, "邮件没有 Excel 附件"))
    return [AppDraft(None, draft, reasons=reasons,
                     unread=mail_unread(None, mail.text, [r.code for r in reasons]))]


def _applications(drafts: list[AppDraft], message_id: str) -> list[AppDraft]:
    """The attachments that are applications of their own. Not: the same file attached
    again (same bytes: one application, or its trainees would be held as invoiced by
    the first copy), and a blank form (no trainee, no 单位名称, no 纳税人识别号: the
    template sent along) beside a filled one. A blank form alone stays an application:
    its reasons tell the unit it is empty."""
    seen: list[bytes] = []  # compared, not hashed: a set would hash every byte of each form
    unique = []
    for d in drafts:
        data = d.attachment.data if d.attachment is not None else None
        if data is not None and data in seen:
            log.info("mail %s: %s is the same file as an earlier attachment: read once",
                     message_id, d.attachment.filename if d.attachment else None)
            continue
        if data is not None:
            seen.append(data)
        unique.append(d)
    if not any(d.has_form and d.draft.lines for d in unique):
        return unique
    blank = {id(d) for d in unique
             if d.has_form and not d.draft.lines and not d.draft.unit and not d.draft.tax_id}
    for d in unique:
        if id(d) in blank:
            log.info("mail %s: %s is a blank form beside a filled one: not an application",
                     message_id, d.attachment.filename if d.attachment else None)
    return [d for d in unique if id(d) not in blank]


def _from_body(mail: ParsedMail, body: BodyRecipient, limits: FormLimits) -> AppDraft | None:
    """A form pasted into the body (an HTML table, or tab-separated cells): read like an
    attached one, with ``attachment`` None.  None when the body holds no table."""
    sheet = html_table_sheet(mail.html, limits) if mail.html else None
    if sheet is None:
        sheet = tab_text_sheet(mail.text or "", limits)
    if sheet is None:
        return None
    try:
        form = build_form([sheet], limits)
    except FormUnreadable as e:
        if e.detail == NO_FORM_DETAIL:
            return None  # tables for layout, a signature: not a form
        detail = DETAILS["body_form"].format(why=e.detail)
        return AppDraft(None, _draft({}, None, mail, body),
                        reasons=[Reason(Code.FORM_UNREADABLE, None, detail)])
    return AppDraft(None, _draft(form.header, form, mail, body), header=dict(form.header),
                    has_form=True)


def _from_form(att: Attachment, fmt: Format, mail: ParsedMail, body: BodyRecipient,
               limits: FormLimits) -> AppDraft:
    try:
        form = read_form(att.filename, att.data, limits, kind=fmt)
    except FormUnreadable as e:
        draft = _draft({}, None, mail, body)
        return AppDraft(att, draft, reasons=[Reason(Code.FORM_UNREADABLE, None, e.detail)])
    return AppDraft(att, _draft(form.header, form, mail, body), header=dict(form.header),
                    has_form=True)


def _draft(header: dict[str, str], form: ParsedForm | None, mail: ParsedMail,
           body: BodyRecipient) -> Draft:
    """The checks' draft: every registry field as the form wrote it, then the few that
    are normalised (district, choices, tax ID), defaulted (发票抬头 -> 单位名称) or
    merged with the recipient written in the mail body (``body``: in the unit's new
    text, which wins over the form, and in the mail it quotes, which only fills gaps)."""
    values = {f.key: header.get(f.header_key, "") for f in FIELDS}
    # A phone cell is read as a body line is: "13820000001/022-23391756", "13820000001（手机）"
    form_phone = values["recipient_phone"]
    form_recipient = Recipient(values["recipient_name"] or None,
                               (phone_in(form_phone) or form_phone) if form_phone else None,
                               values["recipient_address"] or None)
    who = merge(merge(body.new, form_recipient), body.quoted)
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
    draft = Draft(**values, **raw)
    if form is not None:
        draft.lines = list(form.lines)  # the form's own lines, numbered in order
        draft.total_count = form.total_count
        draft.total_amount = form.total_amount
        draft.below_blank = list(form.below_blank)
        draft.hidden_rows = list(form.hidden_rows)
    return draft


_FORM_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".et", ".ods", ".csv")
STORED_SUFFIXES = (*_FORM_SUFFIXES, ".bin")
"""The suffixes a stored attachment's name may end in (``safe_suffix``)."""


def safe_suffix(filename: str | None) -> str:
    """A storage suffix from a whitelist (``STORED_SUFFIXES``): never a path from the mail."""
    suffix = PurePath(filename or "").suffix.lower()
    return suffix if suffix in _FORM_SUFFIXES else ".bin"
