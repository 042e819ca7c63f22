"""The IMAP backend against a fake server that behaves like NetEase 163."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tests.mailbox.fake163 import Fake163
from worker import __version__
from worker.errors import MailboxError
from worker.mailbox import ImapMailbox, open_mailbox


def raw_mail(n: int) -> bytes:
    return b"From: unit%d@example.cn\r\nMessage-ID: <m%d@163.test>\r\n\r\nbody %d\r\n" % (n, n, n)


@pytest.fixture
def fake() -> Iterator[Fake163]:
    server = Fake163()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def open_box(fake: Fake163) -> ImapMailbox:
    box = open_mailbox(fake.url(), fake.password, timeout=5)
    assert isinstance(box, ImapMailbox)
    return box


def test_id_is_sent_before_select(fake: Fake163) -> None:
    with open_box(fake) as box:
        assert box.label == f"imap://xy23391756%40163.com@127.0.0.1:{fake.port}/INBOX"
    assert fake.id_params == [
        {
            "name": "invoice-worker",
            "version": __version__,
            "vendor": "invoice-worker",
            "support-email": "xy23391756@163.com",
        }
    ]
    verbs = [command.split()[0].upper() for command in fake.commands]
    assert verbs.index("ID") < verbs.index("SELECT")


def test_custom_id_params(fake: Fake163) -> None:
    params = {"name": "custom", "version": "9"}
    with open_mailbox(fake.url(), fake.password, timeout=5, id_params=params):
        pass
    assert fake.id_params == [params]


def test_select_without_id_explains_unsafe_login(fake: Fake163) -> None:
    fake.advertise_id = False
    with pytest.raises(MailboxError, match="Unsafe Login") as info:
        open_box(fake)
    message = str(info.value)
    assert "授权码" in message and "IMAP" in message
    assert fake.id_params == []


def test_move_without_move_uses_copy_deleted_expunge(fake: Fake163) -> None:
    uids = [fake.deliver(raw_mail(n)) for n in (1, 2)]
    with open_box(fake) as box:
        first, second = box.pending()
        assert [first.uid, second.uid] == [str(uid) for uid in uids]
        assert [first.message_id, second.message_id] == ["<m1@163.test>", "<m2@163.test>"]
        assert first.size == len(raw_mail(1)) and first.uidvalidity == fake.uidvalidity
        assert box.fetch(first) == raw_mail(1)
        box.move(first, "Processed")
        box.move(second, "Processed")
    assert fake.messages("Processed") == [raw_mail(1), raw_mail(2)]
    assert fake.messages() == []
    assert fake.sent('CREATE "Processed"') == ['CREATE "Processed"']  # flat namespace, once
    assert fake.sent('SUBSCRIBE "Processed"')
    assert fake.sent(f'UID COPY {uids[0]} "Processed"')
    assert fake.sent(f"UID STORE {uids[0]} +FLAGS.SILENT (\\Deleted)")
    assert fake.sent(f"UID EXPUNGE {uids[0]}")
    assert not [c for c in fake.commands if "MOVE" in c.upper()]


def test_existing_chinese_folder_is_used_and_new_one_created_in_utf7(fake: Fake163) -> None:
    fake.deliver(raw_mail(1))
    fake.deliver(raw_mail(2))
    with open_box(fake) as box:
        first, second = box.pending()
        box.move(first, "垃圾邮件")
        box.move(second, "已处理")
    assert fake.messages("垃圾邮件") == [raw_mail(1)]
    assert fake.messages("已处理") == [raw_mail(2)]
    assert [c for c in fake.commands if c.startswith("CREATE")] == ['CREATE "&XfJZBHQG-"']


def test_already_moved_mail_is_skipped(fake: Fake163) -> None:
    fake.deliver(raw_mail(1))
    with open_box(fake) as first, open_box(fake) as second:
        (ref,) = first.pending()
        first.move(ref, "Processed")
        second.move(ref, "Processed")
    assert fake.messages("Processed") == [raw_mail(1)]
    assert len(fake.sent("UID COPY")) == 1


def test_reconnects_once_when_the_connection_drops(fake: Fake163) -> None:
    fake.deliver(raw_mail(1))
    with open_box(fake) as box:
        fake.drop_next = 1
        (ref,) = box.pending()
        fake.drop_next = 1
        box.move(ref, "Processed")
    assert fake.logins == 3
    assert len(fake.id_params) == 3  # ID again before every SELECT
    assert fake.messages("Processed") == [raw_mail(1)]


def test_a_second_drop_is_a_mailbox_error(fake: Fake163) -> None:
    with open_box(fake) as box:
        fake.drop_next = 2
        with pytest.raises(MailboxError):
            box.pending()
        assert box.pending() == []  # the next pass starts afresh


def test_wrong_authorisation_code(fake: Fake163) -> None:
    with pytest.raises(MailboxError, match="password error") as info:
        open_mailbox(fake.url(), "WRONGCODE", timeout=5)
    assert "WRONGCODE" not in str(info.value)


def test_arrival_time_is_163s_internaldate(fake: Fake163) -> None:
    arrived = datetime(2018, 12, 3, 9, 8, tzinfo=timezone(timedelta(hours=8)))
    fake.deliver(raw_mail(1), arrival=arrived)
    with open_box(fake) as box:
        (ref,) = box.pending()
    assert ref.received_at == arrived
