"""Zips from the platform: grouped per invoice, GBK names, bombs reported in bounded memory."""

from __future__ import annotations

import tracemalloc

import pytest

from tests.tax.builders import bomb_zip, number, ofd, pdf, platform_xml, raw_zip, zip_of
from worker.errors import TaxArchiveUnreadable
from worker.tax.archive import ArchiveLimits, FileKind, group_files, invoice_key, read_archive


def _stem(n: int) -> str:
    return f"dzfp_{number(n)}_天津市政工师进修学院_20240301101213"


def test_xml_pdf_ofd_grouped_by_number():
    data = zip_of({
        f"xml/{_stem(1)}.xml": platform_xml(number(1)),
        f"pdf/{_stem(1)}.pdf": pdf("1"),
        f"ofd/{_stem(1)}.ofd": ofd(),
        f"{_stem(2)}.xml": platform_xml(number(2)),
        f"{_stem(2)}.pdf": pdf("2"),
        "说明.txt": "请查收".encode(),
    })
    contents = read_archive(data)
    groups = {g.key: g for g in group_files(contents.files)}
    assert set(groups) == {number(1), number(2)}
    one = groups[number(1)]
    assert (one.xml.kind, one.pdf.kind, one.ofd.kind) == (FileKind.XML, FileKind.PDF, FileKind.OFD)
    assert groups[number(2)].ofd is None
    assert [p.source for p in contents.problems] == ["说明.txt"]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_names_without_utf8_flag_are_decoded(encoding):
    name = "发票/张三的发票.pdf"
    contents = read_archive(raw_zip([(name.encode(encoding), pdf())]))
    assert [f.name for f in contents.files] == [name]


def test_flagged_utf8_names_and_stored_members():
    name = "发票㵘.xml"  # a rare character outside GB2312
    data = raw_zip([(name.encode(), platform_xml(number(1)))], utf8_flag=True, deflate=False)
    contents = read_archive(data)
    assert contents.files[0].name == name and contents.files[0].kind is FileKind.XML


def test_names_are_display_only_never_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    contents = read_archive(raw_zip([(b"../../etc/\x01evil.pdf", pdf())]))
    assert contents.files[0].name == "../../etc/evil.pdf"
    assert list(tmp_path.iterdir()) == []


def test_nested_zip_read_once_deeper_reported():
    inner = zip_of({f"{_stem(3)}.xml": platform_xml(number(3))})
    contents = read_archive(zip_of({"batch.zip": inner, "deep.zip": zip_of({"again.zip": inner})}))
    assert [f.name for f in contents.files] == [f"batch.zip/{_stem(3)}.xml"]
    assert [p.source for p in contents.problems] == ["deep.zip/again.zip"]


def test_encrypted_member_is_a_problem_not_a_crash():
    data = bytearray(raw_zip([(b"a.pdf", pdf())]))
    data[6] |= 1  # local header flag
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 1
    contents = read_archive(bytes(data))
    assert contents.files == () and "加密" in contents.problems[0].detail


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_500mb_zip_bomb_reported_in_bounded_memory():
    bomb = bomb_zip(500 * 1024 * 1024)
    assert len(bomb) < 2 * 1024 * 1024

    def read() -> None:
        with pytest.raises(TaxArchiveUnreadable, match="疑似压缩炸弹"):
            read_archive(bomb)

    assert _peak(read) < 32 * 1024 * 1024


def test_bomb_with_lying_headers_stops_at_the_limit():
    bomb = bomb_zip(64 * 1024 * 1024, declared=1000)  # claims 1000 bytes

    def read() -> None:
        with pytest.raises(TaxArchiveUnreadable, match="已损坏"):
            read_archive(bomb)

    assert _peak(read) < 16 * 1024 * 1024


def test_inflation_is_capped_even_when_declared_sizes_pass():
    bomb = bomb_zip(8 * 1024 * 1024)
    limits = ArchiveLimits(max_member_bytes=64 * 1024 * 1024, max_total_bytes=4 * 1024 * 1024,
                           max_ratio=10**6)
    with pytest.raises(TaxArchiveUnreadable, match="解压后过大"):
        read_archive(bomb, limits)


def test_too_many_members_and_damaged_zips():
    many = zip_of({f"{n}.pdf": pdf() for n in range(30)})
    with pytest.raises(TaxArchiveUnreadable, match="文件过多"):
        read_archive(many, ArchiveLimits(max_members=20))
    with pytest.raises(TaxArchiveUnreadable, match="已损坏"):
        read_archive(b"PK\x03\x04" + b"\0" * 100)


def test_same_invoice_two_different_xml_is_reported():
    files = read_archive(zip_of({
        f"a/{_stem(1)}.xml": platform_xml(number(1)),
        f"b/{_stem(1)}.xml": platform_xml(number(1), remark="别的备注"),
    })).files
    [group] = group_files(files)
    assert group.xml.name == f"a/{_stem(1)}.xml" and "内容不同" in group.problems[0].detail


def test_invoice_key_falls_back_to_stem():
    assert invoice_key("发票/ABC.PDF") == "abc"
    assert invoice_key(f"x/{number(5)}.ofd") == number(5)
