"""The IMAP backend against a real Dovecot (tests/fixtures/dovecot.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tests.fixtures.dovecot import WRONG_HOST, DovecotServer
from worker.errors import MailboxError
from worker.mailbox import ImapMailbox, MailGone, MailRef, open_mailbox

pytestmark = pytest.mark.imap


def raw_mail(n: int, body: bytes = b"hello\r\n") -> bytes:
    """CRLF throughout: Dovecot hands back CRLF, so the bytes must round-trip exactly."""
    return (
        b"From: unit%d@example.cn\r\nTo: invoices@example.test\r\n" % n
        + b"Subject: =?utf-8?b?5Y+R56Wo55Sz6K+3?=\r\n"
        + b"Message-ID: <mail-%d@example.cn>\r\n\r\n" % n
        + body
    )


def open_box(server: DovecotServer, url: str | None = None, *, trust_test_ca: bool = True) -> ImapMailbox:
    ca_file = server.ca_file if trust_test_ca else None
    box = open_mailbox(url or server.url(), server.password, ca_file=ca_file, timeout=10)
    assert isinstance(box, ImapMailbox)
    return box


@pytest.fixture
def box(imap_account: DovecotServer) -> Iterator[ImapMailbox]:
    with open_box(imap_account) as box:
        yield box


def login_lines(server: DovecotServer, mark: int) -> list[str]:
    return [line for line in server.log_since(mark).splitlines() if "imap-login: Info: Login:" in line]


def test_pending_fetch_move_round_trip(imap_account: DovecotServer) -> None:
    raws = [raw_mail(n) for n in (1, 2, 3)]
    uids = [imap_account.deliver(raw) for raw in raws]
    with open_box(imap_account) as box:
        assert box.label == f"imaps://invoice%40example.test@127.0.0.1:{imap_account.ssl_port}/INBOX"
        refs = box.pending()
        assert [ref.uid for ref in refs] == [str(uid) for uid in uids]
        assert len({ref.uidvalidity for ref in refs}) == 1 and refs[0].uidvalidity
        assert [ref.size for ref in refs] == [len(raw) for raw in raws]
        assert [ref.message_id for ref in refs] == [f"<mail-{n}@example.cn>" for n in (1, 2, 3)]
        assert [box.fetch(ref) for ref in refs] == raws
        assert all(b"\\Seen" not in flags for flags in imap_account.flags())  # BODY.PEEK
        box.move(refs[0], "Processed")
        box.move(refs[1], "Exceptions")
        assert box.pending() == [refs[2]]
    assert imap_account.messages("Processed") == [raws[0]]
    assert imap_account.messages("Exceptions") == [raws[1]]
    assert imap_account.messages() == [raws[2]]
    assert imap_account.folders() == ["INBOX", "INBOX.Exceptions", "INBOX.Processed"]
    assert "INBOX.Processed" in imap_account.subscribed()


def test_fetch_over_max_bytes_returns_only_the_header(box: ImapMailbox, imap_account: DovecotServer) -> None:
    big = raw_mail(1, body=b"x" * 200 + b"\r\n" * 50_000)
    imap_account.deliver(big)
    imap_account.deliver(raw_mail(2))
    ref, small = box.pending()
    header = big.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    assert box.fetch(ref, max_bytes=10_000) == header
    unknown_size = MailRef(ref.uid, ref.uidvalidity, None, None)
    assert box.fetch(unknown_size, max_bytes=10_000) == header
    assert box.fetch(ref, max_bytes=len(big)) == big
    assert box.fetch(small, max_bytes=10_000) == raw_mail(2)


def test_move_of_an_already_moved_mail_is_harmless(imap_account: DovecotServer) -> None:
    imap_account.deliver(raw_mail(1))
    with open_box(imap_account) as first, open_box(imap_account) as second:
        (ref,) = first.pending()
        assert second.pending() == [ref]
        first.move(ref, "Processed")
        second.move(ref, "Processed")
        second.move(ref, "Exceptions")
        with pytest.raises(MailGone):
            second.fetch(ref)
    assert len(imap_account.messages("Processed")) == 1
    assert imap_account.messages("Exceptions") == []
    assert imap_account.messages() == []


def test_existing_folder_is_found_case_insensitively(imap_account: DovecotServer) -> None:
    imap_account.deliver(raw_mail(1), folder="processed")
    imap_account.deliver(raw_mail(2))
    with open_box(imap_account) as box:
        box.move(box.pending()[0], "PROCESSED")
    assert imap_account.folders() == ["INBOX", "INBOX.processed"]
    assert len(imap_account.messages("processed")) == 2


def test_chinese_folder_names_round_trip(imap_account: DovecotServer) -> None:
    imap_account.deliver(raw_mail(1))
    imap_account.deliver(raw_mail(2))
    with open_box(imap_account) as box:
        first, second = box.pending()
        box.move(first, "已处理")
        box.move(second, "已处理/异常")
    assert imap_account.folders() == ["INBOX", "INBOX.已处理", "INBOX.已处理.异常"]
    assert imap_account.messages("已处理") == [raw_mail(1)]
    assert imap_account.messages("已处理/异常") == [raw_mail(2)]
    assert (imap_account.maildir / ".&XfJZBHQG-").is_dir()  # modified UTF-7 on disk too


def test_starttls_is_used_on_the_plain_port(imap_account: DovecotServer) -> None:
    imap_account.deliver(raw_mail(1))
    mark = imap_account.log_mark()
    with open_box(imap_account, imap_account.url("imap")) as box:
        assert box.label.startswith("imap://")
        assert len(box.pending()) == 1
    (line,) = login_lines(imap_account, mark)
    assert ", TLS," in line


def test_starttls_opt_out_for_loopback_logs_in_plain(imap_account: DovecotServer) -> None:
    mark = imap_account.log_mark()
    with open_box(imap_account, imap_account.url("imap", query="starttls=no")) as box:
        assert box.pending() == []
    (line,) = login_lines(imap_account, mark)
    assert ", TLS," not in line and "secured" in line


@pytest.mark.parametrize(
    ("scheme", "host", "ca"),
    [
        ("imaps", None, False),  # system CAs do not know the test CA
        ("imap", None, False),  # STARTTLS verifies too
        ("imaps", WRONG_HOST, True),  # right CA, name not in the certificate
        ("imap", WRONG_HOST, True),
    ],
)
def test_certificates_are_verified(
    imap_account: DovecotServer, scheme: str, host: str | None, ca: bool
) -> None:
    url = imap_account.url(scheme, host=host)
    with pytest.raises(MailboxError, match="CERTIFICATE_VERIFY_FAILED"):
        open_box(imap_account, url, trust_test_ca=ca)


def test_wrong_password_is_a_mailbox_error_without_the_password(
    imap_account: DovecotServer,
) -> None:
    with pytest.raises(MailboxError, match="login refused") as info:
        open_mailbox(imap_account.url(), "not-the-Password-42", ca_file=imap_account.ca_file)
    assert "not-the-Password-42" not in str(info.value)
    assert "AUTHENTICATIONFAILED" in str(info.value)


def test_unreachable_server_is_a_mailbox_error(imap_account: DovecotServer) -> None:
    with pytest.raises(MailboxError, match="cannot connect"):
        open_mailbox("imaps://someone@127.0.0.1:1/INBOX", "pw", timeout=5)


def test_id_command_is_sent(imap_account: DovecotServer) -> None:
    mark = imap_account.log_mark()
    with open_box(imap_account) as box:
        box.pending()
    log = imap_account.log_since(mark)
    if imap_account.version.startswith("2.3"):
        assert "ID sent: name=invoice-worker, version=" in log
        assert "support-email=invoice@example.test" in log
    else:  # 2.4 logs the imap_id_received event instead of imap_id_log
        assert "invoice-worker" in log


def test_reconnects_after_the_server_drops_the_session(imap_account: DovecotServer) -> None:
    imap_account.deliver(raw_mail(1))
    imap_account.deliver(raw_mail(2))
    mark = imap_account.log_mark()
    with open_box(imap_account) as box:
        first, second = box.pending()
        assert imap_account.kick()
        assert box.pending() == [first, second]
        assert imap_account.kick()
        assert box.fetch(first) == raw_mail(1)
        assert imap_account.kick()
        box.move(first, "Processed")
        assert box.pending() == [second]
    assert len(login_lines(imap_account, mark)) == 4
    assert imap_account.messages("Processed") == [raw_mail(1)]


def test_uidvalidity_change_between_pending_and_move_is_refused(
    imap_account: DovecotServer,
) -> None:
    imap_account.deliver(raw_mail(1))
    with open_box(imap_account) as box:
        (ref,) = box.pending()
        imap_account.doveadm("mailbox", "update", "-u", imap_account.user, "--uid-validity", "4242", "INBOX")
        imap_account.kick()
        with pytest.raises(MailboxError, match="UIDVALIDITY"):
            box.move(ref, "Processed")
        with pytest.raises(MailboxError, match="UIDVALIDITY"):
            box.fetch(ref)
        (fresh,) = box.pending()
        assert fresh.uidvalidity == 4242 and ref.uidvalidity != 4242
        box.move(fresh, "Processed")
    assert imap_account.messages("Processed") == [raw_mail(1)]


def test_closed_mailbox_refuses_work(box: ImapMailbox) -> None:
    box.close()
    box.close()
    with pytest.raises(MailboxError, match="closed"):
        box.pending()


def test_arrival_time_is_internaldate(imap_account: DovecotServer) -> None:
    arrived = datetime(2018, 12, 31, 20, 31, tzinfo=timezone(timedelta(hours=8)))
    imap_account.deliver(raw_mail(1), arrival=arrived)
    with open_box(imap_account) as box:
        (ref,) = box.pending()
    assert ref.received_at == arrived and ref.received_at.utcoffset() == timedelta(0)
