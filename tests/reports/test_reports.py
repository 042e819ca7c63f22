"""The four reports through `invoice-worker report`: the ledger opened with openpyxl
(IDs and tax IDs as text, amounts numbers), the queue, payments and audit, date ranges."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.console.conftest import Seeded
from tests.core.test_cli import cli
from tests.intake.conftest import World
from worker.db.models import Invoice
from worker.samples import id_number
from worker.staff import Actor
from worker.staff.actions import correct_fields


def report(world: World, *args: str) -> tuple[int, dict[str, object], str]:
    done = cli("--config", str(world.config_file()), "report", *args, cwd=world.root)
    return done.returncode, (json.loads(done.stdout) if done.stdout else {}), done.stderr


def sheet(path: Path):  # type: ignore[no-untyped-def]
    ws = load_workbook(path).active
    rows = list(ws.iter_rows())
    head = [c.value for c in rows[0]]
    return [{h: c for h, c in zip(head, row, strict=True)} for row in rows[1:]]


def test_a_relative_out_is_printed_as_the_absolute_path_written(
        world: World, seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(world.root)  # as every other command prints its files
    code, out, err = report(world, "ledger", "--out", "台账.csv")
    assert code == 0, err
    assert out["file"] == str(world.root.resolve() / "台账.csv")
    assert (world.root / "台账.csv").is_file()


def test_the_ledger_in_excel(world: World, seeded: Seeded) -> None:
    with world.app.sessions() as s:
        inv = s.scalars(select(Invoice)).one()
        items = list(inv.items)
        day = inv.issued_at.astimezone(world.app.config.tz).date()
    code, out, err = report(world, "ledger", "--out", str(world.root / "台账.xlsx"))
    assert code == 0, err
    assert out == {"report": "ledger", "rows": 1, "file": str(world.root / "台账.xlsx")}
    (row,) = sheet(world.root / "台账.xlsx")
    assert row["发票号码"].value == inv.number == "00000001" and row["发票号码"].data_type == "s"
    assert row["纳税人识别号"].value == inv.tax_id and row["纳税人识别号"].data_type == "s"
    assert row["购买方名称"].value == "天津市静海区某某医院"
    assert row["价税合计"].value == 450 and row["价税合计"].number_format == "0.00"
    assert Decimal(str(row["金额（不含税）"].value)) + Decimal(str(row["税额"].value)) == Decimal("450.00")
    assert row["订单号"].value == "、".join(i.order_no for i in items) and row["人数"].value == 3
    assert row["学员"].value == "学员C0、学员C1、学员C2"
    assert row["申请编号"].value == seeded.accepted and row["运单号"].value.startswith("SF")
    assert row["开票日期"].value.date() == day and row["开票人"].value == "王静"

    assert report(world, "ledger", "--from", str(day), "--to", str(day),
                  "--out", str(world.root / "d.csv"))[1]["rows"] == 1
    assert report(world, "ledger", "--to", str(day - timedelta(days=1)),
                  "--out", str(world.root / "none.xlsx"))[1]["rows"] == 0
    bad = report(world, "ledger", "--from", "2018-13-01", "--out", str(world.root / "x.xlsx"))
    assert bad[0] == 1 and "not a date" in bad[2]


def test_payments_keep_id_numbers_as_text(world: World, seeded: Seeded) -> None:
    code, out, _ = report(world, "payments", "--out", str(world.root / "p.xlsx"))
    assert code == 0 and out["rows"] == 9   # every paid order (the unpaid unit's are not)
    rows = {r["订单号"].value: r for r in sheet(world.root / "p.xlsx")}
    refunded = rows["B90002"]
    assert refunded["身份证号"].value == id_number("120223", "19930303", 93)
    assert refunded["身份证号"].data_type == "s" and refunded["状态"].value == "已退款"
    assert refunded["金额"].value == 150 and refunded["金额"].number_format == "0.00"
    assert rows["C00000"]["发票号码"].value == "00000001" and rows["A00000"]["发票号码"].value is None


def test_queue_and_audit(world: World, seeded: Seeded) -> None:
    correct_fields(world.app.sessions, world.app.config, Actor(None, "李老师"), seeded.no_recipient,
                   {"recipient_name": "孙老师"}, note="电话确认")
    assert report(world, "queue", "--out", str(world.root / "q.xlsx"))[0] == 0
    queue = {r["申请编号"].value: r for r in sheet(world.root / "q.xlsx")}
    assert set(queue) == {seeded.no_recipient, seeded.refunded, seeded.hostile, seeded.unpaid}
    hostile = queue[seeded.hostile]
    assert hostile["单位"].value == "<script>alert('x')</script>单位" and hostile["单位"].data_type == "s"
    assert "（第 3 行）" in queue[seeded.refunded]["原因"].value
    assert report(world, "audit", "--out", str(world.root / "a.csv"))[0] == 0
    text = (world.root / "a.csv").read_text(encoding="utf-8-sig")
    assert "李老师,修改," in text and "收件人：（空） → 孙老师" in text and "电话确认" in text
