"""The schema. Migrations in ``worker/db/migrations`` create exactly these tables.

Integrity rules live in the database, not only in code:
``mails.message_id`` is unique (a mail is processed once, whatever workers race),
``invoice_items.order_no`` is unique (an order is invoiced once), invoice numbers are
unique per code and come from the ``counters`` row in the issuing transaction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# String and Text are ours: every text bound to a column is made storable there (NUL,
# lone surrogates, over-long values; see worker.db.types.String), one place for all.
from worker.db.types import Money, String, Text, UtcDateTime, utcnow
from worker.fields import FIELDS, LINE_TEXT_LENGTHS
from worker.status import InvoiceState


class Base(DeclarativeBase):
    pass


def _field_columns() -> type:
    """A mixin with one column per field of the registry (``worker.fields``): text of the
    field's length, '' by default. Adding a field there adds its column here; its
    migration is still written by hand (``tests/core/test_fields.py`` checks the model)."""
    return type("FieldColumns", (), {
        "__doc__": _field_columns.__doc__,
        **{f.key: mapped_column(String(f.length), default="") for f in FIELDS},
    })


class Counter(Base):
    """Gap-free sequences (invoice numbers, waybills): updated in the issuing transaction."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)


class Payment(Base):
    """One order from the training platform's export; a later export overwrites it."""

    __tablename__ = "payments"
    order_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(32), index=True)
    year: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    method: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PaymentImport(Base):
    """Audit of each import: file, counts, per-row problems (for the console)."""

    __tablename__ = "payment_imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[str] = mapped_column(Text, default="")


class Mail(Base):
    """One outcome row per mail: deduplicates by Message-ID and audits where it went."""

    __tablename__ = "mails"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(900, key=True), unique=True)
    mailbox: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[str | None] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(320), default="")
    sender_name: Mapped[str] = mapped_column(String(255), default="")
    reply_to: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    date: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the sender's Date: shown only
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # mailbox clock: judged by
    auto_reason: Mapped[str | None] = mapped_column(Text)  # why it was ignored as machine-made
    references: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    folder: Mapped[str | None] = mapped_column(String(255))
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    moved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    applications: Mapped[list[Application]] = relationship(
        back_populates="mail", order_by="Application.position", cascade="all, delete-orphan"
    )


class Application(_field_columns(), Base):
    """One form attachment (or the one attachment-less application of a mail). Its
    header columns (unit, district, ..., recipient_address) come from the field
    registry (``worker.fields.FIELDS``), lengths included."""

    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("mail_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("mails.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    attachment: Mapped[str | None] = mapped_column(String(500))
    attachment_path: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), index=True)
    total_count: Mapped[int | None] = mapped_column(Integer)
    total_amount: Mapped[Decimal | None] = mapped_column(Money)
    header_json: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Its documents are being rendered by this owner (worker.owner) until then (migration 0006).
    print_claim: Mapped[str | None] = mapped_column(String(255))
    print_claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)

    mail: Mapped[Mail] = relationship(back_populates="applications")
    lines: Mapped[list[ApplicationLine]] = relationship(
        back_populates="application", order_by="ApplicationLine.position",
        cascade="all, delete-orphan",
    )
    reasons: Mapped[list[Reason]] = relationship(
        back_populates="application", order_by="Reason.id", cascade="all, delete-orphan"
    )
    invoices: Mapped[list[Invoice]] = relationship(
        back_populates="application", order_by="Invoice.id"
    )
    # The live parcel: a returned one that staff re-shipped is replaced by a new row
    # (``Shipment.replaced_by_id``) and stays for the record (migration 0009).
    shipment: Mapped[Shipment | None] = relationship(
        back_populates="application",
        primaryjoin="and_(Application.id == Shipment.application_id, "
                    "Shipment.replaced_by_id.is_(None))")


class ApplicationLine(Base):
    __tablename__ = "application_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    row: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(LINE_TEXT_LENGTHS["name"]), default="")
    id_number: Mapped[str] = mapped_column(String(LINE_TEXT_LENGTHS["id_number"]), default="", index=True)
    order_no: Mapped[str] = mapped_column(String(LINE_TEXT_LENGTHS["order_no"]), default="", index=True)
    year: Mapped[int | None] = mapped_column(Integer)
    year_raw: Mapped[str] = mapped_column(String(LINE_TEXT_LENGTHS["year_raw"]), default="")
    amount: Mapped[Decimal | None] = mapped_column(Money)
    amount_raw: Mapped[str] = mapped_column(String(LINE_TEXT_LENGTHS["amount_raw"]), default="")
    dropped: Mapped[bool] = mapped_column(Boolean, default=False)

    application: Mapped[Application] = relationship(back_populates="lines")


class Reason(Base):
    __tablename__ = "reasons"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    line: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")

    application: Mapped[Application] = relationship(back_populates="reasons")


class Invoice(Base):
    """One invoice. Print mode: numbered from the paper stock when issued (state
    ``issued`` at once). Platform mode: planned with a gap-free 发票流水号 (``serial``),
    ``number`` NULL until the platform's issued XML brings the official 20-digit number
    (``code`` is then empty: a 数电票 has no 发票代码). See ``InvoiceState``."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("code", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    number: Mapped[str | None] = mapped_column(String(20))
    serial: Mapped[str | None] = mapped_column(String(20), unique=True)    # 发票流水号
    state: Mapped[str] = mapped_column(String(16), index=True, default=InvoiceState.ISSUED)
    export_id: Mapped[int | None] = mapped_column(ForeignKey("tax_exports.id"), index=True)
    platform_issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # 开票日期 on the platform
    failure: Mapped[str | None] = mapped_column(Text)                       # the platform's words
    xml_path: Mapped[str | None] = mapped_column(String(500))               # issued files, as received
    ofd_path: Mapped[str | None] = mapped_column(String(500))
    platform_pdf_path: Mapped[str | None] = mapped_column(String(500))
    xml_digest: Mapped[str | None] = mapped_column(String(64), unique=True)  # sha256: same file twice
    invoice_type: Mapped[str] = mapped_column(String(32))
    buyer_name: Mapped[str] = mapped_column(String(255))
    tax_id: Mapped[str] = mapped_column(String(64))
    address_phone: Mapped[str] = mapped_column(String(500), default="")
    bank_account: Mapped[str] = mapped_column(String(500), default="")
    amount: Mapped[Decimal] = mapped_column(Money)     # total incl. tax
    net: Mapped[Decimal] = mapped_column(Money)        # total excl. tax
    tax: Mapped[Decimal] = mapped_column(Money)
    tax_rate: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    pdf_path: Mapped[str | None] = mapped_column(String(500))
    # The seller facts printed on it (worker.issuing.facts.SellerFacts); NULL only for
    # invoices issued before migration 0003, which fall back to today's config.
    seller_json: Mapped[str | None] = mapped_column(Text)
    # 开票人: the staff member who approved it, or invoice.issuer for automatic issues
    # (null on invoices issued before this column: the config value of that time)
    issuer: Mapped[str | None] = mapped_column(String(64))

    application: Mapped[Application] = relationship(back_populates="invoices")
    items: Mapped[list[InvoiceItem]] = relationship(
        back_populates="invoice", order_by="InvoiceItem.position", cascade="all, delete-orphan"
    )

    @property
    def reference(self) -> str:
        """How staff and the console name it: its number, or until the platform issues
        it (number NULL) ``流水号 <serial>``."""
        if self.number:
            return self.number
        return f"流水号 {self.serial}" if self.serial else f"#{self.id}"


class InvoiceItem(Base):
    """One paid order on an invoice. ``order_no`` is unique among *active* items (a
    partial unique index): never on two live invoices, but free again once its invoice
    failed on the platform or was reversed (红冲), when ``active`` is cleared."""

    __tablename__ = "invoice_items"
    __table_args__ = (
        Index("uq_invoice_items_active_order", "order_no", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    order_no: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money)
    net: Mapped[Decimal] = mapped_column(Money)
    tax: Mapped[Decimal] = mapped_column(Money)

    invoice: Mapped[Invoice] = relationship(back_populates="items")


class TaxExport(Base):
    """One ``tax export``: the batch-issuing workbook(s) handed to the platform, who made
    them and when; each exported invoice points here (``Invoice.export_id``)."""

    __tablename__ = "tax_exports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))         # staff name, or "cli"
    invoices: Mapped[int] = mapped_column(Integer, default=0)
    files: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of paths
    template: Mapped[str | None] = mapped_column(String(255))  # official template used, if any


class TaxImport(Base):
    """One ``tax import``: what came back from the platform and what became of it."""

    __tablename__ = "tax_imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    sources: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of file names
    issued: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    unmatched: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    unreadable: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of {source, outcome, detail}


class InvoiceReversal(Base):
    """红冲: an issued invoice reversed on the platform with a 红字确认单. Recorded by staff;
    the red-letter invoice's own number arrives later with its XML (``tax import``)."""

    __tablename__ = "invoice_reversals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)
    confirmation_no: Mapped[str] = mapped_column(String(64))   # 红字确认单编号
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    red_number: Mapped[str | None] = mapped_column(String(20), unique=True)  # 红字发票号码
    red_xml_path: Mapped[str | None] = mapped_column(String(500))


class Manifest(Base):
    __tablename__ = "manifests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    parcels: Mapped[int] = mapped_column(Integer, default=0)
    postage_total: Mapped[Decimal] = mapped_column(Money, default=0)
    xlsx_path: Mapped[str | None] = mapped_column(String(500))
    pdf_path: Mapped[str | None] = mapped_column(String(500))
    emailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The pickup booked with an API provider for its parcels (worker.courier.pickup,
    # migration 0009): the window asked for, the provider's booking, or why not yet.
    pickup_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pickup_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pickup_ref: Mapped[str | None] = mapped_column(String(64))
    pickup_booked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pickup_error: Mapped[str | None] = mapped_column(Text)
    # Its courier (worker.issuing.facts.CourierFacts): one manifest per courier; NULL
    # only for manifests made before migration 0003 (read with today's config).
    courier_json: Mapped[str | None] = mapped_column(Text)


class Shipment(Base):
    """One live parcel per accepted application (a partial unique index: a re-shipped
    parcel's row stays, replaced); on exactly one manifest once picked up.

    Its waybill comes from the pool counter in the issuing transaction, or from an API
    provider after it (``worker/courier/``): NULL while ``status`` is "to order", the
    order sent with ``reference`` as the provider's idempotency key (migration 0009)."""

    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    waybill: Mapped[str | None] = mapped_column(String(64), unique=True)
    recipient: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(500))
    district: Mapped[str] = mapped_column(String(32))
    pieces: Mapped[int] = mapped_column(Integer, default=1)
    invoices: Mapped[int] = mapped_column(Integer, default=0)
    weight_grams: Mapped[int] = mapped_column(Integer)
    postage_due: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    label_pdf: Mapped[str | None] = mapped_column(String(500))
    manifest_id: Mapped[int | None] = mapped_column(ForeignKey("manifests.id"), index=True)
    # The courier facts it was made with (worker.issuing.facts.CourierFacts); NULL only
    # for parcels made before migration 0003, which fall back to today's config.
    courier_json: Mapped[str | None] = mapped_column(Text)
    # The waybill provider and the parcel's way (worker.courier, migration 0009).
    provider: Mapped[str] = mapped_column(String(16), default="pool", server_default="pool")
    reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="ordered", server_default="ordered",
                                        index=True)
    order_tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    order_error: Mapped[str | None] = mapped_column(Text)       # why it waits (for staff)
    next_try_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # one orderer at a time
    claim_owner: Mapped[str | None] = mapped_column(String(255))        # worker.owner token
    estimated_fee: Mapped[Decimal | None] = mapped_column(Money)  # the provider's estimate
    route_codes: Mapped[str | None] = mapped_column(Text)         # JSON: what our label prints
    provider_label: Mapped[str | None] = mapped_column(String(500))  # the provider's PDF, stored
    tracked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    tracking_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))

    application: Mapped[Application] = relationship(back_populates="shipment")


Index("ix_applications_district_status", Application.district, Application.status)
Index("uq_shipments_live_application", Shipment.application_id, unique=True,
      sqlite_where=text("replaced_by_id IS NULL"), postgresql_where=text("replaced_by_id IS NULL"))


class Staff(Base):
    """A console account; the password is stored only as a salted slow hash."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # accounts
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LoginAttempt(Base):
    """Every login try, for throttling by name, by address and by known device.

    ``throttled`` marks a try refused unchecked because its name, address or device
    was still waiting (it never lengthens the wait); ``device`` is the id of the
    browser's device cookie when it presented one valid for this name (see
    ``worker.staff.login``)."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    throttled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    device: Mapped[str | None] = mapped_column(String(32))


class ConsoleSession(Base):
    """A console login, server-side: the browser's cookie holds only a random token,
    stored here as its SHA-256 so a copy of the database opens no session. A session
    is live while ``ended_at`` is empty, ``expires_at`` is ahead, the account is
    active and its password unchanged (``password_fp``)."""

    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    password_fp: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_reason: Mapped[str] = mapped_column(String(32), default="")


class AuditEntry(Base):
    """Who did what, when, to which application; ``changes`` is JSON (field: [old, new])."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor: Mapped[str] = mapped_column(String(64))        # staff name, or "worker"
    action: Mapped[str] = mapped_column(String(64))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    changes: Mapped[str] = mapped_column(Text, default="{}")
    note: Mapped[str] = mapped_column(Text, default="")


class OutboxMessage(Base):
    """Mail to send (replies, manifests): queued in the transaction that decided it,
    sent later with retries, each exactly once (``key`` is unique)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mails.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    # Rows queued before migration 0011: the whole RFC 5322 message, sent as it is.
    message: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Since 0011 the message is built when sent (worker.replies.draft): its plain-text
    # body, and its other parts (headers' values, attachments' paths) as JSON.
    body: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(255))   # who is sending (worker.owner)


class JobRun(Base):
    """One run of a job (a mail pass, the pickup close-out, a reply send): when it
    started and ended, what it did (``counts``, JSON) and the error that stopped or
    spoiled it (``error_kind`` mailbox, smtp, storage, render or other). ``status``
    and the console's dashboard read these; a run never finished has no ``finished_at``."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(32))          # worker.health.runs.Job
    trigger: Mapped[str] = mapped_column(String(32))      # scheduler, cli
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    counts: Mapped[str] = mapped_column(Text, default="{}")
    error_kind: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
