"""An IMAP inbox through imapclient: NetEase 163 in production, Dovecot in the tests.

163 wants the IMAP ID command before SELECT and offers neither IDLE nor MOVE, so the
worker polls and falls back to UID COPY + ``\\Deleted`` + UID EXPUNGE.  A dropped
connection is re-opened once per operation; every imapclient, socket and TLS error
leaves this module as ``MailboxError``.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlsplit

from imapclient import DELETED, IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from worker import __version__
from worker.errors import ConfigError, MailboxError
from worker.hosts import is_loopback
from worker.mailbox.base import Mailbox, MailGone, MailRef, folder_parts, message_id_from_header

logger = logging.getLogger(__name__)

T = TypeVar("T")

_URL_KEY = "mailbox.url"
_DROPPED = (OSError, IMAPClientAbortError)
"""A lost connection: sockets, timeouts and TLS errors are all OSError; BYE is an abort."""
_FETCH_CHUNK = 500
_PENDING_ITEMS = ["RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]
_FALSE = {"no", "false", "off", "0"}
_TRUE = {"yes", "true", "on", "1", ""}


@dataclass(frozen=True)
class ImapSettings:
    """Where to log in, parsed from the ``mailbox.url`` setting (never holds the password)."""

    host: str
    port: int
    user: str
    folder: str = "INBOX"
    implicit_tls: bool = True
    starttls: bool = True
    """Upgrade a plain connection when the server offers STARTTLS (opt-out: loopback only)."""

    @property
    def label(self) -> str:
        scheme = "imaps" if self.implicit_tls else "imap"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{quote(self.user, safe='')}@{host}:{self.port}/{quote(self.folder)}"


def parse_imap_url(url: str) -> ImapSettings:
    """``imap[s]://user@host[:port][/FOLDER][?starttls=no]``; the user may be %-encoded."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps"):
        raise ConfigError(_URL_KEY, f"not an IMAP URL (scheme {scheme!r})")
    if parts.password is not None:
        raise ConfigError(_URL_KEY, "no password in the URL: put it in the variable named by password_env")
    user = unquote(parts.username or "")
    if not user or not parts.hostname:
        raise ConfigError(_URL_KEY, "an IMAP URL needs user@host, e.g. imaps://me%40163.com@host/")
    try:
        port = parts.port
    except ValueError as e:
        raise ConfigError(_URL_KEY, f"invalid port: {e}") from e
    implicit_tls = scheme == "imaps"
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"starttls"})
    if unknown:
        raise ConfigError(_URL_KEY, f"unknown URL parameter(s): {', '.join(unknown)}")
    starttls = True
    if "starttls" in query:
        value = query["starttls"][-1].lower()
        if value not in _TRUE | _FALSE:
            raise ConfigError(_URL_KEY, f"starttls={value!r}: use yes or no")
        starttls = value in _TRUE
        if not starttls and (implicit_tls or not is_loopback(parts.hostname)):
            raise ConfigError(_URL_KEY, "starttls=no is only for imap:// to a loopback test server")
    return ImapSettings(
        host=parts.hostname,
        port=port or (993 if implicit_tls else 143),
        user=user,
        folder=unquote(parts.path.strip("/")) or "INBOX",
        implicit_tls=implicit_tls,
        starttls=starttls,
    )


def default_id_params(user: str) -> dict[str, str]:
    """What we tell the server about ourselves with ID (163 refuses SELECT without it)."""
    return {
        "name": "invoice-worker",
        "version": __version__,
        "vendor": "invoice-worker",
        "support-email": user,
    }


class ImapMailbox(Mailbox):
    """One logged-in session with the inbox selected, re-opened when the server drops it."""

    def __init__(
        self,
        settings: ImapSettings,
        password: str,
        *,
        ca_file: str | None = None,
        timeout: float = 60.0,
        id_params: dict[str, str] | None = None,
    ) -> None:
        if not password.isascii():
            # imaplib sends LOGIN arguments as ASCII; 163's 授权码 is ASCII anyway
            raise ConfigError("mailbox.password_env", "the IMAP password must be ASCII")
        self.settings = settings
        self.label = settings.label
        self._password = password
        self._ca_file = ca_file
        self._timeout = timeout
        self._id_params = id_params if id_params is not None else default_id_params(settings.user)
        self._client: IMAPClient | None = None
        self._closed = False
        self._uidvalidity: int | None = None
        self._folders: dict[str, str] = {}
        """Server names of folders already resolved in this session."""
        self._connect()

    def pending(self) -> list[MailRef]:
        """Undeleted inbox mails by UID, with size and Message-ID from one FETCH per 500."""
        return self._run("list the inbox", self._pending)

    def fetch(self, ref: MailRef, max_bytes: int | None = None) -> bytes:
        """BODY.PEEK[] (leaves ``\\Seen`` alone); only BODY.PEEK[HEADER] when too large."""
        uid = int(ref.uid)

        def op(client: IMAPClient) -> bytes:
            self._check_uidvalidity(ref)
            size = ref.size
            if max_bytes is not None and size is None:
                size = self._fetch_item(client, uid, "RFC822.SIZE")
            too_large = max_bytes is not None and size is not None and size > max_bytes
            return self._fetch_item(client, uid, "BODY[HEADER]" if too_large else "BODY[]") or b""

        return self._run(f"fetch mail {uid}", op)

    def move(self, ref: MailRef, folder: str) -> None:
        """MOVE when offered, else UID COPY + ``\\Deleted`` + UID EXPUNGE; gone mail is fine."""
        uid = int(ref.uid)
        parts = folder_parts(folder)

        def op(client: IMAPClient) -> None:
            self._check_uidvalidity(ref)
            target = self._resolve_folder(client, parts)
            if not client.search(["UID", uid, "UNDELETED"]):
                logger.info("%s: mail %s already left the inbox; nothing to move", self.label, uid)
                return
            try:
                _move(client, uid, target, self.label)
            except IMAPClientAbortError:
                raise
            except IMAPClientError as e:
                # another session expunged it after our SEARCH (RFC 5530 response code)
                if "EXPUNGEISSUED" not in str(e).upper():
                    raise
                logger.info("%s: mail %s was expunged meanwhile; nothing to move", self.label, uid)

        self._run(f"move mail {uid} to {folder!r}", op)

    def close(self) -> None:
        """Log out (no CLOSE: that would expunge mails we did not flag ourselves)."""
        self._closed = True
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (OSError, IMAPClientError):
            _shutdown(client)

    # -- session ----------------------------------------------------------------------

    def _run(self, what: str, op: Callable[[IMAPClient], T]) -> T:
        """Run ``op`` on a live session; after a dropped connection reconnect and retry once."""
        if self._closed:
            raise MailboxError(f"{self.label}: cannot {what}: the mailbox is closed")
        for attempt in (1, 2):
            client = self._client or self._connect()
            try:
                return op(client)
            except _DROPPED as e:
                self._discard()
                if attempt == 2:
                    raise MailboxError(
                        f"{self.label}: cannot {what}: connection lost again after reconnecting: {e}"
                    ) from e
                logger.warning("%s: connection lost (%s); reconnecting to %s", self.label, e, what)
            except IMAPClientError as e:
                raise MailboxError(f"{self.label}: cannot {what}: {e}") from e
        raise AssertionError("unreachable")

    def _connect(self) -> IMAPClient:
        """Connect, secure, log in, send ID, select the inbox; every failure a MailboxError."""
        s = self.settings
        context = ssl.create_default_context(cafile=self._ca_file)
        try:
            client = IMAPClient(
                s.host, s.port, ssl=s.implicit_tls, ssl_context=context, timeout=self._timeout
            )
        except (OSError, IMAPClientError) as e:
            raise MailboxError(f"{self.label}: cannot connect: {e}") from e
        try:
            self._start_session(client, context)
        except BaseException:
            _shutdown(client)
            raise
        self._client = client
        self._folders.clear()
        return client

    def _start_session(self, client: IMAPClient, context: ssl.SSLContext) -> None:
        s = self.settings
        try:
            if not s.implicit_tls and s.starttls:
                if client.has_capability("STARTTLS"):
                    client.starttls(context)
                else:
                    logger.warning("%s: no STARTTLS offered; logging in unencrypted", self.label)
            try:
                client.login(s.user, self._password)
            except LoginError as e:
                raise MailboxError(f"{self.label}: login refused: {_server_text(e)}") from e
            sent_id = client.has_capability("ID")
            if sent_id:
                try:
                    client.id_(self._id_params)
                except IMAPClientAbortError:
                    raise
                except IMAPClientError as e:
                    logger.warning("%s: the server refused ID: %s", self.label, e)
            try:
                selected = client.select_folder(s.folder)
            except IMAPClientAbortError:
                raise
            except IMAPClientError as e:
                if "unsafe login" in str(e).lower():
                    raise MailboxError(_unsafe_login_message(self.label, e, sent_id)) from e
                raise MailboxError(f"{self.label}: cannot select {s.folder}: {e}") from e
        except (OSError, IMAPClientError) as e:
            raise MailboxError(f"{self.label}: connection failed while logging in: {e}") from e
        self._uidvalidity = selected.get(b"UIDVALIDITY")

    def _discard(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _shutdown(client)

    def _check_uidvalidity(self, ref: MailRef) -> None:
        """UIDs only name the same mails while UIDVALIDITY stays; refuse stale refs."""
        if ref.uidvalidity != self._uidvalidity:
            raise MailboxError(
                f"{self.label}: UIDVALIDITY is now {self._uidvalidity}, the mail was listed "
                f"under {ref.uidvalidity}; list the inbox again"
            )

    # -- commands ---------------------------------------------------------------------

    def _pending(self, client: IMAPClient) -> list[MailRef]:
        # Servers announce mail that arrived since SELECT only at NOOP-like points (Dovecot
        # not at SEARCH), so a long-lived session would otherwise never see new mail.
        client.noop()
        uids = sorted(client.search(["UNDELETED"]))
        refs = []
        for start in range(0, len(uids), _FETCH_CHUNK):
            chunk = uids[start : start + _FETCH_CHUNK]
            data = client.fetch(chunk, _PENDING_ITEMS)
            for uid in chunk:
                item = data.get(uid)
                if item is None:  # expunged between SEARCH and FETCH
                    continue
                refs.append(
                    MailRef(
                        uid=str(uid),
                        uidvalidity=self._uidvalidity,
                        size=item.get(b"RFC822.SIZE"),
                        message_id=_message_id(item),
                    )
                )
        return refs

    def _fetch_item(self, client: IMAPClient, uid: int, item: str) -> Any:
        """One data item of one mail; BODY sections are fetched with PEEK."""
        data = client.fetch([uid], [item.replace("BODY[", "BODY.PEEK[")]).get(uid)
        if data is None:
            raise MailGone(f"{self.label}: mail {uid} is no longer in the inbox")
        return data.get(item.encode("ascii"))

    def _resolve_folder(self, client: IMAPClient, parts: list[str]) -> str:
        """The server's name for the folder: found case-insensitively, else created.

        Respects the personal namespace prefix (Dovecot's ``INBOX.``) and the hierarchy
        delimiter; imapclient encodes names as modified UTF-7 both ways.
        """
        key = "/".join(parts)
        if key in self._folders:
            return self._folders[key]
        prefix, delimiter = _personal_namespace(client)
        relative = delimiter.join(parts) if delimiter else key
        if prefix and relative.casefold().startswith(prefix.casefold()):
            relative = relative[len(prefix) :]
        candidates = [prefix + relative, relative]
        existing: dict[str, str] = {}
        for flags, _delimiter, name in client.list_folders():
            if not any(flag.lower() == b"\\noselect" for flag in flags):
                existing.setdefault(str(name).casefold(), str(name))
        name = next((existing[c.casefold()] for c in candidates if c.casefold() in existing), None)
        if name is None:
            name = prefix + relative
            _create_folder(client, name, self.label)
        self._folders[key] = name
        return name


def _move(client: IMAPClient, uid: int, target: str, label: str) -> None:
    """RFC 6851 MOVE when offered; else the 163 way, UID COPY + \\Deleted + UID EXPUNGE."""
    if client.has_capability("MOVE"):
        client.move([uid], target)
        return
    client.copy([uid], target)
    client.add_flags([uid], [DELETED], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge([uid])
    else:
        logger.warning("%s: no UIDPLUS, so EXPUNGE removes every \\Deleted mail", label)
        client.expunge()


def _create_folder(client: IMAPClient, name: str, label: str) -> None:
    """CREATE (another worker may win the race: fine) and SUBSCRIBE so mail clients show it."""
    try:
        client.create_folder(name)
    except IMAPClientAbortError:
        raise
    except IMAPClientError as e:
        if "ALREADYEXISTS" not in str(e).upper():
            raise
    logger.info("%s: created folder %r", label, name)
    try:
        client.subscribe_folder(name)
    except IMAPClientAbortError:
        raise
    except IMAPClientError as e:
        logger.warning("%s: cannot subscribe to %r: %s", label, name, e)


def _personal_namespace(client: IMAPClient) -> tuple[str, str | None]:
    """(prefix, delimiter) of the user's own folders: NAMESPACE, else LIST "" ""."""
    if client.has_capability("NAMESPACE"):
        personal = client.namespace().personal
        if personal:
            prefix, delimiter = personal[0]
            return prefix or "", _text(delimiter)
    listing = client.list_folders("", "")
    return "", (_text(listing[0][1]) if listing else None)


def _text(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("ascii")
    return value or None


def _message_id(item: dict[bytes, object]) -> str | None:
    """Message-ID from the HEADER.FIELDS item, however the server spells the key."""
    for key, value in item.items():
        if isinstance(key, bytes) and key.upper().startswith(b"BODY[HEADER.FIELDS"):
            return message_id_from_header(value) if isinstance(value, bytes) else None
    return None


def _unsafe_login_message(label: str, error: Exception, sent_id: bool) -> str:
    hint = (
        "the worker sent the IMAP ID command it asks for"
        if sent_id
        else "the server did not advertise the ID capability, so no ID was sent"
    )
    return (
        f"{label}: the server refused SELECT as 'Unsafe Login' ({error}). On NetEase 163: "
        "enable IMAP in the web mailbox (设置 → POP3/SMTP/IMAP → 开启 IMAP/SMTP 服务) and "
        f"use the authorisation code (授权码) as the password, not the web password; {hint}."
    )


def _server_text(error: Exception) -> str:
    """imaplib puts the server's bytes in the message as ``b'...'``; show the text."""
    text = str(error)
    if len(text) > 3 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
        return text[2:-1]
    return text


def _shutdown(client: IMAPClient) -> None:
    """Drop a connection that may already be dead, without raising."""
    with contextlib.suppress(Exception):
        client.shutdown()
