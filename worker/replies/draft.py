"""A queued reply kept as what it is made of, built into its MIME message when sent.

Composing the MIME message (headers, base64 body, attachments) cost ~2.3 ms a mail
inside intake's transaction (issue 12); the outbox row now stores its parts instead:
the rendered body (``outbox.body``) and, as JSON (``outbox.fields``), the sender, the
recipient, the subject, the Message-ID, the threading IDs, the Date (the queue time
in the configured zone, ISO 8601 with its offset) and the attachments as
(file name shown, path under ``output.dir``) pairs, never their bytes. ``build``
gives, at every attempt, the exact bytes ``compose.build_message`` gives at queue
time with the files as they were then (``tests/replies/test_draft.py``).

Rows queued before (migration 0011) carry the whole message in ``outbox.message``:
those bytes are sent as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

from worker.db.models import OutboxMessage
from worker.replies.compose import POLICY, build_message, one_line


class Unbuildable(Exception):
    """This outbox row cannot be made into a message now; the others can (the sender
    counts it as this message's failure: retried, then given up)."""


class MissingAttachment(Unbuildable):
    """A file a queued reply attaches is gone from ``output.dir`` (deleted or moved
    after the reply was queued): this message cannot be sent until it is back."""


@dataclass(frozen=True)
class Draft:
    """The arguments of ``compose.build_message``; ``date`` is timezone-aware and
    ``attachments`` are (file name shown, path relative to ``output.dir``)."""

    sender: str
    sender_name: str
    to: str
    subject: str
    message_id: str
    in_reply_to: str | None
    references: list[str]
    date: datetime
    body: str
    attachments: list[tuple[str, str]] = field(default_factory=list)

    def header_subject(self) -> str:
        """The Subject header's text as the built message carries it (``outbox.subject``):
        the same header object ``build_message`` makes, without building the rest."""
        return str(POLICY.header_factory("Subject", one_line(self.subject)))

    def fields_json(self) -> str:
        """Everything but the body, for ``outbox.fields``."""
        return json.dumps({
            "sender": self.sender, "sender_name": self.sender_name, "to": self.to,
            "subject": self.subject, "message_id": self.message_id,
            "in_reply_to": self.in_reply_to, "references": self.references,
            "date": self.date.isoformat(), "attachments": self.attachments,
        }, ensure_ascii=False)

    @classmethod
    def from_stored(cls, fields: str, body: str) -> Draft:
        """The draft of a row written by ``fields_json``; ValueError/KeyError if corrupt."""
        f = json.loads(fields)
        return cls(sender=f["sender"], sender_name=f["sender_name"], to=f["to"],
                   subject=f["subject"], message_id=f["message_id"],
                   in_reply_to=f["in_reply_to"], references=list(f["references"]),
                   date=datetime.fromisoformat(f["date"]), body=body,
                   attachments=[(str(name), str(path)) for name, path in f["attachments"]])

    def build(self, output_dir: Path | None) -> EmailMessage:
        """The message, attachments read from under ``output_dir`` now.

        Raises MissingAttachment when a file is not there (or no ``output_dir`` is given
        for a draft with attachments)."""
        files = [(name, _read(output_dir, path)) for name, path in self.attachments]
        return build_message(
            sender=self.sender, sender_name=self.sender_name, to=self.to, subject=self.subject,
            message_id=self.message_id, in_reply_to=self.in_reply_to, references=self.references,
            date=self.date, body=self.body, attachments=files)


def _read(output_dir: Path | None, path: str) -> bytes:
    if output_dir is None:
        raise MissingAttachment(f"附件 {path} 无法读取：发送时未给出输出目录 (output.dir)")
    try:
        return (output_dir / path).read_bytes()
    except FileNotFoundError as e:
        raise MissingAttachment(f"附件 {path} 已不在输出目录 {output_dir}（被删除或移走）："
                                "恢复该文件后重试") from e
    except OSError as e:
        raise MissingAttachment(f"附件 {path} 无法读取：{e.strerror or e}") from e


def stored_message(message: bytes | None, fields: str | None, body: str | None,
                   output_dir: Path | None) -> EmailMessage:
    """What sending an outbox row sends, from its columns: the stored ``message`` bytes
    as they are when there are some (queued before migration 0011), else the draft in
    ``fields`` and ``body`` built now. Raises MissingAttachment (``Draft.build``), or
    Unbuildable for a row with nothing to send (withheld) or a corrupt draft."""
    if message:
        msg = message_from_bytes(message, policy=POLICY)
        assert isinstance(msg, EmailMessage)
        return msg
    if fields is None:
        raise Unbuildable("nothing to send: neither a stored message nor a draft")
    try:
        draft = Draft.from_stored(fields, body or "")
    except (KeyError, TypeError, ValueError) as e:
        raise Unbuildable(f"the stored draft is unreadable: {e!r}") from e
    return draft.build(output_dir)


def outbox_bytes(row: OutboxMessage, output_dir: Path | None) -> bytes:
    """The row's message as bytes (the console's draft view, tests): its stored bytes,
    else its draft built now; b"" for a row with nothing to send (withheld). Raises
    as ``stored_message``."""
    if not row.message and row.fields is None:
        return b""
    return row.message or stored_message(None, row.fields, row.body, output_dir).as_bytes()
