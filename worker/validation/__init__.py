"""Checks of an application against the rules and the payment records."""

from __future__ import annotations

from worker.validation.checks import check_application
from worker.validation.model import Draft, Line, Lookups, PaymentRow
from worker.validation.reasons import REASONS, Code, Reason, explain

__all__ = ["REASONS", "Code", "Draft", "Line", "Lookups", "PaymentRow", "Reason",
           "check_application", "explain"]
