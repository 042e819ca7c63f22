"""Closing out a pickup: claim every unmanifested parcel, write the files, mail them.

1. **Claim** (one transaction): the parcels with ``manifest_id IS NULL`` (and, in
   platform mode, their invoices issued: ``_ready``) get a new
   manifest per courier they were made with (``Shipment.courier_json``: after a change
   of courier in config, the old courier's parcels still go on a manifest mailed to the
   old courier), and its xlsx + PDF are written before the commit. On PostgreSQL the rows
   are taken ``FOR UPDATE SKIP LOCKED``, so two close-outs at once split the parcels
   and never share one; on SQLite a close-out's claim and its mail (step 2) run under
   the senders' lock file, one close-out at a time. A parcel is on exactly one manifest
   whatever fails later.
2. **Send** (``send.py``): this manifest and any earlier one whose mail failed, or
   whose process died after step 1, are mailed and stamped ``emailed_at``. A re-send
   never creates a manifest or moves a parcel.
3. **Book** the pickup with an API provider (``worker.courier.pickup``): the next
   working day after the close-out, in ``[courier.pickup]``'s window; a manifest not
   booked (provider down) is booked by the next close-out. The pool books nothing:
   the manifest mailed to the courier is the request.

A parcel still waiting for its waybill (an API provider's, "to order") is left for
a later close-out: it has nothing to hand over yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.courier.factory import provider_for
from worker.courier.pickup import Booked, book_pickups
from worker.db.models import Application, Invoice, Manifest, Shipment
from worker.db.types import utcnow
from worker.errors import SmtpError, StorageError
from worker.issuing.facts import CourierFacts, courier_of
from worker.mailer import Mailer
from worker.manifest.files import write_files
from worker.manifest.locking import is_postgres, skip_locked
from worker.manifest.send import send_pending, sending_lock
from worker.manifest.sheet import build_sheet
from worker.status import PARCEL_WAITING, ApplicationStatus, InvoiceState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OtherManifest:
    """A manifest this run made for parcels of another courier than the first one's."""

    manifest_id: int
    courier: str
    parcels: int
    xlsx: Path
    pdf: Path
    emailed: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"manifest": self.manifest_id, "courier": self.courier,
                "parcels": self.parcels, "xlsx": str(self.xlsx), "pdf": str(self.pdf),
                "emailed": self.emailed}


@dataclass(frozen=True)
class ManifestResult:
    parcels: int
    xlsx: Path | None
    pdf: Path | None
    manifest_id: int | None
    emailed: str | None = None
    """Where this run's new manifest went: "smtp", an .eml path, or None (not sent)."""
    resent: tuple[int, ...] = ()
    """Earlier manifests whose mail had failed and went out in this run."""
    error: SmtpError | None = None
    """Why some manifest is still unsent (``unsent``); the next run tries again."""
    unsent: tuple[int, ...] = ()
    pickups: tuple[Booked, ...] = ()
    """Pickups booked (or still not) with an API provider in this run."""
    others: tuple[OtherManifest, ...] = ()
    """Only when waiting parcels were made for several couriers: one manifest each; the
    fields above describe the first (the oldest parcel's courier)."""

    def as_json(self) -> dict[str, Any]:
        """SPEC §5's three keys first, then ours."""
        data: dict[str, Any] = {
            "parcels": self.parcels,
            "xlsx": None if self.xlsx is None else str(self.xlsx),
            "pdf": None if self.pdf is None else str(self.pdf),
            "manifest": self.manifest_id,
            "emailed": self.emailed,
            "resent": list(self.resent),
        }
        if self.others:
            data["others"] = [other.as_json() for other in self.others]
        if self.pickups:
            data["pickups"] = [booked.as_json() for booked in self.pickups]
        if self.error is not None:
            data["unsent"] = list(self.unsent)
            data["error"] = str(self.error)
        return data


def close_out(sessions: sessionmaker[Session], config: Config, mailer: Mailer,
              *, now: datetime | None = None) -> ManifestResult:
    """Claim and write today's manifest (if any parcel waits), then mail every unsent one.

    An SMTP failure is returned in the result, not raised: the manifest is committed
    and the caller reports it; database and file failures raise ``StorageError``.
    """
    try:
        with sessions() as session:
            postgres = is_postgres(session)
        # SQLite: the claim and its mail under the senders' lock, so another close-out
        # (which finds nothing left to claim) cannot mail this run's manifest meanwhile
        # and leave this run reporting it unsent. PostgreSQL claims with SKIP LOCKED.
        with sending_lock(config, postgres):
            claimed = _claim(sessions, config, now or utcnow())
            out = send_pending(sessions, config, mailer, locked=True)
        pickups = tuple(book_pickups(sessions, config, provider_for(config), now=now))
    except OperationalError as e:
        raise StorageError(f"database unavailable: {e.orig or e}") from e
    except SQLAlchemyError as e:
        raise StorageError(f"database error: {e}") from e
    if not claimed:
        return ManifestResult(0, None, None, None, resent=tuple(out.sent), error=out.error,
                              unsent=out.unsent, pickups=pickups)
    (first_id, parcels, xlsx, pdf, _courier), *rest = claimed
    made = {c[0] for c in claimed}
    return ManifestResult(
        parcels, config.output_dir / xlsx, config.output_dir / pdf, first_id,
        emailed=out.sent.get(first_id),
        resent=tuple(m for m in out.sent if m not in made),
        error=out.error, unsent=out.unsent, pickups=pickups,
        others=tuple(OtherManifest(m, courier, n, config.output_dir / x, config.output_dir / p,
                                   emailed=out.sent.get(m))
                     for m, n, x, p, courier in rest),
    )


def _claim(sessions: sessionmaker[Session], config: Config, now: datetime,
           ) -> list[tuple[int, int, str, str, str]]:
    """(manifest id, parcels, xlsx, pdf, courier) per manifest made, oldest parcel's first."""
    with sessions.begin() as session:
        query = select(Shipment).where(Shipment.manifest_id.is_(None), Shipment.waybill.is_not(None),
                                       Shipment.status.not_in(PARCEL_WAITING), _ready()).order_by(Shipment.id)
        shipments = list(session.scalars(skip_locked(session, query)))
        if not shipments:
            log.info("manifest: no parcels waiting")
            return []
        by_courier: dict[CourierFacts, list[Shipment]] = {}
        for shipment in shipments:  # dicts keep insertion order: oldest parcel's courier first
            by_courier.setdefault(courier_of(shipment.courier_json, config), []).append(shipment)
        return [_make(session, config, now, courier, group)
                for courier, group in by_courier.items()]


def _ready() -> ColumnElement[bool]:
    """A parcel goes on a manifest once its envelope can be filled: its application is
    accepted and none of its invoices waits for the tax platform (platform mode, issue
    8; in print mode every invoice is issued at once, so this is every parcel)."""
    waiting = select(Invoice.application_id).where(
        Invoice.state.in_((InvoiceState.PLANNED, InvoiceState.EXPORTED)))
    accepted = select(Application.id).where(Application.status == ApplicationStatus.ACCEPTED)
    return and_(Shipment.application_id.in_(accepted), Shipment.application_id.not_in(waiting))


def _make(session: Session, config: Config, now: datetime, courier: CourierFacts,
          shipments: list[Shipment]) -> tuple[int, int, str, str, str]:
    manifest = Manifest(
        created_at=now,
        parcels=len(shipments),
        postage_total=sum((s.postage_due for s in shipments), Decimal("0.00")),
        courier_json=courier.to_json(),
    )
    session.add(manifest)
    session.flush()
    for shipment in shipments:
        shipment.manifest_id = manifest.id
    sheet = build_sheet(manifest, shipments, config)
    manifest.xlsx_path, manifest.pdf_path = write_files(sheet, config.output_dir)
    log.info("manifest %d (%s): %d parcels, 到付 %s 元", manifest.id, courier.name,
             len(shipments), manifest.postage_total)
    return manifest.id, len(shipments), manifest.xlsx_path, manifest.pdf_path, courier.name
