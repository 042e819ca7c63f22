"""Bounds on what an attachment may cost us before it is rejected as FORM_UNREADABLE.

A mailbox is an open door: one crafted spreadsheet must not exhaust memory or time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from worker.errors import FormUnreadable


@dataclass(frozen=True)
class FormLimits:
    """Size limits; the defaults are far above any real application form."""

    max_bytes: int = 10 * 1024 * 1024  # attachment size
    max_uncompressed: int = 50 * 1024 * 1024  # xlsx: total uncompressed size of the zip
    max_ratio: int = 200  # xlsx: per-member compression ratio (zip bomb)
    max_rows: int = 5000  # rows read per sheet
    max_cols: int = 100  # columns read per row
    max_sheets: int = 30
    max_lines: int = 2000  # trainee lines
    max_members: int = 1000  # xlsx: zip members
    ratio_min_size: int = 1024 * 1024  # members smaller than this skip the ratio check
    max_cells: int = 2_000_000  # xlsx: cells per sheet (within max_rows), shared strings


DEFAULT_LIMITS = FormLimits()


def describe_size(size: int, *, up: bool = False) -> str:
    """``10485760`` -> ``'10 MB'``; used in the user-facing limit messages. ``up``: to
    the next tenth (a size over a limit never reads as the limit: 30 MB + 1 byte is
    ``'30.1 MB'``)."""
    if size >= 1024 * 1024:
        value, unit = size / (1024 * 1024), "MB"
    elif size >= 1024:
        value, unit = size / 1024, "KB"
    else:
        return f"{size} 字节"
    if up:
        value = math.ceil(value * 10) / 10
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} {unit}"


def check_size(data: bytes, limits: FormLimits) -> None:
    """Reject an attachment over ``max_bytes`` before any parser sees it."""
    if len(data) > limits.max_bytes:
        raise FormUnreadable(f"附件过大（超过 {describe_size(limits.max_bytes)}）")
    if not data:
        raise FormUnreadable("附件无法打开：文件为空")
