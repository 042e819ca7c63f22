"""Outgoing mail: the one factory every sender (manifests, replies) goes through.

``Mailer.from_config`` gives an SMTP mailer when ``[smtp] url`` is set, otherwise an
outbox mailer that writes each message as an ``.eml`` file under ``output.dir/outbox``
(demos and installations without a relay still see exactly what would have gone out).

SMTP rules: ``smtps://`` is implicit TLS, ``smtp://`` upgrades with STARTTLS whenever the
server offers it; certificates are always verified (system store, or ``smtp.ca_file``);
a password never crosses an unencrypted connection except to a loopback test server.
Every failure to hand a message over is a ``SmtpError`` (an ``InfrastructureError``), so
callers can keep what they committed and retry the sending later.
"""

from __future__ import annotations

import hashlib
import logging
import re
import smtplib
import socket
import ssl
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from worker.atomic import write_atomic
from worker.config import Config
from worker.errors import ConfigError, SmtpError
from worker.hosts import is_loopback

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
_URL_KEY = "smtp.url"
_SLUG_JUNK = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    user: str | None
    """Login name from the URL (``smtps://me%40163.com@host``); None = the sender address."""

    @property
    def label(self) -> str:
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpSettings:
    """``smtp[s]://[user@]host[:port]``; default ports 465 (smtps) and 25 (smtp)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ConfigError(_URL_KEY, "must start with smtp:// or smtps://")
    if parts.password is not None:
        raise ConfigError(_URL_KEY, "no password in the URL: put it in the variable named by password_env")
    if not parts.hostname:
        raise ConfigError(_URL_KEY, "needs a host, e.g. smtps://smtp.163.com:465")
    if parts.path.strip("/") or parts.query:
        raise ConfigError(_URL_KEY, "takes no path or parameters: smtp[s]://[user@]host[:port]")
    try:
        port = parts.port
    except ValueError as e:
        raise ConfigError(_URL_KEY, f"invalid port: {e}") from e
    implicit = scheme == "smtps"
    return SmtpSettings(parts.hostname, port or (465 if implicit else 25), implicit,
                        unquote(parts.username) if parts.username else None)


class Mailer(ABC):
    """Hands a finished message on; ``send`` returns where it went ("smtp" or a path)."""

    def __init__(self, sender: str, tz: ZoneInfo) -> None:
        self.sender = sender
        self.tz = tz

    @classmethod
    def from_config(cls, config: Config) -> Mailer:
        smtp = config.smtp
        if smtp.url is None:
            return OutboxMailer(config.output_dir / "outbox", smtp.sender, config.tz)
        return SmtpMailer(parse_smtp_url(smtp.url), smtp.sender, config.tz,
                          password=smtp.password(), ca_file=smtp.ca_file)

    def send(self, msg: EmailMessage) -> str:
        self.complete(msg)
        return self._deliver(msg)

    def complete(self, msg: EmailMessage) -> None:
        """Fill in From, Date and Message-ID when the caller left them out."""
        if msg["From"] is None:
            msg["From"] = self.sender
        if msg["Date"] is None:
            msg["Date"] = format_datetime(datetime.now(self.tz))
        if msg["Message-ID"] is None:
            msg["Message-ID"] = make_msgid(domain=sender_domain(self.sender))

    @abstractmethod
    def _deliver(self, msg: EmailMessage) -> str: ...


class SmtpMailer(Mailer):
    def __init__(
        self,
        settings: SmtpSettings,
        sender: str,
        tz: ZoneInfo,
        *,
        password: str | None = None,
        ca_file: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(sender, tz)
        self.settings = settings
        self._password = password
        self._ca_file = ca_file
        self._timeout = timeout

    def _deliver(self, msg: EmailMessage) -> str:
        s = self.settings
        context = ssl.create_default_context(cafile=self._ca_file)
        what = f"{s.label}: cannot send {str(msg['Subject'] or '')!r} to {msg['To']}"
        try:
            client = self._connect(context)
        except (smtplib.SMTPException, OSError) as e:
            raise SmtpError(f"{what}: {_describe(e)}") from e
        try:
            self._start(client, context)
            refused = client.send_message(msg)
        except SmtpError:
            _close(client)
            raise
        except (smtplib.SMTPException, OSError) as e:
            _close(client)
            raise SmtpError(f"{what}: {_describe(e)}") from e
        # Accepted: a failing QUIT must not make the caller send it again.
        _close(client)
        if refused:
            log.warning("%s: some recipients were refused: %s", s.label, refused)
        return "smtp"

    def _connect(self, context: ssl.SSLContext) -> smtplib.SMTP:
        s = self.settings
        helo = socket.gethostname() or "localhost"
        if s.implicit_tls:
            return smtplib.SMTP_SSL(s.host, s.port, local_hostname=helo, timeout=self._timeout,
                                    context=context)
        return smtplib.SMTP(s.host, s.port, local_hostname=helo, timeout=self._timeout)

    def _start(self, client: smtplib.SMTP, context: ssl.SSLContext) -> None:
        s = self.settings
        client.ehlo()
        if not s.implicit_tls:
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            elif self._password and not is_loopback(s.host):
                raise SmtpError(f"{s.label}: the server offers no STARTTLS; refusing to send "
                                "the password unencrypted (use smtps:// or a server with STARTTLS)")
            else:
                log.warning("%s: no STARTTLS offered; sending unencrypted", s.label)
        if self._password:
            client.login(s.user or self.sender, self._password)


class OutboxMailer(Mailer):
    """No SMTP configured: each message becomes ``<timestamp>-<slug>.eml``, written atomically."""

    def __init__(self, directory: Path, sender: str, tz: ZoneInfo) -> None:
        super().__init__(sender, tz)
        self.directory = directory

    def _deliver(self, msg: EmailMessage) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        token = hashlib.sha256(str(msg["Message-ID"]).encode()).hexdigest()[:8]
        target = self.directory / f"{stamp}-{slug(str(msg['Subject'] or 'mail'))}-{token}.eml"
        try:
            write_atomic(target, bytes(msg))
        except OSError as e:
            raise SmtpError(f"cannot write {target}: {e}") from e
        return str(target)


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe form of a subject; Chinese letters are kept, separators become '-'."""
    return _SLUG_JUNK.sub("-", text).strip("-.")[:limit] or "mail"


def sender_domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def _describe(e: BaseException) -> str:
    if isinstance(e, smtplib.SMTPResponseException):
        text = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else e.smtp_error
        return f"server said {e.smtp_code} {text}"
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return "recipients refused: " + ", ".join(
            f"{rcpt} ({code} {msg.decode('utf-8', 'replace')})"
            for rcpt, (code, msg) in e.recipients.items()
        )
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {e.verify_message}"
    if isinstance(e, TimeoutError):
        return "timed out"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
