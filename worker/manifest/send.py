"""Mailing manifests to the courier: every manifest with ``emailed_at IS NULL``, oldest
first, stamped once the mail is handed over.

Two runs never send the same manifest. PostgreSQL: the row stays locked while its mail
is sent, and the other run skips it. SQLite: its only lock is the whole database, which
must not wait on an SMTP server, so senders queue on a lock file in the output folder
instead (SQLite means one machine) and the database sees two short transactions.

At least once, not exactly once: a crash between the server's OK and the stamp sends
the manifest again next run, with the same Message-ID (derived from the manifest).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.db.models import Manifest, Shipment
from worker.db.types import utcnow
from worker.errors import SmtpError
from worker.mailer import Mailer
from worker.manifest.files import files_of
from worker.manifest.locking import file_lock, is_postgres, skip_locked
from worker.manifest.mail import manifest_message
from worker.manifest.sheet import build_sheet

log = logging.getLogger(__name__)

LOCK_FILE = ".manifests.lock"


@dataclass(frozen=True)
class Sent:
    sent: dict[int, str]
    """manifest id -> where its mail went ("smtp" or an .eml path)."""
    error: SmtpError | None = None
    unsent: tuple[int, ...] = ()


def send_pending(sessions: sessionmaker[Session], config: Config, mailer: Mailer,
                 *, locked: bool = False) -> Sent:
    """Mail every unsent manifest; stop at the first SMTP failure (the rest would fail too).
    ``locked``: the caller holds ``sending_lock`` already (a close-out, from its claim on)."""
    with sessions() as session:
        postgres = is_postgres(session)
        if session.scalar(select(Manifest.id).where(Manifest.emailed_at.is_(None)).limit(1)) is None:
            return Sent({})
    sent: dict[int, str] = {}
    with nullcontext() if locked else sending_lock(config, postgres):
        while True:
            number: int | None = None
            try:
                with sessions.begin() as session:
                    picked = _next_unsent(session, config)
                    if picked is None:
                        return Sent(sent)
                    manifest, msg = picked
                    number, to = manifest.id, str(msg["To"])
                    if postgres:  # sent while the row is locked
                        where = mailer.send(msg)
                        manifest.emailed_at = utcnow()
                if not postgres:  # sent under the file lock, outside any transaction
                    where = mailer.send(msg)
                    with sessions.begin() as session:
                        session.execute(update(Manifest).where(Manifest.id == number)
                                        .values(emailed_at=utcnow()))
            except SmtpError as e:
                log.error("manifest %s is written but not mailed; the next run sends it: %s",
                          number, e)
                return Sent(sent, e, _unsent(sessions))
            sent[number] = where
            log.info("manifest %d mailed to %s (%s)", number, to, where)


def sending_lock(config: Config, postgres: bool) -> AbstractContextManager[None]:
    """SQLite's senders' queue (the lock file); PostgreSQL needs none (row locks)."""
    return nullcontext() if postgres else file_lock(config.output_dir / LOCK_FILE)


def _next_unsent(session: Session, config: Config) -> tuple[Manifest, EmailMessage] | None:
    query = select(Manifest).where(Manifest.emailed_at.is_(None)).order_by(Manifest.id).limit(1)
    manifest = session.scalars(skip_locked(session, query)).first()
    if manifest is None:
        return None
    shipments = session.scalars(
        select(Shipment).where(Shipment.manifest_id == manifest.id).order_by(Shipment.id)).all()
    sheet = build_sheet(manifest, list(shipments), config)
    xlsx, pdf = files_of(manifest, sheet, config.output_dir)
    return manifest, manifest_message(sheet, xlsx, pdf, config)


def _unsent(sessions: sessionmaker[Session]) -> tuple[int, ...]:
    with sessions() as session:
        return tuple(session.scalars(
            select(Manifest.id).where(Manifest.emailed_at.is_(None)).order_by(Manifest.id)))
