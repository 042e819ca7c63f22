"""The invoice inbox: a local Maildir (the default) or IMAP (163.com in production)."""

from __future__ import annotations

from worker.mailbox.base import Mailbox, MailGone, MailRef
from worker.mailbox.factory import open_mailbox
from worker.mailbox.imap import ImapMailbox
from worker.mailbox.maildir import MaildirMailbox

__all__ = ["ImapMailbox", "MailGone", "MailRef", "Mailbox", "MaildirMailbox", "open_mailbox"]
