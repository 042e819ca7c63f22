"""A document with more invoices than ``files.PART_INVOICES`` (labels than
``labels.PART_LABELS``) is rendered in parts and joined (issue 12: a render process
stays bounded whatever a batch holds): the joined file has every page, in order,
reading and looking as the one-document rendering does, and the same documents give
the same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.builders.form import make_line
from tests.documents import samples
from tests.documents.conftest import submit
from tests.documents.pdf import pages_text
from tests.documents.test_pages import MAX_SHARE, differing_share, pictures
from tests.intake.conftest import World
from worker.db.models import Application, Invoice
from worker.documents import files, labels, reprint
from worker.documents.render import write_pdf
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


def test_labels_in_parts_read_and_look_as_one_document(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    provider = tmp_path / "provider.pdf"   # a provider's own label, laid over its strip page
    write_pdf('<style>@page { size: 100mm 140mm; margin: 5mm }</style>'
              '<div style="border: 2pt solid #000; height: 120mm"></div>', provider, key="p")
    found = samples.labels(provider)

    def render(name: str) -> Path:
        rendered = labels.write_labels(found, tmp_path / f"{name}.pdf", key="labels",
                                       created=samples.CREATED)
        assert rendered.pages == len(found)
        return rendered.path

    whole = render("whole")
    monkeypatch.setattr(labels, "PART_LABELS", 2)
    first, again = render("a"), render("b")

    assert pages_text(first) == pages_text(whole)
    assert PdfReader(first).metadata == PdfReader(whole).metadata   # title: every label
    assert first.read_bytes() == again.read_bytes()
    for ours, theirs in zip(pictures(first, tmp_path / "a-png"),
                            pictures(whole, tmp_path / "whole-png"), strict=True):
        assert differing_share(ours, theirs) < MAX_SHARE
