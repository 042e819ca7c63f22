"""An installation with issued invoices, a held application and an audit entry."""

from __future__ import annotations

import pytest

from tests.console.conftest import Seeded, seed
from tests.intake.conftest import World


@pytest.fixture
def seeded(world: World) -> Seeded:
    return seed(world)
