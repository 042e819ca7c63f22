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
