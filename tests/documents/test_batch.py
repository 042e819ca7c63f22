"""A pass prints what it issued: one invoices PDF and one labels PDF, read back here as
a person (pdftotext), a printer (page sizes, fonts) and a courier's scanner (zbarimg)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, update

from tests.builders.form import make_line
from tests.documents.conftest import submit
from tests.documents.pdf import (
    barcodes,
    fonts,
    images_and_attachments,
    page_sizes_mm,
    pages_text,
)
from tests.intake.conftest import World
from worker.db.models import Invoice, Shipment
from worker.documents import render_pending
from worker.documents.invoice import LIST_ROWS

RARE = [make_line(1, name="褚堃", year=2018, amount="150.00"),
        make_line(2, name="卫喆", year=2015, amount="160.00"),
        make_line(3, name="朱镕", year=2016, amount="150.00"),
        make_line(4, name="孙玥", year=2018, amount="150.00")]
BODY_A = "收件人：赵玥\n电话：13820000001\n地址：天津市武清区雍阳西道88号"
BODY_B = "收件人：钱堃\n电话：022-29341234\n地址：天津市宝坻区南关大街1号"


def two_parcels(world: World) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """A 合并开具 form (4 trainees, three years) and a 每人一张 form (3 trainees)."""
    combined = RARE
    per_person = [make_line(n, name=name) for n, name in ((11, "李喆"), (12, "王玥"), (13, "赵镕"))]
    submit(world, combined, body=BODY_A, unit="天津市武清区堃喆科技有限公司",
           buyer_name="天津市武清区堃喆科技有限公司")
    submit(world, per_person, body=BODY_B, unit="天津市宝坻区玥镕物流有限公司",
           buyer_name="天津市宝坻区玥镕物流有限公司", district="宝坻区", issue_mode="每人一张")
    return combined, per_person


def test_a_pass_prints_every_invoice_and_label_in_parcel_order(world: World) -> None:
    two_parcels(world)
    summary = world.app.run_once()
    assert summary.by_status == {"accepted": 2} and summary.render_error is None
    apps = world.export()
    assert [inv["pdf"] for a in apps for inv in a["invoices"]] == [summary.invoices_pdf] * 4
    assert [a["shipment"]["label_pdf"] for a in apps] == [summary.labels_pdf] * 2
    assert summary.invoices_pdf is not None and summary.labels_pdf is not None
    assert Path(summary.invoices_pdf).is_absolute()
    assert Path(summary.invoices_pdf).parent == Path(summary.labels_pdf).parent
    assert re.fullmatch(r"\d{8}-\d{6}-00000001", Path(summary.invoices_pdf).parent.name)  # local time

    pages = pages_text(summary.invoices_pdf)
    assert len(pages) == 4  # four trainees in 备注 (no list) + three per-person sheets
    numbers = [re.search(r"发票号码 (\d{8})", p).group(1) for p in pages]  # type: ignore[union-attr]
    assert numbers == ["00000001", "00000002", "00000003", "00000004"]

    combined = pages[0]
    assert "天津增值税普通发票" in combined and "发票代码 012001800111" in combined
    assert "天津市武清区堃喆科技有限公司" in combined
    assert "天津市政工师进修学院" in combined and "121200004013594468" in combined
    # grouped by 培训年度 and price: 2018 x2, 2016 x1, 2015 x1 (160.00)
    assert "*教育服务*培训费 2018年度 人 2 145.63 291.26 3% 8.74" in combined
    assert "*教育服务*培训费 2016年度 人 1 145.63 145.63 3% 4.37" in combined
    assert "*教育服务*培训费 2015年度 人 1 155.34 155.34 3% 4.66" in combined
    assert "¥592.23" in combined and "¥17.77" in combined  # stored net and tax totals
    assert "⊗ 陆佰壹拾元整" in combined and "¥610.00" in combined
    assert "培训人员：褚堃、卫喆、朱镕、孙玥（共 4 人）" in combined
    assert "开票人：王静" in combined

    for page, name in zip(pages[1:], ("李喆", "王玥", "赵镕"), strict=True):
        assert "天津市宝坻区玥镕物流有限公司" in page
        assert "*教育服务*培训费 2018年度 人 1 145.63 145.63 3% 4.37" in page
        assert "⊗ 壹佰伍拾元整" in page and f"培训人员：{name}" in page

    labels = pages_text(summary.labels_pdf)
    assert len(labels) == 2
    waybills = [a["shipment"]["waybill"] for a in apps]
    for text, app, waybill, count in zip(labels, apps, waybills, (1, 3), strict=True):
        assert "运费到付" in text and f"¥{app['shipment']['postage_due']}" in text
        assert waybill in text and f"发票 {count} 张" in text
        assert app["shipment"]["recipient"] in text and app["district"] in text
        assert "天津市政工师进修学院" in text and "022-23391756" in text
    assert "赵玥 13820000001" in labels[0] and "天津市武清区雍阳西道88号" in labels[0]
    assert "钱堃 022-29341234" in labels[1] and "宝坻区" in labels[1]


def test_labels_are_100_by_150_mm_and_their_barcodes_scan(world: World, tmp_path: Path) -> None:
    two_parcels(world)
    summary = world.app.run_once()
    assert page_sizes_mm(summary.labels_pdf) == [(100.0, 150.0)] * 2
    assert all(w == 210.0 and h == 148.0 for w, h in page_sizes_mm(summary.invoices_pdf))
    waybills = [a["shipment"]["waybill"] for a in world.export()]
    assert barcodes(summary.labels_pdf, tmp_path / "png") == [[w] for w in waybills]
    # the bars are vector drawing, not a picture; nothing is attached either
    assert images_and_attachments(summary.labels_pdf) == (0, 0)
    assert images_and_attachments(summary.invoices_pdf) == (0, 0)


def test_one_cjk_face_is_embedded_and_every_glyph_is_there(world: World) -> None:
    combined, per_person = two_parcels(world)
    summary = world.app.run_once()
    for path, face in ((summary.invoices_pdf, "Noto-Serif-CJK-SC"),
                       (summary.labels_pdf, "Noto-Sans-CJK-SC")):
        (font,) = fonts(path)  # one face: no bold, no fallback font for a missing glyph
        assert font["name"].split("+")[1] == face
        assert (font["emb"], font["sub"], font["uni"]) == ("yes", "yes", "yes")
    text = " ".join(pages_text(summary.invoices_pdf))
    for char in "堃喆镕玥":
        assert char in text
    for line in [*combined, *per_person]:
        assert str(line["name"]) in text


def test_a_large_combined_invoice_is_split_and_gets_its_trainee_list(world: World) -> None:
    lines = [make_line(n) for n in range(1, 71)]  # 70 x 150 = 10,500 > 10,000: two invoices
    submit(world, lines)
    summary = world.app.run_once()
    pages = pages_text(summary.invoices_pdf)
    first_lists = -(-66 // LIST_ROWS)
    assert len(pages) == 1 + first_lists + 1  # 66 trainees need a list; 4 fit in 备注
    sheet, lists, second = pages[0], pages[1:1 + first_lists], pages[-1]
    assert "发票号码 00000001" in sheet and "*教育服务*培训费 2018年度 人 66 145.63 9611.58" in sheet
    assert "⊗ 玖仟玖佰元整" in sheet and f"名单见所附销货清单（{first_lists} 页）" in sheet
    assert f"第 1 页 / 共 {first_lists + 1} 页" in sheet
    listed = " ".join(lists)
    for line in lines[:66]:
        assert f"{line['id_number']} {line['order_no']} 2018 150.00 145.63 4.37" in listed
    assert all("销货清单" in p and "发票号码 00000001" in p for p in lists)
    assert "合 计 ¥9900.00 ¥9611.58 ¥288.42" in lists[-1]
    assert f"第 {first_lists + 1} 页 / 共 {first_lists + 1} 页" in lists[-1]
    assert "发票号码 00000002" in second and "⊗ 陆佰元整" in second and "（共 4 人）" in second
    assert world.export()[0]["shipment"]["label_pdf"] == summary.labels_pdf
    assert "发票 2 张" in pages_text(summary.labels_pdf)[0]


def test_special_invoice_shows_the_buyer_address_and_bank(world: World) -> None:
    submit(world, [make_line(1)], invoice_type="增值税专用发票",
           address_phone="天津市武清区泉州路1号 022-29341234",
           bank_account="中国工商银行天津武清支行 0302090109300012345")
    (page,) = pages_text(world.app.run_once().invoices_pdf)
    assert "天津增值税专用发票" in page
    assert "地 址、电 话：天津市武清区泉州路1号 022-29341234" in page
    assert "开户行及账号：中国工商银行天津武清支行 0302090109300012345" in page


def test_long_names_and_addresses_keep_one_sheet_and_one_label(world: World) -> None:
    long_unit = "天津市武清区" + "超长名称" * 60 + "有限公司"
    long_address = "天津市武清区" + "某某路某某号" * 70
    submit(world, [make_line(n) for n in (1, 2)], unit=long_unit[:255],
           buyer_name=long_unit[:255], issue_mode="每人一张", invoice_type="增值税专用发票",
           address_phone=("天津市武清区" + "很长的地址" * 100)[:500],
           bank_account=("中国工商银行" + "0302090109300012345" * 30)[:500],
           body=f"收件人：张三\n电话：13800000000\n地址：{long_address}")
    summary = world.app.run_once()
    assert summary.by_status == {"accepted": 1}
    assert len(pages_text(summary.invoices_pdf)) == 2
    assert len(pages_text(summary.labels_pdf)) == 1


def test_nothing_pending_prints_nothing(world: World) -> None:
    summary = world.app.run_once()
    assert (summary.invoices_pdf, summary.labels_pdf, summary.render_error) == (None, None, None)
    assert not (world.app.config.output_dir / "batches").exists()


def test_a_failed_render_keeps_the_pass_and_the_next_run_prints(world: World, monkeypatch,  # type: ignore[no-untyped-def]
                                                                 in_process: None) -> None:
    two_parcels(world)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr("worker.documents.files.write_pdf", broken)
    summary = world.app.run_once()
    assert summary.by_status == {"accepted": 2}  # committed and moved regardless
    assert summary.render_error and "No space left on device" in summary.render_error
    assert len(world.folder("Processed")) == 2
    assert all(i["pdf"] is None for a in world.export() for i in a["invoices"])
    assert list((world.app.config.output_dir / "batches").iterdir()) == []  # no half batch

    monkeypatch.undo()
    healed = world.app.run_once()  # no new mail: only what is pending
    assert healed.processed == 0 and healed.render_error is None
    assert [len(pages_text(healed.invoices_pdf)), len(pages_text(healed.labels_pdf))] == [4, 2]
    assert all(i["pdf"] == healed.invoices_pdf for a in world.export() for i in a["invoices"])
    assert world.app.run_once().invoices_pdf is None  # and then nothing is left


def test_paths_another_worker_recorded_are_never_overwritten(world: World) -> None:
    two_parcels(world)
    world.app.run_once()  # the pass, then make two documents pending again
    with world.app.sessions.begin() as s:
        s.execute(update(Invoice).values(pdf_path=None))
        s.execute(update(Shipment).values(label_pdf=None))
        s.execute(update(Invoice).where(Invoice.number == "00000002")
                  .values(pdf_path="/elsewhere/other-worker.pdf"))
    batch = render_pending(world.app.sessions, world.app.config)
    assert batch is not None and (batch.invoices, batch.labels) == (3, 2)
    with world.app.sessions() as s:
        paths = {n: p for n, p in s.execute(select(Invoice.number, Invoice.pdf_path))}
    assert paths["00000002"] == "/elsewhere/other-worker.pdf"
    assert {paths[n] for n in ("00000001", "00000003", "00000004")} == {str(batch.invoices_pdf)}


def test_a_batch_nobody_needs_is_removed(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Another worker records its batch between our render and our record (a claim
    taken over after its time, say)."""
    two_parcels(world)
    world.app.run_once()
    with world.app.sessions.begin() as s:
        s.execute(update(Invoice).values(pdf_path=None))
        s.execute(update(Shipment).values(label_pdf=None))
    from worker.documents import batch as batch_module

    real_record = batch_module._record

    def racing_record(sessions, docs, invoices_pdf, labels_pdf):  # type: ignore[no-untyped-def]
        with sessions.begin() as s:
            s.execute(update(Invoice).values(pdf_path="/other/invoices.pdf"))
            s.execute(update(Shipment).values(label_pdf="/other/labels.pdf"))
        return real_record(sessions, docs, invoices_pdf, labels_pdf)

    monkeypatch.setattr(batch_module, "_record", racing_record)
    before = set((world.app.config.output_dir / "batches").iterdir())
    assert render_pending(world.app.sessions, world.app.config) is None
    assert set((world.app.config.output_dir / "batches").iterdir()) == before


def test_postage_on_the_label_is_the_stored_amount(world: World) -> None:
    submit(world, [make_line(n) for n in range(1, 4)], district="蓟州区", issue_mode="每人一张")
    summary = world.app.run_once()
    (app,) = world.export()
    assert Decimal(app["shipment"]["postage_due"]) == Decimal("13.00")
    assert "¥13.00" in pages_text(summary.labels_pdf)[0]


def test_rare_names_outside_the_basic_plane_print_too(world: World) -> None:
    """Names from the 通用规范汉字表 beyond the BMP (Ext-C/E), and biang (Ext-G)."""
    names = ["王𬭛", "李𫟼", "赵𬘡", "周𰻝"]
    submit(world, [make_line(n, name=name) for n, name in enumerate(names, start=1)])
    summary = world.app.run_once()
    text = " ".join(pages_text(summary.invoices_pdf))
    assert "培训人员：王𬭛、李𫟼、赵𬘡、周𰻝（共 4 人）" in text
    (font,) = fonts(summary.invoices_pdf)
    assert font["name"].endswith("Noto-Serif-CJK-SC")


def test_a_batch_a_killed_step_left_unrecorded_is_removed_by_the_next(world: World) -> None:
    """A print step SIGKILLed after its child wrote the PDFs and before the record: the
    next step renders those documents again, so the leftover (same invoice numbers)
    goes. A folder whose step still runs, and one recorded before the kill, stay."""
    import shutil
    import subprocess
    import sys

    from tests.documents.test_claims import issue, printed
    from worker.documents.batch import RENDERING
    from worker.owner import current_owner

    numbers = issue(world, 2)
    dead = subprocess.run([sys.executable, "-c", "from worker.owner import current_owner; "
                           "print(current_owner())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    render_pending(world.app.sessions, world.app.config)
    root = world.app.config.output_dir / "batches"
    (recorded,) = root.iterdir()
    killed, running = root / "20181203-100000-00000001", root / "20181203-100001-00000001"
    for folder, owner in ((killed, dead), (running, current_owner())):
        folder.mkdir()
        (folder / RENDERING).write_text(owner)
    shutil.copy(recorded / "invoices.pdf", killed / "invoices.pdf")  # what the child wrote
    (recorded / RENDERING).write_text(dead)  # killed after its commit
    world.app.run_once()
    assert sorted(root.iterdir()) == sorted([recorded, running])
    assert not (recorded / RENDERING).exists() and (running / RENDERING).exists()
    assert printed(world) == {n: 1 for n in numbers}
