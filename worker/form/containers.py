"""Opening the containers a form travels in: ``.zip`` files and Outlook's ``winmail.dat``.

Units zip the form (WinRAR/360压缩/Windows "发送到 压缩文件夹" write member names in GBK
without the UTF-8 flag) and Outlook in rich-text mode wraps every attachment in a TNEF
stream (``application/ms-tnef``, [MS-OXTNEF]).  Both are opened here within the same
limits as an xlsx (``FormLimits``: member count, total inflated size, compression
ratio, attachment size), counted over everything one mail unpacks, so nesting cannot
multiply them.  Archives we cannot open (RAR, 7z, an encrypted zip) raise
``UnsupportedAttachment`` naming the format; a container that breaks a limit raises
``FormUnreadable``.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from worker.errors import FormUnreadable, UnsupportedAttachment
from worker.form.classify import FORM_SUFFIXES
from worker.form.limits import FormLimits, describe_size
from worker.form.reader import SPREADSHEET_SUFFIXES, suffix
from worker.form.sniff import Format, archive_kind
from worker.text import visible

#: How many containers deep a form may sit (a zip in a zip in winmail.dat).
MAX_DEPTH = 3

#: Formats that are zip files inside: a broken one is a broken document, not an archive.
_ZIP_DOCUMENTS = frozenset(SPREADSHEET_SUFFIXES) | FORM_SUFFIXES | {
    ".docx", ".docm", ".dotx", ".pptx", ".ods", ".odt", ".odp", ".ofd", ".numbers", ".pages",
}
_JUNK_PARTS = ("__macosx",)
_JUNK_NAMES = frozenset({"thumbs.db", ".ds_store", "desktop.ini"})


@dataclass
class Budget:
    """What one mail may still unpack; shared by every container in it."""

    limits: FormLimits
    members: int = 0
    inflated: int = 0

    def take(self, size: int) -> None:
        self.members += 1
        self.inflated += size
        if self.members > self.limits.max_members:
            raise FormUnreadable("压缩包无法打开：其中的文件过多")
        if self.inflated > self.limits.max_uncompressed:
            raise FormUnreadable(
                f"压缩包解压后过大（超过 {describe_size(self.limits.max_uncompressed)}）")


@dataclass(frozen=True)
class Member:
    """One file taken out of a container: its own name and its bytes."""

    name: str | None
    data: bytes


def is_container(kind: Format, filename: str | None) -> bool:
    """Whether ``kind`` (what ``sniff`` said) is a container we open or name.

    A zip named like a workbook or document is a damaged one of those, not an archive:
    the form reader or the classifier says so.
    """
    if kind == "zip":
        return suffix(filename) not in _ZIP_DOCUMENTS
    return kind in ("tnef", "archive")


def open_container(kind: Format, data: bytes, budget: Budget) -> list[Member]:
    """The files inside a container ``sniff`` called ``kind`` ('zip', 'tnef', 'archive').

    Raises UnsupportedAttachment (a format or encryption we cannot open: the detail
    names it) or FormUnreadable (damaged, or over the mail's unpacking budget).
    """
    if kind == "zip":
        return _zip_members(data, budget)
    if kind == "tnef":
        return _tnef_members(data, budget)
    if kind == "archive":
        name = archive_kind(data)
        raise UnsupportedAttachment(f"是 {name} 压缩包，无法打开")
    raise ValueError(f"not a container: {kind}")


def _skip(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    lowered = [p.lower() for p in path.parts]
    return (name.endswith(("/", "\\")) or any(p in _JUNK_PARTS for p in lowered)
            or path.name.startswith("._") or path.name.lower() in _JUNK_NAMES)


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """The member's base name as its creator meant it.

    Without the UTF-8 flag (bit 11) zipfile decodes names as CP437, but Chinese Windows
    tools write the ANSI code page (GBK); undo CP437 and decode UTF-8, else GB18030.
    """
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            raw = None
        if raw is not None:
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                name = raw.decode("gb18030", errors="replace")
    return visible(PurePosixPath(name.replace("\\", "/")).name)


def _zip_members(data: bytes, budget: Budget) -> list[Member]:
    limits = budget.limits
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise FormUnreadable("压缩包已损坏，无法打开") from e
    members: list[Member] = []
    with archive:
        infos = [i for i in archive.infolist() if not _skip(i.filename)]
        if any(i.flag_bits & 0x1 for i in infos):
            raise UnsupportedAttachment("是加密的 zip 压缩包（设置了密码），无法打开")
        for info in infos:
            budget.take(info.file_size)
            if info.file_size > limits.max_bytes:
                raise FormUnreadable(
                    f"压缩包中的文件过大（超过 {describe_size(limits.max_bytes)}）")
            if info.file_size >= limits.ratio_min_size and (
                info.compress_size <= 0 or info.file_size / info.compress_size > limits.max_ratio
            ):
                raise FormUnreadable("压缩包无法打开：压缩比异常（疑似压缩炸弹）")
            try:
                with archive.open(info) as member:
                    content = member.read(limits.max_bytes + 1)  # sizes in headers can lie
            except NotImplementedError as e:  # deflate64, LZMA, AES from 7-Zip/WinRAR
                raise UnsupportedAttachment("使用了无法识别的压缩方式，无法打开") from e
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
                raise FormUnreadable("压缩包已损坏，无法打开") from e
            if len(content) > limits.max_bytes:
                raise FormUnreadable(
                    f"压缩包中的文件过大（超过 {describe_size(limits.max_bytes)}）")
            members.append(Member(zip_member_name(info), content))
    return members


def _tnef_members(data: bytes, budget: Budget) -> list[Member]:
    from tnefparse import TNEF

    try:
        tnef = TNEF(data)
        attachments = list(tnef.attachments)
    except Exception as e:  # third-party boundary: a broken stream is "cannot open"
        raise FormUnreadable("Outlook 附件包（winmail.dat）已损坏，无法打开") from e
    members: list[Member] = []
    for att in attachments:
        content = att.data if isinstance(att.data, bytes) else b""
        budget.take(len(content))
        members.append(Member(_tnef_name(att), content))
    return members


def _tnef_name(att: object) -> str | None:
    """The long file name if Outlook wrote one, else the 8-bit name in the TNEF code page."""
    try:
        long_name = att.long_filename()  # type: ignore[attr-defined]
    except Exception:  # tnefparse decodes the short name as UTF-8 and fails on GBK
        long_name = None
    if isinstance(long_name, bytes):
        long_name = None
    if long_name:
        return visible(PurePosixPath(long_name.strip("\x00").replace("\\", "/")).name) or None
    raw = getattr(att, "_name", b"")
    if isinstance(raw, str):
        return raw.strip("\x00") or None
    codepage = str(getattr(att, "codepage", "") or "")
    raw = raw.rstrip(b"\x00")
    for codec in (codepage, "utf-8", "gb18030"):
        try:
            return raw.decode(codec) or None
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("gb18030", errors="replace") or None
