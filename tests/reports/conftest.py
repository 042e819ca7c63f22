"""An installation with issued invoices, a held application and an audit entry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.conftest import Seeded, seed
from tests.intake.conftest import World, make_world


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    w = make_world(db_url, tmp_path)
    yield w
    w.app.close()


@pytest.fixture
def seeded(world: World) -> Seeded:
    return seed(world)
