"""A platform-mode installation, and the platform itself imitated in code: it reads the
workbook we exported and writes, for each row, the issued invoice's XML (as
``tests.tax.builders.platform_xml`` does), a real one-page PDF and an OFD."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfWriter
from sqlalchemy import select

from tests.intake.conftest import World, make_world
from tests.intake.test_pass import form_mail, trainees, unit
from tests.tax.builders import number, ofd, platform_xml, zip_of
from worker.db.models import OutboxMessage
from worker.issuing.plan import split_tax
from worker.replies.draft import outbox_bytes
from worker.tax import columns as C
from worker.tax.model import PlannedInvoice, PlannedLine, PlatformInvoiceType
from worker.taxflow import ExportResult, ImportResult, Source, export_planned, import_files

PLATFORM = {"mode": "platform"}


def platform_world(db_url: str, root: Path, **invoicing: str) -> World:
    return make_world(db_url, root, invoicing={**PLATFORM, **invoicing})


@pytest.fixture
def pworld(db_url: str, tmp_path: Path) -> Iterator[World]:
    w = platform_world(db_url, tmp_path)
    yield w
    w.app.close()


def accept(world: World, prefix: str = "A", n: int = 3, **unit_kw: Any) -> list[Any]:
    """One paid unit's form mailed and run through a pass."""
    people = trainees(prefix, n)
    world.pay(people)
    world.deliver(form_mail(unit(people, **unit_kw)))
    world.run()
    return people


def export(world: World, out: Path | None = None, **kw: Any) -> ExportResult:
    return export_planned(world.app.sessions, world.app.config, out or world.root / "exports",
                          actor="test", **kw)


def imported(world: World, *sources: tuple[str, bytes]) -> ImportResult:
    return import_files(world.app.sessions, world.app.config,
                        [Source(name, data) for name, data in sources], actor="test")


def rows_of(path: Path) -> list[PlannedInvoice]:
    """What the platform reads from our workbook: one invoice per sheet-1 row, its
    lines from sheet 2 by 流水号 (amounts tax-inclusive, 是否含税 = 是)."""
    book = load_workbook(path)
    basic, detail = book[C.BASIC_SHEET], book[C.DETAIL_SHEET]
    col = {c.field: c.letter for c in C.BASIC_COLUMNS if c.field}
    dcol = {c.field: c.letter for c in C.DETAIL_COLUMNS if c.field}
    lines: dict[str, list[PlannedLine]] = {}
    for r in range(C.FIRST_DATA_ROW, detail.max_row + 1):
        get = lambda f, r=r: detail[f"{dcol[f]}{r}"].value or ""  # noqa: E731
        if not get("serial"):
            continue
        gross, rate = Decimal(get("amount")), Decimal(get("tax_rate"))
        net, tax = split_tax(gross, rate)
        lines.setdefault(get("serial"), []).append(PlannedLine(
            get("item_name"), get("tax_code"), get("spec"), get("unit"), Decimal(get("quantity")),
            Decimal(get("unit_price")), net, rate, tax))
    out = []
    for r in range(C.FIRST_DATA_ROW, basic.max_row + 1):
        get = lambda f, r=r: basic[f"{col[f]}{r}"].value or ""  # noqa: E731
        if not get("serial"):
            continue
        out.append(PlannedInvoice(get("serial"), 0, PlatformInvoiceType(get("invoice_type")),
                                  get("buyer_name"), get("buyer_tax_id"),
                                  tuple(lines[get("serial")]), remark=get("remark")))
    return out


def real_pdf(label: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=396)  # the 数电票 PDF: A5 landscape-ish
    writer.add_metadata({"/Title": label})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def issue_on_platform(result: ExportResult, first: int = 1) -> tuple[bytes, list[str]]:
    """The platform's download for every exported row: one zip of dzfp_<number>_… .xml/.pdf/.ofd
    with GBK member names (Windows zippers set no UTF-8 flag); and the numbers, in order."""
    entries: dict[str, bytes] = {}
    numbers = []
    n = first
    for path in result.files:
        for inv in rows_of(path):
            num = number(n)
            stem = f"dzfp_{num}_天津市政工师进修学院_20240301101213"
            entries[f"{stem}.xml"] = platform_xml(num, inv)
            entries[f"{stem}.pdf"] = real_pdf(num)
            entries[f"{stem}.ofd"] = ofd()
            numbers.append(num)
            n += 1
    return gbk_zip(entries), numbers


def gbk_zip(entries: dict[str, bytes]) -> bytes:
    from tests.tax.builders import raw_zip

    return raw_zip([(name.encode("gbk"), data) for name, data in entries.items()])


def plain_zip(entries: dict[str, bytes]) -> bytes:
    return zip_of(entries)


def outbox(world: World) -> list[OutboxMessage]:
    """The outbox rows (detached), each ``message`` the bytes sending it sends: since
    issue 12 a reply is built when sent (worker.replies.draft), not stored at queueing."""
    with world.app.sessions() as s:
        rows = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        s.expunge_all()
    for row in rows:
        row.message = outbox_bytes(row, world.app.config.output_dir)
    return rows


def parsed(row: OutboxMessage) -> EmailMessage:
    msg = message_from_bytes(row.message, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def body(row: OutboxMessage) -> str:
    part = parsed(row).get_body(("plain",))
    assert part is not None
    return part.get_content()


def config_file(world: World) -> Path:
    """The world's config for a subprocess (platform mode)."""
    path = world.root / "config.toml"
    cfg = world.app.config
    path.write_text(
        f'[database]\nurl = "{cfg.database.url}"\n[mailbox]\nurl = "{cfg.mailbox.url}"\n'
        f'[output]\ndir = "{cfg.output_dir}"\n[invoicing]\nmode = "platform"\n'
        f'delivery = "{cfg.invoicing.delivery}"\n', encoding="utf-8")
    return path


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
