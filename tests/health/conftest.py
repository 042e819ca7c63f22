"""A whole installation (tests.intake's World) and helpers to record runs at given times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.intake.conftest import World, make_world
from worker.db.models import JobRun


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    w = make_world(db_url, tmp_path)
    yield w
    w.app.close()


def add_run(world: World, started: datetime, finished: datetime | None, *, job: str = "pass",
            ok: bool = True, error_kind: str | None = None, error: str | None = None) -> None:
    with world.app.sessions.begin() as s:
        s.add(JobRun(job=job, trigger="scheduler", started_at=started, finished_at=finished,
                     ok=ok, counts="{}", error_kind=error_kind, error=error))
