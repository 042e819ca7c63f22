"""The schema. Migrations in ``worker/db/migrations`` create exactly these tables.

One ``Base`` (``base``), its tables by stage: what comes in (``mail``: payments, mails,
applications, lines, reasons), what is issued (``issuing``: counters, invoices, the tax
platform's exports, imports and reversals, parcels, manifests), and the service's own
records (``service``: staff, console sessions, audit log, outbox, job runs). Import the
models from here: this package loads every module, so ``Base.metadata`` (Alembic's
target) holds every table and the relationships between modules resolve.

Integrity rules live in the database, not only in code:
``mails.message_id`` is unique (a mail is processed once, whatever workers race),
``invoice_items.order_no`` is unique (an order is invoiced once), invoice numbers are
unique per code and come from the ``counters`` row in the issuing transaction.
"""

from __future__ import annotations

from worker.db.models.base import Base
from worker.db.models.issuing import (
    Counter,
    Invoice,
    InvoiceItem,
    InvoiceReversal,
    Manifest,
    Shipment,
    TaxExport,
    TaxImport,
)
from worker.db.models.mail import (
    Application,
    ApplicationLine,
    Mail,
    Payment,
    PaymentImport,
    Reason,
    StoredAttachment,
)
from worker.db.models.service import (
    AuditEntry,
    ConsoleSession,
    JobRun,
    LoginAttempt,
    OutboxMessage,
    Staff,
)

__all__ = [
    "Application", "ApplicationLine", "AuditEntry", "Base", "ConsoleSession", "Counter",
    "Invoice", "InvoiceItem", "InvoiceReversal", "JobRun", "LoginAttempt", "Mail", "Manifest",
    "OutboxMessage", "Payment", "PaymentImport", "Reason", "Shipment", "Staff", "StoredAttachment",
    "TaxExport", "TaxImport",
]
