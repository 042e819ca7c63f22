"""Which documents are due for printing, and which pass prints them: the database side
of the print batches (``worker.documents.batch`` runs them).

Pending means ``Invoice.pdf_path`` / ``Shipment.label_pdf`` is NULL on an accepted
application, so a crash after issuing and before rendering is healed by the next run.

Platform mode (issue 8): our own invoice page is not a legal fapiao, so it is never
printed for an invoice with a 发票流水号. Such an invoice is pending once the platform
issued it and its PDF was imported (``tax import``); the batch's ``invoices.pdf`` is
then the platform's own PDFs merged in parcel order (pypdf), so staff print one file
as before. A parcel's label waits until every live invoice of its application is
issued with its PDF (and the application is accepted: a failed row puts it back to
held), so no envelope leaves half-filled. With ``delivery = "email"`` there is no
parcel and nothing to print: the files go with the reply.

Claims (issue 10 item 8): a short transaction claims a batch's applications
(``Application.print_claim`` = an owner token, see ``worker.owner``, until
``CLAIM_LEASE`` from now), so a second pass at the same time renders other documents
or none, never the same ones. A claim whose owner process is gone (same machine) or
whose time is over is free again at once. The claimed documents are read as plain data
(``AppDocuments``) for the render process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from worker.config import Config
from worker.db.models import Application, Invoice, Shipment
from worker.documents.files import AppDocuments
from worker.documents.invoice import invoice_view
from worker.documents.label import label_view
from worker.owner import owner_gone
from worker.status import PARCEL_WAITING, ApplicationStatus, InvoiceState

log = logging.getLogger(__name__)

CLAIM_CHUNK = 500  # ids per UPDATE ... IN (...): well under every backend's limit
CLAIM_LEASE = timedelta(minutes=30)
"""How long a claim holds against workers on other machines (a dead owner on this one
frees it at once): well above a capped batch's rendering time."""


def with_documents(query):  # type: ignore[no-untyped-def]
    """``query`` (a select of ``Application``) loading its invoices, their items and
    its live parcel at once, as ``documents_of`` reads them."""
    return query.options(
        selectinload(Application.invoices).selectinload(Invoice.items),
        selectinload(Application.shipment),
    )


def _pending_apps(session: Session, config: Config,
                  where: ColumnElement[bool]) -> list[Application]:
    """Accepted applications with documents to print, matching ``where``, in parcel
    order, capped at ``max_invoices_per_batch`` pending invoices (whole applications)."""
    unprinted = select(Invoice.application_id).where(Invoice.pdf_path.is_(None), _printable())
    unlabelled = select(Shipment.application_id).where(Shipment.label_pdf.is_(None),
                                                       Shipment.replaced_by_id.is_(None))
    # A parcel whose waybill (or provider label) is still to come waits, and so do its
    # invoices: they are printed side by side once it is there (worker.courier.ordering).
    waiting = select(Shipment.application_id).where(Shipment.status.in_(PARCEL_WAITING),
                                                    Shipment.replaced_by_id.is_(None))
    # Platform mode: an application prints once every live invoice is issued and its
    # PDF from the platform is in (worker.taxflow).
    not_ready = select(Invoice.application_id).where(or_(
        Invoice.state.in_((InvoiceState.PLANNED, InvoiceState.EXPORTED)),
        and_(Invoice.state == InvoiceState.ISSUED, Invoice.serial.is_not(None),
             Invoice.platform_pdf_path.is_(None))))
    apps = session.scalars(with_documents(select(Application)).where(
        Application.status == ApplicationStatus.ACCEPTED,
        or_(Application.id.in_(unprinted), Application.id.in_(unlabelled)),
        Application.id.not_in(waiting),
        Application.id.not_in(not_ready),
        where,
    )).all()
    # Parcel order: the order waybills were taken, i.e. the order the parcels were made.
    apps = sorted(apps, key=lambda a: (a.shipment.id if a.shipment else 2**62, a.id))
    # A batch is one weasyprint document held in memory whole: cap it, whole
    # applications only (a parcel's invoices and label stay in one batch).
    cap = config.documents.max_invoices_per_batch
    chosen: list[Application] = []
    count = 0
    for app in apps:
        pending = sum(inv.pdf_path is None and _prints(inv) for inv in app.invoices)
        if chosen and count + pending > cap:
            break
        chosen.append(app)
        count += pending
    return chosen


def _printable() -> ColumnElement[bool]:
    """An invoice that is printed: issued, and ours (print mode) or the platform's PDF
    of a parcel's invoice (platform mode, courier delivery)."""
    return and_(Invoice.state == InvoiceState.ISSUED, or_(
        Invoice.serial.is_(None),
        and_(Invoice.platform_pdf_path.is_not(None),
             Invoice.application_id.in_(select(Shipment.application_id)))))


def _prints(inv: Invoice) -> bool:
    """``_printable`` for a loaded invoice of an application with a parcel."""
    return inv.state == InvoiceState.ISSUED and (inv.serial is None or inv.platform_pdf_path is not None)


def pending_documents(session: Session, config: Config, where: ColumnElement[bool]) -> list[AppDocuments]:
    """The next batch's documents among the applications matching ``where`` (those a
    claim holds), in parcel order."""
    return [documents_of(app, config, every=False) for app in _pending_apps(session, config, where)]


def documents_of(app: Application, config: Config, *, every: bool) -> AppDocuments:
    """What the render process prints for ``app`` (loaded ``with_documents``): its
    unprinted invoices and label, or with ``every`` all of them (a reprint)."""
    ship = app.shipment
    invoices = [inv for inv in app.invoices if (every or inv.pdf_path is None)
                and _prints(inv) and (ship is not None or inv.serial is None)]
    label = ship is not None and (every or ship.label_pdf is None)
    return AppDocuments(
        application_id=app.id,
        invoice_ids=tuple(inv.id for inv in invoices),
        invoices=tuple(invoice_view(inv, app, config) for inv in invoices if inv.serial is None),
        platform_pdfs=tuple(config.output_dir / inv.platform_pdf_path for inv in invoices
                            if inv.serial is not None and inv.platform_pdf_path),
        shipment_id=ship.id if label and ship else None,
        label=label_view(ship, app, config) if label and ship else None,
        keys=tuple(f"{inv.code}-{inv.number}" for inv in invoices),
        issued_at=max((inv.issued_at for inv in app.invoices), default=None),
    )


def claim(sessions: sessionmaker[Session], config: Config, owner: str, now: datetime) -> int:
    """Claim the next batch's applications for ``owner``; how many were claimed.

    Free: never claimed, claim time over, or claimed by a process of this machine that
    is gone. The UPDATE repeats the condition, so of two claims at once (PostgreSQL
    re-checks a row another transaction changed; SQLite runs them one after the other)
    only one gets each application."""
    with sessions.begin() as session:
        held = session.scalars(select(Application.print_claim).distinct().where(
            Application.print_claim.is_not(None), Application.print_claimed_until > now))
        dead = [o for o in held if owner_gone(o)]
        if dead:
            log.warning("print claims of %d stopped worker(s) taken over", len(dead))
        free = or_(Application.print_claim.is_(None), Application.print_claimed_until <= now,
                   Application.print_claim.in_(dead))
        ids = [app.id for app in _pending_apps(session, config, free)]
        claimed = 0
        for chunk in chunks(ids):
            claimed += session.execute(
                update(Application).where(Application.id.in_(chunk), free)
                .values(print_claim=owner, print_claimed_until=now + CLAIM_LEASE)
                .execution_options(synchronize_session=False)).rowcount
    return claimed


def release(sessions: sessionmaker[Session], owner: str) -> None:
    """End every claim ``owner`` holds (its own transaction)."""
    with sessions.begin() as session:
        session.execute(update(Application).where(Application.print_claim == owner)
                        .values(print_claim=None, print_claimed_until=None)
                        .execution_options(synchronize_session=False))


def chunks(ids: list[int]) -> Iterable[list[int]]:
    """``ids`` in lists of at most ``CLAIM_CHUNK``, one ``UPDATE ... IN`` each."""
    for k in range(0, len(ids), CLAIM_CHUNK):
        yield ids[k:k + CLAIM_CHUNK]
