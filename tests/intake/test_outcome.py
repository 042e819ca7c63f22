"""What intake keeps of a mail while it stores the outcome (``worker.intake.write``):
values as the mail carried them, not as their columns store them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import select

from tests.intake.conftest import World, make_world
from tests.intake.test_pass import form_mail, trainees, unit
from worker.db.models import Application, Mail, OutboxMessage
from worker.replies.compose import make_message_id
from worker.staff.checks import current_reasons


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


def test_a_mail_over_the_size_limit_is_held_for_that_alone(db_url: str, tmp_path: Path) -> None:
    """Its text was not read, so it is not said to lack a recipient (it named one), and
    its size is rounded up: 1 byte over a 1 MB limit is not "about 1 MB, limit 1 MB"."""
    people = trainees("Z", 1)
    raw = form_mail(unit(people))
    raw += b"\r\n" * ((1 << 20) + 1 - len(raw))  # one byte over the limit
    world = make_world(db_url, tmp_path, mailbox={"max_mail_bytes": 1 << 20})
    try:
        world.pay(people)
        world.deliver(raw)
        assert world.run() == {"held": 1}
        (app,) = world.export()
        assert [r["code"] for r in app["reasons"]] == ["FORM_UNREADABLE"]
        detail = app["reasons"][0]["detail"]
        assert "约 1.1 MB，超过 1 MB 的上限" in detail and "申请表" in detail
        with world.app.sessions() as session:  # the console's re-check says no more
            (stored,) = session.scalars(select(Application)).all()
            found = current_reasons(session, stored, world.app.config)
            assert [r.code for r in found] == ["FORM_UNREADABLE"]
    finally:
        world.app.close()
