"""The rendering half of a print batch or reprint: documents in, PDF files out.

This is what runs in a render child process (``worker.documents.children``): it gets
everything as plain data (``AppDocuments``: the views the templates need, the
platform's PDF paths), writes the files atomically and returns their paths and page
counts. It never touches the database: the parent claims, reads and records
(``worker.documents.batch``), so a child that crashes or is killed leaves nothing
recorded, and the batch stays pending for the next run.

Importing this module does not import WeasyPrint (``render.write_pdf`` does, in the
child); the parent imports it for the data shapes only.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from worker.atomic import write_atomic
from worker.documents.labels import write_labels
from worker.documents.render import FetcherFactory, Rendered, html, render_parts, write_pdf

if TYPE_CHECKING:
    from worker.documents.invoice import InvoiceView
    from worker.documents.label import LabelView


@dataclass(frozen=True)
class AppDocuments:
    """One application's pending documents, detached from the session."""

    application_id: int
    invoice_ids: tuple[int, ...]
    invoices: tuple[InvoiceView, ...]
    platform_pdfs: tuple[Path, ...]   # platform mode: the platform's PDFs, printed as they are
    shipment_id: int | None
    label: LabelView | None
    keys: tuple[str, ...]      # code-number of each invoice, for the PDF identifier
    issued_at: datetime | None


@dataclass(frozen=True)
class BatchJob:
    """What a child renders for one batch: ``docs`` in parcel order into ``directory``
    (made by the parent). ``fetcher`` must be picklable (a class or module function)."""

    directory: Path
    docs: tuple[AppDocuments, ...]
    fetcher: FetcherFactory | None = None


@dataclass(frozen=True)
class BatchFiles:
    invoices: Rendered | None   # directory/invoices.pdf, None: no invoice in the batch
    labels: Rendered | None     # directory/labels.pdf, None: no label in the batch


@dataclass(frozen=True)
class ReprintJob:
    """One application's documents again, as ``<stem>-invoices.pdf`` and ``<stem>-label.pdf``."""

    doc: AppDocuments
    stem: Path
    fetcher: FetcherFactory | None = None


def render_batch(job: BatchJob) -> BatchFiles:
    """Write a batch's ``invoices.pdf`` and ``labels.pdf`` (each only if it has pages).

    Raises whatever WeasyPrint, pypdf or the disk raise; files already written stay for
    the parent to remove with the folder."""
    docs = job.docs
    invoice_docs = [d for d in docs if d.invoices or d.platform_pdfs]
    label_docs = [d for d in docs if d.label is not None]
    invoices = labels = None
    if invoice_docs:
        invoices = write_invoices(invoice_docs, job.directory / "invoices.pdf",
                                  key=key("invoices", (k for d in docs for k in d.keys)),
                                  fetcher=job.fetcher)
    if label_docs:
        labels = write_labels([d.label for d in label_docs if d.label is not None],
                              job.directory / "labels.pdf",
                              key=key("labels", (d.label.waybill for d in label_docs
                                                 if d.label is not None)),
                              created=created(label_docs), fetcher=job.fetcher)
    return BatchFiles(invoices, labels)


def render_reprint(job: ReprintJob) -> tuple[Path, Path]:
    """Write one application's invoices and label; returns their paths."""
    doc, stem = job.doc, job.stem
    assert doc.label is not None
    invoices = write_invoices([doc], stem.with_name(f"{stem.name}-invoices.pdf"),
                              key=key("invoices", doc.keys), fetcher=job.fetcher)
    labels = write_labels([doc.label], stem.with_name(f"{stem.name}-label.pdf"),
                          key=key("labels", (doc.label.waybill,)), created=created([doc]),
                          fetcher=job.fetcher)
    return invoices.path, labels.path


def invoices_html(docs: Sequence[AppDocuments]) -> str:
    views = [v for d in docs for v in d.invoices]
    return html("invoices.html", invoices=views, title=_title(views), created=created(docs))


def created(docs: Sequence[AppDocuments]) -> str:
    """The documents' date is the latest issue among them: data, not the clock."""
    moments = [d.issued_at for d in docs if d.issued_at is not None]
    return max(moments).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moments else ""


def key(kind: str, parts: Iterable[str]) -> str:
    return f"{kind}:{','.join(parts)}"


PART_INVOICES = 25
"""Invoices per WeasyPrint document: a batch (or one application) with more is
rendered in parts of this many and joined (``render.render_parts``), so that a render
process's peak stays the same whatever the batch holds. Measured on 100 one-page
invoices, a process's peak heap: 236 MB as one document, 183 in parts of 50, 157 of 25,
152 of 20 (below that a part's fonts, ~40 MB while it is written, dominate); each part
costs its fonts' subset again (~170 KB of file, a few % of the CPU)."""


def write_invoices(docs: Sequence[AppDocuments], target: Path, *, key: str,
                   fetcher: FetcherFactory | None) -> Rendered:
    """Our invoice pages (print mode) and the platform's PDFs (platform mode), in
    parcel order, as one file; only ours when there are no platform PDFs (as before)."""
    platform = [pdf for d in docs for pdf in d.platform_pdfs]
    ours = [d for d in docs if d.invoices]
    views = [v for d in ours for v in d.invoices]
    if not platform and len(views) <= PART_INVOICES:
        return write_pdf(invoices_html(docs), target, key=key, fetcher=fetcher)
    from pypdf import PdfReader

    writer = render_parts((html("invoices.html", invoices=views[start:start + PART_INVOICES],
                                title=_title(views), created=created(ours))
                           for start in range(0, len(views), PART_INVOICES)),
                          key=key, fetcher=fetcher)
    for d in docs:
        for pdf in d.platform_pdfs:
            writer.append(PdfReader(io.BytesIO(pdf.read_bytes())))
    out = io.BytesIO()
    writer.write(out)
    write_atomic(target, out.getvalue())
    return Rendered(target, len(writer.pages))


def _title(views: Sequence[InvoiceView]) -> str:
    numbers = [v.number for v in views]
    return f"发票 {numbers[0]}–{numbers[-1]}" if numbers else "发票"
