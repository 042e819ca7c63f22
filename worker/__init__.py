"""invoice-worker: turns district units' invoice applications into invoices and parcels."""

from __future__ import annotations

__version__ = "0.1.0"
