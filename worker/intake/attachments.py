"""What counts as an attachment: a mail's files sorted into candidate forms, files that
should have been the form, and noise, with containers opened on the way.

Rules (issue 9, kind 1): a spreadsheet is a candidate form whatever its
Content-Disposition or Content-ID says, since Outlook and Foxmail send a dragged-in file
as an "inline" part; being inline only hides pictures and the like (signature logos).
``.zip`` files and Outlook's ``winmail.dat`` are opened (``worker.form.containers``,
within the form limits counted over the whole mail); archives we cannot open are named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from worker.errors import FormUnreadable, UnsupportedAttachment
from worker.form import FormLimits, classify_attachment
from worker.form.containers import MAX_DEPTH, Budget, is_container, open_container
from worker.form.sniff import Format, sniff
from worker.message import Attachment

_OCTET = "application/octet-stream"


@dataclass
class SortedFiles:
    """A mail's files by what they are to the intake."""

    forms: list[tuple[Attachment, Format]] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # "附件 X 不是 Excel 申请表", ...
    broken: list[tuple[Attachment, str]] = field(default_factory=list)  # container, why

    def count(self) -> int:
        return len(self.forms) + len(self.unsupported) + len(self.broken)


def sort_attachments(attachments: Sequence[Attachment], limits: FormLimits) -> SortedFiles:
    """Every file of the mail, containers opened; see the module docstring for the rules."""
    found = SortedFiles()
    budget = Budget(limits)
    for att in attachments:
        _sort(att, found, budget, depth=0)
    return found


def _label(att: Attachment) -> str:
    return att.filename or att.content_type


def _sort(att: Attachment, found: SortedFiles, budget: Budget, depth: int) -> None:
    fmt: Format = sniff(att.data) if att.data else "unknown"  # once, for classify and read
    if is_container(fmt, att.filename):
        _open(att, fmt, found, budget, depth)
        return
    kind = classify_attachment(att.filename, att.content_type, att.data, kind=fmt)
    if kind == "form":
        found.forms.append((att, fmt))
    elif kind == "unsupported" and not att.inline:
        found.unsupported.append(f"附件 {_label(att)} 不是 Excel 申请表")


def _open(att: Attachment, fmt: Format, found: SortedFiles, budget: Budget, depth: int) -> None:
    if depth >= MAX_DEPTH:
        found.unsupported.append(f"附件 {_label(att)} 是多层嵌套的压缩包，无法打开")
        return
    try:
        members = open_container(fmt, att.data, budget)
    except UnsupportedAttachment as e:
        found.unsupported.append(f"附件 {_label(att)} {e.detail}")
        return
    except FormUnreadable as e:
        found.broken.append((att, f"附件 {_label(att)}：{e.detail}"))
        return
    before = found.count()
    for member in members:
        # Outlook users never see winmail.dat: their file keeps its own name.
        name = member.name if fmt == "tnef" or not att.filename else f"{att.filename}/{member.name}"
        inner = Attachment(name if member.name else att.filename, _OCTET, member.data)
        _sort(inner, found, budget, depth + 1)
    if found.count() == before and fmt == "zip":
        found.unsupported.append(f"附件 {_label(att)} 是压缩包，其中没有 Excel 申请表")
