"""Status vocabularies shared by storage, export, replies and the console."""

from __future__ import annotations

from enum import StrEnum


class MailStatus(StrEnum):
    """Outcome of one mail; decides the folder it moves to."""

    ACCEPTED = "accepted"      # every application in it was accepted
    HELD = "held"              # at least one application is in the exception queue
    IGNORED = "ignored"        # auto-reply, bounce, our own mail
    FAILED = "failed"          # an unexpected error, contained to this mail; staff look at it


class ApplicationStatus(StrEnum):
    ACCEPTED = "accepted"
    HELD = "held"
    REJECTED = "rejected"
    IGNORED = "ignored"


class InvoiceType(StrEnum):
    NORMAL = "增值税普通发票"
    SPECIAL = "增值税专用发票"


class IssueMode(StrEnum):
    COMBINED = "合并开具"
    PER_PERSON = "每人一张"


class InvoiceState(StrEnum):
    """Where an invoice stands with the tax system (issue 8; SPEC §4 "with the tax platform").

    Print mode numbers an invoice from the paper stock at once, so it is born ISSUED.
    Platform mode plans it with a 发票流水号 (PLANNED), hands it to the 电子发票服务平台 in a
    batch-issuing workbook (EXPORTED) and records the official 20-digit number when the
    issued XML comes back (ISSUED); a row the platform refuses is FAILED, an issued
    invoice reversed with a 红字确认单 is REVERSED. FAILED and REVERSED invoices no longer
    hold their orders: those may be planned again, on a new 流水号.
    """

    PLANNED = "planned"
    EXPORTED = "exported"
    ISSUED = "issued"
    FAILED = "failed"
    REVERSED = "reversed"

    @property
    def holds_orders(self) -> bool:
        """Whether the invoice's orders count as invoiced (ALREADY_INVOICED)."""
        return self not in (InvoiceState.FAILED, InvoiceState.REVERSED)
