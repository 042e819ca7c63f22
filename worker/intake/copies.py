"""Which mails of a chunk are copies of a mail already stored, or of each other (SPEC §5:
a mail is processed once; ARCHITECTURE's "which mails are one mail").

The Message-ID decides first (``known``: one query per chunk). Under an ID already
used, ``same_mail`` tells a copy from another mail a broken mailer gave that ID, which
takes the next of its keys (``message_keys``: ``stored_under_keys``, ``keep_apart``
within a chunk). A mail
without Message-ID is keyed by its bytes (``synthetic_message_id``); a relay that adds
an ID to one copy and not to another makes the same mail arrive under two keys, so
for those the content decides (``relayed_copies``).
"""

from __future__ import annotations

from typing import TypeAlias

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.db.models import Mail
from worker.db.types import storable_key
from worker.intake.analyse import AppDraft
from worker.intake.record import Outcome
from worker.mailbox import MailRef
from worker.message import ParsedMail
from worker.message.model import (
    Digests,
    dates_agree,
    is_synthetic_message_id,
    key_of_its_own,
    message_keys,
    same_mail,
)
from worker.status import MailStatus

Read: TypeAlias = list[tuple[MailRef, ParsedMail, list[AppDraft], str | None]]


def known(sessions: sessionmaker[Session], message_ids: list[str | None],
          ) -> dict[str, tuple[Outcome, Digests]]:
    """Mails whose outcome is already committed (a crash before their move, a copy sent
    again, another mail reusing the ID): one query; stripped Message-ID as listed ->
    (outcome, the stored mail's ``Digests``)."""
    length = Mail.__table__.c.message_id.type.length
    # Looked up as stored: cleaned and cut by the column type (worker.db.types.String).
    stored = {m.strip(): storable_key(m.strip(), length) for m in message_ids if m and m.strip()}
    if not stored:
        return {}
    with sessions() as session:
        rows = session.execute(select(Mail.message_id, Mail.id, Mail.status, Mail.content_digest,
                                      Mail.envelope_digest, Mail.date)
                               .where(Mail.message_id.in_(sorted(set(stored.values()))))).all()
    by_key = {key: (Outcome(mail_id, MailStatus(status), duplicate=True),
                    Digests(content, envelope, date))
              for key, mail_id, status, content, envelope, date in rows}
    return {asked: by_key[key] for asked, key in stored.items() if key in by_key}


def stored_under_keys(sessions: sessionmaker[Session], mail: ParsedMail) -> Outcome | None:
    """For a mail whose Message-ID a different stored mail has: the outcome of the stored
    mail it is a copy of under its other keys (``message_keys``: a reusing mailer's
    mails, one content sent again), or None, and then the mail takes the first key not
    taken (one query)."""
    keys = message_keys(mail.message_id, mail.digests)[1:]
    stored = known(sessions, keys)
    for key in keys:
        if key not in stored:
            mail.message_id = key
            return None
        if same_mail(stored[key][1], mail.digests):
            return stored[key][0]
    mail.message_id = key_of_its_own(mail.message_id)
    return None


def keep_apart(read: Read) -> None:
    """A chunk's mails that share a Message-ID but are not one mail (a mailer reusing
    IDs, one form sent again) each get a key of their own: the first of their
    ``message_keys``, from the one they have, that no other mail of the chunk has.
    Copies of one mail keep one key: the second is stored as the duplicate it is."""
    first: dict[str, Digests] = {}
    for _, mail, _, _ in read:
        for key in message_keys(mail.message_id, mail.digests):
            taken = first.setdefault(key, mail.digests)
            if taken is mail.digests or same_mail(taken, mail.digests):
                mail.message_id = key
                break
        else:
            mail.message_id = key_of_its_own(mail.message_id)


def relayed_copies(sessions: sessionmaker[Session], read: Read) -> list[tuple[MailRef, Outcome]]:
    """Copies of one mail under two keys because it came without Message-ID and relays
    gave it one (Exchange, and Postfix set to, add a missing ID: each its own): the same
    content, and either key ``synthetic_message_id``'s or both copies with one sender,
    subject and Date (``envelope_digest``: the writer's clock; sent again, a mail has a
    Date of its own, and a script's mails differ in their subjects). Those already
    stored are taken out of ``read`` and returned with the stored outcome (one query by
    content digest); one of this chunk takes the first one's key, so it is stored as a
    copy. The same content under two IDs and two envelopes is two mails (sent twice)."""
    digests = sorted({mail.digests.content for _, mail, _, _ in read if mail.digests.content})
    if not digests:
        return []
    with sessions() as session:
        rows = session.execute(select(Mail.content_digest, Mail.message_id, Mail.envelope_digest,
                                      Mail.date, Mail.id, Mail.status)
                               .where(Mail.content_digest.in_(digests))
                               .order_by(Mail.id)).all()
    stored: dict[str, list[tuple[str, Digests, Outcome]]] = {}
    for digest, key, envelope, date, mail_id, status in rows:
        stored.setdefault(digest, []).append(
            (key, Digests(digest, envelope, date),
             Outcome(mail_id, MailStatus(status), duplicate=True)))
    copies: list[tuple[MailRef, Outcome]] = []
    seen: dict[str, list[ParsedMail]] = {}
    for item in list(read):
        ref, mail = item[0], item[1]
        content = mail.digests.content
        if content is None:
            continue
        match = next((outcome for key, digests, outcome in stored.get(content, ())
                      if _one_mail(key, digests, mail)), None)
        if match is not None:
            read.remove(item)
            copies.append((ref, match))
            continue
        earlier = next((other for other in seen.get(content, ())
                        if _one_mail(other.message_id, other.digests, mail)), None)
        if earlier is not None:
            mail.message_id = earlier.message_id  # stored after it, as a duplicate
        else:
            seen.setdefault(content, []).append(mail)
    return copies


def _one_mail(key: str, stored: Digests, mail: ParsedMail) -> bool:
    """Whether a mail keyed ``key`` with ``stored`` digests and ``mail``, of the same
    content under another key, are one mail: their Dates agree (``dates_agree``: a
    script without Message-ID that sends again writes a new Date), and a key is made up
    (no Message-ID) or they have one sender, subject and Date (a Date there: not two
    undated mails)."""
    if key == mail.message_id:
        return False  # the Message-ID path decides (known, keep_apart)
    if not dates_agree(stored.date, mail.date):
        return False
    return (is_synthetic_message_id(key) or is_synthetic_message_id(mail.message_id)
            or (mail.date is not None and stored.envelope == mail.digests.envelope))
