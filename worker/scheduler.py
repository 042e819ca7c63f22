"""``run``: the scheduled worker. One poll at a time, missed runs coalesced, and a
clean stop on SIGTERM/SIGINT: the pass in progress finishes its current mail, commits
and moves it, and leaves the rest for next time."""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from worker.app import App
from worker.errors import InfrastructureError
from worker.health.runs import RunLog, recorded_close_out, recorded_pass, recorded_replies
from worker.mailer import Mailer

log = logging.getLogger(__name__)


def poll(app: App, stopping: threading.Event, runs: RunLog | None = None) -> None:
    try:
        summary = recorded_pass(app, runs or RunLog(app.sessions), should_stop=stopping.is_set)
    except InfrastructureError as e:
        log.error("pass stopped, will retry at the next poll: %s", e)
        return
    log.info("pass done: %d mails, %s", summary.processed, summary.by_status)


def close_out_pickup(app: App, mailer: Mailer, runs: RunLog | None = None) -> None:
    """The daily manifest; a mail failure is retried by the next close-out (or `manifest`)."""
    try:
        result = recorded_close_out(app, runs or RunLog(app.sessions), mailer)
    except InfrastructureError as e:
        log.error("manifest close-out failed, will retry at the next one: %s", e)
        return
    if result.error is not None:
        log.error("manifest(s) %s not mailed, will retry: %s", list(result.unsent), result.error)
    log.info("manifest close-out: %s", result.as_json())


def send_replies(app: App, stopping: threading.Event, runs: RunLog | None = None) -> None:
    """Every minute, apart from the polls: a reply waiting for SMTP to come back (or
    for its backoff) goes out without waiting for new mail. Never raises."""
    if not stopping.is_set():
        recorded_replies(app, runs or RunLog(app.sessions))


def order_waybills(app: App, stopping: threading.Event) -> None:
    """Between polls: a parcel whose provider was down gets its waybill once the
    provider is back, without waiting for new mail. Never raises."""
    if not stopping.is_set():
        app.order_waybills()


def track_parcels(app: App, stopping: threading.Event) -> None:
    if not stopping.is_set():
        app.track_parcels()


class Jobs:
    """The jobs running now. The scheduler's shutdown does not wait for them (it is
    asked from a signal handler), and ``run`` closes the database once ``run_forever``
    returns: so it returns only after the last job has finished, and none starts
    after that (``closed``)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self._closed = False

    def tracked(self, func: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> None:
            with self._changed:
                if self._closed:
                    return
                self._running += 1
            try:
                func(*args, **kwargs)
            finally:
                with self._changed:
                    self._running -= 1
                    self._changed.notify_all()
        return run

    def close(self) -> None:
        """Wait for the running jobs to finish (each ends at its next stop check:
        a pass after the mail in hand); later ones do nothing."""
        with self._changed:
            self._closed = True
            self._changed.wait_for(lambda: self._running == 0)


def build_scheduler(app: App, stopping: threading.Event, jobs: Jobs | None = None
                    ) -> BlockingScheduler:
    jobs = jobs or Jobs()
    tz = app.config.schedule.timezone
    scheduler = BlockingScheduler(timezone=tz)
    runs = RunLog(app.sessions)
    scheduler.add_job(
        jobs.tracked(poll), IntervalTrigger(minutes=app.config.schedule.poll_minutes, timezone=tz),
        args=[app, stopping, runs], id="poll", max_instances=1, coalesce=True,
        next_run_time=datetime.now(tz), misfire_grace_time=None,
    )
    at = app.config.schedule.manifest_time
    scheduler.add_job(
        jobs.tracked(close_out_pickup), CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
        args=[app, Mailer.from_config(app.config), runs], id="manifest", max_instances=1,
        coalesce=True, misfire_grace_time=3600,
    )
    scheduler.add_job(
        jobs.tracked(send_replies), IntervalTrigger(minutes=1, timezone=tz), args=[app, stopping, runs],
        id="replies", max_instances=1, coalesce=True, misfire_grace_time=None,
    )
    courier = app.config.courier
    if courier.provider != "pool":  # an API provider: waybills and routes on their own clocks
        scheduler.add_job(
            jobs.tracked(order_waybills), IntervalTrigger(minutes=courier.retry_minutes, timezone=tz),
            args=[app, stopping], id="waybills", max_instances=1, coalesce=True,
            misfire_grace_time=None,
        )
        scheduler.add_job(
            jobs.tracked(track_parcels), IntervalTrigger(minutes=courier.track_minutes, timezone=tz),
            args=[app, stopping], id="tracking", max_instances=1, coalesce=True,
            misfire_grace_time=None,
        )
    return scheduler


def run_forever(app: App) -> None:
    stopping, jobs = threading.Event(), Jobs()
    scheduler = build_scheduler(app, stopping, jobs)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the current mail", signum)
        stopping.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started: polling every %s min", app.config.schedule.poll_minutes)
    scheduler.start()
    jobs.close()
    log.info("worker stopped")
