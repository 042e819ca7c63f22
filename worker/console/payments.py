"""Payments: upload a platform export (the CLI's importer), see what each import did,
and re-check the held applications against the new records."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from worker.console.db import actor, config, sessions
from worker.db.models import Payment, PaymentImport
from worker.reports.lookup import clean_query, find_payments
from worker.staff.actions import recheck_held
from worker.staff.errors import ActionRefused
from worker.staff.payments import import_upload

bp = Blueprint("payments", __name__)
SHOWN_ERRORS = 50


def _errors(imp: PaymentImport) -> list[str]:
    try:
        data = json.loads(imp.errors or "[]")
    except ValueError:
        return [imp.errors]
    return [str(e) for e in data] if isinstance(data, list) else [str(data)]


@bp.get("/payments")
def index() -> str:
    q = clean_query(request.args.get("q", ""))
    with sessions()() as db:
        hits = find_payments(db, q) if q else []
        imports = db.scalars(select(PaymentImport).order_by(PaymentImport.id.desc()).limit(20)).all()
        counts = db.execute(select(Payment.status, Payment.method, func.count())
                            .group_by(Payment.status, Payment.method)).all()
        return render_template("console/payments.html", counts=counts, shown=SHOWN_ERRORS, q=q,
                               hits=hits,
                               imports=[(i, _errors(i)) for i in imports])


@bp.post("/payments")
def upload() -> Response:
    upload = request.files.get("file")
    try:
        result = import_upload(sessions(), config(), actor(),
                               upload.filename if upload else None,
                               upload.read() if upload else b"")
    except ActionRefused as e:
        flash(str(e), "error")
    else:
        flash(f"已导入 {result.source}：共 {result.rows} 行，新增 {result.inserted}，更新 "
              f"{result.updated}，未变 {result.unchanged}，有问题 {result.bad} 行"
              + "".join(f"；{e.detail}" for e in result.errors if e.about_file),
              "warn" if result.errors else "ok")
    return redirect(url_for("payments.index"))


@bp.post("/payments/recheck")
def recheck() -> Response:
    checked, clean = recheck_held(sessions(), config(), actor())
    flash(f"已重新检查 {checked} 份待处理申请，其中 {clean} 份现在可以批准", "ok")
    return redirect(url_for("queue.index"))
