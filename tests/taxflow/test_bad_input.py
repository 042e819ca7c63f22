"""What the platform (or someone) hands back that does not fit: each file reported with
a Chinese reason, in bounded memory, nothing attached to the wrong application."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

from sqlalchemy import select

from tests.intake.conftest import World
from tests.tax.builders import billion_laughs, bomb_zip, number, platform_xml
from tests.taxflow.conftest import accept, export, imported, issue_on_platform, plain_zip, rows_of
from worker.db.models import Invoice, TaxImport


def _numbers(world: World) -> list[str | None]:
    with world.app.sessions() as s:
        return list(s.scalars(select(Invoice.number).order_by(Invoice.id)))


def test_hostile_and_wrong_files_are_reported_and_nothing_is_attached(pworld: World) -> None:
    accept(pworld, "B", 2, issue_mode="每人一张")
    result = export(pworld)
    first, second = rows_of(result.files[0])
    good = platform_xml(number(1), first)
    files = [
        ("unknown.xml", platform_xml(number(50), first, remark="申请编号 1 流水号 TJZG00000099")),
        ("amount.xml", platform_xml(number(51), first, total="999.00")),
        ("buyer.xml", platform_xml(number(52), second, buyer_name="别的公司")),
        ("other-app.xml", platform_xml(number(53), replace(second, remark=second.remark.replace(
            "申请编号 1", "申请编号 2")))),
        ("truncated.xml", good[: len(good) // 2]),
        ("laughs.xml", billion_laughs()),
        ("bomb.zip", bomb_zip(500 * 2**20)),
        ("note.txt", "请查收".encode()),
    ]
    tracemalloc.start()
    try:
        report = imported(pworld, *files)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20  # the 500 MB bomb was refused, not inflated
    assert report.counts() == {"issued": 0, "failed": 0, "unmatched": 4, "duplicates": 0,
                               "unreadable": 4}
    by_source = {d["source"]: d["detail"] for d in report.details}
    assert "TJZG00000099" in by_source["unknown.xml"]
    assert "价税合计应为" in by_source["amount.xml"] and "购买方名称" in by_source["buyer.xml"]
    assert "申请编号" in by_source["other-app.xml"]
    assert "不完整" in by_source["truncated.xml"] and "DTD" in by_source["laughs.xml"]
    assert "压缩炸弹" in by_source["bomb.zip"]
    assert _numbers(pworld) == [None, None]  # nothing attached
    with pworld.app.sessions() as s:
        (row,) = s.scalars(select(TaxImport))
        assert (row.unmatched, row.unreadable) == (4, 4) and "压缩炸弹" in row.details


def test_the_same_zip_twice_records_each_number_once(pworld: World) -> None:
    accept(pworld, "C", 2, issue_mode="每人一张")
    archive, numbers = issue_on_platform(export(pworld))
    assert imported(pworld, ("dl.zip", archive)).issued == 2
    again = imported(pworld, ("dl (1).zip", archive))
    assert again.counts() == {"issued": 0, "failed": 0, "unmatched": 0, "duplicates": 2,
                              "unreadable": 0}
    assert _numbers(pworld) == numbers


def test_a_loose_xml_and_its_pdf_later(pworld: World) -> None:
    """XML alone first (issued, no PDF: not printed yet), its PDF in a later import."""
    accept(pworld, "D", 1)
    result = export(pworld)
    (row,) = rows_of(result.files[0])
    num = number(7)
    first = imported(pworld, (f"dzfp_{num}.xml", platform_xml(num, row)))
    assert first.issued == 1 and any("没有 PDF" in d["detail"] for d in first.details)
    pworld.run()
    (app,) = pworld.export()
    assert app["invoices"][0]["pdf"] is None and app["shipment"]["label_pdf"] is None
    from tests.taxflow.conftest import real_pdf

    later = imported(pworld, ("pdfs.zip", plain_zip({f"dzfp_{num}_某某.pdf": real_pdf(num)})))
    assert later.counts()["unmatched"] == 0 and any(d["outcome"] == "attached" for d in later.details)
    pworld.run()
    (app,) = pworld.export()
    assert app["invoices"][0]["pdf"] and app["shipment"]["label_pdf"]
