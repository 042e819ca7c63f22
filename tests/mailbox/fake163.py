"""A tiny IMAP server that behaves like NetEase 163 where it matters to us.

* SELECT before the ID command: ``NO SELECT Unsafe Login. Please contact kefu@188.com``.
* No MOVE (and no IDLE): clients must use UID COPY + ``\\Deleted`` + UID EXPUNGE.
* A flat folder namespace with ``/`` as delimiter and Chinese system folders.

Plain TCP on loopback (the real 163 offers STARTTLS; our TLS paths are tested against
Dovecot).  Every command line is recorded, LOGIN arguments redacted, so tests can assert
on what the client sent.
"""

from __future__ import annotations

import functools
import re
import socketserver
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from imapclient.imap_utf7 import decode as decode_utf7
from imapclient.imap_utf7 import encode as encode_utf7

from tests.builders.mail import arrival_time

CAPABILITIES = "IMAP4rev1 XLIST SPECIAL-USE ID LITERAL+ XAPPLEPUSHSERVICE UIDPLUS X-CM-EXT-1 AUTH=PLAIN"
SYSTEM_FOLDERS = ("INBOX", "草稿箱", "已发送", "已删除", "垃圾邮件", "病毒文件夹")
_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|([()])|([^\s()"]+)')


@dataclass
class Mail:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)
    arrival: datetime | None = None  # INTERNALDATE

    def internaldate(self) -> bytes:
        """RFC 3501 date-time as 163 sends it (Beijing time): ``"03-Dec-2018 09:08:00 +0800"``."""
        when = (self.arrival or arrival_time(self.raw)).astimezone(timezone(timedelta(hours=8)))
        return when.strftime('"%d-%b-%Y %H:%M:%S +0800"').encode()


class Fake163:
    """State shared by all connections; start() / stop() around a test."""

    def __init__(self) -> None:
        self.user = "xy23391756@163.com"
        self.password = "AUTHCODE163"
        self.advertise_id = True
        self.uidvalidity = 1_700_000_000
        self.folders: dict[str, list[Mail]] = {name: [] for name in SYSTEM_FOLDERS}
        self.commands: list[str] = []
        self.id_params: list[dict[str, str]] = []
        self.logins = 0
        self.drop_next = 0
        """Close the connection, unanswered, when each of the next N commands arrives."""
        self.lock = threading.RLock()
        self._next_uid = 1
        self._server: socketserver.ThreadingTCPServer | None = None

    # -- test side --------------------------------------------------------------------

    def start(self) -> None:
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                _Session(fake, self).run()

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        threading.Thread(target=serve, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self) -> str:
        return f"imap://{quote(self.user, safe='')}@127.0.0.1:{self.port}/INBOX"

    def deliver(self, raw: bytes, folder: str = "INBOX", arrival: datetime | None = None) -> int:
        with self.lock:
            uid = self._next_uid
            self._next_uid += 1
            self.folders[folder].append(Mail(uid, raw, arrival=arrival))
            return uid

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        with self.lock:
            return [mail.raw for mail in self.folders.get(folder, [])]

    def sent(self, prefix: str) -> list[str]:
        """Recorded command lines (without tag) starting with ``prefix``, case-insensitive."""
        return [c for c in self.commands if c.upper().startswith(prefix.upper())]


class _Session:
    """One client connection: the IMAP state machine, just enough of it."""

    def __init__(self, fake: Fake163, handler: socketserver.StreamRequestHandler) -> None:
        self.fake = fake
        self.rfile = handler.rfile
        self.wfile = handler.wfile
        self.logged_in = False
        self.sent_id = False
        self.selected: str | None = None
        self.out: list[bytes] = []

    def run(self) -> None:
        self.send(b"* OK Coremail System IMap Server Ready(163com[20141201])")
        self.flush()
        while line := self.rfile.readline():
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            command, _, args = rest.partition(b" ")
            command = command.upper()
            if command == b"UID":
                sub, _, args = args.partition(b" ")
                command = b"UID " + sub.upper()
            with self.fake.lock:
                shown = "LOGIN ***" if command == b"LOGIN" else rest.decode("utf-8", "replace")
                self.fake.commands.append(shown)
                if self.fake.drop_next:
                    self.fake.drop_next -= 1
                    return
                done = self.dispatch(tag, command.decode(), args)
            self.flush()
            if done:
                return

    def send(self, data: bytes) -> None:
        self.out.append(data + b"\r\n")

    def flush(self) -> None:
        """One write per response: line-by-line writes meet delayed ACKs (40 ms each)."""
        self.wfile.write(b"".join(self.out))
        self.wfile.flush()
        self.out.clear()

    def ok(self, tag: bytes, text: str) -> None:
        self.send(tag + b" OK " + text.encode())

    def dispatch(self, tag: bytes, command: str, args: bytes) -> bool:
        handler = getattr(self, "cmd_" + command.replace(" ", "_").lower(), None)
        if handler is None or (not self.logged_in and command not in _PRE_AUTH):
            self.send(tag + b" BAD command not support")
            return False
        return bool(handler(tag, args))

    # -- commands ---------------------------------------------------------------------

    def cmd_capability(self, tag: bytes, args: bytes) -> None:
        caps = CAPABILITIES if self.fake.advertise_id else CAPABILITIES.replace(" ID", "")
        self.send(b"* CAPABILITY " + caps.encode())
        self.ok(tag, "CAPABILITY completed")

    def cmd_noop(self, tag: bytes, args: bytes) -> None:
        self.ok(tag, "NOOP completed")

    def cmd_logout(self, tag: bytes, args: bytes) -> bool:
        self.send(b"* BYE LOGOUT received")
        self.ok(tag, "LOGOUT Completed")
        return True

    def cmd_login(self, tag: bytes, args: bytes) -> None:
        user, password = _strings(args)
        if (user, password) != (self.fake.user, self.fake.password):
            self.send(tag + b" NO LOGIN Login error user suspended or password error")
            return
        self.logged_in = True
        self.fake.logins += 1
        self.ok(tag, "LOGIN completed")

    def cmd_id(self, tag: bytes, args: bytes) -> None:
        values = _strings(args)
        self.fake.id_params.append(dict(zip(values[::2], values[1::2], strict=True)))
        self.sent_id = True
        self.send(b'* ID ("name" "Coremail Imap" "vendor" "Mailtech" "TransID" "fake")')
        self.ok(tag, "ID completed")

    def cmd_select(self, tag: bytes, args: bytes) -> None:
        if not self.sent_id:
            self.send(tag + b" NO SELECT Unsafe Login. Please contact kefu@188.com for help")
            return
        name = self.folder_name(args)
        if name not in self.fake.folders:
            self.send(tag + b" NO SELECT folder not exist")
            return
        self.selected = name
        mails = self.fake.folders[name]
        self.send(b"* %d EXISTS" % len(mails))
        self.send(b"* 0 RECENT")
        self.send(b"* OK [UIDVALIDITY %d] UID validity status" % self.fake.uidvalidity)
        self.send(b"* OK [UIDNEXT %d] Predicted next UID" % self.fake._next_uid)
        self.send(b"* FLAGS (\\Answered \\Seen \\Deleted \\Draft \\Flagged)")
        self.send(b"* OK [PERMANENTFLAGS (\\Answered \\Seen \\Deleted \\Draft \\Flagged)]")
        self.ok(tag, "[READ-WRITE] SELECT completed")

    def cmd_list(self, tag: bytes, args: bytes) -> None:
        _reference, pattern = _strings(args)
        if pattern == "":
            self.send(b'* LIST (\\Noselect) "/" ""')
        else:
            for name in self.fake.folders:
                wire = encode_utf7(name).decode("ascii")
                if pattern in ("*", "%", wire):
                    self.send(b'* LIST () "/" "' + wire.encode() + b'"')
        self.ok(tag, "LIST Completed")

    def cmd_create(self, tag: bytes, args: bytes) -> None:
        name = self.folder_name(args)
        if name in self.fake.folders:
            self.send(tag + b" NO CREATE folder already exists")
            return
        self.fake.folders[name] = []
        self.ok(tag, "CREATE completed")

    def cmd_subscribe(self, tag: bytes, args: bytes) -> None:
        self.ok(tag, "SUBSCRIBE completed")

    def cmd_uid_search(self, tag: bytes, args: bytes) -> None:
        words = args.upper().split()
        wanted = _uid_set(words[words.index(b"UID") + 1]) if b"UID" in words else None
        found = [
            mail.uid
            for mail in self.mails()
            if (wanted is None or mail.uid in wanted)
            and not (b"UNDELETED" in words and "\\Deleted" in mail.flags)
        ]
        self.send(b"* SEARCH" + b"".join(b" %d" % uid for uid in found))
        self.ok(tag, "SEARCH completed")

    def cmd_uid_fetch(self, tag: bytes, args: bytes) -> None:
        uid_set, _, items = args.partition(b" ")
        wanted = _uid_set(uid_set)
        items = items.upper()
        for seq, mail in enumerate(self.mails(), start=1):
            if mail.uid not in wanted:
                continue
            header = mail.raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
            parts = [b"UID %d" % mail.uid]
            if b"RFC822.SIZE" in items:
                parts.append(b"RFC822.SIZE %d" % len(mail.raw))
            if b"INTERNALDATE" in items:
                parts.append(b"INTERNALDATE " + mail.internaldate())
            if b"HEADER.FIELDS" in items:
                lines = re.findall(rb"(?im)^message-id:.*\r\n(?:[ \t].*\r\n)*", header)
                parts.append(_literal(b"BODY[HEADER.FIELDS (MESSAGE-ID)]", b"".join(lines) + b"\r\n"))
            elif b"BODY.PEEK[HEADER]" in items:
                parts.append(_literal(b"BODY[HEADER]", header))
            elif b"BODY.PEEK[]" in items:
                parts.append(_literal(b"BODY[]", mail.raw))
            self.send(b"* %d FETCH (" % seq + b" ".join(parts) + b")")
        self.ok(tag, "FETCH Completed")

    def cmd_uid_copy(self, tag: bytes, args: bytes) -> None:
        uid_set, _, folder = args.partition(b" ")
        target = self.folder_name(folder)
        if target not in self.fake.folders:
            self.send(tag + b" NO [TRYCREATE] COPY folder not exist")
            return
        for mail in self.mails():
            if mail.uid in _uid_set(uid_set):
                self.fake.folders[target].append(Mail(self.fake._next_uid, mail.raw, arrival=mail.arrival))
                self.fake._next_uid += 1
        self.ok(tag, "COPY completed")

    def cmd_uid_store(self, tag: bytes, args: bytes) -> None:
        uid_set, mode, flags = args.split(b" ", 2)
        names = flags.strip(b"()").decode().split()
        for seq, mail in enumerate(self.mails(), start=1):
            if mail.uid in _uid_set(uid_set) and mode.upper().startswith(b"+FLAGS"):
                mail.flags.update(names)
                if not mode.upper().endswith(b".SILENT"):
                    flag_list = " ".join(sorted(mail.flags)).encode()
                    self.send(b"* %d FETCH (FLAGS (%s) UID %d)" % (seq, flag_list, mail.uid))
        self.ok(tag, "STORE completed")

    def cmd_uid_expunge(self, tag: bytes, args: bytes) -> None:
        self.expunge(_uid_set(args.strip()))
        self.ok(tag, "EXPUNGE completed")

    def cmd_expunge(self, tag: bytes, args: bytes) -> None:
        self.expunge(None)
        self.ok(tag, "EXPUNGE completed")

    # -- helpers ----------------------------------------------------------------------

    def mails(self) -> list[Mail]:
        assert self.selected is not None
        return self.fake.folders[self.selected]

    def folder_name(self, args: bytes) -> str:
        (name,) = _strings(args)
        return decode_utf7(name.encode("ascii"))

    def expunge(self, uids: set[int] | None) -> None:
        mails = self.mails()
        for seq in range(len(mails), 0, -1):
            mail = mails[seq - 1]
            if "\\Deleted" in mail.flags and (uids is None or mail.uid in uids):
                del mails[seq - 1]
                self.send(b"* %d EXPUNGE" % seq)


_PRE_AUTH = {"CAPABILITY", "NOOP", "LOGOUT", "LOGIN", "ID"}


def _strings(args: bytes) -> list[str]:
    """Quoted strings and atoms of an argument list, parentheses ignored."""
    out = []
    for quoted, paren, atom in _TOKEN.findall(args):
        if paren:
            continue
        if atom:
            out.append(atom.decode())
        else:
            out.append(re.sub(rb"\\(.)", rb"\1", quoted).decode())
    return out


def _uid_set(text: bytes) -> set[int]:
    uids: set[int] = set()
    for part in text.decode().split(","):
        low, _, high = part.partition(":")
        uids.update(range(int(low), int(high or low) + 1))
    return uids


def _literal(name: bytes, data: bytes) -> bytes:
    return name + b" {%d}\r\n" % len(data) + data
