"""Simulators of each provider on 127.0.0.1, and configs pointing at them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.courier import kdniao_sim, sf_sim
from tests.courier.kdniao_sim import KdniaoSimulator
from tests.courier.sf_sim import SfSimulator
from worker.config import Config, load_config


@pytest.fixture
def sf(monkeypatch: pytest.MonkeyPatch) -> Iterator[SfSimulator]:
    sim = SfSimulator()
    sf_sim.warm_up()
    sim.start()
    monkeypatch.setenv("SF_PARTNER_ID", sf_sim.PARTNER)
    monkeypatch.setenv("SF_CHECKWORD", sf_sim.CHECKWORD)
    yield sim
    sim.stop()


@pytest.fixture
def kdniao(monkeypatch: pytest.MonkeyPatch) -> Iterator[KdniaoSimulator]:
    sim = KdniaoSimulator()
    sim.start()
    monkeypatch.setenv("KDNIAO_EBUSINESS_ID", kdniao_sim.BUSINESS)
    monkeypatch.setenv("KDNIAO_APP_KEY", kdniao_sim.APP_KEY)
    yield sim
    sim.stop()


def courier_overrides(provider: str, base: str) -> dict[str, Any]:
    """[courier] for ``provider`` against a simulator at ``base``; client timeouts of
    1 s (the simulator's "timeout" answers after 3 s)."""
    return {"provider": provider,
            "sf": {"url": f"{base}/std/service", "timeout_seconds": 1},
            "kdniao": {"url": f"{base}/api/EOrderService", "timeout_seconds": 1}}


def config_for(provider: str, base: str, **sections: Any) -> Config:
    return load_config(overrides={"courier": courier_overrides(provider, base), **sections})
