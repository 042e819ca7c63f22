"""Platform mode end to end on SQLite and PostgreSQL: mails -> run --once -> tax export
-> the platform's files built from the exported rows -> tax import -> export --json,
labels, the print batch and the replies carry the official numbers."""

from __future__ import annotations

from decimal import Decimal
from email.utils import collapse_rfc2231_value
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader

from tests.documents.pdf import pages_text
from tests.intake.conftest import World, make_world
from tests.taxflow.conftest import (
    PLATFORM,
    accept,
    body,
    export,
    imported,
    issue_on_platform,
    outbox,
    parsed,
    rows_of,
)
from worker.mailer import Mailer
from worker.manifest import close_out
from worker.tax import columns as C
from worker.tax.model import make_reference


def test_planned_then_exported_then_issued_with_official_numbers(pworld: World) -> None:
    accept(pworld, "A", 3, issue_mode="每人一张")
    (app,) = pworld.export()
    assert app["status"] == "accepted"
    invoices = app["invoices"]
    assert [(i["number"], i["serial"], i["state"], i["code"]) for i in invoices] == [
        (None, f"TJZG0000000{n}", "planned", "") for n in (1, 2, 3)]
    assert all(i["pdf"] is None for i in invoices)          # our page is not a fapiao
    assert app["shipment"]["waybill"] == "SF1400000000001"  # the parcel, made at acceptance
    assert app["shipment"]["label_pdf"] is None             # ... labelled once issued
    assert outbox(pworld) == []                             # the unit hears once, when issued

    result = export(pworld)
    assert result.invoices == 3 and len(result.files) == 1
    book = load_workbook(result.files[0])
    basic, detail = book[C.BASIC_SHEET], book[C.DETAIL_SHEET]
    assert [basic[f"{c.letter}3"].value for c in C.BASIC_COLUMNS] == [c.header for c in C.BASIC_COLUMNS]
    values = [cell.value for ws in (basic, detail) for row in ws.iter_rows(min_row=4) for cell in row
              if cell.value is not None]
    assert values and all(isinstance(v, str) for v in values)
    rows = rows_of(result.files[0])
    assert [r.serial for r in rows] == ["TJZG00000001", "TJZG00000002", "TJZG00000003"]
    app_id = int(rows[0].remark.split()[1])
    assert [r.remark for r in rows] == [make_reference(app_id, r.serial) for r in rows]
    assert [r.total for r in rows] == [Decimal(i["amount"]) for i in invoices]
    assert all(len(r.lines) == 1 for r in rows)
    assert export(pworld).invoices == 0                     # exported once
    assert {i["state"] for i in pworld.export()[0]["invoices"]} == {"exported"}

    assert _manifest(pworld) == 0  # no courier picks up an envelope without its invoices
    archive, numbers = issue_on_platform(result)
    report = imported(pworld, ("发票下载.zip", archive))
    assert report.counts() == {"issued": 3, "failed": 0, "unmatched": 0, "duplicates": 0,
                               "unreadable": 0}
    (app,) = pworld.export()
    assert [(i["number"], i["state"]) for i in app["invoices"]] == [(n, "issued") for n in numbers]

    (reply,) = outbox(pworld)
    text = body(reply)
    assert all(f"发票号码 {n}" in text for n in numbers) and "发票代码" not in text
    assert "运单号 SF1400000000001" in text
    assert not list(parsed(reply).iter_attachments())       # courier: the parcel carries them

    pworld.run()                                            # the next pass prints
    (app,) = pworld.export()
    invoices_pdf = Path(app["invoices"][0]["pdf"])
    assert {i["pdf"] for i in app["invoices"]} == {str(invoices_pdf)}
    titles = [PdfReader(invoices_pdf).pages[k] for k in range(3)]
    assert len(titles) == 3 and len(PdfReader(invoices_pdf).pages) == 3  # the platform's pages
    (label,) = pages_text(app["shipment"]["label_pdf"])
    assert "发票 3 张" in label and numbers[0] in label
    assert _manifest(pworld) == 1


def _manifest(world: World) -> int:
    result = close_out(world.app.sessions, world.app.config, Mailer.from_config(world.app.config))
    return result.parcels


def test_email_delivery_attaches_the_files_and_makes_no_parcel(db_url: str, tmp_path: Path) -> None:
    world = make_world(db_url, tmp_path, invoicing={**PLATFORM, "delivery": "email"})
    try:
        accept(world, "E", 2)
        (app,) = world.export()
        assert app["shipment"] is None
        archive, (num,) = issue_on_platform(export(world))
        assert imported(world, ("dl.zip", archive)).counts()["issued"] == 1
        (reply,) = outbox(world)
        assert f"发票号码 {num}" in body(reply) and "运单号" not in body(reply)
        files = list(parsed(reply).iter_attachments())
        names = [collapse_rfc2231_value(f.get_param("filename", header="content-disposition"))
                 for f in files]
        assert names == [f"数电票_{num}.pdf", f"数电票_{num}.ofd", f"数电票_{num}.xml"]
        raw = reply.message.decode("ascii")  # 7-bit: every name encoded
        assert raw.count('name="=?utf-8?b?') == 3 and raw.count("filename*=utf-8''") == 3
        assert files[0].get_content().startswith(b"%PDF") and b"<EInvoice>" in files[2].get_content()
        world.run()
        assert world.export()[0]["invoices"][0]["pdf"] is None  # nothing to print
    finally:
        world.app.close()


def test_a_mail_reply_at_intake_leaves_out_what_waits_for_the_platform(pworld: World) -> None:
    """A held application is answered at once; the accepted one only after issue."""
    accept(pworld, "H", 1)
    accept(pworld, "J", 1, district="和平区")  # urban: held
    rows = outbox(pworld)
    assert len(rows) == 1 and "暂未受理" in body(rows[0]) and "已受理" not in body(rows[0])
