"""Invoices in each state with the tax platform, built directly through the models.

The worker's pass issues print-mode invoices (numbered, ISSUED); these helpers turn an
accepted application's invoices into what platform mode stores at each step (planned
with a 流水号, exported in a recorded batch, issued with a 20-digit number, failed with
the platform's words), and record exports and imports as ``tax export``/``tax import``
record them (``TaxExport``/``TaxImport`` rows). Files named by an export are real
workbooks written into the output folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from tests.console.conftest import TZ, form_mail
from tests.intake.conftest import World
from worker.db.models import Application, Invoice, TaxExport, TaxImport
from worker.samples import Trainee, Unit, id_number, tax_id
from worker.status import InvoiceState


def accepted(world: World, name: str, district: str, tax_body: str,
             trainees: list[tuple[str, str]], *, sender: str, region: str = "120222",
             recipient: str = "") -> int:
    """An application the worker's own pass accepts (paid trainees ``(name, order_no)``,
    a recipient in the mail, "姓名 电话 地址"; default one in ``district``): its id.
    Issued in print mode; ``set_state`` moves it on."""
    people = [Trainee(who, id_number(region, "19850312", n + 1), order)
              for n, (who, order) in enumerate(trainees)]
    world.pay(people)
    recipient = recipient or f"赵老师 13820000001 天津市{district}政府路{len(name)}号"
    person, phone, address = recipient.split(" ", 2)
    body = f"收件人：{person}\n联系电话：{phone}\n地址：{address}"
    world.deliver(form_mail(Unit(name, district, tax_id(tax_body), person, phone,
                                 trainees=people), body=body, sender=sender))
    world.run()
    with world.app.sessions() as s:
        app = s.scalars(select(Application).where(Application.unit == name)).one()
        assert app.status == "accepted", [r.code for r in app.reasons]
        return app.id


@dataclass(frozen=True)
class Row:
    """One invoice as the tests read it back."""

    id: int
    application_id: int
    number: str | None
    serial: str | None
    state: str
    orders: tuple[str, ...]
    active: tuple[bool, ...]


def invoices_of(world: World, app_id: int) -> list[Row]:
    with world.app.sessions() as s:
        return [Row(i.id, i.application_id, i.number, i.serial, i.state,
                    tuple(it.order_no for it in i.items), tuple(it.active for it in i.items))
                for i in s.scalars(select(Invoice).where(Invoice.application_id == app_id)
                                   .order_by(Invoice.id))]


def set_state(world: World, app_id: int, state: InvoiceState, *, serial: str,
              number: str | None = None, export_id: int | None = None,
              failure: str | None = None, issued_at: datetime | None = None) -> list[int]:
    """Every invoice of ``app_id`` in ``state``: 流水号 ``serial``-1, -2, ...; a number only
    when given (issued), the platform's words when failed. Returns the invoice ids."""
    with world.app.sessions.begin() as s:
        rows = s.scalars(select(Invoice).where(Invoice.application_id == app_id)
                         .order_by(Invoice.id)).all()
        for n, inv in enumerate(rows, 1):
            inv.state = state
            inv.serial = serial if len(rows) == 1 else f"{serial}{n}"
            inv.code = "" if number or state != InvoiceState.ISSUED else inv.code
            inv.number = (number if len(rows) == 1 else f"{number[:-1]}{n}") if number else None
            inv.export_id = export_id
            inv.failure = failure
            inv.pdf_path = None if state != InvoiceState.ISSUED else inv.pdf_path
            if issued_at:
                inv.platform_issued_at = issued_at
            if state in (InvoiceState.FAILED, InvoiceState.REVERSED):
                for item in inv.items:
                    item.active = False
        return [inv.id for inv in rows]


def workbook(path: Path, serials: list[str]) -> Path:
    """A small batch-issuing workbook (sheet 1 only) naming ``serials``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "1-发票基本信息"
    ws.append(["发票流水号", "发票类型"])
    for serial in serials:
        ws.append([serial, "普通发票"])
    wb.save(path)
    return path


def record_export(world: World, files: list[Path], invoices: int, *, actor: str = "李老师",
                  at: datetime | None = None, template: str | None = None) -> int:
    with world.app.sessions.begin() as s:
        row = TaxExport(actor=actor, invoices=invoices, files=json.dumps([str(f) for f in files]),
                        template=template, at=at or datetime(2018, 9, 4, 9, 30, tzinfo=TZ))
        s.add(row)
        s.flush()
        return row.id


def record_import(world: World, sources: list[str], details: list[dict[str, str]], *,
                  actor: str = "李老师", at: datetime | None = None) -> int:
    """A ``tax import`` with its counts taken from ``details``' outcomes."""
    count = {o: sum(d["outcome"] == o for d in details)
             for o in ("issued", "failed", "unmatched", "duplicate", "unreadable")}
    with world.app.sessions.begin() as s:
        row = TaxImport(actor=actor, sources=json.dumps(sources, ensure_ascii=False),
                        issued=count["issued"], failed=count["failed"],
                        unmatched=count["unmatched"], duplicates=count["duplicate"],
                        unreadable=count["unreadable"],
                        details=json.dumps(details, ensure_ascii=False),
                        at=at or datetime(2018, 9, 5, 14, 0, tzinfo=TZ))
        s.add(row)
        s.flush()
        return row.id
