"""``worker.mailer``: the one way mail leaves the worker, against real SMTP servers."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.smtp import PASSWORD, USER, SmtpServer
from worker import mailer as mailer_mod
from worker.config import load_config
from worker.errors import ConfigError, SmtpError
from worker.mailer import Mailer, OutboxMailer, SmtpMailer, parse_smtp_url, slug

SUBJECT = "取件清单 第1号 2018-09-03 共2件 到付合计25.00元"
FILENAME = "取件清单-第1号-2018-09-03.xlsx"


def message(to: str = "pickup@courier.example") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = SUBJECT
    msg["To"] = to
    msg.set_content("您好，清单见附件。\n")
    msg.add_attachment(b"PK\x03\x04 not really a workbook", "application",
                       "vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=FILENAME)
    return msg


def mailer_for(tmp_path: Path, smtp: dict[str, Any] | None = None) -> Mailer:
    over: dict[str, Any] = {"output": {"dir": str(tmp_path / "out")}}
    if smtp is not None:
        over["smtp"] = smtp
    return Mailer.from_config(load_config(overrides=over))


def assert_round_trips(msg: EmailMessage) -> None:
    assert msg["Subject"] == SUBJECT
    assert msg["Message-ID"] and msg["Date"] and msg["From"] == "xy23391756@163.com"
    (att,) = msg.iter_attachments()
    assert att.get_filename() == FILENAME
    assert att.get_content() == b"PK\x03\x04 not really a workbook"


def test_urls() -> None:
    assert parse_smtp_url("smtps://smtp.163.com") == mailer_mod.SmtpSettings(
        "smtp.163.com", 465, True, None)
    assert parse_smtp_url("smtp://127.0.0.1:2525").port == 2525
    assert parse_smtp_url("smtp://relay").port == 25
    assert parse_smtp_url("smtps://me%40163.com@smtp.163.com:994").user == "me@163.com"
    for bad in ("smtp://u:secret@host", "smtp://", "smtp://host/INBOX", "http://host",
                "smtp://host:x"):
        with pytest.raises(ConfigError, match="smtp.url"):
            parse_smtp_url(bad)


def test_config_picks_the_mailer_and_checks_the_ca_file(tmp_path: Path) -> None:
    assert isinstance(mailer_for(tmp_path), OutboxMailer)
    assert isinstance(mailer_for(tmp_path, {"url": "smtp://127.0.0.1:2525"}), SmtpMailer)
    with pytest.raises(ConfigError, match="smtp.ca_file"):
        load_config(overrides={"smtp": {"ca_file": str(tmp_path / "missing.pem")}})


def test_without_smtp_the_mail_is_an_eml_file_in_the_outbox(tmp_path: Path) -> None:
    where = mailer_for(tmp_path).send(message())
    path = Path(where)
    assert path.parent == tmp_path / "out" / "outbox" and path.suffix == ".eml"
    assert "取件清单-第1号" in path.name
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    raw = path.read_bytes()
    head = raw.split(b"\n\n", 1)[0]
    assert head.isascii()  # RFC 2047 subject, RFC 2231 file name: 7-bit headers
    assert re.search(rb"filename\*(0\*)?=utf-8''%E5%8F%96", raw)
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert_round_trips(parsed)


def test_two_mails_get_two_files(tmp_path: Path) -> None:
    m = mailer_for(tmp_path)
    assert m.send(message()) != m.send(message())


def test_plain_smtp_delivers(tmp_path: Path, smtp_server: SmtpServer) -> None:
    assert mailer_for(tmp_path, smtp_server.overrides()).send(message()) == "smtp"
    (got,) = smtp_server.messages
    assert got.mail_from == "xy23391756@163.com"
    assert got.rcpt_tos == ["pickup@courier.example"]
    assert not got.tls and got.login is None
    assert got.data.split(b"\r\n\r\n", 1)[0].isascii()
    assert_round_trips(got.message())


def test_starttls_is_used_and_login_happens_inside_it(
        tmp_path: Path, smtp_starttls: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    assert mailer_for(tmp_path, smtp_starttls.overrides()).send(message()) == "smtp"
    (got,) = smtp_starttls.messages
    assert got.tls and got.login == USER
    assert_round_trips(got.message())


def test_implicit_tls(tmp_path: Path, smtps_server: SmtpServer,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    assert mailer_for(tmp_path, smtps_server.overrides()).send(message()) == "smtp"
    (got,) = smtps_server.messages
    assert got.tls and got.login == USER


def test_a_certificate_from_an_unknown_ca_is_refused(
        tmp_path: Path, smtps_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    with pytest.raises(SmtpError, match="certificate"):
        mailer_for(tmp_path, {"url": smtps_server.url}).send(message())
    assert smtps_server.messages == []


def test_a_wrong_password_is_an_smtp_error(
        tmp_path: Path, smtp_starttls: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    with pytest.raises(SmtpError, match="535"):
        mailer_for(tmp_path, smtp_starttls.overrides()).send(message())
    assert smtp_starttls.messages == []


def test_server_down_and_server_refusing_are_smtp_errors(
        tmp_path: Path, smtp_server: SmtpServer, dead_smtp_url: str) -> None:
    with pytest.raises(SmtpError, match=r"cannot send .*取件清单"):
        mailer_for(tmp_path, {"url": dead_smtp_url}).send(message())
    smtp_server.handler.reject = "451 4.3.0 try again later"
    with pytest.raises(SmtpError, match="451"):
        mailer_for(tmp_path, smtp_server.overrides()).send(message())


def test_no_password_over_a_plain_connection_to_a_remote_host(
        tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    monkeypatch.setattr(mailer_mod, "is_loopback", lambda host: False)
    with pytest.raises(SmtpError, match="no STARTTLS"):
        mailer_for(tmp_path, smtp_server.overrides()).send(message())
    assert smtp_server.messages == []


def test_given_headers_are_kept(tmp_path: Path) -> None:
    msg = message()
    msg["Message-ID"] = "<fixed@example>"
    msg["From"] = "其他 <other@example.com>"
    parsed = message_from_bytes(Path(mailer_for(tmp_path).send(msg)).read_bytes(),
                                policy=policy.default)
    assert parsed["Message-ID"] == "<fixed@example>"
    assert parsed["From"] == "其他 <other@example.com>"


def test_slug() -> None:
    assert slug("取件清单 第1号 2018-09-03") == "取件清单-第1号-2018-09-03"
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("///") == "mail"
