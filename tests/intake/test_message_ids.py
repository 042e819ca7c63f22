"""Mails whose Message-IDs differ only in bytes no charset reads are different mails."""

from __future__ import annotations

from sqlalchemy import select

from tests.intake.conftest import World
from tests.intake.test_pass import WHEN
from worker.db.models import Mail


def _raw(sender: str, message_id: bytes) -> bytes:
    return (b"From: " + sender.encode() + b"\r\nTo: fapiao@example.cn\r\nSubject: test\r\n"
            b"Date: " + WHEN.strftime("%a, %d %b %Y %H:%M:%S +0800").encode() + b"\r\n"
            b"Message-ID: " + message_id + b"\r\nContent-Type: text/plain; charset=gbk\r\n\r\n"
            + "收件人：张三\r\n".encode("gbk"))


def test_ids_with_different_undecodable_bytes_are_two_mails(world: World) -> None:
    world.deliver(_raw("unit0@qq.com", b"<\xff\xff\xfe@qq.com>"),
                  _raw("unit1@qq.com", b"<\x80\x80\x80@qq.com>"))
    world.run()
    world.deliver(_raw("unit2@qq.com", b"<\x81\xff\x80@qq.com>"))  # a later pass, too
    world.run()
    with world.app.sessions() as s:
        senders = sorted(s.scalars(select(Mail.sender)))
    assert senders == ["unit0@qq.com", "unit1@qq.com", "unit2@qq.com"]
