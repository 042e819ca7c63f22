"""One application: the mail, the form's header and lines with each reason where it
applies, the attachment, what was issued, its history, and the staff actions."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response

from worker.console.db import actor, config, sessions
from worker.console.files import send_data, send_stored
from worker.db.models import (
    Application,
    AuditEntry,
    Invoice,
    InvoiceReversal,
    OutboxMessage,
    Shipment,
    StoredAttachment,
)
from worker.db.models import Reason as ReasonRow
from worker.decision import date_skew
from worker.fields import FIELD
from worker.intake.analyse import STORED_SUFFIXES
from worker.replies.draft import Unbuildable, outbox_bytes
from worker.replies.policy import reply_notes
from worker.staff import actions, reversal
from worker.staff import reship as parcels
from worker.staff.actions import EDITABLE, HEADER_FIELDS, RECIPIENT_FIELDS, ActionResult
from worker.staff.audit import changes_of
from worker.staff.errors import ActionRefused, NotFound
from worker.status import PARCEL_NEEDS_STAFF, PARCEL_TEXT, OutboxStatus
from worker.validation import Code
from worker.validation.checks import lacking
from worker.validation.reasons import REASONS, WAIVABLE, blocks_approval

bp = Blueprint("application", __name__)

def _fields_of(reason: ReasonRow, app: Application) -> tuple[str, ...]:
    """Which header fields a reason is about, so it is shown next to them: its entry's
    ``fields`` in the reason table, or with ``only_lacking`` those of them lacking now."""
    entry = REASONS.get(Code(reason.code)) if reason.code in Code.__members__ else None
    if entry is None:
        return ()
    if entry.only_lacking:
        return tuple(k for k in entry.fields if lacking(FIELD[k], getattr(app, k)))
    return entry.fields


def _placement(app: Application) -> tuple[dict[str, list[ReasonRow]], dict[int, list[ReasonRow]],
                                         list[ReasonRow]]:
    by_field: dict[str, list[ReasonRow]] = defaultdict(list)
    by_line: dict[int, list[ReasonRow]] = defaultdict(list)
    general: list[ReasonRow] = []
    refs = {line.seq if line.seq is not None else line.position for line in app.lines}
    for r in app.reasons:
        fields = _fields_of(r, app)
        for f in fields:
            by_field[f].append(r)
        if r.line is not None and r.line in refs:
            by_line[r.line].append(r)
        elif not fields:
            general.append(r)
    return by_field, by_line, general


def _load(app_id: int, db: Session) -> Application:
    app = db.scalars(select(Application).where(Application.id == app_id).options(
        selectinload(Application.mail), selectinload(Application.lines),
        selectinload(Application.reasons), selectinload(Application.shipment),
        selectinload(Application.invoices).selectinload(Invoice.items))).one_or_none()
    if app is None:
        abort(404)
    return app


@bp.get("/applications/<int:app_id>")
def show(app_id: int) -> str:
    with sessions()() as db:
        app = _load(app_id, db)
        by_field, by_line, general = _placement(app)
        history = db.scalars(select(AuditEntry).where(AuditEntry.application_id == app_id)
                             .order_by(AuditEntry.id.desc())).all()
        codes = {r.code for r in app.reasons}
        outbox = db.scalars(select(OutboxMessage).where(OutboxMessage.mail_id == app.mail_id)
                            .order_by(OutboxMessage.id)).all()
        earlier = db.scalars(select(Shipment).where(Shipment.application_id == app_id,
                                                    Shipment.replaced_by_id.is_not(None))
                             .order_by(Shipment.id)).all()
        drafts = [(row.id, row.recipient, draft_text(row)) for row in outbox
                  if row.application_id == app_id and row.status == OutboxStatus.DRAFT]
        reversals = {r.invoice_id: r for r in db.scalars(select(InvoiceReversal).where(
            InvoiceReversal.invoice_id.in_([inv.id for inv in app.invoices])))}
        return render_template(
            "console/application.html", app=app, by_field=by_field, by_line=by_line,
            reversals=reversals, replies=reply_notes(outbox), earlier_parcels=earlier, drafts=drafts,
            parcel_text=PARCEL_TEXT, needs_staff=PARCEL_NEEDS_STAFF,
            general=general, history=[(e, changes_of(e)) for e in history],
            header_fields=HEADER_FIELDS, recipient_fields=RECIPIENT_FIELDS,
            waivable=sorted(c for c in codes if c in WAIVABLE),
            blocking=sorted(c for c in codes if blocks_approval(c)),
            date_skew=date_skew(app.mail),
        )


def _act(app_id: int, action: Callable[[], ActionResult]) -> Response:
    try:
        result = action()
    except NotFound:
        abort(404)
    except ActionRefused as e:
        flash(str(e), "error")
    else:
        flash(result.message, "ok")
        for warning in result.warnings:
            flash(warning, "warn")
    return redirect(url_for("application.show", app_id=app_id))


@bp.post("/applications/<int:app_id>/correct")
def correct(app_id: int) -> Response:
    values = {f: request.form[f] for f in EDITABLE if f in request.form}
    return _act(app_id, lambda: actions.correct_fields(
        sessions(), config(), actor(), app_id, values, note=request.form.get("note", "")))


@bp.post("/applications/<int:app_id>/lines/<int:line_id>")
def line(app_id: int, line_id: int) -> Response:
    dropped = request.form.get("dropped", "1") == "1"
    return _act(app_id, lambda: actions.drop_line(
        sessions(), config(), actor(), app_id, line_id, dropped=dropped))


@bp.post("/applications/<int:app_id>/recheck")
def recheck(app_id: int) -> Response:
    return _act(app_id, lambda: actions.recheck(sessions(), config(), actor(), app_id))


@bp.post("/applications/<int:app_id>/approve")
def approve(app_id: int) -> Response:
    waive = request.form.getlist("waive")
    return _act(app_id, lambda: actions.approve(
        sessions(), config(), actor(), app_id, waive=waive, note=request.form.get("note", "")))


@bp.post("/applications/<int:app_id>/reject")
def reject(app_id: int) -> Response:
    return _act(app_id, lambda: actions.reject(
        sessions(), config(), actor(), app_id, request.form.get("message", "")))


@bp.post("/applications/<int:app_id>/reship")
def reship(app_id: int) -> Response:
    return _act(app_id, lambda: parcels.reship(sessions(), config(), actor(), app_id,
                                               note=request.form.get("note", "")))


@bp.post("/applications/<int:app_id>/notices/<int:outbox_id>")
def send_notice(app_id: int, outbox_id: int) -> Response:
    return _act(app_id, lambda: parcels.send_notice(sessions(), actor(), app_id, outbox_id))


def draft_text(row: OutboxMessage) -> str:
    """A drafted reply's text, as the unit would read it (parsed from the message the
    sender would send, so old stored bytes and new drafts read alike)."""
    try:
        raw = outbox_bytes(row, config().output_dir)
    except Unbuildable as e:
        return f"（无法生成这封邮件：{e}）"
    message = message_from_bytes(raw, policy=email_policy.default)
    body = message.get_body(("plain",)) if isinstance(message, EmailMessage) else None
    return body.get_content() if body is not None else ""


@bp.post("/applications/<int:app_id>/invoices/<int:invoice_id>/reverse")
def reverse(app_id: int, invoice_id: int) -> Response:
    """红冲 recorded for one issued invoice of this application (``staff.reversal``)."""
    def act() -> ActionResult:
        done = reversal.reverse_invoice(
            sessions(), actor(), invoice_id, request.form.get("confirmation_no", ""),
            request.form.get("reason", ""), application_id=app_id)
        return ActionResult(done.application_id, "", done.message)
    return _act(app_id, act)


@bp.get("/applications/<int:app_id>/attachment")
def attachment(app_id: int) -> Response:
    """The attachment as it came in: from the database (``StoredAttachment``), or, for
    an application stored before migration 0013, the file by that name under
    ``[output] dir``."""
    with sessions()() as db:
        app = db.get(Application, app_id)
        if app is None:
            abort(404)
        stored, name = app.attachment_path, app.attachment
        file = db.get(StoredAttachment, stored) if stored else None
        data = file.data if file is not None else None
    if data is not None:
        return send_data(data, name=name, fallback=stored.rsplit("/", 1)[-1],
                         mimetype="application/octet-stream", inline=False)
    if stored is None or _STORED_FILE.fullmatch(stored) is None:
        abort(404)  # only a name intake gave a file: never the outbox, a batch, the key
    return send_stored(stored, name=name, mimetype="application/octet-stream", inline=False)


#: The name intake gave an attachment's file before migration 0013
#: (``worker.intake.record.attachment_name``): its SHA-256, under its first two digits.
_STORED_FILE = re.compile(r"attachments/([0-9a-f]{2})/\1[0-9a-f]{62}(?:"
                          + "|".join(re.escape(s) for s in STORED_SUFFIXES) + ")")
