"""Print batches: everything issued and not yet printed becomes one invoices PDF and
one labels PDF, in parcel order, so staff stack invoice sheets and labels side by side.

Which documents are pending (print mode, platform mode, parcels still waiting) and how
a pass claims them: ``worker.documents.pending``.

Claim, render, record (issue 10 item 8): a short transaction first claims the batch's
applications (``pending.claim``: a token of this process, see ``worker.owner``), so a
second pass at the same time renders other documents or none, never the same ones.
Files are then written (atomically), and one transaction records their paths with a
guarded ``UPDATE ... WHERE pdf_path IS NULL``: if another worker still printed the
same documents meanwhile (a claim taken over after its time), its paths stay and ours
are dropped (and an unclaimed batch folder is removed). The claim is released at the
end, whatever happened.

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
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

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
from worker.documents.pending import (
    chunks,
    claim,
    documents_of,
    pending_documents,
    release,
    with_documents,
)
from worker.documents.render import FetcherFactory
from worker.errors import InfrastructureError, WorkerError
from worker.owner import current_owner, owner_gone
from worker.status import PARCEL_WAITING, ApplicationStatus

log = logging.getLogger(__name__)


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
    sweep_unrecorded(sessions, config)
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
                release(sessions, f.owner)
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
        app = session.scalars(with_documents(select(Application))
                              .where(Application.id == application_id)).one_or_none()
        if app is None:
            raise NothingToPrint(f"no application {application_id}")
        if app.status != ApplicationStatus.ACCEPTED or not app.invoices or app.shipment is None:
            raise NothingToPrint(f"application {application_id} is {app.status}: "
                                 "nothing was issued for it")
        if app.shipment.status in PARCEL_WAITING:
            raise NothingToPrint(f"application {application_id}: its parcel is still waiting "
                                 "for the courier's waybill")
        doc = documents_of(app, config, every=True)
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


# ------------------------------------------------------------------ rendering


#: In a batch folder while it renders, holding its claim's owner; removed once the batch
#: is recorded. A folder still holding it after its owner is gone was never recorded.
RENDERING = ".rendering"


def sweep_unrecorded(sessions: sessionmaker[Session], config: Config) -> list[Path]:
    """Remove the batch folders a killed print step left: rendered (complete PDFs, maybe)
    but never recorded, so their documents were rendered again into another folder, and
    staff would see two batches of the same numbered invoices. Only folders whose
    ``RENDERING`` owner is certainly gone (``worker.owner``: this machine, not running)
    and that no record points to; a recorded one only loses the marker (a kill after
    the commit). Returns the folders removed."""
    root = config.output_dir.resolve() / "batches"
    removed: list[Path] = []
    for marker in sorted(root.glob(f"*/{RENDERING}")) if root.is_dir() else ():
        folder = marker.parent
        try:
            if not owner_gone(marker.read_text(encoding="utf-8").strip()):
                continue  # rendering now, or on another machine: its own step decides
        except OSError:
            continue
        # By the folder's own name (unique: time and first number): a restored backup's
        # records keep the paths of the machine it came from.
        inside = f"{os.sep}{folder.name}{os.sep}"
        with sessions() as session:
            recorded = session.scalar(select(Invoice.id).where(Invoice.pdf_path.contains(
                inside, autoescape=True)).limit(1)) or session.scalar(select(Shipment.id).where(
                Shipment.label_pdf.contains(inside, autoescape=True)).limit(1))
        if recorded:
            marker.unlink(missing_ok=True)
            continue
        log.warning("print batch %s was rendered by a step that was killed and never "
                    "recorded: removed (its documents were printed again)", folder)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


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
    if not claim(sessions, config, owner, now or utcnow()):
        return None
    try:
        with sessions() as session:
            docs = pending_documents(session, config, Application.print_claim == owner)
        if not docs:
            release(sessions, owner)
            return None
        directory = _batch_dir(config, docs)
        try:
            (directory / RENDERING).write_text(owner, encoding="utf-8")
            child = _start(BatchJob(directory, tuple(docs), fetcher))
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
    except BaseException:
        release(sessions, owner)
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
        release(sessions, f.owner)


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
    (directory / RENDERING).unlink(missing_ok=True)  # recorded: the folder is the batch
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
            for chunk in chunks(invoice_ids):
                done_invoices += session.execute(
                    update(Invoice).where(Invoice.id.in_(chunk), Invoice.pdf_path.is_(None))
                    .values(pdf_path=str(invoices_pdf))
                    .execution_options(synchronize_session=False)).rowcount
        if labels_pdf is not None:
            for chunk in chunks(shipment_ids):
                done_labels += session.execute(
                    update(Shipment).where(Shipment.id.in_(chunk), Shipment.label_pdf.is_(None))
                    .values(label_pdf=str(labels_pdf))
                    .execution_options(synchronize_session=False)).rowcount
    return done_invoices, done_labels
