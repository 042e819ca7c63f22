"""What every mailbox backend offers the worker loop, and the few helpers they share."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Literal, Protocol, Self

from worker.errors import MailboxError
from worker.message.headers import message_id_key
from worker.message.model import blank_message_id


@dataclass(frozen=True)
class MailRef:
    """Enough to find one mail again; cheap facts the caller may act on before fetching."""

    uid: str
    """IMAP UID as text, or the Maildir key."""
    uidvalidity: int | None
    """IMAP UIDVALIDITY the UID belongs to; None for Maildir."""
    size: int | None
    """RFC822.SIZE when known, so the caller can refuse to download a huge mail."""
    message_id: str | None
    """Message-ID header value as written (unfolded, trimmed) when cheaply known."""
    received_at: datetime | None = None
    """When the mailbox received the mail (aware, UTC): IMAP INTERNALDATE, a Maildir
    file's mtime.  The institute's clock, unlike the sender's Date header: deadlines
    are judged by it.  None when the backend cannot tell."""


class MailGone(MailboxError):
    """Raised by ``fetch`` when the mail left the inbox (another worker moved it)."""


class Mailbox(Protocol):
    """An inbox the worker polls; a context manager that closes itself.

    Backends subclass this explicitly to inherit ``__enter__``/``__exit__``.
    """

    label: str
    """Stable text naming the mailbox in audit rows, never containing a password."""

    def pending(self) -> list[MailRef]:
        """Mails currently in the inbox, oldest first."""
        ...

    def fetch(self, ref: MailRef, max_bytes: int | None = None) -> bytes:
        """The raw mail; only its header section when it is larger than ``max_bytes``."""
        ...

    def move(self, ref: MailRef, folder: str) -> None:
        """Move the mail to ``folder`` (created when missing); a vanished mail is no error."""
        ...

    @contextmanager
    def moving(self) -> Iterator[None]:
        """A block of ``move`` calls whose durability may be made sure once, at its end
        (a Maildir syncs each folder it touched once, not twice per mail); it raises
        ``MailboxError`` there if it cannot. Backends whose moves are durable as they
        return (IMAP: the server's) need nothing."""
        yield

    def close(self) -> None:
        """Release the connection; safe to call twice."""
        ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def message_id_from_header(header: bytes) -> str | None:
    """The Message-ID of a header block as the stored mail will carry it
    (``message_id_key``: raw 8-bit bytes decoded, white space removed); None when
    absent or blank."""
    value = _plain_message_id(header)
    if value is False:
        msg = BytesHeaderParser(policy=compat32).parsebytes(header)
        # raw_items: the value with its raw bytes intact (``get`` gives U+FFFD for them,
        # and two IDs differing only in their Chinese would then look the same)
        value = next((str(v) for k, v in msg.raw_items()
                      if k.strip().lower() == "message-id"), None)
    if value is None:
        return None
    value = message_id_key(value)
    return None if blank_message_id(value) else value


_FIELD_NAME = re.compile(rb"[!-9;-~]+(?=:)")  # compat32's header line, its name not empty


def _plain_message_id(header: bytes) -> str | None | Literal[False]:
    """The first Message-ID field's value (its folded lines joined, white space kept)
    of a header block written plainly: ASCII, every line up to that field (and the
    field's own) a ``Name: value`` line or, after the first, a folded one. That is what
    compat32's parser gives for such a block, up to white space, which ``message_id_key``
    removes; None when the block has no such field. False for any other block (a
    Unix "From " line, 8-bit bytes, a line compat32 would end the header at): the
    parser decides. A Maildir inbox lists every mail's ID this way before it is read
    (``MaildirMailbox.pending``, for ``worker.intake.handle_chunk``'s check of mails
    already stored): the parser cost ~60 us a mail for one field."""
    if not header.isascii():
        return False
    found: list[bytes] | None = None
    for number, line in enumerate(header.splitlines()):
        if not line:
            break  # the blank line after the header
        if line[:1] in (b" ", b"\t"):
            if number == 0:
                return False
            if found is not None:
                found.append(line)
            continue
        if found is not None:
            break  # the next field: the value is complete
        name = _FIELD_NAME.match(line)
        if name is None:
            return False
        if name.group().lower() == b"message-id":
            found = [line[name.end() + 1:]]
    return None if found is None else b"".join(found).decode("ascii")


def folder_parts(folder: str) -> list[str]:
    """Split a caller's folder name on ``/`` (our hierarchy separator) and check it."""
    parts = [part.strip() for part in folder.split("/")]
    if not all(parts):
        raise ValueError(f"invalid folder name {folder!r}")
    if len(parts) == 1 and parts[0].upper() == "INBOX":
        raise ValueError("cannot move a mail into the inbox it is read from")
    return parts
