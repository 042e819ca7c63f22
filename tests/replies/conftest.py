"""A whole installation whose replies go to a real SMTP server (aiosmtpd).

``reply_world``: SQLite and PostgreSQL (``db_url``), the Maildir and payments of the
intake tests, ``[smtp] url`` pointing at ``smtp_server``. Helpers read what the server
received, decoded, and what the outbox holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.fixtures.smtp import Capture, Received, SmtpServer
from tests.intake.conftest import World, make_world
from worker.app import App
from worker.db.models import OutboxMessage
from worker.intake import PassSummary, run_pass
from worker.mailer import Mailer
from worker.replies import SendReport, send_due


@dataclass
class ReplyWorld:
    world: World
    smtp: SmtpServer | None

    @property
    def app(self) -> App:
        return self.world.app

    def process(self) -> PassSummary:
        """One intake pass without sending: what got queued is still in the outbox."""
        with self.app.open_mailbox() as mailbox:
            return run_pass(mailbox, self.app.sessions, self.app.config)

    def send(self, now: datetime | None = None, limit: int = 100) -> SendReport:
        return send_due(self.app.sessions, Mailer.from_config(self.app.config), now=now,
                        limit=limit, retries=self.app.config.replies)

    def outbox(self) -> list[OutboxMessage]:
        with self.app.sessions() as s:
            return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    def received(self) -> list[Received]:
        assert self.smtp is not None
        return list(self.smtp.messages)

    def replies(self) -> list[EmailMessage]:
        return [r.message() for r in self.received()]


def body(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    text = part.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def reply_world_at(db_url: str, root: Path, smtp_url: str, smtp: SmtpServer | None,
                   ca_file: str = "") -> ReplyWorld:
    return ReplyWorld(make_world(db_url, root, smtp={"url": smtp_url, "ca_file": ca_file}), smtp)


@pytest.fixture
def reply_world(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> Iterator[ReplyWorld]:
    rw = reply_world_at(db_url, tmp_path, smtp_server.url, smtp_server)
    yield rw
    rw.app.close()


@dataclass
class Refusing(Capture):
    """Capture that refuses some recipients at RCPT (550: no such user)."""

    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@contextmanager
def serving(handler: Capture, port: int) -> Iterator[SmtpServer]:
    """An aiosmtpd server on a given port (say, one that was down a moment ago)."""
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("smtp", "127.0.0.1", port, handler)
    finally:
        controller.stop()
