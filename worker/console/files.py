"""Serving stored files without letting a path escape the output folder.

Only paths the database holds are served (attachments stored before migration 0013,
invoice and label PDFs, manifests, reprints recorded in the audit log), never a path
from the request; each is resolved (symlinks too) and must still lie inside
``output_dir``. Downloads carry the original (often Chinese) name as RFC 5987
``filename*`` and ``nosniff``.
"""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path
from urllib.parse import quote

from flask import abort, send_file
from werkzeug.wrappers import Response

from worker.console.db import config

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ASCII_JUNK = re.compile(r'[^A-Za-z0-9._-]+')


def stored_path(stored: str | None, root: Path | None = None) -> Path | None:
    """The file a DB path names, or None if it is missing or lies outside the root."""
    if not stored or "\x00" in stored:
        return None
    root = (root or config().output_dir).resolve()
    p = Path(stored)
    path = (p if p.is_absolute() else root / p).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def safe_name(name: str | None, fallback: str) -> str:
    """A display name for Content-Disposition: no path, no control characters."""
    name = _CONTROL.sub("", unicodedata.normalize("NFC", name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".")
    if len(name) > _NAME_CHARS:  # cut the stem: the suffix says which program opens it
        stem, dot, suffix = name.rpartition(".")
        keep = dot + suffix if dot and stem and len(suffix) <= 10 else ""
        name = (stem if keep else name)[:_NAME_CHARS - len(keep)] + keep
    return name or fallback


_NAME_CHARS = 200


def disposition(name: str, *, inline: bool) -> str:
    """RFC 6266/5987: an ASCII stand-in for old clients, the real name as UTF-8."""
    def ascii_only(text: str) -> str:
        return _ASCII_JUNK.sub("_", text.encode("ascii", "ignore").decode()).strip("_.")

    stem, suffix = ascii_only(Path(name).stem), ascii_only(Path(name).suffix)
    ascii_name = (stem or "file") + (f".{suffix}" if suffix else "")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def send_stored(stored: str | None, *, name: str | None, mimetype: str, inline: bool) -> Response:
    path = stored_path(stored)
    if path is None:
        abort(404)
    response = send_file(path, mimetype=mimetype, conditional=True, max_age=0)
    return _download(response, safe_name(name, path.name), inline=inline)


def send_data(data: bytes, *, name: str | None, fallback: str, mimetype: str,
              inline: bool) -> Response:
    """Bytes the database holds (a stored attachment), served as ``send_stored`` serves
    a file: the original name (``fallback`` when it has none), ``nosniff``, no caching."""
    response = send_file(io.BytesIO(data), mimetype=mimetype, max_age=0)
    return _download(response, safe_name(name, fallback), inline=inline)


def _download(response: Response, name: str, *, inline: bool) -> Response:
    response.headers["Content-Disposition"] = disposition(name, inline=inline)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
