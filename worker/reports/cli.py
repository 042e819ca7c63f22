"""``invoice-worker report ledger|queue|payments|audit [--from DATE] [--to DATE] --out FILE``:
prints ``{"report", "rows", "file"}``; exit 1 for a bad date or suffix."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from worker.app import App
from worker.db import check_schema
from worker.reports import REPORTS, ReportError, write
from worker.text import FIRST_DAY, LAST_DAY


def parse_date(text: str | None) -> date | None:
    """YYYY-MM-DD (a local date), or None; ReportError names the bad value."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as e:
        raise ReportError(f"not a date (YYYY-MM-DD): {text!r}") from e
    # Nothing of this product lies outside these years; the bound also keeps the
    # report's end (the day after, at midnight in Asia/Shanghai) a representable time.
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ReportError(f"{text!r} is outside {FIRST_DAY:%Y}-{LAST_DAY:%Y}")
    return day


def run(app: App, kind: str, start: str | None, end: str | None, out: Path) -> int:
    check_schema(app.engine)
    try:
        lo, hi = parse_date(start), parse_date(end)
        if lo and hi and hi < lo:
            raise ReportError(f"--to {hi} is before --from {lo}")
        with app.sessions() as session:
            report = REPORTS[kind](session, app.config, lo, hi)
        path = write(report, out)
    except ReportError as e:
        print(f"invoice-worker: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"report": kind, "rows": len(report.rows), "file": str(path.resolve())},
                     ensure_ascii=False))
    return 0
