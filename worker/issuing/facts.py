"""The seller and courier facts a document was issued with, stored with its row.

An invoice prints the seller (name, 纳税人识别号, 地址电话, 开户行及账号), the people who
sign it (开票人, 收款人, 复核) and the goods line's name and unit; a label and a manifest
print the courier and the sender block, and a manifest is mailed to that courier. All of
these come from config, and config changes (next year's programme, a new courier). So
``issue`` stores a snapshot of them on each ``Invoice`` (``seller_json``) and
``Shipment`` (``courier_json``), and a manifest stores its courier's (``courier_json``);
documents, manifests and reprints read the snapshot, never today's config. A reprint
then reads exactly as the batch did, and parcels made for two couriers coexist.

Why one JSON column per row rather than a column per fact: the facts are written once,
in the issuing INSERT, never updated and never queried one by one -- they are printed
together. One column keeps the snapshot in the same row (no lookup table, no race on
inserting a shared profile), and a fact added next year is a field here, not a
migration. The dataclasses below are the one place each snapshot's shape is defined;
``from_json`` rejects a stored snapshot that lacks one of their fields.

Rows written before migration 0003 have NULL there. A migration cannot know the config
those documents were printed with, so ``seller_of``/``courier_of`` fall back to today's
config for them, and only for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, Self

from worker.config import Config
from worker.errors import StorageError


class _Facts:
    """JSON in and out for the frozen dataclasses below."""

    def to_json(self) -> str:
        return _json(self)

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Raises ``StorageError`` if the stored snapshot is not one of ours."""
        try:
            data: Any = json.loads(text)
            names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
            if not isinstance(data, dict) or any(not isinstance(data.get(n), str) for n in names):
                raise ValueError(f"expected string fields {', '.join(names)}")
            return cls(**{n: data[n] for n in names})
        except ValueError as e:
            raise StorageError(f"stored {cls.__name__} snapshot unreadable: {e}") from e


@lru_cache(maxsize=16)
def _json(facts: _Facts) -> str:
    """Every application intake plans writes a snapshot, nearly always of the same
    config, so the text of a (frozen, hashable) snapshot is kept. Every field is a str
    (``from_json`` insists): the instance's own attributes are the snapshot, without
    ``asdict``'s recursive deep copy."""
    return json.dumps(vars(facts), ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class SellerFacts(_Facts):
    """What an invoice prints besides the buyer and the amounts (``[seller]``, and
    ``[invoice]``'s signers and goods line). The 发票代码 and tax rate have their own
    columns on ``invoices``."""

    name: str
    tax_id: str
    address_phone: str
    bank_account: str
    issuer: str          # 开票人
    payee: str           # 收款人 (may be empty)
    reviewer: str        # 复核 (may be empty)
    item_name: str       # *教育服务*培训费
    unit: str            # 人

    @classmethod
    def from_config(cls, config: Config) -> SellerFacts:
        s, inv = config.seller, config.invoice
        return cls(name=s.name, tax_id=s.tax_id, address_phone=s.address_phone,
                   bank_account=s.bank_account, issuer=inv.issuer, payee=inv.payee,
                   reviewer=inv.reviewer, item_name=inv.item_name, unit=inv.unit)


@dataclass(frozen=True)
class CourierFacts(_Facts):
    """Who carries a parcel and who sends it (``[courier]``): what a label and a manifest
    print, and where the manifest is mailed. The waybill, weight and postage due (the
    rate table's estimate) are stored on the shipment itself."""

    name: str
    email: str
    sender_name: str
    sender_phone: str
    sender_address: str

    @classmethod
    def from_config(cls, config: Config) -> CourierFacts:
        c = config.courier
        return cls(name=c.name, email=c.email, sender_name=c.sender_name,
                   sender_phone=c.sender_phone, sender_address=c.sender_address)


def seller_of(stored: str | None, config: Config) -> SellerFacts:
    """An invoice's seller facts; ``stored`` NULL only for invoices issued before
    migration 0003, which are read with today's config (nothing better is known)."""
    return SellerFacts.from_config(config) if stored is None else SellerFacts.from_json(stored)


def courier_of(stored: str | None, config: Config) -> CourierFacts:
    """A parcel's or manifest's courier facts; NULL (made before migration 0003) reads
    today's config."""
    return CourierFacts.from_config(config) if stored is None else CourierFacts.from_json(stored)
