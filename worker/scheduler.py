"""``run``: the scheduled worker. One poll at a time, missed runs coalesced, and a
clean stop on SIGTERM/SIGINT: the pass in progress finishes its current mail, commits
and moves it, and leaves the rest for next time."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from worker.app import App
from worker.errors import InfrastructureError

log = logging.getLogger(__name__)


def poll(app: App, stopping: threading.Event) -> None:
    try:
        summary = app.run_once(should_stop=stopping.is_set)
    except InfrastructureError as e:
        log.error("pass stopped, will retry at the next poll: %s", e)
        return
    log.info("pass done: %d mails, %s", summary.processed, summary.by_status)


def build_scheduler(app: App, stopping: threading.Event) -> BlockingScheduler:
    tz = app.config.schedule.timezone
    scheduler = BlockingScheduler(timezone=tz)
    scheduler.add_job(
        poll, IntervalTrigger(minutes=app.config.schedule.poll_minutes, timezone=tz),
        args=[app, stopping], id="poll", max_instances=1, coalesce=True,
        next_run_time=datetime.now(tz), misfire_grace_time=None,
    )
    return scheduler


def run_forever(app: App) -> None:
    stopping = threading.Event()
    scheduler = build_scheduler(app, stopping)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the current mail", signum)
        stopping.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started: polling every %s min", app.config.schedule.poll_minutes)
    scheduler.start()
    log.info("worker stopped")
