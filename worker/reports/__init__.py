"""Finance reports (开票台账, queue, payments, audit log) as xlsx or CSV (issue 11 item 4)."""

from __future__ import annotations

from worker.reports.sheet import Report, ReportError, render, write
from worker.reports.tables import REPORTS

__all__ = ["REPORTS", "Report", "ReportError", "render", "write"]
