"""Writing a file so that readers see the old file or the whole new one, never half.

The one way the worker writes its files (PDFs, manifests, tax platform files, ``.eml``
outbox files): the bytes go to a temp file with a unique name in the target's folder
(``tempfile.mkstemp``: two workers writing the same target never share a temp file, and
the rename stays within one file system), are flushed and ``fsync``ed, then
``os.replace`` puts the file in place atomically (POSIX rename(2)), and the folder is
``fsync``ed so the rename itself survives a power cut. On any failure the temp file is
removed and the target is untouched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` (parents created) atomically and durably.

    Raises ``OSError`` (disk full, permissions...): callers wrap it in their stage's
    error (``StorageError``, ``SmtpError``, ``RenderError``).
    """
    try:
        fd, tmp = _temp_beside(target)
    except FileNotFoundError:  # its folder is new: made once, not asked for every file
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temp_beside(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _temp_beside(target: Path) -> tuple[int, str]:
    return tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the data itself is synced
    finally:
        os.close(fd)
