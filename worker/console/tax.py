"""The 税务平台 page: where each invoice stands with the 电子发票服务平台 (issue 8).

Planned invoices waiting for ``tax export``, the exports (who, when, how many, their
workbooks to download again), exported invoices waiting for the platform to issue
them, what each ``tax import`` brought back (issued, failed with the platform's words,
unmatched, duplicates, unreadable files), invoices that failed and the 红冲 recorded.
The page only reads; exports and imports are made by ``invoice-worker tax export`` /
``tax import``, reversals on the application page (``worker.staff.reversal``).

An export's files are served only when the export row names them (by position, never
a path from the request) and they lie inside the output folder (``files.send_stored``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response

from worker.console.db import config, sessions
from worker.console.files import safe_name, send_stored
from worker.db.models import Invoice, InvoiceReversal, TaxExport, TaxImport
from worker.status import InvoiceState

bp = Blueprint("tax", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIMIT = 200      # invoices listed per state; the counts above say how many there are
HISTORY = 30     # exports, imports and reversals shown

OUTCOMES = {
    "issued": "已开具", "failed": "开具失败", "unmatched": "未匹配", "duplicate": "重复导入",
    "duplicates": "重复导入", "unreadable": "无法读取", "red": "红字发票",
}
"""``TaxImport.details`` outcomes in Chinese; an outcome not listed is shown as written."""


def json_list(text: str | None) -> list[Any]:
    """A JSON list column (``files``, ``sources``, ``details``); anything else -> []."""
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def export_files(export: TaxExport) -> list[str]:
    """The paths an export recorded, in order (non-text entries dropped)."""
    return [f for f in json_list(export.files) if isinstance(f, str)]


@dataclass(frozen=True)
class ImportRow:
    row: TaxImport
    sources: list[str]
    details: list[dict[str, str]]


def _details(row: TaxImport) -> list[dict[str, str]]:
    out = []
    for d in json_list(row.details):
        if isinstance(d, dict):
            outcome = str(d.get("outcome", ""))
            out.append({"source": str(d.get("source", "")), "outcome": outcome,
                        "text": OUTCOMES.get(outcome, outcome), "detail": str(d.get("detail", ""))})
    return out


def state_counts(db: Session) -> dict[str, int]:
    """Invoices per ``InvoiceState`` value, every state present (0 when none)."""
    found = dict(db.execute(select(Invoice.state, func.count()).group_by(Invoice.state)).all())
    return {state.value: found.get(state.value, 0) for state in InvoiceState}


def _in_state(db: Session, state: InvoiceState, limit: int = LIMIT) -> list[Invoice]:
    """Waiting ones in 流水号 order (the order they were planned), outcomes newest first."""
    order = (Invoice.id.desc(),) if state in (InvoiceState.FAILED, InvoiceState.ISSUED) \
        else (Invoice.serial, Invoice.id)
    return list(db.scalars(select(Invoice).where(Invoice.state == state).order_by(*order)
                           .limit(limit).options(selectinload(Invoice.application))))


@bp.get("/tax")
def index() -> str:
    with sessions()() as db:
        exports = db.scalars(select(TaxExport).order_by(TaxExport.id.desc()).limit(HISTORY)).all()
        imports = db.scalars(select(TaxImport).order_by(TaxImport.id.desc()).limit(HISTORY)).all()
        reversals = db.execute(
            select(InvoiceReversal, Invoice).join(Invoice, InvoiceReversal.invoice_id == Invoice.id)
            .order_by(InvoiceReversal.id.desc()).limit(HISTORY)).all()
        return render_template(
            "console/tax.html", counts=state_counts(db), mode=config().invoicing.mode,
            planned=_in_state(db, InvoiceState.PLANNED),
            exported=_in_state(db, InvoiceState.EXPORTED),
            failed=_in_state(db, InvoiceState.FAILED),
            issued=_in_state(db, InvoiceState.ISSUED, HISTORY),
            exports=[(e, [safe_name(f, "") for f in export_files(e)]) for e in exports],
            imports=[ImportRow(i, [str(s) for s in json_list(i.sources)], _details(i))
                     for i in imports],
            reversals=reversals, limit=LIMIT)


@bp.get("/files/tax-export/<int:export_id>/<int:n>")
def export_file(export_id: int, n: int) -> Response:
    """The ``n``-th workbook of export ``export_id``, as recorded; 404 for anything else."""
    with sessions()() as db:
        export = db.get(TaxExport, export_id)
        files = export_files(export) if export else []
    if not 0 <= n < len(files):
        abort(404)
    return send_stored(files[n], name=safe_name(files[n], f"export-{export_id}-{n + 1}.xlsx"),
                       mimetype=XLSX, inline=False)
