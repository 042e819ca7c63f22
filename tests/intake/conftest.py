"""A whole installation in a temp folder: config, migrated database, Maildir, payments."""

from __future__ import annotations

import mailbox as stdlib_mailbox
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.builders.mail import maildir_message
from worker.app import App
from worker.config import load_config
from worker.export import export_applications
from worker.payments import read_payment_file, store_payments
from worker.samples import Trainee, payments_csv

TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class World:
    app: App
    root: Path

    @property
    def maildir(self) -> Path:
        return self.root / "mail"

    def deliver(self, *raws: bytes, arrival: datetime | None = None) -> None:
        """Deliver with the arrival time a mailbox records: ``arrival``, else the Date."""
        box = stdlib_mailbox.Maildir(str(self.maildir), create=True)
        for raw in raws:
            box.add(maildir_message(raw, arrival))

    def pay(self, trainees: list[Trainee]) -> None:
        rows, errors = read_payment_file("payments.csv", payments_csv(trainees), TZ)
        assert errors == []
        with self.app.sessions.begin() as s:
            store_payments(s, "payments.csv", rows, errors)

    def run(self) -> dict[str, int]:
        return self.app.run_once().by_status

    def export(self) -> list[dict[str, Any]]:
        with self.app.sessions() as s:
            return export_applications(s)["applications"]

    def folder(self, name: str) -> list[bytes]:
        box = stdlib_mailbox.Maildir(str(self.maildir), create=True)
        if name == "INBOX":
            return [box.get_bytes(k) for k in box.iterkeys()]
        if name not in box.list_folders():
            return []
        sub = box.get_folder(name)
        return [sub.get_bytes(k) for k in sub.iterkeys()]

    def config_file(self, chunk_mails: int | None = None) -> Path:
        """This world's config for a worker process; ``chunk_mails``: mails per
        transaction (default: this app's)."""
        path = self.root / "config.toml"
        cfg = self.app.config
        path.write_text(
            f'[database]\nurl = "{cfg.database.url}"\n'
            f'[mailbox]\nurl = "{cfg.mailbox.url}"\n'
            f'chunk_mails = {chunk_mails or cfg.mailbox.chunk_mails}\n'
            f'[output]\ndir = "{cfg.output_dir}"\n', encoding="utf-8")
        return path


def make_world(db_url: str, root: Path, **overrides: Any) -> World:
    over: dict[str, Any] = {
        "database": {"url": db_url},
        "mailbox": {"url": f"maildir:{root / 'mail'}"},
        "output": {"dir": str(root / "out")},
    }
    for key, value in overrides.items():
        over.setdefault(key, {}).update(value)
    app = App.from_config(load_config(overrides=over))
    return World(app, root)


