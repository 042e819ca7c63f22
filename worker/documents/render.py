"""Templates to PDF: one jinja2 environment (autoescape on) and one WeasyPrint call
per document.

A whole print batch is ONE document: WeasyPrint subsets each font once per document,
and for a CJK font that is the expensive part (seconds with the fontTools fallback,
when libharfbuzz-subset0 is missing). Each document also uses one font face only:
the templates never ask for bold, so no second CJK face gets embedded.

Output is deterministic: no "now" in the HTML, the PDF dates come from the data
(``created``), the file identifier is derived from the content's key, and WeasyPrint
writes no other varying field. Files appear atomically (``worker.atomic.write_atomic``).
"""

from __future__ import annotations

import ctypes
import gc
import hashlib
import io
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from worker.atomic import write_atomic
from worker.config import TEMPLATES_DIR

if TYPE_CHECKING:
    from pypdf import PdfWriter

    from worker.documents.fetcher import AssetFetcher

FetcherFactory = Callable[[], "AssetFetcher"]

# WeasyPrint logs every layout step and page at INFO: hundreds of lines per batch.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Rendered:
    path: Path
    pages: int


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,              # every value from a mail is text, never markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def html(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def identifier(key: str) -> bytes:
    """A stable PDF file identifier: the same documents get the same one."""
    return hashlib.sha256(key.encode()).hexdigest()[:32].encode()


def render_pdf(source: str, *, key: str,
               fetcher: FetcherFactory | None = None) -> tuple[bytes, int]:
    """``source`` HTML as PDF bytes and their page count (``write_pdf`` without the file).

    ``fetcher`` makes the URL fetcher (tests pass one that records); by default an
    ``AssetFetcher``. WeasyPrint is imported here: a pass with nothing to print, and
    every other command, never loads it.
    """
    from weasyprint import HTML

    from worker.documents.fetcher import AssetFetcher

    url_fetcher = (fetcher or AssetFetcher)()
    with cyclic_gc_paused():
        document = HTML(string=source, base_url=f"{TEMPLATES_DIR}/",
                        url_fetcher=url_fetcher).render()
        data = document.write_pdf(pdf_identifier=identifier(key))
    assert data is not None
    return data, len(document.pages)


def write_pdf(source: str, target: Path, *, key: str,
              fetcher: FetcherFactory | None = None) -> Rendered:
    """Render ``source`` HTML to ``target`` atomically; returns the page count."""
    data, pages = render_pdf(source, key=key, fetcher=fetcher)
    write_atomic(target, data)
    return Rendered(target, pages)


def render_parts(sources: Iterable[str], *, key: str,
                 fetcher: FetcherFactory | None = None) -> PdfWriter:
    """Each HTML source rendered as its own document, their pages joined in order
    (pypdf); the document information (title, dates) is the first part's.

    Why parts: WeasyPrint holds a document's whole box tree until its PDF is written
    (about 1 MB a page), so a render process's peak follows the pages of its largest
    document. Each part's tree is freed and its memory handed back to the system
    (``release_memory``) before the next is laid out. A part embeds its own subset of
    the fonts, so the joined file is larger (100 invoices: 366 KB as one document, 893
    KB in parts of 25). ``sources`` may be a generator: each part's HTML is then made
    only when its turn comes.
    """
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for n, source in enumerate(sources):
        data, _ = render_pdf(source, key=key, fetcher=fetcher)
        reader = PdfReader(io.BytesIO(data))
        writer.append(reader)
        if n == 0:  # the title and dates WeasyPrint wrote (data, not the clock)
            writer.add_metadata(dict(reader.metadata or {}))
        del data, reader
        release_memory()
    return writer


def release_memory() -> None:
    """Free what a rendered document left behind and give it back to the system.

    A box tree is cyclic, so only the collector frees it; glibc then keeps the freed
    heap, fragmented, and the next part's large blocks (a font file is copied whole
    while a document is written) land beside it: measured over four parts of 25
    invoices, a process's peak heap crept 154, 155, 155, 172 MB without
    ``malloc_trim``, and stayed at 154-157 with it. Elsewhere (no glibc) only the
    collection."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, None where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while WeasyPrint builds one document.

    A batch is one large box tree that stays alive until the PDF is written; the
    collector keeps re-scanning it, which measured about a quarter of a 440-page
    render (bench/render.py), while peak memory grew only ~8% with it paused.
    Reference counting still frees everything acyclic; collection resumes after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
