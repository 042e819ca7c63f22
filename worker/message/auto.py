"""Machine-made mail (auto-replies, bounces, our own replies): never answer it."""

from __future__ import annotations

import re
from collections.abc import Sequence

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


def auto_reason(
    headers: dict[str, str], subject: str, sender: str, own: Sequence[str]
) -> str | None:
    """Why this mail is machine-generated (never answer it), or None for a human."""
    auto = raw_text(headers.get("auto-submitted")).split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers and raw_text(headers[name]).strip().lower() not in ("no", "false"):
            return f"{name} header"
    if "".join(raw_text(headers.get("return-path")).split()) == "<>":
        return "Return-Path: <> (null sender)"
    precedence = raw_text(headers.get("precedence")).strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if sender.partition("@")[0] in AUTO_LOCALPARTS:
        return f"sender {sender}"
    if parse_params(headers.get("content-type"))[0] == "multipart/report":
        return "multipart/report (delivery status)"
    if sender and sender in {a.strip().lower() for a in own}:
        return f"from our own address {sender}"
    match = AUTO_SUBJECT.search(subject)
    if match:
        return f"subject: {match.group(0)}"
    return None
