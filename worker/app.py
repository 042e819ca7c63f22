"""The wiring: one place that turns a Config into engine, sessions and mailbox."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config, load_config
from worker.db import check_schema, make_engine, session_factory
from worker.errors import InfrastructureError
from worker.intake import PassSummary, run_pass
from worker.mailbox import Mailbox, MailRef, open_mailbox

if TYPE_CHECKING:
    from worker.courier.ordering import OrderReport
    from worker.courier.tracking import TrackReport
    from worker.replies import SendReport

log = logging.getLogger(__name__)


_frozen = False


def _freeze_once() -> None:
    """Move what the process has built so far (modules, config, the engine and its
    caches: alive until it exits) out of the cyclic garbage collector's view, once a
    process. Each collection during a pass then walks only the pass's own objects:
    intake spent ~0.6 ms a mail in the collector, ~0.3 after (bench/intake.py's
    world). Nothing frozen is ever freed: hence once, after start-up."""
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True


@dataclass
class RunSummary(PassSummary):
    """A pass and its print batch (paths None: nothing pending, or rendering failed)."""

    invoices_pdf: str | None = None   # the first batch's files
    labels_pdf: str | None = None
    batches: list[str] = field(default_factory=list)
    render_error: str | None = None
    replies: dict[str, object] | None = None   # the send's SendReport.as_dict()
    reply_error: str | None = None             # why replies stayed queued (SMTP, database)


@dataclass
class App:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    reply_error: str | None = field(default=None, init=False)  # the last send's, for status

    @classmethod
    def from_config(cls, config: Config) -> App:
        engine = make_engine(config.database.url)
        app = cls(config, engine, session_factory(engine))
        _freeze_once()
        return app

    @classmethod
    def load(cls, path: str | Path | None = None) -> App:
        return cls.from_config(load_config(path))

    def open_mailbox(self) -> Mailbox:
        mb = self.config.mailbox
        return open_mailbox(mb.url, mb.password(), ca_file=mb.ca_file, timeout=mb.timeout_seconds)

    def run_once(self, should_stop: Callable[[], bool] = lambda: False,
                 progress: Callable[[list[MailRef]], Iterable[MailRef]] | None = None) -> RunSummary:
        check_schema(self.engine)
        self.config.output_dir.mkdir(parents=True, exist_ok=True)
        with self.open_mailbox() as mailbox:
            done = run_pass(mailbox, self.sessions, self.config, should_stop, progress)
        summary = RunSummary(**{f.name: getattr(done, f.name) for f in fields(PassSummary)})
        if not should_stop():  # an API provider's waybills, before their labels print
            self.order_waybills()
        if not should_stop():  # on SIGTERM, leave printing to the next run
            self.print_pending(summary)
        if not should_stop():  # likewise sending: the queued replies wait in the outbox
            report = self.send_replies()
            summary.replies = report.as_dict() if report is not None else None
            summary.reply_error = self.reply_error
        return summary

    def send_replies(self, limit: int = 100) -> SendReport | None:
        """Send due replies from the outbox. Never fails the run: an SMTP (or database)
        problem leaves the rows queued for the next run or the scheduler's send job."""
        from worker.mailer import Mailer
        from worker.replies import send_due
        from worker.replies.queue import release_withheld

        mailer = Mailer.from_config(self.config)
        report = None
        self.reply_error = None
        try:
            with self.sessions.begin() as session:
                released = release_withheld(session, self.config)
            if released:
                log.info("replies: %d held back by the reply limits are queued now", released)
        except SQLAlchemyError as e:
            log.error("replies held back by the limits stay so (database): %s", e)
        for _ in range(10_000):  # a big pass queues more than one batch of replies
            try:
                report = send_due(self.sessions, mailer, limit=limit, retries=self.config.replies,
                                  output_dir=self.config.output_dir)
            except InfrastructureError as e:
                log.error("replies not sent, they stay queued: %s", e)
                self.reply_error = str(e)
                return None
            except SQLAlchemyError as e:
                log.error("replies not sent (database), they stay queued: %s", e)
                self.reply_error = f"database: {e}"
                return None
            if report.sent or report.failed:
                log.info("replies: %s", report.as_dict())
            if report.stopped:
                self.reply_error = report.stopped
            if report.stopped or report.sent + report.failed + report.given_up < limit:
                break
        return report

    def order_waybills(self) -> OrderReport | None:
        """Waybills (and provider labels) for parcels awaiting them, with an API provider
        (``worker.courier.ordering``). A provider failure only delays those parcels (the
        reason is stored on each); a database failure leaves them to the next run."""
        from worker.courier.factory import provider_for
        from worker.courier.ordering import order_waybills

        provider = provider_for(self.config)
        if not provider.api:
            return None
        report = None
        for _ in range(1000):  # a batch per step; a backlog takes several
            try:
                report = order_waybills(self.sessions, self.config, provider)
            except (InfrastructureError, SQLAlchemyError) as e:
                log.error("waybills not ordered, the next run tries again: %s", e)
                return None
            if not report.ordered and not report.labelled:
                break
        return report

    def track_parcels(self) -> TrackReport | None:
        """Routes of undelivered parcels (``worker.courier.tracking``); never raises."""
        from worker.courier.factory import provider_for
        from worker.courier.tracking import track_parcels

        provider = provider_for(self.config)
        if not provider.api:
            return None
        try:
            return track_parcels(self.sessions, self.config, provider)
        except (InfrastructureError, SQLAlchemyError) as e:
            log.error("routes not read, the next run tries again: %s", e)
            return None

    def print_pending(self, summary: RunSummary) -> None:
        """The print batch of everything issued and not yet printed (this pass's and any
        a crash left behind). A failure here is the render step's only: the pass's
        outcomes are committed, and the next run renders what is still pending."""
        from worker.documents import RenderError, render_batches

        try:  # batches are capped in size: a backlog takes several, rendered side by side
            for batch in render_batches(self.sessions, self.config, limit=10_000):
                summary.batches.append(str(batch.directory))
                if summary.invoices_pdf is None and summary.labels_pdf is None:
                    summary.invoices_pdf = str(batch.invoices_pdf) if batch.invoices_pdf else None
                    summary.labels_pdf = str(batch.labels_pdf) if batch.labels_pdf else None
        except RenderError as e:
            log.error("%s", e, exc_info=True)
            summary.render_error = str(e)

    def close(self) -> None:
        self.engine.dispose()
