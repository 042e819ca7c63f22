"""Pickup manifests (SPEC §4, §5 ``manifest``): every parcel on exactly one, as xlsx and
PDF, mailed to the courier."""

from __future__ import annotations

from worker.manifest.close import ManifestResult, close_out

__all__ = ["ManifestResult", "close_out"]
