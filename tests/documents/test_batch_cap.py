"""A backlog is printed in capped batches: whole applications, nothing twice or lost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builders.form import make_lines
from tests.documents.conftest import submit
from tests.documents.pdf import pages_text
from tests.intake.conftest import World, make_world


@pytest.fixture
def small_batches(db_url: str, tmp_path: Path) -> Iterator[World]:
    w = make_world(db_url, tmp_path, documents={"max_invoices_per_batch": 3})
    yield w
    w.app.close()


def test_backlog_is_split_into_capped_batches(small_batches: World) -> None:
    world = small_batches
    for start in (1, 11, 21):  # three applications, two invoices each (每人一张)
        submit(world, make_lines(2, start=start), issue_mode="每人一张")
    summary = world.app.run_once()
    assert len(summary.batches) == 3  # 2 + 2 + 2 invoices with a cap of 3: one app each
    numbers = []
    for directory in summary.batches:
        text = "\n".join(pages_text(Path(directory) / "invoices.pdf"))
        numbers += re.findall(r"发票号码\s*(\d{8})", text)
    assert numbers == [f"{i:08d}" for i in range(1, 7)]  # each invoice in exactly one batch
    apps = world.export()
    assert all(inv["pdf"] for a in apps for inv in a["invoices"])
    assert world.app.run_once().batches == []
