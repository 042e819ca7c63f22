"""The console's calls into colleagues' modules, each behind one small function.

``worker.replies`` (follow-up mail to the unit) and ``worker.documents`` (invoice and
label PDFs) are built alongside the console. Until a module exists its hook logs and
does nothing, so the console works (and says so) without it; once it exists, errors
inside it surface as they should.
"""

from __future__ import annotations

import logging
from importlib.util import find_spec
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.db.models import Application
from worker.staff.errors import ActionRefused

log = logging.getLogger(__name__)


def available(module: str) -> bool:
    return find_spec(module) is not None


def queue_followup(session: Session, app: Application, config: Config, *, action: str,
                   note: str = "") -> bool:
    """Queue the reply to the unit in the caller's transaction (so it is sent exactly
    when the decision commits). False when replies are not built yet."""
    if not available("worker.replies"):
        log.warning("worker.replies missing: no follow-up queued for application %s (%s)",
                    app.id, action)
        return False
    from worker.replies import queue_followup as queue

    queue(session, app, config, action=action, note=note)
    return True


def render_pending(sessions: sessionmaker[Session], config: Config) -> bool:
    """Render every invoice and label still without a PDF. False when unavailable."""
    if not available("worker.documents"):
        log.warning("worker.documents missing: PDFs not rendered")
        return False
    from worker.documents import render_pending as render

    render(sessions, config)
    return True


def reprint(sessions: sessionmaker[Session], config: Config, application_id: int,
            out_dir: Path) -> list[Path] | None:
    """One application's invoices and label again, into ``out_dir``: the files made.
    None when unavailable; ActionRefused when there is nothing to print."""
    if not available("worker.documents"):
        log.warning("worker.documents missing: cannot reprint application %s", application_id)
        return None
    from worker.documents import NothingToPrint
    from worker.documents import reprint as again

    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return [Path(p) for p in again(sessions, config, application_id, out_dir)]
    except NothingToPrint as e:
        raise ActionRefused(f"没有可重印的发票：{e}") from e
