"""The one way the rest of the worker opens its inbox: from the ``mailbox.url`` setting."""

from __future__ import annotations

import os

from worker.errors import ConfigError
from worker.mailbox.base import Mailbox
from worker.mailbox.imap import ImapMailbox, parse_imap_url
from worker.mailbox.maildir import MaildirMailbox

_URL_KEY = "mailbox.url"


def open_mailbox(
    url: str,
    password: str | None = None,
    *,
    ca_file: str | None = None,
    timeout: float = 60.0,
    id_params: dict[str, str] | None = None,
) -> Mailbox:
    """``maildir:PATH`` (relative to the cwd), ``imap://user@host:port/INBOX`` or ``imaps://``.

    IMAP connects, logs in and selects here, so a wrong password or host fails at once
    with ``MailboxError``; a malformed URL is a ``ConfigError``.
    """
    scheme, _, rest = url.partition(":")
    scheme = scheme.lower()
    if scheme == "maildir":
        return MaildirMailbox(_maildir_path(rest))
    if scheme in ("imap", "imaps"):
        settings = parse_imap_url(url)
        if not password:
            raise ConfigError(
                "mailbox.password_env",
                "IMAP needs a password (for 163: the authorisation code 授权码)",
            )
        return ImapMailbox(settings, password, ca_file=ca_file, timeout=timeout, id_params=id_params)
    raise ConfigError(_URL_KEY, f"unsupported mailbox {scheme!r}: use maildir:PATH, imap:// or imaps://")


def _maildir_path(rest: str) -> str:
    """``var/mail``, ``/abs/path`` or ``///abs/path`` (file-URL style) to an absolute path."""
    if rest.startswith("//"):
        rest = rest[2:]
        if not rest.startswith("/"):
            raise ConfigError(_URL_KEY, "write maildir:PATH or maildir:///absolute/path")
    if not rest:
        raise ConfigError(_URL_KEY, "maildir: needs a path, e.g. maildir:var/mail")
    return os.path.abspath(rest)
