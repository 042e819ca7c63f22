"""Read a zip the platform (or staff) gives back: issued invoices' XML, PDF and OFD.

Safety first, as for any archive from outside:

* limits (``ArchiveLimits``): member count, each member's and the total uncompressed
  size, compression ratio, and how deep a zip may sit inside a zip. Declared sizes are
  checked before anything is inflated, and inflation is streamed with a running count,
  so a bomb — honest headers or lying ones (then zipfile's CRC check fails) — costs
  at most the limit in time and one chunk of memory beyond what is kept;
* member names are decoded for display only — UTF-8 when flagged (bit 11), otherwise
  the raw bytes (Python hands them over as cp437) are tried as UTF-8, then GB18030, as
  Windows zippers in China write them — and never used as a filesystem path; the
  caller gets bytes and a display name;
* encrypted members, unknown file types and duplicates are reported as ``Problem``\\s;
  a damaged or over-limit archive raises ``TaxArchiveUnreadable`` as a whole.

``group_files`` pairs each invoice's XML/PDF/OFD: by the 20-digit invoice number in the
file name when there is one (the platform names downloads ``dzfp_<number>_<seller>_
<time>.pdf``), otherwise by the name without extension.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from typing import BinaryIO

from worker.errors import TaxArchiveUnreadable
from worker.tax.model import Problem

CHUNK = 64 * 1024
UTF8_FLAG = 0x800
_NUMBER_IN_NAME = re.compile(r"(?<!\d)(\d{20})(?!\d)")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds per archive (nested zips share the budget of the outer one)."""

    max_members: int = 3000
    max_member_bytes: int = 20 * 1024 * 1024  # a PDF/OFD is ~100 KB
    max_total_bytes: int = 200 * 1024 * 1024
    max_ratio: int = 100  # uncompressed / compressed, checked past ratio_min_bytes
    ratio_min_bytes: int = 1024 * 1024
    max_depth: int = 1  # a zip inside the zip, no deeper


class FileKind(StrEnum):
    XML = "xml"
    PDF = "pdf"
    OFD = "ofd"
    ZIP = "zip"
    OTHER = "other"


@dataclass(frozen=True)
class ArchiveFile:
    """A member's bytes and its decoded name (display only, never a path)."""

    name: str
    kind: FileKind
    data: bytes


@dataclass(frozen=True)
class ArchiveContents:
    files: tuple[ArchiveFile, ...]
    problems: tuple[Problem, ...] = ()


@dataclass
class InvoiceFiles:
    """One invoice's files; ``key`` is its 20-digit number or the shared file stem."""

    key: str
    xml: ArchiveFile | None = None
    pdf: ArchiveFile | None = None
    ofd: ArchiveFile | None = None
    problems: list[Problem] = field(default_factory=list)


def member_name(info: zipfile.ZipInfo) -> str:
    """The name as the zipper meant it: UTF-8 (flagged or not) or GBK, else as read."""
    name = info.filename
    if not info.flag_bits & UTF8_FLAG:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            raw = b""  # already decoded some other way (metadata_encoding): keep it
        if raw:
            for encoding in ("utf-8", "gb18030"):
                try:
                    name = raw.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
    return _UNSAFE_NAME.sub("", name.replace("\\", "/"))[:255]


def kind_of(name: str, head: bytes) -> FileKind:
    """By content first (what it is), then by extension (an OFD is also a zip)."""
    suffix = PurePosixPath(name).suffix.lower()
    if head.startswith(b"%PDF"):
        return FileKind.PDF
    if head.startswith(b"PK\x03\x04"):
        return FileKind.OFD if suffix == ".ofd" else FileKind.ZIP
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return FileKind.XML
    return FileKind.OTHER


class _Budget:
    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.members = 0
        self.total = 0

    def add_member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise TaxArchiveUnreadable(f"压缩包内文件过多（超过 {self.limits.max_members} 个）")

    def add_bytes(self, n: int) -> None:
        self.total += n
        if self.total > self.limits.max_total_bytes:
            raise TaxArchiveUnreadable(
                f"压缩包解压后过大（超过 {self.limits.max_total_bytes // (1024 * 1024)} MB），疑似压缩炸弹"
            )


def read_archive(source: bytes | BinaryIO, limits: ArchiveLimits | None = None) -> ArchiveContents:
    """Every usable member of a zip (nested zips flattened up to ``max_depth``)."""
    limits = limits or ArchiveLimits()
    files: list[ArchiveFile] = []
    problems: list[Problem] = []
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    _read(stream, "", 0, _Budget(limits), files, problems)
    return ArchiveContents(tuple(files), tuple(problems))


def _read(stream: BinaryIO, outer: str, depth: int, budget: _Budget,
          files: list[ArchiveFile], problems: list[Problem]) -> None:
    limits = budget.limits
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise TaxArchiveUnreadable(f"{outer or '压缩包'}已损坏，无法打开") from e
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        for info in infos:  # declared sizes first: nothing is inflated past an honest bomb
            budget.add_member()
            name = outer + member_name(info)
            if info.file_size > limits.max_member_bytes:
                raise TaxArchiveUnreadable(f"压缩包内文件“{name}”过大，疑似压缩炸弹")
            if info.file_size > limits.ratio_min_bytes and (
                info.compress_size <= 0 or info.file_size / info.compress_size > limits.max_ratio
            ):
                raise TaxArchiveUnreadable(f"压缩包内文件“{name}”压缩比异常，疑似压缩炸弹")
        for info in infos:
            name = outer + member_name(info)
            if info.flag_bits & 0x1:
                problems.append(Problem(name, "文件已加密，无法读取"))
                continue
            data = _inflate(archive, info, name, budget)
            kind = kind_of(name, data[:16])
            if kind is FileKind.ZIP:
                if depth >= limits.max_depth:
                    problems.append(Problem(name, "压缩包嵌套过深，未读取"))
                else:
                    _read(io.BytesIO(data), name + "/", depth + 1, budget, files, problems)
                continue
            if kind is FileKind.OTHER:
                problems.append(Problem(name, "不是发票的 XML、PDF 或 OFD 文件，未使用"))
                continue
            files.append(ArchiveFile(name, kind, data))


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, budget: _Budget) -> bytes:
    limits = budget.limits
    out = io.BytesIO()
    try:
        with archive.open(info) as fh:
            while chunk := fh.read(CHUNK):
                out.write(chunk)
                budget.add_bytes(len(chunk))
                size = out.tell()
                if size > limits.max_member_bytes or (
                    size > limits.ratio_min_bytes and size > limits.max_ratio * max(info.compress_size, 1)
                ):
                    raise TaxArchiveUnreadable(f"压缩包内文件“{name}”解压后过大，疑似压缩炸弹")
    except TaxArchiveUnreadable:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as e:
        # CRC mismatch (a lying header), unsupported compression, truncated data
        raise TaxArchiveUnreadable(f"压缩包内文件“{name}”已损坏") from e
    return out.getvalue()


def invoice_key(name: str) -> str:
    """The 20-digit number in a file name, else its stem (case-folded)."""
    stem = PurePosixPath(name).stem
    match = _NUMBER_IN_NAME.search(stem)
    return match.group(1) if match else stem.casefold()


def group_files(files: Iterable[ArchiveFile]) -> list[InvoiceFiles]:
    """Each invoice's XML/PDF/OFD together, in first-seen order; a second file of the
    same kind for one invoice is a problem on that group, not silently dropped."""
    groups: dict[str, InvoiceFiles] = {}
    for file in files:
        if file.kind not in (FileKind.XML, FileKind.PDF, FileKind.OFD):
            continue
        key = invoice_key(file.name)
        group = groups.setdefault(key, InvoiceFiles(key))
        slot = file.kind.value
        if getattr(group, slot) is None:
            setattr(group, slot, file)
        elif getattr(group, slot).data != file.data:
            first = getattr(group, slot).name
            group.problems.append(Problem(file.name, f"与“{first}”同属一张发票但内容不同"))
    return list(groups.values())
