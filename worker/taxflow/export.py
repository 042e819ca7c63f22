"""``tax export``: planned invoices into the platform's batch-issuing workbook(s).

One transaction per export. Inside it the waiting invoices are read ``FOR UPDATE``
(PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers), the workbook files
are written (each atomically, ``worker.tax.workbook.save_workbooks``), and only then
are the invoices marked ``exported`` with a ``TaxExport`` row (who, when, which
files, which template), and the transaction commits. So:

* a crash before the commit leaves the invoices ``planned`` (files may be on disk
  already); the next ``tax export`` writes them again into new files. If staff had
  already uploaded the first files, the platform's XML still matches (the 流水号 and
  备注 are the same): ``tax import`` accepts planned invoices too;
* two exports at once never put one invoice into both: the second waits for the
  first's rows and finds them exported;
* an invoice the platform would refuse (``worker.tax.workbook.check_invoice``: a buyer
  name over 100 characters, ...) is left out and named in ``refused``: it stays
  planned, the others go out.

``export_again`` writes the invoices of an earlier export that are still waiting for
issue once more (staff lost the file, the platform rejected the upload): a new
``TaxExport`` row, and the invoices point to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from worker.config import Config
from worker.db.models import Application, Invoice, TaxExport
from worker.errors import StorageError
from worker.status import InvoiceState
from worker.tax.model import PlannedInvoice
from worker.tax.workbook import check_invoice, save_workbooks
from worker.taxflow.planned import planned_invoice

ACTOR_MAX = 64


@dataclass(frozen=True)
class ExportResult:
    """What one export did; ``as_json()`` is what ``tax export`` prints."""

    export_id: int | None             # None: nothing to export
    invoices: int
    files: tuple[Path, ...]
    template: str | None              # the official template's file name, or None (built in)
    refused: tuple[tuple[str, str], ...] = field(default=())  # (流水号, Chinese reason)

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {"invoices": self.invoices, "files": [str(f) for f in self.files]}
        if self.export_id is not None:
            data["export"] = self.export_id
        if self.refused:
            data["refused"] = [{"serial": s, "reason": r} for s, r in self.refused]
        return data


def _waiting(session: Session, *conditions: object) -> list[Invoice]:
    query = (select(Invoice).where(*conditions).order_by(Invoice.id)  # type: ignore[arg-type]
             .options(selectinload(Invoice.items),
                      selectinload(Invoice.application).selectinload(Application.mail))
             .with_for_update(of=Invoice)
             .execution_options(populate_existing=True))
    return list(session.scalars(query))


def export_planned(sessions: sessionmaker[Session], config: Config, out_dir: Path, *,
                   actor: str, template: bytes | None = None,
                   template_name: str | None = None) -> ExportResult:
    """Every planned, never exported invoice into workbook(s) under ``out_dir``.

    ``template``: the official file's bytes (``TaxTemplateInvalid`` if it is not one);
    None writes the built-in structure. Raises ``StorageError`` when the files cannot
    be written (nothing is marked then)."""
    with sessions.begin() as session:
        invoices = _waiting(session, Invoice.state == InvoiceState.PLANNED,
                            Invoice.export_id.is_(None), Invoice.serial.is_not(None))
        return _export(session, config, invoices, out_dir, actor, template, template_name,
                       expect=InvoiceState.PLANNED)


def export_again(sessions: sessionmaker[Session], config: Config, export_id: int,
                 out_dir: Path, *, actor: str, template: bytes | None = None,
                 template_name: str | None = None) -> ExportResult:
    """The invoices of export ``export_id`` still waiting for issue, written again
    under a new export; ``LookupError`` if there is no such export."""
    with sessions.begin() as session:
        if session.get(TaxExport, export_id) is None:
            raise LookupError(f"没有编号为 {export_id} 的导出")
        invoices = _waiting(session, Invoice.export_id == export_id,
                            Invoice.state == InvoiceState.EXPORTED)
        return _export(session, config, invoices, out_dir, actor, template, template_name,
                       expect=InvoiceState.EXPORTED)


def _export(session: Session, config: Config, invoices: list[Invoice], out_dir: Path,
            actor: str, template: bytes | None, template_name: str | None,
            *, expect: InvoiceState) -> ExportResult:
    name = Path(template_name).name[:255] if template_name and template is not None else None
    good: list[tuple[Invoice, PlannedInvoice]] = []
    refused: list[tuple[str, str]] = []
    for invoice in invoices:
        planned = planned_invoice(invoice, config)
        problems = check_invoice(planned)
        if problems:
            refused += [(planned.serial, problem) for problem in problems]
        else:
            good.append((invoice, planned))
    if not good:
        return ExportResult(None, 0, (), name, tuple(refused))
    now = datetime.now(UTC)
    stem = f"{now:%Y%m%dT%H%M%S}-{good[0][1].serial}"
    try:
        paths = save_workbooks([p for _, p in good], out_dir, stem, template)
    except OSError as e:
        raise StorageError(f"cannot write the tax workbook to {out_dir}: {e}") from e
    row = TaxExport(at=now, actor=actor[:ACTOR_MAX], invoices=len(good),
                    files=json.dumps([str(p) for p in paths], ensure_ascii=False), template=name)
    session.add(row)
    session.flush()
    ids = [invoice.id for invoice, _ in good]
    done = 0
    for start in range(0, len(ids), 500):
        done += session.execute(
            update(Invoice).where(Invoice.id.in_(ids[start:start + 500]), Invoice.state == expect)
            .values(state=InvoiceState.EXPORTED, export_id=row.id)
            .execution_options(synchronize_session=False)).rowcount
    if done != len(ids):  # the rows are locked: only a bug gets here; undo it all
        raise StorageError(f"tax export: {len(ids) - done} invoice(s) changed meanwhile")
    return ExportResult(row.id, len(good), tuple(paths), name, tuple(refused))
