"""Mailbox URLs (SPEC 5, ``[mailbox] url``) and what the factory refuses before connecting."""

from __future__ import annotations

import pytest

from tests.fixtures import dovecot as dovecot_fixture
from worker.errors import ConfigError
from worker.mailbox import open_mailbox
from worker.mailbox.imap import ImapSettings, parse_imap_url


def test_163_url_with_percent_encoded_user() -> None:
    settings = parse_imap_url("imaps://xy23391756%40163.com@imap.163.com/INBOX")
    assert settings == ImapSettings(host="imap.163.com", port=993, user="xy23391756@163.com", folder="INBOX")
    assert settings.label == "imaps://xy23391756%40163.com@imap.163.com:993/INBOX"


def test_plain_imap_defaults() -> None:
    settings = parse_imap_url("IMAP://someone@mail.example.cn")
    assert (settings.port, settings.folder, settings.implicit_tls, settings.starttls) == (
        143,
        "INBOX",
        False,
        True,
    )
    assert settings.label == "imap://someone@mail.example.cn:143/INBOX"


def test_port_folder_and_loopback_starttls_opt_out() -> None:
    settings = parse_imap_url("imap://u%40x.cn@127.0.0.1:10143/%E6%94%B6%E4%BB%B6?starttls=no")
    assert (settings.port, settings.user, settings.folder, settings.starttls) == (
        10143,
        "u@x.cn",
        "收件",
        False,
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("imaps://user:secret@imap.163.com/INBOX", "password_env"),
        ("imaps://imap.163.com/INBOX", "user@host"),
        ("imaps://u@imap.163.com:99999/INBOX", "port"),
        ("imap://u@imap.163.com/INBOX?starttls=no", "loopback"),
        ("imaps://u@127.0.0.1/INBOX?starttls=no", "loopback"),
        ("imap://u@127.0.0.1/INBOX?starttls=maybe", "yes or no"),
        ("imap://u@127.0.0.1/INBOX?tls=off", "unknown"),
    ],
)
def test_bad_imap_urls(url: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as info:
        parse_imap_url(url)
    assert info.value.key == "mailbox.url"
    assert "secret" not in str(info.value)


@pytest.mark.parametrize("password", [None, ""])
def test_imap_without_password_is_refused_before_connecting(password: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        open_mailbox("imaps://u@192.0.2.1/INBOX", password, timeout=2)
    assert info.value.key == "mailbox.password_env"


def test_non_ascii_password_is_refused_before_connecting() -> None:
    with pytest.raises(ConfigError, match="ASCII"):
        open_mailbox("imaps://u@192.0.2.1/INBOX", "授权码", timeout=2)


def test_missing_dovecot_fails_loudly_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dovecot_fixture, "DOVECOT", "/nonexistent/dovecot")
    with pytest.raises(pytest.fail.Exception, match="apt-get install dovecot-imapd"):
        dovecot_fixture._dovecot_version()
