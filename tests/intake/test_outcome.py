"""What intake keeps of a mail while it stores the outcome (``worker.intake.write``):
values as the mail carried them, not as their columns store them."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from tests.intake.conftest import World
from tests.intake.test_pass import form_mail, trainees, unit
from worker.db.models import Mail, OutboxMessage
from worker.replies.compose import make_message_id


def test_the_reply_is_made_from_the_message_id_as_carried(world: World) -> None:
    """The Message-ID column cleans what it stores (NUL becomes U+FFFD); the reply's own
    Message-ID is still made from the one the mail carried, not from the stored text."""
    people = trainees("K", 1)
    world.pay(people)
    carried = "<a\x00b.1@163.com>"
    raw = re.sub(rb"Message-ID: <[^>]*>", b"Message-ID: " + carried.encode(),
                 form_mail(unit(people)), count=1)
    world.deliver(raw)
    assert world.run() == {"accepted": 1}
    with world.app.sessions() as s:
        mail = s.scalars(select(Mail)).one()
        assert mail.message_id == "<a\ufffdb.1@163.com>"
        reply = s.scalars(select(OutboxMessage)).one()
        assert reply.fields is not None
        assert json.loads(reply.fields)["message_id"] == make_message_id(
            "reply", str(mail.id), carried, world.app.config.smtp.sender)


def test_mails_headed_with_a_blank_message_id_are_each_their_own_mail(world: World) -> None:
    """``Message-ID: <>`` (some mailers write it) is no ID: two different mails headed so
    are two mails, keyed by their content; neither reply threads under a made-up ID."""
    people = [trainees("L", 1), trainees("M", 1)]
    for group in people:
        world.pay(group)
        world.deliver(re.sub(rb"Message-ID: <[^>]*>", b"Message-ID: <>",
                             form_mail(unit(group)), count=1))
    assert world.run() == {"accepted": 2}
    with world.app.sessions() as s:
        ids = s.scalars(select(Mail.message_id)).all()
        assert len(set(ids)) == 2 and all(i.endswith("@invoice-worker.local>") for i in ids)
        for reply in s.scalars(select(OutboxMessage)):
            assert reply.fields is not None
            fields = json.loads(reply.fields)
            assert fields["in_reply_to"] is None and fields["references"] == []
