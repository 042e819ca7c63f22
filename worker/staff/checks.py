"""Re-checking a stored application without issuing anything.

The console's "re-check" refreshes the reasons (after a correction or a new payment
import) but leaves the decision to "approve", which calls ``decide`` itself; both go
through ``worker.decision.evaluate``, so they judge exactly as the worker does.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from worker.config import Config
from worker.db.models import Application
from worker.decision import evaluate
from worker.validation import Code, Reason
from worker.validation.reasons import REASONS, Role, mail_unread, with_role, without_explained

FORMLESS = with_role(Role.FORMLESS)
"""Reasons that mean no form was read (``Role.FORMLESS`` in the reason table): the
worker called decide() with them as ``pre_reasons``, and so must every later re-check
and approval."""


def pre_reasons(app: Application) -> list[Reason] | None:
    """The stored reasons that stand for "no usable form", or None if a form was read.
    A mail that crashed the reader (INTERNAL_ERROR) and left no lines counts too."""
    pre = [Reason(Code(r.code), r.line, r.detail) for r in app.reasons
           if r.code in FORMLESS or (r.code == Code.INTERNAL_ERROR and not app.lines)]
    return pre or None


def current_reasons(session: Session, app: Application, config: Config) -> list[Reason]:
    """What a re-check shows: the stored sticky reasons (a platform refusal, a 红冲:
    events no check can find again, kept until staff approve), then every check."""
    kept = [Reason(Code(r.code), r.line, r.detail) for r in app.reasons
            if r.code in Code.__members__ and REASONS[Code(r.code)].sticky]
    return without_explained(kept + evaluate(session, app, config, pre_reasons=pre_reasons(app),
                                             unread=mail_unread(app.attachment, app.mail.body_text,
                                                                [r.code for r in app.reasons])))
