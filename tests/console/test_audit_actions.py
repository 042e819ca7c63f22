"""Audit actions are one vocabulary (``AuditAction``): every action has its Chinese name
in the console, and the log refuses an action outside the vocabulary."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.intake.conftest import World
from worker.console.filters import ACTIONS
from worker.db.models import AuditEntry
from worker.staff import Actor
from worker.staff.audit import record
from worker.status import AuditAction


def test_every_action_has_its_chinese_name_and_no_other_is_listed() -> None:
    assert set(ACTIONS) == set(AuditAction)
    assert all(ACTIONS[action].strip() for action in AuditAction)


def test_the_log_stores_known_actions_and_refuses_others(world: World, staff: Actor) -> None:
    with world.app.sessions.begin() as s:
        record(s, staff, AuditAction.RECHECK, note="x")
    with world.app.sessions() as s:
        assert s.scalars(select(AuditEntry.action)).all() == ["recheck"]
    with world.app.sessions.begin() as s, pytest.raises(ValueError, match="typo"):
        record(s, staff, "typo")  # type: ignore[arg-type]
