"""The only way the renderer may read anything: our own template assets.

Invoices and labels carry text from units' mail (unit names, addresses). Templates
autoescape it, so it can never become markup; this fetcher is the second wall: if a
URL ever reaches WeasyPrint anyway (``<img src>``, ``<link>``, ``url()`` in CSS, an
attachment), only ``file://`` URLs that resolve inside ``templates/assets/`` are read.
Everything else (other files, ``http(s)``, ``ftp``, ``data:``) is refused without
opening anything, and recorded so tests and logs can see what was asked for.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

from worker.config import TEMPLATES_DIR

log = logging.getLogger(__name__)

ASSETS_DIR = TEMPLATES_DIR / "assets"


class URLRefused(ValueError):
    """Raised for every URL outside the template assets; WeasyPrint skips the resource."""


class AssetFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves files from ``assets`` and nothing else.

    WeasyPrint 70 wants a ``URLFetcher`` (it reads ``_fail_on_errors`` from it), so this
    subclasses it but never calls its network-capable ``open``: ``fetch`` is replaced.
    """

    def __init__(self, assets: Path = ASSETS_DIR) -> None:
        super().__init__(allowed_protocols=("file",))
        self.assets = assets.resolve()
        self.asked: list[str] = []     # every URL WeasyPrint asked for, in order
        self.refused: list[str] = []   # the ones that were not served

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        self.asked.append(url)
        path = self.resolve(url)
        if path is None:
            self.refused.append(url)
            log.warning("renderer asked for %r: refused (only template assets are served)",
                        url[:200])
            raise URLRefused(f"not a template asset: {url[:200]}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    def resolve(self, url: str) -> Path | None:
        """The asset file ``url`` names, or None if it names anything else."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            return None
        if parts.query or "\x00" in url:
            return None
        path = Path(unquote(parts.path)).resolve()  # follows symlinks and ".."
        if not path.is_relative_to(self.assets) or not path.is_file():
            return None
        return path
