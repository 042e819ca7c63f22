"""Print batches: everything issued and not yet printed becomes one invoices PDF and
one labels PDF, in parcel order, so staff stack invoice sheets and labels side by side.

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

Claim, render, record (issue 10 item 8): a short transaction first claims the batch's
applications (``Application.print_claim`` = this process's owner token, see
``worker.owner``, until ``CLAIM_LEASE`` from now), so a second pass at the same time
renders other documents or none, never the same ones. A claim whose owner process is
gone (same machine) or whose time is over is free again at once. Files are then
written (atomically), and one transaction records their paths with a guarded
``UPDATE ... WHERE pdf_path IS NULL``: if another worker still printed the same
documents meanwhile (a claim taken over after its time), its paths stay and ours are
dropped (and an unclaimed batch folder is removed). The claim is released at the end,
whatever happened.

Rendering runs in a child process per batch (issue 12, ``worker.documents.children``),
as many at once as there are cores, at most ``[documents] render_processes``: this
process claims, reads the documents (``AppDocuments``, plain data) and records; the
child only turns them into files (``worker.documents.files``) and never opens the
database. Each batch has its own claim token, so batches in flight at once are claimed
and released independently. This process never imports WeasyPrint, and the memory a
batch took goes back to the system when its child exits. A child that fails, crashes
or is killed records nothing: its folder is removed, its claim released, and the next
run renders the same documents.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from worker.config import Config
from worker.db.models import Application, Invoice, Mail, Shipment
from worker.db.types import utcnow
from worker.documents import children
from worker.documents.files import (
    AppDocuments,
    BatchFiles,
    BatchJob,
    ReprintJob,
    render_batch,
    render_reprint,
)
from worker.documents.invoice import invoice_view
from worker.documents.label import label_view
from worker.documents.render import FetcherFactory
from worker.errors import InfrastructureError, WorkerError
from worker.owner import current_owner, owner_gone
from worker.status import PARCEL_WAITING, ApplicationStatus, InvoiceState

log = logging.getLogger(__name__)

CLAIM_CHUNK = 500  # ids per UPDATE ... IN (...): well under every backend's limit
CLAIM_LEASE = timedelta(minutes=30)
"""How long a claim holds against workers on other machines (a dead owner on this one
frees it at once): well above a capped batch's rendering time."""


class RenderError(InfrastructureError):
    """Raised when a batch cannot be rendered or recorded; the next run retries."""


class NothingToPrint(WorkerError):
    """Raised by ``reprint`` for an application that has no invoices to print."""


@dataclass(frozen=True)
class Batch:
    directory: Path
    invoices_pdf: Path | None
    labels_pdf: Path | None
    invoices: int      # invoices recorded as printed in this batch
    labels: int
    pages: int         # invoice sheets plus list pages


def render_pending(sessions: sessionmaker[Session], config: Config, *,
                   fetcher: FetcherFactory | None = None,
                   now: datetime | None = None) -> Batch | None:
    """Claim, render (in a child process) and record one batch of pending invoices and
    labels (up to the configured size; call again for the rest); None if nothing is
    pending or free. Raises ``RenderError``; ``fetcher`` must be picklable."""
    batches = list(render_batches(sessions, config, fetcher=fetcher, now=now, limit=1))
    return batches[0] if batches else None


def render_batches(sessions: sessionmaker[Session], config: Config, *,
                   fetcher: FetcherFactory | None = None, now: datetime | None = None,
                   limit: int | None = None) -> Iterator[Batch]:
    """Every pending batch (at most ``limit``), each claimed, rendered in its own child
    process and recorded, up to ``children.slots(render_processes)`` at once; yields
    the recorded batches in claim (parcel) order.

    A failure (a child's error or death, the database) stops further claims; the
    batches already rendering are finished and recorded, then ``RenderError`` is
    raised. A failed batch records nothing and keeps nothing: its folder is removed,
    its claim released, and the next run renders it again. If the caller stops early
    (or the parent fails), the children still rendering are killed the same way."""
    width = children.slots(config.documents.render_processes)
    flying: list[_InFlight] = []
    finished: dict[int, Batch | None] = {}
    failure: Exception | None = None
    started = emitted = 0
    more = True
    try:
        while True:
            while more and failure is None and len(flying) < width \
                    and (limit is None or started < limit):
                try:
                    job = _start_next(sessions, config, started, fetcher, now)
                except Exception as e:
                    failure = e
                    break
                if job is None:
                    more = False
                else:
                    flying.append(job)
                    started += 1
            if not flying:
                break
            done = children.wait_any([f.child for f in flying])
            for f in [f for f in flying if f.child in done]:
                flying.remove(f)
                try:
                    finished[f.seq] = _finish(sessions, f)
                except Exception as e:
                    finished[f.seq] = None
                    failure = failure or e
            while emitted in finished:
                batch = finished.pop(emitted)
                emitted += 1
                if batch is not None:
                    yield batch
    finally:
        for f in flying:
            f.child.kill()
            shutil.rmtree(f.directory, ignore_errors=True)
            try:
                _release(sessions, f.owner)
            except Exception:  # the claim then ends with its owner (this process) or its time
                log.exception("print claim %s not released", f.owner)
    if isinstance(failure, RenderError):
        raise failure
    if failure is not None:  # weasyprint, fonts, disk, database: all this step's failure
        raise RenderError(f"print batch not rendered, will retry next run: "
                          f"{_reason(failure)}") from failure


def reprint(sessions: sessionmaker[Session], config: Config, application_id: int,
            out_dir: Path, *, fetcher: FetcherFactory | None = None) -> tuple[Path, Path]:
    """Render one application's invoices and label again, into ``out_dir`` (in a child
    process, like a batch; ``RenderError`` if it fails there).

    Made from the stored rows only, so the pages read exactly as in the batch, and
    reprinting twice gives the same bytes. The recorded batch paths are not touched.
    """
    with sessions() as session:
        app = session.scalars(_with_documents(select(Application))
                              .where(Application.id == application_id)).one_or_none()
        if app is None:
            raise NothingToPrint(f"no application {application_id}")
        if app.status != ApplicationStatus.ACCEPTED or not app.invoices or app.shipment is None:
            raise NothingToPrint(f"application {application_id} is {app.status}: "
                                 "nothing was issued for it")
        if app.shipment.status in PARCEL_WAITING:
            raise NothingToPrint(f"application {application_id}: its parcel is still waiting "
                                 "for the courier's waybill")
        doc = _documents(app, config, every=True)
    assert doc.label is not None
    job = ReprintJob(doc, out_dir / f"application-{application_id}", fetcher)
    try:
        invoices, labels = children.run(render_reprint, job)
    except children.ChildFailed as e:
        raise RenderError(f"application {application_id} not reprinted: {e}") from e
    return invoices, labels


def applications_of(sessions: sessionmaker[Session], ref: str) -> list[int]:
    """An application id (``12``, ``申请编号 12``) or a mail's Message-ID -> ids."""
    digits = ref.replace("申请编号", "").strip()
    if digits.isascii() and digits.isdigit():
        return [int(digits)]
    message_id = ref.strip()
    if not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    with sessions() as session:
        return list(session.scalars(
            select(Application.id).join(Mail)
            .where(Mail.message_id.in_([ref.strip(), message_id]))
            .order_by(Application.position)))


# ------------------------------------------------------------------ loading


def _with_documents(query):  # type: ignore[no-untyped-def]
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
    apps = session.scalars(_with_documents(select(Application)).where(
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


def _pending(session: Session, config: Config, where: ColumnElement[bool]) -> list[AppDocuments]:
    return [_documents(app, config, every=False) for app in _pending_apps(session, config, where)]


# ------------------------------------------------------------------ claiming


def _claim(sessions: sessionmaker[Session], config: Config, owner: str, now: datetime) -> int:
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
        for chunk in _chunks(ids):
            claimed += session.execute(
                update(Application).where(Application.id.in_(chunk), free)
                .values(print_claim=owner, print_claimed_until=now + CLAIM_LEASE)
                .execution_options(synchronize_session=False)).rowcount
    return claimed


def _release(sessions: sessionmaker[Session], owner: str) -> None:
    with sessions.begin() as session:
        session.execute(update(Application).where(Application.print_claim == owner)
                        .values(print_claim=None, print_claimed_until=None)
                        .execution_options(synchronize_session=False))


def _documents(app: Application, config: Config, *, every: bool) -> AppDocuments:
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


# ------------------------------------------------------------------ rendering


def _batch_dir(config: Config, docs: Sequence[AppDocuments], now: datetime | None = None) -> Path:
    first = next((v.number for d in docs for v in d.invoices), None)
    if first is None:
        first = next((d.label.waybill for d in docs if d.label is not None),
                     next((k for d in docs for k in d.keys), "batch"))
    # Local time (Asia/Shanghai): the folder name is what staff read in the print centre.
    stamp = (now or datetime.now(UTC)).astimezone(config.tz).strftime("%Y%m%d-%H%M%S")
    root = config.output_dir.resolve() / "batches"
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = root / (f"{stamp}-{first}" + (f"-{n}" if n > 1 else ""))
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise RenderError(f"no free batch folder name under {root}")


@dataclass
class _InFlight:
    """A claimed batch whose child is rendering."""

    seq: int                  # claim order
    owner: str                # its claim's token
    docs: list[AppDocuments]
    directory: Path
    child: children.Child


def _start_next(sessions: sessionmaker[Session], config: Config, seq: int,
                fetcher: FetcherFactory | None, now: datetime | None) -> _InFlight | None:
    """Claim the next batch, read its documents, make its folder and start its child;
    None if nothing is pending or free."""
    owner = current_owner()  # a token per batch: each batch's claim is released alone
    if not _claim(sessions, config, owner, now or utcnow()):
        return None
    try:
        with sessions() as session:
            docs = _pending(session, config, Application.print_claim == owner)
        if not docs:
            _release(sessions, owner)
            return None
        directory = _batch_dir(config, docs)
        try:
            child = _start(BatchJob(directory, tuple(docs), fetcher))
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
    except BaseException:
        _release(sessions, owner)
        raise
    return _InFlight(seq, owner, docs, directory, child)


def _start(job: BatchJob) -> children.Child:
    """Start rendering one batch in its child (tests hold this up to race two passes)."""
    return children.start(render_batch, job)


def _finish(sessions: sessionmaker[Session], f: _InFlight) -> Batch | None:
    """Record a batch whose child is done, then release its claim, whatever happened;
    a failed batch's folder is removed."""
    try:
        try:
            files: BatchFiles = f.child.result()
            return _record_batch(sessions, f.docs, f.directory, files)
        except BaseException as e:
            shutil.rmtree(f.directory, ignore_errors=True)
            if isinstance(e, children.ChildFailed) and e.detail:  # the child's own traceback
                log.error("batch %s failed in its render process:\n%s", f.directory, e.detail)
            raise
    finally:
        _release(sessions, f.owner)


def _reason(e: BaseException) -> str:
    return str(e) if isinstance(e, children.ChildFailed) else f"{type(e).__name__}: {e}"


def _record_batch(sessions: sessionmaker[Session], docs: list[AppDocuments], directory: Path,
                  files: BatchFiles) -> Batch | None:
    invoices, labels = files.invoices, files.labels
    missing = [r.path for r in (invoices, labels) if r is not None and not r.path.is_file()]
    if missing:  # never record a path whose file is not there
        raise RenderError(f"batch {directory}: {missing[0].name} was not written")
    label_docs = [d for d in docs if d.label is not None]
    claimed_invoices, claimed_labels = _record(sessions, docs, invoices and invoices.path,
                                               labels and labels.path)
    if claimed_invoices == 0 and claimed_labels == 0:
        log.info("batch %s: another worker printed the same documents first", directory)
        shutil.rmtree(directory, ignore_errors=True)
        return None
    expected = sum(len(d.invoice_ids) for d in docs), len(label_docs)
    if (claimed_invoices, claimed_labels) != expected:
        log.warning("batch %s: %d of %d invoices and %d of %d labels recorded here; the "
                    "rest were printed by another worker", directory, claimed_invoices,
                    expected[0], claimed_labels, expected[1])
    log.info("print batch %s: %d invoices (%d pages), %d labels", directory,
             claimed_invoices, invoices.pages if invoices else 0, claimed_labels)
    return Batch(directory, invoices and invoices.path, labels and labels.path,
                 claimed_invoices, claimed_labels, invoices.pages if invoices else 0)


def _record(sessions: sessionmaker[Session], docs: list[AppDocuments],
            invoices_pdf: Path | None, labels_pdf: Path | None) -> tuple[int, int]:
    """Record the paths in one transaction, never over a path already set."""
    invoice_ids = [i for d in docs for i in d.invoice_ids]
    shipment_ids = [d.shipment_id for d in docs if d.shipment_id is not None]
    done_invoices = done_labels = 0
    with sessions.begin() as session:
        if invoices_pdf is not None:
            for chunk in _chunks(invoice_ids):
                done_invoices += session.execute(
                    update(Invoice).where(Invoice.id.in_(chunk), Invoice.pdf_path.is_(None))
                    .values(pdf_path=str(invoices_pdf))
                    .execution_options(synchronize_session=False)).rowcount
        if labels_pdf is not None:
            for chunk in _chunks(shipment_ids):
                done_labels += session.execute(
                    update(Shipment).where(Shipment.id.in_(chunk), Shipment.label_pdf.is_(None))
                    .values(label_pdf=str(labels_pdf))
                    .execution_options(synchronize_session=False)).rowcount
    return done_invoices, done_labels


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for k in range(0, len(ids), CLAIM_CHUNK):
        yield ids[k:k + CLAIM_CHUNK]
