"""Formula injection: what a unit typed reaches the courier's workbook as text."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from tests.builders.formulas import HOSTILE, formula_cells, texts
from tests.intake.test_pass import form_mail, trainees, unit
from tests.manifest.conftest import RecordingMailer, Site
from worker.db.models import Shipment
from worker.intake import run_pass
from worker.manifest.sheet import ManifestSheet, Parcel
from worker.manifest.xlsx import manifest_xlsx
from worker.sheets import formula_like


def test_hostile_recipients_from_mail_bodies_are_text_in_the_manifest(site: Site) -> None:
    mails = []
    for i, text in enumerate(HOSTILE):
        people = trainees(f"F{i:02d}X", 1)
        site.world.pay(people)
        body = f"收件人：{text}\n联系电话：13820000001\n地址：{text}天津市武清区雍阳西道{i}号"
        mails.append(form_mail(unit(people), body=body))
    site.world.deliver(*mails)
    with site.app.open_mailbox() as mailbox:
        run_pass(mailbox, site.app.sessions, site.app.config)
    with site.app.sessions() as s:
        stored = [(r, a) for r, a in s.execute(select(Shipment.recipient, Shipment.address))]
    hostile = [t for pair in stored for t in pair if formula_like(t)]
    assert len(hostile) >= len(HOSTILE)  # the premise: formula-like text reached parcels

    result = site.close(RecordingMailer())
    assert result.xlsx and result.parcels == len(stored)
    assert formula_cells(result.xlsx) == []
    written = texts(result.xlsx)
    for text in hostile:
        assert text in written


def test_every_text_column_and_the_title_block_are_text_whatever_they_hold() -> None:
    parcels = tuple(
        Parcel(i, text, text, text, text, text, 1, Decimal("-0.086"), Decimal("-12.00"))
        for i, text in enumerate(HOSTILE, start=1))
    sheet = ManifestSheet(1, datetime(2018, 9, 3, 8, tzinfo=UTC), date(2018, 9, 3), "=1+1",
                          "@SUM(1)", "+86", "-楼", parcels)
    data = manifest_xlsx(sheet)
    assert formula_cells(data) == []
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    first = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == 1)
    assert [ws.cell(first, c).data_type for c in range(1, 10)] == ["n"] + ["s"] * 5 + ["n"] * 3
    assert ws.cell(first, 9).value == -12  # numbers stay numbers, negative ones too
