"""The print centre: the batch PDFs of invoices and labels, rendering what is still
pending, reprinting one application, and the pickup manifests with their files.
Every file is served from a path the database holds (see ``files``)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, literal, select
from werkzeug.wrappers import Response

from worker.console.db import actor, config, sessions
from worker.console.files import send_stored
from worker.console.params import parse_id
from worker.db.models import AuditEntry, Invoice, Manifest, Shipment
from worker.db.types import utcnow
from worker.staff import printing
from worker.staff.audit import changes_of
from worker.staff.errors import ActionRefused, NotFound
from worker.status import AuditAction

bp = Blueprint("print", __name__)
# An invoice's number, or its 发票流水号 while the platform has not issued it (number NULL).
_shown = func.coalesce(Invoice.number, literal("流水号 ") + Invoice.serial)
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/print")
def index() -> str:
    with sessions()() as db:
        invoice_batches = db.execute(
            select(Invoice.pdf_path, func.count(), func.min(_shown), func.max(_shown),
                   func.min(Invoice.id), func.max(Invoice.issued_at))
            .where(Invoice.pdf_path.is_not(None)).group_by(Invoice.pdf_path)
            .order_by(func.max(Invoice.issued_at).desc()).limit(30)).all()
        label_batches = db.execute(
            select(Shipment.label_pdf, func.count(), func.min(Shipment.waybill),
                   func.max(Shipment.waybill), func.min(Shipment.id), func.max(Shipment.created_at))
            .where(Shipment.label_pdf.is_not(None)).group_by(Shipment.label_pdf)
            .order_by(func.max(Shipment.created_at).desc()).limit(30)).all()
        reprints = db.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.REPRINT)
                              .order_by(AuditEntry.id.desc()).limit(20)).all()
        manifests = db.scalars(select(Manifest).order_by(Manifest.id.desc()).limit(30)).all()
        unmanifested = db.scalar(select(func.count()).select_from(Shipment)
                                 .where(Shipment.manifest_id.is_(None))) or 0
        pending_invoices, pending_labels = printing.pending_counts(db)
        return render_template(
            "console/print.html", invoice_batches=invoice_batches, label_batches=label_batches,
            reprints=[(e, changes_of(e).get("files", [])) for e in reprints],
            manifests=manifests, unmanifested=unmanifested, pending_invoices=pending_invoices,
            pending_labels=pending_labels)


@bp.post("/print/render")
def render() -> Response:
    try:
        flash(printing.render(sessions(), config(), actor()), "ok")
    except ActionRefused as e:
        flash(str(e), "error")
    return redirect(url_for("print.index"))


@bp.post("/print/reprint")
def reprint() -> Response:
    app_id = parse_id(request.form.get("application_id"))
    if app_id is None:
        flash("请填写正确的申请编号（正整数）", "error")
        return redirect(url_for("print.index"))
    try:
        entry_id = printing.reprint(sessions(), config(), actor(), app_id, utcnow())
        flash(f"已重印申请 {app_id}", "ok")
        return redirect(url_for("print.index", _anchor=f"reprint-{entry_id}"))
    except (ActionRefused, NotFound) as e:
        flash(str(e), "error")
    return redirect(url_for("print.index"))


@bp.get("/files/invoice/<int:invoice_id>.pdf")
def invoice_pdf(invoice_id: int) -> Response:
    with sessions()() as db:
        inv = db.get(Invoice, invoice_id)
        stored = inv.pdf_path if inv else None
    return send_stored(stored, name=None, mimetype=PDF, inline=True)


@bp.get("/files/label/<int:shipment_id>.pdf")
def label_pdf(shipment_id: int) -> Response:
    with sessions()() as db:
        ship = db.get(Shipment, shipment_id)
        stored = ship.label_pdf if ship else None
    return send_stored(stored, name=None, mimetype=PDF, inline=True)


@bp.get("/files/manifest/<int:manifest_id>.<kind>")
def manifest_file(manifest_id: int, kind: str) -> Response:
    if kind not in ("xlsx", "pdf"):
        abort(404)
    with sessions()() as db:
        m = db.get(Manifest, manifest_id)
        stored = (m.xlsx_path if kind == "xlsx" else m.pdf_path) if m else None
    return send_stored(stored, name=None, mimetype=XLSX if kind == "xlsx" else PDF,
                       inline=kind == "pdf")


@bp.get("/files/reprint/<int:entry_id>/<int:n>")
def reprint_file(entry_id: int, n: int) -> Response:
    with sessions()() as db:
        entry = db.get(AuditEntry, entry_id)
        files = changes_of(entry).get("files", []) if entry and entry.action == AuditAction.REPRINT else []
    if not isinstance(files, list) or not 0 <= n < len(files):
        abort(404)
    return send_stored(str(files[n]), name=None, mimetype=PDF, inline=True)
