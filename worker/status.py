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


class OutboxStatus(StrEnum):
    """Where a queued mail (reply, follow-up) is in ``worker.replies.outbox``."""

    PENDING = "pending"        # queued, never tried
    SENDING = "sending"        # claimed by a sender until its lease ends
    RETRY = "retry"            # an attempt failed; next_attempt_at says when again
    SENT = "sent"              # the server took it
    FAILED = "failed"          # given up (max_attempts, or the recipient does not exist)
    WITHHELD = "withheld"      # an automatic reply not sent on purpose (replies.policy): never due


OUTBOX_QUEUED = (OutboxStatus.PENDING, OutboxStatus.RETRY, OutboxStatus.SENDING)
"""Still to be sent: a "sending" row whose lease ended is taken again."""


class AuditAction(StrEnum):
    """What a staff member did, as ``audit_log.action`` stores it (the console shows
    each in Chinese, ``worker.console.filters.ACTIONS``)."""

    CORRECT = "correct"
    DROP_LINE = "drop_line"
    RESTORE_LINE = "restore_line"
    RECHECK = "recheck"
    APPROVE = "approve"
    REJECT = "reject"
    IMPORT_PAYMENTS = "import_payments"
    RENDER = "render"
    REPRINT = "reprint"
    END_SESSIONS = "end_sessions"
    REVERSE = "reverse"    # 红冲 recorded (worker.staff.reversal)
    PASSWORD = "password"  # noqa: S105 -- the audit action "changed a password", not a secret
