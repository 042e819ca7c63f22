"""Downloads for finance: the ledger (开票台账), queue, payments and audit log as xlsx
or CSV, for a range of local dates (the same files as ``invoice-worker report``)."""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, Response, abort, render_template, request, send_file

from worker.console.db import config, sessions
from worker.reports import REPORTS, ReportError, render
from worker.reports.cli import parse_date

bp = Blueprint("reports", __name__)
TITLES = {"ledger": "开票台账", "queue": "待处理申请", "payments": "缴费记录", "audit": "操作记录"}
TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv"}  # werkzeug adds "; charset=utf-8" to a text/ type


def _range() -> tuple[date | None, date | None]:
    try:
        lo = parse_date(request.args.get("from", "").strip()[:10])
        hi = parse_date(request.args.get("to", "").strip()[:10])
    except ReportError:
        abort(400)
    if lo and hi and hi < lo:
        abort(400)
    return lo, hi


@bp.get("/reports")
def index() -> str:
    lo, hi = _range()
    span = {k: v.isoformat() for k, v in (("from", lo), ("to", hi)) if v}
    return render_template("console/reports.html", titles=TITLES, span=span,
                           start=span.get("from", ""), end=span.get("to", ""))


@bp.get("/reports/<kind>.<fmt>")
def download(kind: str, fmt: str) -> Response:
    if kind not in REPORTS or fmt not in TYPES:
        abort(404)
    lo, hi = _range()
    with sessions()() as db:
        report = REPORTS[kind](db, config(), lo, hi)
    span = f"-{lo or '起'}至{hi or '今'}" if lo or hi else ""
    # send_file writes an ASCII fallback and filename*=UTF-8'' (RFC 6266) for the Chinese name
    response = send_file(io.BytesIO(render(report, f".{fmt}")), mimetype=TYPES[fmt],
                         as_attachment=True, download_name=f"{TITLES[kind]}{span}.{fmt}",
                         max_age=0)
    response.headers["Cache-Control"] = "no-store"  # ID numbers and phone numbers
    return response
