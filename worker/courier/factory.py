"""The configured provider: ``[courier] provider`` = "pool" (default), "sf" or "kdniao"."""

from __future__ import annotations

from worker.config import Config
from worker.courier.base import Provider
from worker.courier.kdniao import KdniaoProvider
from worker.courier.pool import PoolProvider
from worker.courier.sf import SfProvider

PROVIDERS: dict[str, type] = {"pool": PoolProvider, "sf": SfProvider, "kdniao": KdniaoProvider}


def provider_for(config: Config) -> Provider:
    """A new provider for ``config``; credentials are read from the environment when a
    call needs them, so a missing one is a visible delay, not a start-up failure."""
    provider: Provider = PROVIDERS[config.courier.provider](config)
    return provider
