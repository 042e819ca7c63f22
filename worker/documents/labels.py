"""The labels PDF of a batch or reprint, in parcel order: our 100×150 layout for pool
parcels and for providers that answer with data, and the provider's own PDF where it
gives one (SF's cloud print).

One WeasyPrint document holds the pages (fonts subset once; more than ``PART_LABELS``
labels in parts, joined): our labels, and for a provider label one page per page of
its PDF carrying only our freight-collect strip (``templates/labels.html``). The
provider's page is then laid over that page with pypdf, scaled into the space above the
strip, so the printed label always shows 运费到付 and the amount whatever the
provider's template prints.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from worker.atomic import write_atomic
from worker.documents.label import LabelView
from worker.documents.render import FetcherFactory, Rendered, html, render_parts, write_pdf

MM = 72 / 25.4
STRIP_MM = 9.0      # the strip's 8 mm and a gap


def labels_html(labels: Sequence[LabelView], created: str, *, total: int | None = None) -> str:
    """``total``: the whole file's number of labels when ``labels`` are one part of it."""
    count = len(labels) if total is None else total
    return html("labels.html", labels=list(labels), title=f"快递面单 {count} 件", created=created)


PART_LABELS = 25
"""Labels per WeasyPrint document: more are rendered in parts and joined, as invoices
are (``files.PART_INVOICES``): a label page holds about as much while it is laid out
(100 labels as one document: 263 MB peak in a process, measured)."""


def write_labels(labels: Sequence[LabelView], target: Path, *, key: str, created: str,
                 fetcher: FetcherFactory | None = None) -> Rendered:
    from pypdf import PdfReader, PdfWriter, Transformation

    if len(labels) <= PART_LABELS:
        rendered = write_pdf(labels_html(labels, created), target, key=key, fetcher=fetcher)
        if not any(label.provider_pdf for label in labels):
            return rendered
        writer = PdfWriter(clone_from=target)   # our pages, metadata and identifier kept
    else:
        writer = render_parts((labels_html(labels[start:start + PART_LABELS], created,
                                           total=len(labels))
                               for start in range(0, len(labels), PART_LABELS)),
                              key=key, fetcher=fetcher)
    page = 0
    for label in labels:
        theirs = PdfReader(label.provider_pdf).pages if label.provider_pdf else [None]
        for source in theirs:
            base = writer.pages[page]
            page += 1
            if source is None:
                continue
            width, height = float(base.mediabox.width), float(base.mediabox.height)
            w, h = float(source.mediabox.width), float(source.mediabox.height)
            room = height - STRIP_MM * MM
            scale = min(width / w, room / h)
            base.merge_transformed_page(source, Transformation().scale(scale, scale).translate(
                (width - w * scale) / 2, STRIP_MM * MM + (room - h * scale)))
    out = io.BytesIO()
    writer.write(out)
    write_atomic(target, out.getvalue())
    return Rendered(target, page)
