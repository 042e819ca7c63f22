"""A document with more invoices than ``files.PART_INVOICES`` is rendered in parts and
joined (issue 12: a render process stays bounded whatever one application holds): the
joined file has every page, in order, reading as the one-document rendering does, and
the same documents give the same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.builders.form import make_line
from tests.documents.conftest import submit
from tests.documents.pdf import pages_text
from tests.intake.conftest import World
from worker.db.models import Application, Invoice
from worker.documents import files, reprint
from worker.intake import run_pass


@pytest.fixture
def per_person(world: World) -> int:
    """One accepted application of five trainees, one invoice each; its id."""
    submit(world, [make_line(60 + i) for i in range(5)], issue_mode="每人一张")
    with world.app.open_mailbox() as mailbox:
        assert run_pass(mailbox, world.app.sessions, world.app.config).by_status == {"accepted": 1}
    with world.app.sessions() as s:
        return s.scalars(select(Application.id)).one()


def render(world: World, app_id: int, out: Path) -> Path:
    invoices, _ = reprint(world.app.sessions, world.app.config, app_id, out)
    return invoices


def test_parts_join_into_the_same_pages_in_order(world: World, per_person: int, tmp_path: Path,
                                                  in_process: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    whole = pages_text(render(world, per_person, tmp_path / "whole"))
    monkeypatch.setattr(files, "PART_INVOICES", 2)
    first = render(world, per_person, tmp_path / "a")
    again = render(world, per_person, tmp_path / "b")
    parts = pages_text(first)

    with world.app.sessions() as s:
        numbers = list(s.scalars(select(Invoice.number).order_by(Invoice.number)))
    assert len(numbers) == 5
    assert [" ".join(p.split()) for p in parts] == [" ".join(p.split()) for p in whole]
    shown = [next(n for n in numbers if n in page) for page in parts if any(n in page for n in numbers)]
    assert shown == sorted(shown) and set(shown) == set(numbers)
    assert first.read_bytes() == again.read_bytes()
