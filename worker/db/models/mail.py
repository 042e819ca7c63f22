"""What comes in: the training platform's payment records, and each mail with its
applications, their trainee lines and the reasons they are held (``worker.intake``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from worker.db.models.base import Base

# String and Text are ours: every text bound to a column is made storable there (NUL,
# lone surrogates, over-long values; see worker.db.types.String), one place for all.
from worker.db.types import Money, String, Text, UtcDateTime, utcnow
from worker.fields import FIELDS, LINE_TEXT_LENGTHS

if TYPE_CHECKING:
    from worker.db.models.issuing import Invoice, Shipment


def _field_columns() -> type:
    """A mixin with one column per field of the registry (``worker.fields``): text of the
    field's length, '' by default. Adding a field there adds its column here; its
    migration is still written by hand (``tests/core/test_fields.py`` checks the model)."""
    return type("FieldColumns", (), {
        "__doc__": _field_columns.__doc__,
        **{f.key: mapped_column(String(f.length), default="") for f in FIELDS},
    })


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
    # SHA-256s that tell a copy of this mail from another mail reusing its Message-ID
    # (worker.message.model.Digests, same_mail): of what it says (NULL: too large to
    # read, or stored before 0014) and of its sender, subject and Date (NULL: before 0015).
    # Indexed: a copy a relay gave a Message-ID is found by it (intake.copies.relayed_copies).
    content_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    envelope_digest: Mapped[str | None] = mapped_column(String(64))
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
    # The stored copy's name (``StoredAttachment.name``); before migration 0013, a file
    # under ``[output] dir`` by the same name.
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


class StoredAttachment(Base):
    """An application's attachment as it came in, kept once per content (migration 0013).

    ``name`` is content-addressed, ``attachments/<2 hex digits>/<SHA-256><suffix>``
    (``worker.intake.record.attachment_name``; the suffix is a safe one, never the
    mail's own name), and is what ``Application.attachment_path`` holds: the same bytes
    sent twice are one row. Stored in the intake transaction with the application that
    names it, so neither is ever committed without the other, and backed up with the
    database. Rows stored before migration 0013 name a file under ``[output] dir``
    instead (``worker.console.application.attachment`` serves both)."""

    __tablename__ = "stored_attachments"
    name: Mapped[str] = mapped_column(String(500), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)  # bytes
    data: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApplicationLine(Base):
    __tablename__ = "application_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    row: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(LINE_TEXT_LENGTHS["name"]), default="")
    # Not indexed: no query could use an index on either (migration 0012), and each
    # intake commit would rewrite most of its pages (random keys).
    id_number: Mapped[str] = mapped_column(String(LINE_TEXT_LENGTHS["id_number"]), default="")
    order_no: Mapped[str] = mapped_column(String(LINE_TEXT_LENGTHS["order_no"]), default="")
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


Index("ix_applications_district_status", Application.district, Application.status)
