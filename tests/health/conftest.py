"""A whole installation (tests.intake's World) and helpers to record runs at given times."""

from __future__ import annotations

from datetime import datetime

from tests.intake.conftest import World
from worker.db.models import JobRun


def add_run(world: World, started: datetime, finished: datetime | None, *, job: str = "pass",
            ok: bool = True, error_kind: str | None = None, error: str | None = None) -> None:
    with world.app.sessions.begin() as s:
        s.add(JobRun(job=job, trigger="scheduler", started_at=started, finished_at=finished,
                     ok=ok, counts="{}", error_kind=error_kind, error=error))
