"""The wiring: one place that turns a Config into engine, sessions and mailbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config, load_config
from worker.db import check_schema, make_engine, session_factory
from worker.intake import PassSummary, run_pass
from worker.mailbox import Mailbox, open_mailbox


@dataclass
class App:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def from_config(cls, config: Config) -> App:
        engine = make_engine(config.database.url)
        return cls(config, engine, session_factory(engine))

    @classmethod
    def load(cls, path: str | Path | None = None) -> App:
        return cls.from_config(load_config(path))

    def open_mailbox(self) -> Mailbox:
        mb = self.config.mailbox
        return open_mailbox(mb.url, mb.password(), ca_file=mb.ca_file, timeout=mb.timeout_seconds)

    def run_once(self, should_stop: Callable[[], bool] = lambda: False) -> PassSummary:
        check_schema(self.engine)
        self.config.output_dir.mkdir(parents=True, exist_ok=True)
        with self.open_mailbox() as mailbox:
            return run_pass(mailbox, self.sessions, self.config, should_stop)

    def close(self) -> None:
        self.engine.dispose()
