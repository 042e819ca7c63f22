"""A local Maildir as the inbox: the embedded default for demos and tests.

The inbox is ``new/`` + ``cur/``; folders are Maildir++ subfolders (``.Processed``) whose
directory names are IMAP modified UTF-7, as Dovecot and Courier write them, so the same
tree can later be served over IMAP.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import mailbox
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from imapclient.imap_utf7 import decode as decode_utf7
from imapclient.imap_utf7 import encode as encode_utf7

from worker.errors import MailboxError
from worker.mailbox.base import Mailbox, MailGone, MailRef, folder_parts, message_id_from_header

logger = logging.getLogger(__name__)

_INBOX_SUBDIRS = ("new", "cur")
_HEADER_LIMIT = 256 * 1024
"""Most header bytes read for a Message-ID; a mail without a blank line stops here."""


class MaildirMailbox(Mailbox):
    """Inbox in a Maildir; moves are copy-then-remove, so a crash leaves two copies, not none."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.abspath(path)
        self.label = f"maildir:{self.path}"
        self._seen: dict[str, str] = {}      # key -> path as ``pending`` listed it
        self._folders: dict[str, str] = {}   # folder name -> its path, made once
        self._unsynced: set[str] | None = None  # inside ``moving``: directories to sync
        try:
            # makedirs first: the stdlib creates neither missing parents nor missing subdirs
            for sub in ("tmp", *_INBOX_SUBDIRS):
                os.makedirs(os.path.join(self.path, sub), exist_ok=True)
            self._md = mailbox.Maildir(self.path, factory=None, create=True)
        except OSError as e:
            raise MailboxError(f"{self.label}: cannot open or create the Maildir: {e}") from e

    def pending(self) -> list[MailRef]:
        """Inbox mails by delivery time (file mtime, as the stdlib reports it), then key."""
        found: list[tuple[float, str, int, str]] = []
        for path in self._inbox_files():
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue  # moved away (or new -> cur) while we listed
            except OSError as e:
                raise MailboxError(f"{self.label}: cannot read {path}: {e}") from e
            found.append((st.st_mtime, self._key(path), st.st_size, path))
        found.sort(key=lambda item: (item[0], _delivery_order(item[1])))
        refs = []
        self._seen = {}
        for mtime, key, size, path in found:
            try:
                with open(path, "rb", buffering=0) as f:  # block reads: no buffer to fill
                    message_id = message_id_from_header(_read_header(f, _HEADER_LIMIT))
            except FileNotFoundError:
                continue
            except OSError as e:
                raise MailboxError(f"{self.label}: cannot read {path}: {e}") from e
            refs.append(MailRef(uid=key, uidvalidity=None, size=size, message_id=message_id,
                                received_at=_arrival(mtime)))
            self._seen[key] = path
        return refs

    def fetch(self, ref: MailRef, max_bytes: int | None = None) -> bytes:
        """The file's bytes exactly as stored, or its header section when over ``max_bytes``."""
        for attempt in range(2):  # a second look in case a mail client renamed it new/ -> cur/
            path = self._locate(ref.uid, listed=attempt == 0)
            if path is None:
                break
            try:
                with open(path, "rb", buffering=0) as f:
                    if max_bytes is not None and os.fstat(f.fileno()).st_size > max_bytes:
                        return _read_header(f, max(max_bytes, _HEADER_LIMIT))
                    return f.read()
            except FileNotFoundError:
                continue
            except OSError as e:
                raise MailboxError(f"{self.label}: cannot read mail {ref.uid}: {e}") from e
        raise MailGone(f"{self.label}: mail {ref.uid} is no longer in the inbox")

    def move(self, ref: MailRef, folder: str) -> None:
        """Rename into the folder's same-named subdir (same file name, flags and mtime).

        On one filesystem the rename is atomic: the mail is in exactly one place at every
        instant. Across filesystems (``EXDEV``) it is copied into the folder, then the
        inbox copy is dropped; re-running a move interrupted between those two steps
        overwrites the folder copy with identical bytes, so the folder never ends up
        with duplicates.
        """
        target = self._folder_path(folder)
        for attempt in range(2):
            source = self._locate(ref.uid, listed=attempt == 0)
            if source is None:
                break
            source_dir = os.path.dirname(source)
            sub = os.path.basename(source_dir)
            name = os.path.basename(source)
            try:
                os.rename(source, os.path.join(target, sub, name))
            except FileNotFoundError:
                if not os.path.isdir(os.path.join(target, sub)):  # removed since made
                    self._folders.pop(folder, None)
                    target = self._folder_path(folder)
                continue  # another worker moved it first (or it went new/ -> cur/)
            except OSError as e:
                if e.errno != errno.EXDEV:
                    raise MailboxError(f"{self.label}: cannot move mail {ref.uid}: {e}") from e
                if self._copy_then_remove(ref, source, target, sub, name):
                    return
                continue
            if self._unsynced is not None:
                self._unsynced.update((os.path.join(target, sub), source_dir))
                return
            try:
                _fsync_dir(os.path.join(target, sub))
                _fsync_dir(source_dir)
            except OSError as e:
                raise MailboxError(f"{self.label}: cannot sync the move of mail {ref.uid}: "
                                   f"{e}") from e
            return
        logger.info("%s: mail %s already left the inbox; nothing to move", self.label, ref.uid)

    def _copy_then_remove(self, ref: MailRef, source: str, target: str, sub: str,
                          name: str) -> bool:
        """The move across filesystems; False when the source vanished meanwhile."""
        staged = os.path.join(target, "tmp", name)
        try:
            shutil.copy2(source, staged)
            _fsync_file(staged)
            os.replace(staged, os.path.join(target, sub, name))
            _fsync_dir(os.path.join(target, sub))
        except FileNotFoundError:
            _remove_quietly(staged)
            return False
        except OSError as e:
            _remove_quietly(staged)
            raise MailboxError(f"{self.label}: cannot move mail {ref.uid}: {e}") from e
        try:
            os.remove(source)
        except FileNotFoundError:
            pass  # another worker finished the same move first
        except OSError as e:
            raise MailboxError(f"{self.label}: cannot remove mail {ref.uid}: {e}") from e
        return True

    @contextlib.contextmanager
    def moving(self) -> Iterator[None]:
        """Renames inside the block are made durable at its end, each directory once
        (two fsyncs a mail cost ~0.5 ms CPU and milliseconds of wall time). A crash
        before then can only undo a rename: the mail reappears in the inbox and, its
        outcome committed, is moved again. Raises ``MailboxError`` if a sync fails."""
        if self._unsynced is not None:  # nested: the outer block syncs
            yield
            return
        self._unsynced = set()
        try:
            yield
        finally:
            folders, self._unsynced = self._unsynced, None
            for folder in sorted(folders):
                try:
                    _fsync_dir(folder)
                except OSError as e:
                    raise MailboxError(f"{self.label}: cannot sync moved mail in {folder}: "
                                       f"{e}") from e

    def close(self) -> None:
        """Nothing to release: every call opens and closes its own files."""

    def _key(self, path: str) -> str:
        return os.path.basename(path).split(self._md.colon)[0]

    def _inbox_files(self) -> list[str]:
        paths = []
        for sub in _INBOX_SUBDIRS:
            directory = os.path.join(self.path, sub)
            try:
                with os.scandir(directory) as entries:
                    paths.extend(
                        entry.path for entry in entries if not entry.name.startswith(".") and entry.is_file()
                    )
            except OSError as e:
                raise MailboxError(f"{self.label}: cannot list {directory}: {e}") from e
        return paths

    def _locate(self, key: str, *, listed: bool = False) -> str | None:
        """The current path of the mail with this key (the stdlib's own rule for keys).
        ``listed``: the path ``pending`` listed, unchecked (a first try: the caller's open
        or rename finds out, then asks again without it)."""
        if listed and (path := self._seen.get(key)) is not None:
            return path
        fresh = os.path.join(self.path, "new", key)
        if os.path.isfile(fresh):
            return fresh
        listed = self._seen.get(key)
        if listed is not None and os.path.isfile(listed):
            return listed  # not a listing of the inbox per mail (read mail is in cur/)
        for path in self._inbox_files():
            if self._key(path) == key:
                self._seen[key] = path
                return path
        return None

    def _folder_path(self, folder: str) -> str:
        """Path of the Maildir++ folder, matched case-insensitively, created when missing
        (looked up once per folder name; ``move`` forgets it if it disappears)."""
        known = self._folders.get(folder)
        if known is not None:
            return known
        wanted = ".".join(encode_utf7(part).decode("ascii") for part in folder_parts(folder))
        try:
            existing = {decode_utf7(name).casefold(): name for name in self._md.list_folders()}
            name = existing.get(decode_utf7(wanted).casefold())
            if name is None:
                self._md.add_folder(wanted)
                name = wanted
            path = os.path.join(self.path, "." + name)
            for sub in ("tmp", *_INBOX_SUBDIRS):
                os.makedirs(os.path.join(path, sub), exist_ok=True)
        except OSError as e:
            raise MailboxError(f"{self.label}: cannot create folder {folder!r}: {e}") from e
        self._folders[folder] = path
        return path


_NUMBERS = re.compile(r"(\d+)")


def _delivery_order(key: str) -> tuple[str | int, ...]:
    """A Maildir key with its numbers compared as numbers, for mails of the same mtime:
    the stdlib and Dovecot write ``<seconds>.M<microseconds>P<pid>Q<count>.<host>``
    without padding, so ``M99999`` was delivered before ``M100000``, ``Q9`` before ``Q10``.
    (``re.split`` with a group alternates text and digits, so like compares with like.)"""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(_NUMBERS.split(key)))


def _arrival(mtime: float) -> datetime | None:
    """A Maildir file's mtime as its arrival time: delivery agents set it to the
    delivery time (and ``mailbox.MaildirMessage.set_date`` does), moves keep it."""
    try:
        return datetime.fromtimestamp(mtime, UTC)
    except (OverflowError, OSError, ValueError):
        return None


_BLOCK = 16 * 1024  # a header section's usual size, with room: mostly one read


def _read_header(f: BinaryIO, limit: int) -> bytes:
    """The header section up to and including the blank line, at most ``limit`` bytes
    (all of them when no blank line comes first). Lines end at LF (a blank line is
    ``\\n`` or ``\\r\\n``), as a line-by-line read would find it; read a block at a time."""
    data = b""
    while len(data) < limit:
        block = f.read(min(_BLOCK, limit - len(data)))
        if not block:
            break
        searched = max(0, len(data) - 2)  # a blank line may straddle two blocks
        data += block
        end = _header_end(data, searched)
        if end:
            return data[:end]
    return data


def _header_end(data: bytes, start: int) -> int:
    """The index just past the first blank line at or after ``start`` (0: none yet)."""
    if start == 0 and data[:1] == b"\n":
        return 1
    if start == 0 and data[:2] == b"\r\n":
        return 2
    ends = [found + len(blank) for blank in (b"\n\n", b"\n\r\n")
            if (found := data.find(blank, start)) >= 0]
    return min(ends, default=0)


def _fsync_file(path: str) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: str) -> None:
    """Make a rename (or the removal of the inbox copy) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
