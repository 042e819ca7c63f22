"""Replies to units: queued in the outcome's transaction, sent from the outbox.

* ``queue_mail_reply(session, mail, config)`` -- the one reply to a processed mail
  (every application in it), called inside the intake transaction.
* ``queue_followup(session, application, config, action=..., note=...)`` -- a staff
  decision that changed the outcome, called inside the staff action's transaction.
* ``queue_issued_reply(session, application, config, attach=..., output_dir=...)`` --
  platform mode: the acceptance reply with the official numbers (and the files when
  delivered by email), called inside ``tax import``'s transaction.
* ``send_due(sessions, mailer)`` -- send what is due, with retries and backoff.

The words come from ``templates/replies`` and the one reason table
(``worker.validation.explain``); the outbox's guarantees are in ``outbox``.
"""

from __future__ import annotations

from worker.replies.outbox import SendReport, send_due
from worker.replies.queue import (
    awaiting_platform,
    queue_followup,
    queue_issued_reply,
    queue_mail_reply,
    reply_address,
)

__all__ = ["SendReport", "awaiting_platform", "queue_followup", "queue_issued_reply",
           "queue_mail_reply", "reply_address", "send_due"]
