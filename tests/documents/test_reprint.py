"""``reprint``: one application's documents again, reading exactly like the batch and
byte-for-byte the same every time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.builders.form import make_line
from tests.documents.conftest import submit
from tests.documents.pdf import page_sizes_mm, pages_text
from tests.intake.conftest import World
from worker.db.models import Application
from worker.documents import NothingToPrint, applications_of, reprint


def issued(world: World) -> tuple[str, str, list[int]]:
    """Three applications in one pass: a big combined one (list pages), a per-person one,
    and a held one; returns the batch's paths and the application ids."""
    submit(world, [make_line(n, name=f"学员{n}") for n in range(1, 21)])
    submit(world, [make_line(n, name="孙玥") for n in (31,)] + [make_line(32, name="褚堃")],
           issue_mode="每人一张", body="收件人：钱镕\n电话：13800000000\n地址：天津市静海区1号")
    submit(world, [make_line(41)], district="和平区")  # urban: held
    summary = world.app.run_once()
    assert summary.by_status == {"accepted": 2, "held": 1}
    with world.app.sessions() as s:
        ids = list(s.scalars(select(Application.id).order_by(Application.id)))
    assert summary.invoices_pdf and summary.labels_pdf
    return summary.invoices_pdf, summary.labels_pdf, ids


def by_invoice(pages: list[str]) -> dict[str, list[str]]:
    """Batch pages grouped by the invoice number every page carries."""
    out: dict[str, list[str]] = {}
    for page in pages:
        number = re.search(r"发票号码 (\d{8})", page)
        assert number is not None, page
        out.setdefault(number.group(1), []).append(page)
    return out


def test_reprint_reads_like_the_batch_and_is_deterministic(world: World, tmp_path: Path) -> None:
    invoices_pdf, labels_pdf, (big, small, _held) = issued(world)
    batch_pages = by_invoice(pages_text(invoices_pdf))
    batch_labels = pages_text(labels_pdf)
    assert list(batch_pages) == ["00000001", "00000002", "00000003"]

    for app_id, numbers, label_index in ((big, ["00000001"], 0),
                                         (small, ["00000002", "00000003"], 1)):
        first = reprint(world.app.sessions, world.app.config, app_id, tmp_path / "a")
        again = reprint(world.app.sessions, world.app.config, app_id, tmp_path / "b")
        inv, label = first
        assert inv.name == f"application-{app_id}-invoices.pdf"
        assert label.name == f"application-{app_id}-label.pdf"
        assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
        assert pages_text(inv) == [p for n in numbers for p in batch_pages[n]]
        assert pages_text(label) == [batch_labels[label_index]]
        assert page_sizes_mm(label) == [(100.0, 150.0)]
    assert len(batch_pages["00000001"]) == 3  # 20 trainees: sheet + two list pages

    # the recorded batch paths are untouched by a reprint
    (first_app, second_app, _) = world.export()
    assert first_app["invoices"][0]["pdf"] == invoices_pdf
    assert second_app["shipment"]["label_pdf"] == labels_pdf


def test_reprint_refuses_what_was_never_issued(world: World, tmp_path: Path) -> None:
    *_, held = issued(world)[2]
    with pytest.raises(NothingToPrint):
        reprint(world.app.sessions, world.app.config, held, tmp_path)
    with pytest.raises(NothingToPrint):
        reprint(world.app.sessions, world.app.config, 10_000, tmp_path)


def test_applications_by_id_or_message_id(world: World) -> None:
    submit(world, [make_line(1)], name="一.xlsx")
    world.app.run_once()
    (app,) = world.export()
    with world.app.sessions() as s:
        (app_id,) = s.scalars(select(Application.id))
    mid = app["message_id"]
    assert applications_of(world.app.sessions, str(app_id)) == [app_id]
    assert applications_of(world.app.sessions, f"申请编号 {app_id}") == [app_id]
    assert applications_of(world.app.sessions, mid) == [app_id]
    assert applications_of(world.app.sessions, mid.strip("<>")) == [app_id]
    assert applications_of(world.app.sessions, "<nobody@example.com>") == []
