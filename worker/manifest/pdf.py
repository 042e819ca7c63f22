"""The manifest as a PDF, through the shared renderer (``worker.documents.render``):
its autoescaping jinja environment, its WeasyPrint call with the fetcher that serves
only ``templates/assets/`` (no network, no other files), its atomic write and its
deterministic file identifier. Names and addresses come from units' mail, so they must
stay text; the renderer guarantees that for every document alike."""

from __future__ import annotations

from pathlib import Path

from worker.documents.render import FetcherFactory, Rendered, html, write_pdf
from worker.manifest.sheet import HEADERS, ManifestSheet

TEMPLATE = "manifest.html.j2"


def render_html(sheet: ManifestSheet) -> str:
    return html(TEMPLATE, sheet=sheet, headers=HEADERS,
                created=sheet.created_at.isoformat(timespec="seconds"))


def write_manifest_pdf(sheet: ManifestSheet, target: Path, *,
                       fetcher: FetcherFactory | None = None) -> Rendered:
    return write_pdf(render_html(sheet), target, fetcher=fetcher,
                     key=f"manifest:{sheet.number}:{sheet.created_at.isoformat()}")
