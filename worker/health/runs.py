"""Every pass and every scheduled job, recorded in ``job_runs`` (issue 11 item 3).

A run gets its row when it starts (so a run that never ends shows as started and
unfinished) and is completed when it ends, with its counts and the error that
stopped or spoiled it. Recording never stops the work: when the database itself is
the failure, the finished run is kept in memory and written before the next one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.db.models import JobRun
from worker.db.types import utcnow
from worker.errors import MailboxError, PoolExhausted, SmtpError, StorageError

if TYPE_CHECKING:
    from worker.app import App, RunSummary
    from worker.mailer import Mailer

log = logging.getLogger(__name__)

KEEP = timedelta(days=120)   # a season and a bit; older runs are pruned by the next pass
MAX_ERROR = 2000


class Job(StrEnum):
    PASS = "pass"  # noqa: S105 -- a mail pass (scheduled poll or `run --once`), no secret
    MANIFEST = "manifest"    # the pickup close-out
    REPLIES = "replies"      # the scheduler's reply send between passes


class Trigger(StrEnum):
    SCHEDULER = "scheduler"
    CLI = "cli"


class ErrorKind(StrEnum):
    MAILBOX = "mailbox"
    SMTP = "smtp"
    STORAGE = "storage"
    NUMBERS = "numbers"      # an invoice number or waybill range ran out
    RENDER = "render"
    OTHER = "other"


def kind_of(error: BaseException) -> ErrorKind:
    """Which outside system failed, for the status report."""
    if isinstance(error, MailboxError):
        return ErrorKind.MAILBOX
    if isinstance(error, SmtpError):
        return ErrorKind.SMTP
    if isinstance(error, (StorageError, SQLAlchemyError)):
        return ErrorKind.STORAGE
    if isinstance(error, PoolExhausted):
        return ErrorKind.NUMBERS
    if type(error).__name__ == "RenderError":  # worker.documents is heavy to import here
        return ErrorKind.RENDER
    return ErrorKind.OTHER


@dataclass
class RunNote:
    """What a run did; the caller fills ``counts`` and reports problems."""

    job: Job
    trigger: Trigger
    started_at: datetime
    finished_at: datetime | None = None
    ok: bool = True
    counts: dict[str, Any] = field(default_factory=dict)
    error_kind: ErrorKind | None = None
    error: str | None = None

    def problem(self, kind: ErrorKind, text: str) -> None:
        """An error that did not stop the run (replies not sent, PDFs not rendered)."""
        self.error_kind, self.error = kind, text[:MAX_ERROR]

    def failed(self, error: BaseException) -> None:
        self.ok = False
        self.problem(kind_of(error), str(error) or type(error).__name__)

    def values(self) -> dict[str, Any]:
        return dict(job=str(self.job), trigger=str(self.trigger), started_at=self.started_at,
                    finished_at=self.finished_at, ok=self.ok,
                    counts=json.dumps(self.counts, ensure_ascii=False, default=str),
                    error_kind=None if self.error_kind is None else str(self.error_kind),
                    error=self.error)


@dataclass
class RunLog:
    """One per process: writes the runs of that process's jobs."""

    sessions: sessionmaker[Session]
    trigger: Trigger = Trigger.SCHEDULER
    unwritten: list[RunNote] = field(default_factory=list)

    @contextmanager
    def track(self, job: Job) -> Iterator[RunNote]:
        """Record one run around the ``with`` body; an exception is recorded and re-raised."""
        note = RunNote(job, self.trigger, utcnow())
        run_id = self._start(note)
        try:
            yield note
        except BaseException as e:
            note.failed(e)
            raise
        finally:
            note.finished_at = utcnow()
            self._finish(run_id, note)

    def _start(self, note: RunNote) -> int | None:
        try:
            with self.sessions.begin() as session:
                self._flush_unwritten(session)
                if note.job == Job.PASS:
                    session.execute(delete(JobRun).where(JobRun.started_at < note.started_at - KEEP))
                row = JobRun(**{**note.values(), "ok": False})
                session.add(row)
                session.flush()
                return row.id
        except SQLAlchemyError as e:
            log.warning("cannot record the start of the %s run: %s", note.job, e)
            return None

    def _finish(self, run_id: int | None, note: RunNote) -> None:
        try:
            with self.sessions.begin() as session:
                if run_id is None:
                    session.add(JobRun(**note.values()))
                else:
                    session.execute(update(JobRun).where(JobRun.id == run_id).values(**note.values()))
        except SQLAlchemyError as e:
            log.warning("cannot record the %s run now, will at the next one: %s", note.job, e)
            self.unwritten = [*self.unwritten[-20:], note]

    def _flush_unwritten(self, session: Session) -> None:
        for note in self.unwritten:
            session.add(JobRun(**note.values()))
        self.unwritten = []


def recorded_pass(app: App, runs: RunLog, should_stop: Any = lambda: False,
                  progress: Any = None) -> RunSummary:
    """``app.run_once`` as a recorded pass: mails by outcome, replies and print batches,
    and the SMTP or render error that spoiled it without stopping it."""
    with runs.track(Job.PASS) as note:
        summary = app.run_once(should_stop, progress)
        note.counts = {"mails": summary.processed, "already_done": summary.duplicates,
                       "by_status": summary.by_status, "batches": len(summary.batches),
                       **({"replies": summary.replies} if summary.replies else {})}
        if summary.reply_error:
            note.problem(ErrorKind.SMTP, summary.reply_error)
        if summary.render_error:
            note.problem(ErrorKind.RENDER, summary.render_error)
    return summary


def recorded_replies(app: App, runs: RunLog) -> None:
    """The scheduler's reply send between passes. A quiet minute (nothing due) is not
    recorded: 1,440 empty rows a day would bury the passes."""
    note = RunNote(Job.REPLIES, runs.trigger, utcnow())
    report = app.send_replies()
    note.finished_at = utcnow()
    if report is not None and not (report.sent or report.failed or report.given_up):
        return
    note.counts = report.as_dict() if report is not None else {}
    if app.reply_error:
        note.problem(ErrorKind.SMTP, app.reply_error)
    runs._finish(None, note)


def recorded_close_out(app: App, runs: RunLog, mailer: Mailer) -> Any:
    """The pickup close-out; a manifest written but not mailed is an SMTP problem."""
    from worker.manifest import close_out

    with runs.track(Job.MANIFEST) as note:
        result = close_out(app.sessions, app.config, mailer)
        note.counts = result.as_json()
        if result.error is not None:
            note.problem(ErrorKind.SMTP, str(result.error))
    return result
