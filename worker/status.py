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
    DRAFT = "draft"            # written by the worker for staff to read and send (returned parcels)


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
    RETRY_REPLY = "retry_reply"
    DISABLE_STAFF = "disable_staff"
    ENABLE_STAFF = "enable_staff"
    REVERSE = "reverse"    # 红冲 recorded (worker.staff.reversal)
    PASSWORD = "password"  # noqa: S105 -- the audit action "changed a password", not a secret
    RESHIP = "reship"          # a returned parcel sent again: a new waybill, the same invoices
    SEND_NOTICE = "send_notice"  # a drafted reply about a returned parcel sent to the unit


class ParcelStatus(StrEnum):
    """Where a parcel (``shipments.status``) is, from its waybill to the unit's door
    (``worker/courier/``). The console shows each in Chinese (``PARCEL_TEXT``)."""

    TO_ORDER = "to order"      # accepted; the provider has not given a waybill yet
    LABEL = "label"            # waybill known; the provider's label PDF still to fetch
    ORDERED = "ordered"        # waybill and label ready (the pool's parcels start here)
    IN_TRANSIT = "in transit"  # picked up, on its way
    DELIVERED = "delivered"    # 签收
    REFUSED = "refused"        # 拒收: the recipient would not pay the freight
    RETURNED = "returned"      # 退回 to us
    LOST = "lost"              # the courier reports it lost
    RESHIPPED = "reshipped"    # replaced by a new parcel (``shipments.replaced_by_id``)


PARCEL_WAITING = (ParcelStatus.TO_ORDER, ParcelStatus.LABEL)
"""No label can be printed yet: the waybill (or its PDF) is still to come."""
PARCEL_UNDELIVERED = (ParcelStatus.ORDERED, ParcelStatus.IN_TRANSIT)
"""Routes still worth reading."""
PARCEL_NEEDS_STAFF = (ParcelStatus.REFUSED, ParcelStatus.RETURNED, ParcelStatus.LOST)
"""Flagged for staff: re-ship it (``worker/staff/reship.py``) once the unit answered."""
PARCEL_TEXT = {
    ParcelStatus.TO_ORDER: "待下单", ParcelStatus.LABEL: "待取面单", ParcelStatus.ORDERED: "待揽收",
    ParcelStatus.IN_TRANSIT: "运输中", ParcelStatus.DELIVERED: "已签收", ParcelStatus.REFUSED: "拒收",
    ParcelStatus.RETURNED: "已退回", ParcelStatus.LOST: "丢失", ParcelStatus.RESHIPPED: "已重寄",
}
