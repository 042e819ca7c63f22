"""Writing a file so that readers see the old file or the whole new one, never half.

The one way the worker writes its files (stored attachments, PDFs, manifests, ``.eml``
outbox files): the bytes go to a temp file with a unique name in the target's folder
(``tempfile.mkstemp``: two workers writing the same target never share a temp file, and
the rename stays within one file system), are flushed and ``fsync``ed, then
``os.replace`` puts the file in place atomically (POSIX rename(2)), and the folder is
``fsync``ed so the rename itself survives a power cut. On any failure the temp file is
removed and the target is untouched.

A writer of many small files (intake's attachments) passes ``later`` instead: the file
is written and renamed without any fsync and noted there, and ``Later.sync()`` makes all
of them durable at once before the rows naming them commit (one ``syncfs(2)`` of their
file system on Linux, else an fsync per file and per folder).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import tempfile
from pathlib import Path


class Later:
    """Files written atomically but not yet durable (``write_atomic(..., later=)``).

    ``sync()`` must return before anything that names them commits: a power cut before
    it may lose the files, but then it also loses the rows, never only the files."""

    def __init__(self) -> None:
        self.files: list[Path] = []

    def note(self, path: Path) -> None:
        """Also for a file found already there: a racing writer may not have synced it."""
        self.files.append(path)

    def sync(self) -> None:
        """Make every noted file, its rename and its folders durable; then forget them.
        Raises ``OSError`` (an I/O error: the caller must not commit)."""
        if not self.files:
            return
        if not _syncfs({p.parent for p in self.files}):
            for path in dict.fromkeys(self.files):
                _fsync_path(path, os.O_RDONLY)
            for folder in {f for p in self.files for f in (p.parent, p.parent.parent)}:
                _fsync_dir(folder)
        self.files.clear()


def write_atomic(target: Path, data: bytes, *, later: Later | None = None) -> None:
    """Write ``data`` to ``target`` (parents created) atomically and durably, or, with
    ``later``, atomically now and durably at ``later.sync()``.

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
            if later is None:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if later is None:
        _fsync_dir(target.parent)
    else:
        later.note(target)


def _temp_beside(target: Path) -> tuple[int, str]:
    return tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")


def _libc_syncfs() -> object | None:
    """glibc's ``syncfs(2)`` (Linux 2.6.39+; Python has no os.syncfs), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError):
        return None


_SYNCFS = _libc_syncfs()


def _syncfs(folders: set[Path]) -> bool:
    """One syncfs per file system holding ``folders`` (data, renames and new folders
    alike); False where there is no syncfs (the caller fsyncs file by file)."""
    if _SYNCFS is None:
        return False
    devices: dict[int, Path] = {}
    for folder in folders:
        devices.setdefault(os.stat(folder).st_dev, folder)
    for folder in devices.values():
        fd = os.open(folder, os.O_RDONLY)
        try:
            if _SYNCFS(fd) != 0:  # type: ignore[operator]
                err = ctypes.get_errno()
                raise OSError(err, f"syncfs {folder}: {os.strerror(err)}")
        finally:
            os.close(fd)
    return True


def _fsync_path(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
