"""Printed documents: invoices (A5 landscape) and courier labels (100 x 150 mm).

``render_pending`` turns everything issued and not yet printed into one print batch
(one invoices PDF, one labels PDF, parcel order), ``render_batches`` the whole backlog,
several batches at once, each rendered in a child process (``children``); ``reprint``
renders one application's documents again on demand. Templates live in ``templates/``; the renderer may read
only ``templates/assets/`` (see ``fetcher``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.documents.batch import (
        Batch,
        NothingToPrint,
        RenderError,
        applications_of,
        render_batches,
        render_pending,
        reprint,
    )

__all__ = ["Batch", "NothingToPrint", "RenderError", "applications_of", "render_batches",
           "render_pending", "reprint"]


def __getattr__(name: str) -> Any:
    """The names above, from ``batch`` on first use (PEP 562): a render process imports
    this package for ``files`` and must not load ``batch`` (SQLAlchemy, the models)."""
    if name in __all__:
        return getattr(importlib.import_module("worker.documents.batch"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
