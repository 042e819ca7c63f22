"""Cloud "large attachment" links (163 超大附件, QQ 文件中转站): the form is not in the mail."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

# Regexes matched (case-insensitively) against every URL in the body.
DEFAULT_LARGE_ATTACHMENT_PATTERNS: tuple[str, ...] = (
    r"/large-attachment-download",
    r"\bdashi\.163\.com",
    r"\bfs\.163\.com",
    r"\bmail\.qq\.com/ftn",
    r"\bftn\.qq\.com",
    r"ftnExs_download",
    r"/cgi-bin/ftnExs",
    r"\bexmail\.qq\.com/cgi-bin/download",
)
LARGE_ATTACHMENT_MARKERS = ("超大附件", "文件中转站")
_MARKER_WINDOW = 500
_MAX_MARKERS = 20
_MAX_LINKS = 50

_URL = re.compile(r"https?://[!#-&(-;=?-~]+", re.IGNORECASE)
_MARKER = re.compile("|".join(LARGE_ATTACHMENT_MARKERS))


@lru_cache(maxsize=8)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The configured patterns, compiled once (not once per mail)."""
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


def _urls(text: str) -> Iterator[str]:
    for match in _URL.finditer(text):
        yield htmllib.unescape(match.group(0)).rstrip(".,;:!?)]}")


def find_large_attachment_links(
    text: str,
    html_sources: Sequence[str] = (),
    patterns: Sequence[str] = DEFAULT_LARGE_ATTACHMENT_PATTERNS,
) -> list[str]:
    """Cloud "large attachment" links: URLs matching a pattern (in the text or in HTML
    markup, hrefs included), or any URL in the text shortly after a 超大附件 marker."""
    compiled = _compiled(tuple(patterns))
    found: dict[str, None] = {}
    for source in (text, *html_sources):
        for url in _urls(source):
            if any(p.search(url) for p in compiled):
                found.setdefault(url)
    if text:
        markers = _MARKER.finditer(text)
        for count, marker in enumerate(markers):
            if count >= _MAX_MARKERS:
                break
            window = text[marker.start(): marker.start() + _MARKER_WINDOW]
            for url in _urls(window):
                found.setdefault(url)
    return list(found)[:_MAX_LINKS]
