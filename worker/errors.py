"""The project's exception hierarchy.

Two families matter to the worker loop:

* ``InputError`` subclasses describe something wrong with what a unit sent.  They are
  caught per mail and turned into a held application with a reason; they never stop
  the loop.
* ``InfrastructureError`` subclasses mean the worker itself cannot go on (database
  down, mailbox unreachable, pool exhausted).  They stop the pass; the mail stays in
  the inbox and is picked up again next time.
"""

from __future__ import annotations


class WorkerError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(WorkerError):
    """Raised at start-up when a config file or value is invalid; names the key.

    ``problems`` lists every (dotted key, reason) found, the first being ``key``."""

    def __init__(self, key: str, reason: str,
                 problems: list[tuple[str, str]] | None = None) -> None:
        self.problems = problems or [(key, reason)]
        more = len(self.problems) - 1
        super().__init__(f"config {key}: {reason}" + (f" (and {more} more)" if more else ""))
        self.key = key
        self.reason = reason


class DetailedError(WorkerError):
    """An error that carries a Chinese ``detail`` for the person who must act on it."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InputError(DetailedError):
    """A unit's input cannot be used; the detail goes into the reply."""


class FormUnreadable(InputError):
    """Raised when an attachment is corrupt, encrypted, too large or not a form."""


class UnsupportedAttachment(InputError):
    """Raised when an attachment is a kind we cannot open (RAR, 7z, an encrypted zip)."""


class MailUnreadable(InputError):
    """Raised when a mail is too large or too malformed to parse."""


class PaymentFileError(WorkerError):
    """Raised when a payment export as a whole cannot be read (not per bad row)."""


class InfrastructureError(WorkerError):
    """Raised when an outside system fails; stops the pass, the mail is retried."""


class MailboxError(InfrastructureError):
    """Raised when the mailbox cannot be reached, selected or written to."""


class StorageError(InfrastructureError):
    """Raised when the database is unreachable or the schema is not current."""


class PoolExhausted(InfrastructureError):
    """Raised when no invoice number or waybill is left in the configured range."""


class SmtpError(InfrastructureError):
    """Raised when outgoing mail cannot be handed to the SMTP server."""


class CourierError(InfrastructureError):
    """Raised when a waybill provider (``worker.courier``) cannot do what was asked.

    Never loses or doubles a parcel: the step that called it records ``reason`` on the
    parcel (console, ``parcels``) and tries again later. ``reason`` is Chinese, for
    staff; ``code`` is the provider's own code when it gave one."""

    retry: bool = True

    def __init__(self, reason: str, *, code: str = "") -> None:
        super().__init__(f"{reason}" + (f" [{code}]" if code else ""))
        self.reason = reason
        self.code = code


class CourierUnavailable(CourierError):
    """Timeout, connection refused, HTTP 5xx, the provider's own system error: try again."""


class CourierRateLimited(CourierError):
    """The provider's flow control (SF A1005, HTTP 429): try again later."""


class CourierCredentials(CourierError):
    """Bad or expired credentials, a wrong signature, no permission for the service:
    nothing succeeds until an office fixes config or the environment; retried anyway."""


class CourierRejected(CourierError):
    """The provider refused this parcel (address, phone, service area): staff must
    correct the recipient; retried after a correction or by hand."""

    retry = False


class TaxFileError(DetailedError):
    """A file for or from the tax platform (电子发票服务平台) cannot be used.

    The detail is for staff (the console, the ``tax import`` report). Raised per file:
    one bad file is reported and counted, the others are still read.
    """


class TaxXmlUnreadable(TaxFileError):
    """An issued-invoice XML is malformed, hostile (DTD, entities), too large or not a 数电票."""


class TaxArchiveUnreadable(TaxFileError):
    """A zip from the platform is damaged, encrypted or over the bomb limits."""


class FailureWorkbookUnreadable(TaxFileError):
    """The platform's failure workbook (失败明细) cannot be read or has no 流水号/原因 columns."""


class TaxTemplateInvalid(TaxFileError):
    """The batch-issuing template given by staff is not the platform's workbook, or already has data."""


class ExportRefused(TaxFileError):
    """Planned invoices that the platform would reject (too long, missing, inconsistent).

    ``problems`` lists ``(serial, Chinese reason)`` for every offending invoice, not only
    the first, so staff can fix them all at once.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("；".join(f"{serial}：{reason}" for serial, reason in problems))
        self.problems = problems
