"""Print-centre actions: render what is pending, reprint one application. Audited, and
the reprint's files are recorded in its audit entry -- the console serves only files
whose paths the database holds."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.db.models import Application, Invoice, Shipment
from worker.documents import NothingToPrint, render_pending
from worker.documents import reprint as reprint_files
from worker.staff.accounts import Actor
from worker.staff.audit import record
from worker.staff.errors import ActionRefused, NotFound
from worker.status import ApplicationStatus, AuditAction


def pending_counts(session: Session) -> tuple[int, int]:
    """(invoices without a PDF, labels without a PDF)."""
    invoices = session.scalar(select(func.count()).select_from(Invoice)
                              .where(Invoice.pdf_path.is_(None))) or 0
    labels = session.scalar(select(func.count()).select_from(Shipment)
                            .where(Shipment.label_pdf.is_(None))) or 0
    return invoices, labels


def render(sessions: sessionmaker[Session], config: Config, actor: Actor) -> str:
    with sessions() as session:
        before = pending_counts(session)
    try:
        render_pending(sessions, config)
    except Exception as e:  # a rendering failure is reported; nothing issued is touched
        raise ActionRefused(f"PDF 生成失败：{e}") from e
    with sessions.begin() as session:
        after = pending_counts(session)
        record(session, actor, AuditAction.RENDER, changes={
            "pending_invoices": [before[0], after[0]], "pending_labels": [before[1], after[1]]})
    return f"已生成：发票 {before[0] - after[0]} 张，面单 {before[1] - after[1]} 张"


def reprint(sessions: sessionmaker[Session], config: Config, actor: Actor, app_id: int,
            now: datetime) -> int:
    """Reprint an issued application; returns the audit entry's id (its files' key)."""
    with sessions() as session:
        app = session.get(Application, app_id)
        if app is None:
            raise NotFound(f"没有编号为 {app_id} 的申请")
        if app.status != ApplicationStatus.ACCEPTED or not app.invoices:
            raise ActionRefused("只有已开具的申请可以重印")
    out_dir = config.output_dir / "reprints" / f"{app_id}-{now:%Y%m%d-%H%M%S-%f}"
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        files = [Path(p) for p in reprint_files(sessions, config, app_id, out_dir)]
    except NothingToPrint as e:
        raise ActionRefused(f"没有可重印的发票：{e}") from e
    root = config.output_dir.resolve()
    rel = [p.resolve().relative_to(root).as_posix() for p in files
           if p.resolve().is_relative_to(root)]
    with sessions.begin() as session:
        entry = record(session, actor, AuditAction.REPRINT, application_id=app_id, changes={"files": rel})
        return entry.id
