"""Closing out a pickup: claim every unmanifested parcel, write the files, mail them.

1. **Claim** (one transaction): the parcels with ``manifest_id IS NULL`` get a new
   manifest, and its xlsx + PDF are written before the commit. On PostgreSQL the rows
   are taken ``FOR UPDATE SKIP LOCKED``, so two close-outs at once split the parcels
   and never share one; SQLite's ``BEGIN IMMEDIATE`` serialises them. A parcel is on
   exactly one manifest whatever fails later.
2. **Send** (``send.py``): this manifest and any earlier one whose mail failed, or
   whose process died after step 1, are mailed and stamped ``emailed_at``. A re-send
   never creates a manifest or moves a parcel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.db.models import Manifest, Shipment
from worker.db.types import utcnow
from worker.errors import SmtpError, StorageError
from worker.mailer import Mailer
from worker.manifest.files import write_files
from worker.manifest.locking import skip_locked
from worker.manifest.send import send_pending
from worker.manifest.sheet import build_sheet

log = logging.getLogger(__name__)


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
        claimed = _claim(sessions, config, now or utcnow())
        out = send_pending(sessions, config, mailer)
    except OperationalError as e:
        raise StorageError(f"database unavailable: {e.orig or e}") from e
    except SQLAlchemyError as e:
        raise StorageError(f"database error: {e}") from e
    if claimed is None:
        return ManifestResult(0, None, None, None, resent=tuple(out.sent), error=out.error,
                              unsent=out.unsent)
    manifest_id, parcels, xlsx, pdf = claimed
    return ManifestResult(
        parcels, config.output_dir / xlsx, config.output_dir / pdf, manifest_id,
        emailed=out.sent.get(manifest_id),
        resent=tuple(m for m in out.sent if m != manifest_id),
        error=out.error, unsent=out.unsent,
    )


def _claim(sessions: sessionmaker[Session], config: Config, now: datetime,
           ) -> tuple[int, int, str, str] | None:
    with sessions.begin() as session:
        query = select(Shipment).where(Shipment.manifest_id.is_(None)).order_by(Shipment.id)
        shipments = list(session.scalars(skip_locked(session, query)))
        if not shipments:
            log.info("manifest: no parcels waiting")
            return None
        manifest = Manifest(
            created_at=now,
            parcels=len(shipments),
            postage_total=sum((s.postage_due for s in shipments), Decimal("0.00")),
        )
        session.add(manifest)
        session.flush()
        for shipment in shipments:
            shipment.manifest_id = manifest.id
        sheet = build_sheet(manifest, shipments, config)
        manifest.xlsx_path, manifest.pdf_path = write_files(sheet, config.output_dir)
        log.info("manifest %d: %d parcels, 到付 %s 元", manifest.id, len(shipments),
                 manifest.postage_total)
        return manifest.id, len(shipments), manifest.xlsx_path, manifest.pdf_path
