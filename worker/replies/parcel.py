"""A parcel the courier reports refused, returned or lost: a reply to the unit drafted
for staff (outbox status ``draft``: never sent on its own). Staff read it in the
console and send it (``worker.staff.reship.send_notice``) or re-ship the parcel.

Drafted in the tracking transaction that recorded the status, once per parcel
(the outbox key is unique), threaded under the unit's mail."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.db.models import Application, OutboxMessage, Shipment
from worker.issuing.facts import courier_of
from worker.replies.compose import make_message_id, one_line, render, reply_subject, thread_ids
from worker.replies.content import common_context
from worker.replies.draft import Draft
from worker.replies.queue import reply_address
from worker.status import OutboxStatus, ParcelStatus
from worker.text import money

log = logging.getLogger(__name__)

NOTICE = "parcel"
WHAT = {ParcelStatus.REFUSED: "被收件人拒收", ParcelStatus.RETURNED: "已退回寄件人",
        ParcelStatus.LOST: "在运输途中丢失"}


def notice_key(ship: Shipment) -> str:
    """One notice per parcel: refused and later returned is one story for the unit."""
    return f"parcel:{ship.id}"


def draft_parcel_notice(session: Session, app: Application, ship: Shipment, config: Config,
                        now: datetime) -> OutboxMessage | None:
    """The drafted reply about ``ship`` (status refused / returned / lost), in the
    caller's transaction; None when the mail has no one to answer or it exists."""
    key = notice_key(ship)
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return None
    mail = app.mail
    to = reply_address(mail, config)
    if to is None:
        log.info("parcel %s: no one to tell (mail %s)", ship.id, mail.id)
        return None
    context = {
        **common_context(mail, [app], config, now),
        "reference": f"申请编号 {app.id}",
        "courier": one_line(courier_of(ship.courier_json, config).name),
        "waybill": one_line(ship.waybill or ""),
        "postage": money(ship.estimated_fee if ship.estimated_fee is not None else ship.postage_due),
        "what": WHAT.get(ParcelStatus(ship.status), "无法送达"),
        "note": one_line(ship.tracking_note, 120),
        "in_person_address": one_line(config.programme.in_person_address),
    }
    in_reply_to, references = thread_ids(mail.message_id, (mail.references or "").split())
    draft = Draft(
        sender=config.smtp.sender, sender_name=config.seller.name, to=to,
        subject=reply_subject(mail.subject, config.reply_limits.subject_chars),
        message_id=make_message_id(NOTICE, f"{ship.id}-{ship.status}", mail.message_id,
                                   config.smtp.sender),
        in_reply_to=in_reply_to, references=references, date=now.astimezone(config.tz),
        body=render("parcel.txt.j2", context))
    # Built when sent, as every reply (worker.replies.draft).
    row = OutboxMessage(key=key, kind=NOTICE, mail_id=mail.id, application_id=app.id, recipient=to,
                        subject=draft.header_subject(), message=None, body=draft.body,
                        fields=draft.fields_json(), status=OutboxStatus.DRAFT,
                        attempts=0, next_attempt_at=now, created_at=now)
    session.add(row)
    session.flush()
    return row
