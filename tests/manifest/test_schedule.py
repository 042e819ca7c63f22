"""``run`` closes out the pickup every day at the configured time, Asia/Shanghai."""

from __future__ import annotations

import inspect
import logging
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from tests.manifest.conftest import RecordingMailer, Site
from worker.scheduler import build_scheduler, close_out_pickup

TZ = ZoneInfo("Asia/Shanghai")


def manifest_job(site: Site):  # type: ignore[no-untyped-def]
    scheduler = build_scheduler(site.app, threading.Event())
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"poll", "manifest"} <= set(jobs)
    return jobs["manifest"]


def test_the_close_out_is_a_daily_cron_job_at_16_00_shanghai(site: Site) -> None:
    job = manifest_job(site)
    assert isinstance(job.trigger, CronTrigger)
    assert job.trigger.timezone == TZ
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"], fields["second"]) == ("16", "0", "0")
    assert (fields["day"], fields["day_of_week"]) == ("*", "*")
    assert job.max_instances == 1 and job.coalesce is True
    assert inspect.unwrap(job.func) is close_out_pickup  # run as a tracked job (scheduler.Jobs)
    morning = datetime(2018, 9, 3, 10, 0, tzinfo=TZ)
    assert job.trigger.get_next_fire_time(None, morning) == datetime(2018, 9, 3, 16, 0, tzinfo=TZ)
    evening = datetime(2018, 9, 3, 16, 0, 1, tzinfo=TZ)
    nxt = job.trigger.get_next_fire_time(None, evening)
    assert nxt == datetime(2018, 9, 4, 16, 0, tzinfo=TZ)
    assert nxt.utcoffset() == timedelta(hours=8)  # 08:00 UTC, whatever the host's zone


def test_the_time_comes_from_the_config(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site(schedule={"manifest_time": "17:45"})
    job = manifest_job(site)
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("17", "45")


def test_the_job_closes_out_and_an_smtp_failure_is_only_logged(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site.issue(2)
    with caplog.at_level(logging.INFO):
        close_out_pickup(site.app, RecordingMailer(fail=True))  # does not raise
    assert "not mailed, will retry" in caplog.text
    (m,) = site.manifests()
    assert m.emailed_at is None and m.parcels == 2
    mailer = RecordingMailer()
    close_out_pickup(site.app, mailer)
    assert len(mailer.sent) == 1 and len(site.manifests()) == 1
