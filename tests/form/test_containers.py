"""Containers a form travels in: zip files (GBK names) and Outlook's winmail.dat."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import pytest

from tests.builders.form import build_form_xlsx
from tests.builders.mail import build_tnef, build_zip
from worker.errors import FormUnreadable, UnsupportedAttachment
from worker.form import DEFAULT_LIMITS
from worker.form.containers import Budget, is_container, open_container
from worker.form.sniff import sniff

FORM = build_form_xlsx()
NAME = "线上缴费发票申请表（武清区）.xlsx"


def members(data: bytes, limits=DEFAULT_LIMITS) -> list[tuple[str | None, bytes]]:
    kind = sniff(data)
    return [(m.name, m.data) for m in open_container(kind, data, Budget(limits))]


@pytest.mark.parametrize("names", ["gbk", "utf-8"])
def test_zip_member_names_decode_with_or_without_the_utf8_flag(names: str) -> None:
    data = build_zip([(f"申请表/{NAME}", FORM)], names=names)
    assert members(data) == [(NAME, FORM)]


def test_a_member_name_that_hides_what_it_is_shows_what_it_is() -> None:
    data = build_zip([("申请表\u202eslx.exe", b"MZ"), ("表\u200b格.xlsx", FORM)], names="utf-8")
    assert [name for name, _ in members(data)] == ["申请表slx.exe", "表格.xlsx"]


def test_zip_skips_folders_and_mac_resource_forks() -> None:
    data = build_zip([("__MACOSX/._a.xlsx", b"junk"), ("._a.xlsx", b"junk"), ("Thumbs.db", b"x"),
                      ("a.xlsx", FORM)], names="utf-8")
    assert members(data) == [("a.xlsx", FORM)]


def test_encrypted_zip_is_named_not_opened() -> None:
    data = build_zip([("a.xlsx", FORM)], encrypted=True)
    with pytest.raises(UnsupportedAttachment, match="加密的 zip"):
        members(data)


@pytest.mark.parametrize(("magic", "name"), [
    (b"Rar!\x1a\x07\x01\x00", "RAR"), (b"7z\xbc\xaf\x27\x1c\x00\x04", "7z"),
    (b"\x1f\x8b\x08\x00", "gzip"),
])
def test_archives_we_cannot_open_are_named(magic: bytes, name: str) -> None:
    assert is_container(sniff(magic + b"\0" * 64), "申请表.bin")
    with pytest.raises(UnsupportedAttachment, match=f"是 {name} 压缩包"):
        members(magic + b"\0" * 64)


def test_a_zip_named_like_a_workbook_is_a_damaged_workbook_not_an_archive() -> None:
    data = build_zip([("a.txt", b"x")], names="utf-8")
    assert not is_container(sniff(data), "申请表.xlsx")
    assert is_container(sniff(data), "申请表.zip")
    assert not is_container(sniff(FORM), "申请表.zip")  # an xlsx sent as .zip is a workbook


def test_zip_bomb_member_is_refused_before_inflating() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.xlsx", b"\0" * (4 * 1024 * 1024))
    with pytest.raises(FormUnreadable, match="压缩炸弹"):
        members(out.getvalue())


def test_zip_limits_count_over_the_whole_mail() -> None:
    limits = dataclasses.replace(DEFAULT_LIMITS, max_members=3)
    budget = Budget(limits)
    data = build_zip([("a.xlsx", FORM), ("b.xlsx", FORM)], names="utf-8")
    open_container("zip", data, budget)
    with pytest.raises(FormUnreadable, match="文件过多"):
        open_container("zip", data, budget)  # the second zip of the same mail


def test_zip_member_over_the_attachment_size_is_refused() -> None:
    limits = dataclasses.replace(DEFAULT_LIMITS, max_bytes=len(FORM) - 1)
    with pytest.raises(FormUnreadable, match="过大"):
        members(build_zip([("a.xlsx", FORM)], names="utf-8"), limits)


def test_damaged_zip_is_unreadable() -> None:
    with pytest.raises(FormUnreadable, match="损坏"):
        members(build_zip([("a.xlsx", FORM)], names="utf-8")[:200])


def test_winmail_dat_yields_the_form_with_its_gbk_name() -> None:
    data = build_tnef([(NAME, FORM), ("说明.txt", "请查收".encode("gb18030"))])
    assert sniff(data) == "tnef" and is_container("tnef", "winmail.dat")
    assert members(data) == [(NAME, FORM), ("说明.txt", "请查收".encode("gb18030"))]


def test_winmail_dat_without_files_has_no_members() -> None:
    assert members(build_tnef([])) == []


def test_broken_winmail_dat_is_unreadable() -> None:
    data = build_tnef([(NAME, FORM)], codepage=99999)  # a code page no reader knows
    with pytest.raises(FormUnreadable, match="winmail.dat"):
        members(data)


def test_truncated_winmail_dat_gives_what_it_holds() -> None:
    (name, data), = members(build_tnef([(NAME, FORM)])[:-50])
    assert name == NAME and FORM.startswith(data) and len(data) < len(FORM)
