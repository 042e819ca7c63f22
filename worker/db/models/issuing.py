"""What is issued: gap-free counters, invoices and their items, the tax platform's
exports, imports and reversals (红冲), parcels and the pickup manifests they go on."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from worker.db.models.base import Base
from worker.db.types import Money, String, Text, UtcDateTime, utcnow
from worker.status import InvoiceState

if TYPE_CHECKING:
    from worker.db.models.mail import Application


class Counter(Base):
    """Gap-free sequences (invoice numbers, waybills): updated in the issuing transaction."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)


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


Index("uq_shipments_live_application", Shipment.application_id, unique=True,
      sqlite_where=text("replaced_by_id IS NULL"), postgresql_where=text("replaced_by_id IS NULL"))

