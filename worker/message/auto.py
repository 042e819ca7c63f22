"""Machine-made mail (auto-replies, bounces, our own replies): never answer it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from worker.message.charset import raw_text
from worker.message.words import parse_params

#: Machine-made mail, shared with the replies stage (never answer such a sender).
AUTO_SUBJECT = re.compile(
    r"自动回复|自动答复|系统退信|退信|"
    r"\bauto[- ]?reply\b|\bautomatic reply\b|\bauto[- ]?response\b|\bout of (the )?office\b|"
    r"\bundeliverable\b|\bundelivered mail\b|\bdelivery status notification\b|"
    r"\bmail delivery (failed|failure|system)\b|\breturned mail\b",
    re.IGNORECASE,
)
AUTO_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mailer_daemon", "mailerdaemon"})
_AUTO_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk", "list"})


#: The same words as AUTO_SUBJECT, but only where machines put them: at the start of the
#: subject (after a bracketed tag such as ``[外部邮件]``).  ``回复：自动回复：…`` is a person
#: answering an auto-reply, not one.
_AUTO_SUBJECT_START = re.compile(r"^\s*(?:[\[【][^\]】]{0,40}[\]】]\s*)?(?:" + AUTO_SUBJECT.pattern + ")",
                                 re.IGNORECASE)
#: What a person's client puts before a subject it answers or forwards.
_HUMAN_PREFIX = re.compile(r"^\s*(?:re|fw|fwd|aw|wg|回复|答复|回覆|转发|轉寄|转寄)\s*[:：]", re.IGNORECASE)
_REPORT_TYPES = frozenset({"multipart/report", "message/delivery-status",
                           "message/disposition-notification"})


def auto_reason(
    headers: dict[str, str],
    subject: str,
    sender: str,
    own: Sequence[str],
    *,
    message_id: str = "",
    own_message_id: Callable[[str], bool] | None = None,
    may_carry_form: bool = False,
) -> str | None:
    """Why this mail is machine-made (ignore it, never answer it), or None for a person.

    Headers decide first: RFC 3834 Auto-Submitted, X-Autoreply/X-Autorespond,
    a null Return-Path, Precedence auto_reply/bulk/junk/list, mailer-daemon senders, DSN
    and read-receipt content types (RFC 3464, RFC 8098), our own address or one of our
    own Message-IDs (``own_message_id``).  Subject words (自动回复, Out of Office, 退信
    ...) count only at the start of the subject, never after a person's ``回复：`` or
    ``Re:``, and never for a mail that may carry a form (``may_carry_form``: a
    spreadsheet or archive attached, or attachments not seen at all).  The reason is
    Chinese: staff read it in the console.
    """
    auto = raw_text(headers.get("auto-submitted")).split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"邮件头 Auto-Submitted: {auto}（自动发出的邮件）"
    for name, label in (("x-autoreply", "X-Autoreply"), ("x-autorespond", "X-Autorespond")):
        if name in headers and raw_text(headers[name]).strip().lower() not in ("no", "false"):
            return f"邮件头 {label}（自动回复）"
    if "".join(raw_text(headers.get("return-path")).split()) == "<>":
        return "邮件头 Return-Path: <>（退信或系统通知）"
    precedence = raw_text(headers.get("precedence")).strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"邮件头 Precedence: {precedence}（自动或群发邮件）"
    if sender.partition("@")[0] in AUTO_LOCALPARTS:
        return f"发件人 {sender}（邮件系统退信）"
    ctype = parse_params(headers.get("content-type"))[0]
    if ctype in _REPORT_TYPES:
        return f"邮件类型 {ctype}（退信或已读回执，multipart/report）"
    if "x-failed-recipients" in headers:
        return "邮件头 X-Failed-Recipients（退信）"
    if sender and sender in {a.strip().lower() for a in own}:
        return f"发件人是本邮箱 {sender}（本系统发出的邮件）"
    if message_id and own_message_id is not None and own_message_id(message_id):
        return f"邮件编号 {message_id} 是本系统发出的回复"
    if may_carry_form or _HUMAN_PREFIX.match(subject):
        return None  # subject words alone never ignore a form or a person's answer
    match = _AUTO_SUBJECT_START.match(subject)
    if match:
        return f"主题以“{match.group(0).strip()}”开头（自动回复或退信）"
    return None
