"""The Maildir backend: the embedded default inbox."""

from __future__ import annotations

import errno
import io
import itertools
import mailbox
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from worker.errors import ConfigError, MailboxError
from worker.mailbox import MaildirMailbox, MailGone, MailRef, open_mailbox
from worker.mailbox.maildir import _read_header
from worker.message.parse import parse_message


def mail(n: int, *, body: bytes = b"hello\r\n", extra: bytes = b"") -> bytes:
    return (
        b"From: unit%d@example.cn\r\nSubject: =?utf-8?b?5Y+R56Wo55Sz6K+3?=\r\n" % n
        + b"Message-ID:\r\n <mail-%d@example.cn>\r\n" % n
        + extra
        + b"\r\n"
        + body
    )


def deliver(root: Path, raw: bytes, *, mtime: float | None = None, seen: bool = False) -> str:
    """Write a mail byte for byte as an MDA does (new/), or as a mail client left it (cur/)."""
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    key = f"{int(mtime or 1_700_000_000)}.M{next(_serial)}P{os.getpid()}.test"
    path = root / "cur" / f"{key}:2,S" if seen else root / "new" / key
    path.write_bytes(raw)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return key


_serial = itertools.count(1)


def files(root: Path) -> list[Path]:
    return sorted(p for sub in ("new", "cur") for p in (root / sub).iterdir())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "mail"


def test_open_creates_the_maildir_and_labels_it_by_absolute_path(root: Path) -> None:
    with open_mailbox(f"maildir:{root}") as box:
        assert isinstance(box, MaildirMailbox)
        assert box.label == f"maildir:{root}"
        assert box.pending() == []
    assert {p.name for p in root.iterdir()} == {"new", "cur", "tmp"}


def test_relative_url_is_resolved_against_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_mailbox("maildir:var/mail") as box:
        assert box.label == f"maildir:{tmp_path / 'var' / 'mail'}"
    assert (tmp_path / "var" / "mail" / "new").is_dir()
    with open_mailbox(f"maildir://{tmp_path / 'other'}") as box:
        assert box.label == f"maildir:{tmp_path / 'other'}"


@pytest.mark.parametrize("url", ["maildir:", "maildir://host/path", "pop3://x@y/", "var/mail"])
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_mailbox(url)
    assert info.value.key == "mailbox.url"


def test_existing_directory_without_subdirs_is_completed(root: Path) -> None:
    root.mkdir()
    with open_mailbox(f"maildir:{root}") as box:
        assert box.pending() == []


def test_unusable_path_is_a_mailbox_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(MailboxError):
        open_mailbox(f"maildir:{blocker}/mail")


def test_pending_lists_new_and_cur_by_delivery_time_then_key(root: Path) -> None:
    late = deliver(root, mail(1), mtime=3_000)
    early_seen = deliver(root, mail(2), mtime=1_000, seen=True)
    same_a = deliver(root, mail(3), mtime=2_000)
    same_b = deliver(root, mail(4), mtime=2_000)
    with MaildirMailbox(root) as box:
        refs = box.pending()
    assert [r.uid for r in refs] == [early_seen, *sorted([same_a, same_b]), late]
    first = refs[0]
    assert first.uidvalidity is None
    assert first.size == len(mail(2))
    assert first.message_id == "<mail-2@example.cn>"  # unfolded


def test_pending_message_id_is_the_one_the_stored_mail_carries(root: Path) -> None:
    """Raw 8-bit GBK in a Message-ID (a client that puts a Chinese host name there):
    the listing's ID is decoded as parsing decodes it, so two such IDs stay apart and
    the pre-check finds a re-sent mail by the ID it was stored under."""
    raws = [f"From: a@example.cn\r\nMessage-ID: <{name}@PC-张三>\r\n\r\nhi\r\n"
            .encode("gbk") for name in ("单位一", "单位二")]
    for n, raw in enumerate(raws):
        deliver(root, raw, mtime=1_000 + n)
    with MaildirMailbox(root) as box:
        listed = [r.message_id for r in box.pending()]
    assert listed == ["<单位一@PC-张三>", "<单位二@PC-张三>"]
    assert listed == [parse_message(raw).message_id for raw in raws]


def test_pending_without_message_id(root: Path) -> None:
    deliver(root, b"Subject: none\r\n\r\nbody\r\n")
    with MaildirMailbox(root) as box:
        assert box.pending()[0].message_id is None


def test_fetch_returns_the_bytes_exactly_as_stored(root: Path) -> None:
    raw = mail(1, body=b"\xd6\xd0\xce\xc4 gbk bytes\nbare LF\r\n\r\ntrailing")
    deliver(root, raw, seen=True)
    with MaildirMailbox(root) as box:
        (ref,) = box.pending()
        assert box.fetch(ref) == raw
        assert box.fetch(ref, max_bytes=len(raw)) == raw


def test_fetch_over_max_bytes_returns_only_the_header_section(root: Path) -> None:
    raw = mail(1, body=b"x" * 100_000)
    deliver(root, raw)
    with MaildirMailbox(root) as box:
        (ref,) = box.pending()
        head = box.fetch(ref, max_bytes=10_000)
    assert head == raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"


def test_fetch_of_a_vanished_mail_raises_mail_gone(root: Path) -> None:
    with MaildirMailbox(root) as box:
        with pytest.raises(MailGone):
            box.fetch(MailRef("1700000000.M1P1.nowhere", None, None, None))
        assert issubclass(MailGone, MailboxError)


def test_move_creates_the_folder_and_keeps_bytes_flags_and_time(root: Path) -> None:
    raw = mail(1)
    key = deliver(root, raw, mtime=1_234, seen=True)
    deliver(root, mail(2))
    with MaildirMailbox(root) as box:
        ref = box.pending()[0]
        box.move(ref, "Processed")
        assert [r.message_id for r in box.pending()] == ["<mail-2@example.cn>"]
    folder = root / ".Processed"
    assert (folder / "maildirfolder").exists()
    (moved,) = files(folder)
    assert moved.parent.name == "cur"
    assert moved.name.startswith(key) and moved.name.endswith(":2,S")
    assert moved.read_bytes() == raw
    assert moved.stat().st_mtime == 1_234
    assert list((folder / "tmp").iterdir()) == []
    assert mailbox.Maildir(root).list_folders() == ["Processed"]


def test_move_into_an_existing_folder_matches_case_insensitively(root: Path) -> None:
    mailbox.Maildir(root, create=True).add_folder("processed")
    deliver(root, mail(1))
    with MaildirMailbox(root) as box:
        box.move(box.pending()[0], "PROCESSED")
    assert sorted(mailbox.Maildir(root).list_folders()) == ["processed"]
    assert len(files(root / ".processed")) == 1


def test_move_of_an_already_moved_mail_is_harmless(root: Path) -> None:
    deliver(root, mail(1))
    with MaildirMailbox(root) as first, MaildirMailbox(root) as second:
        (ref,) = first.pending()
        assert second.pending() == [ref]
        first.move(ref, "Processed")
        second.move(ref, "Processed")
        second.move(ref, "Exceptions")
    assert len(files(root / ".Processed")) == 1
    assert files(root) == []


def test_move_on_one_filesystem_is_a_rename_of_the_same_file(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(root, mail(1))
    (original,) = files(root)
    inode = original.stat().st_ino
    with MaildirMailbox(root) as box:
        (ref,) = box.pending()
        with monkeypatch.context() as patch:
            def no_copy(*args: object, **kwargs: object) -> None:
                raise AssertionError("a move on one filesystem must not copy")
            patch.setattr(shutil, "copy2", no_copy)
            box.move(ref, "Processed")
    assert files(root) == []
    (moved,) = files(root / ".Processed")
    assert moved.stat().st_ino == inode
    assert moved.read_bytes() == mail(1)


def _across_filesystems(src: str, dst: str) -> None:
    raise OSError(errno.EXDEV, "Invalid cross-device link")


def test_move_across_filesystems_copies_then_removes(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = mail(1)
    key = deliver(root, raw, mtime=1_234, seen=True)
    with MaildirMailbox(root) as box:
        (ref,) = box.pending()
        with monkeypatch.context() as patch:
            patch.setattr(os, "rename", _across_filesystems)
            box.move(ref, "Processed")
    assert files(root) == []
    folder = root / ".Processed"
    (moved,) = files(folder)
    assert moved.parent.name == "cur"
    assert moved.name.startswith(key) and moved.name.endswith(":2,S")
    assert moved.read_bytes() == raw
    assert moved.stat().st_mtime == 1_234
    assert list((folder / "tmp").iterdir()) == []


def test_a_crash_between_copy_and_remove_leaves_two_copies_and_a_rerun_one(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a move across filesystems (EXDEV) copies; there a crash can leave two."""
    deliver(root, mail(1))
    with MaildirMailbox(root) as box:
        (ref,) = box.pending()

        def crash(path: str) -> None:
            raise OSError("power cut")

        with monkeypatch.context() as patch:
            patch.setattr(os, "rename", _across_filesystems)
            patch.setattr(os, "remove", crash)
            with pytest.raises(MailboxError):
                box.move(ref, "Processed")
        assert len(files(root)) == 1
        assert len(files(root / ".Processed")) == 1
        with monkeypatch.context() as patch:
            patch.setattr(os, "rename", _across_filesystems)
            box.move(ref, "Processed")
    assert files(root) == []
    assert len(files(root / ".Processed")) == 1


def test_a_rename_after_an_interrupted_copy_leaves_one(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(root, mail(1))
    with MaildirMailbox(root) as box:
        (ref,) = box.pending()

        def crash(path: str) -> None:
            raise OSError("power cut")

        with monkeypatch.context() as patch:
            patch.setattr(os, "rename", _across_filesystems)
            patch.setattr(os, "remove", crash)
            with pytest.raises(MailboxError):
                box.move(ref, "Processed")
        box.move(ref, "Processed")
    assert files(root) == []
    (moved,) = files(root / ".Processed")
    assert moved.read_bytes() == mail(1)


def test_chinese_folder_names_round_trip_as_modified_utf7(root: Path) -> None:
    deliver(root, mail(1))
    deliver(root, mail(2))
    with MaildirMailbox(root) as box:
        first, second = box.pending()
        box.move(first, "已处理")
        box.move(second, "已处理/异常")
    # Maildir++ names as Dovecot writes them: modified UTF-7, '.' for hierarchy
    assert sorted(mailbox.Maildir(root).list_folders()) == ["&XfJZBHQG-", "&XfJZBHQG-.&XwJeOA-"]
    assert len(files(root / ".&XfJZBHQG-")) == 1
    assert len(files(root / ".&XfJZBHQG-.&XwJeOA-")) == 1


@pytest.mark.parametrize("folder", ["", "INBOX", "a//b"])
def test_invalid_folder_names_are_refused(root: Path, folder: str) -> None:
    deliver(root, mail(1))
    with MaildirMailbox(root) as box, pytest.raises(ValueError):
        box.move(box.pending()[0], folder)


def test_arrival_time_is_the_file_mtime_as_delivery_agents_set_it(root: Path) -> None:
    arrived = datetime(2018, 12, 31, 20, 31, tzinfo=timezone(timedelta(hours=8)))
    deliver(root, mail(1), mtime=arrived.timestamp())
    message = mailbox.MaildirMessage(mail(2))
    message.set_date(arrived.timestamp() + 60)  # the stdlib's way to say when it arrived
    mailbox.Maildir(str(root)).add(message)
    with open_mailbox(f"maildir:{root}") as box:
        first, second = box.pending()
    assert first.received_at == arrived and first.received_at.tzinfo is not None
    assert second.received_at == arrived + timedelta(minutes=1)


def test_moves_in_a_block_sync_each_directory_once_at_its_end(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import worker.mailbox.maildir as maildir

    for n in range(4):
        deliver(root, mail(n), seen=n % 2 == 1)
    synced: list[str] = []
    monkeypatch.setattr(maildir, "_fsync_dir", synced.append)
    with MaildirMailbox(root) as box:
        refs = box.pending()
        with box.moving():
            for ref in refs:
                box.move(ref, "Processed" if ref.message_id != "<mail-3@example.cn>" else "Exceptions")
            assert synced == []  # nothing yet: the renames are done, their sync waits
        assert box.pending() == []
    assert sorted(synced) == sorted({
        str(root / "new"), str(root / "cur"),
        str(root / ".Processed" / "new"), str(root / ".Processed" / "cur"),
        str(root / ".Exceptions" / "cur"),
    })
    assert len(synced) == len(set(synced))
    assert len(files(root / ".Processed")) == 3 and len(files(root / ".Exceptions")) == 1


def test_a_failed_sync_at_the_end_of_a_block_is_a_mailbox_error(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import worker.mailbox.maildir as maildir

    deliver(root, mail(1))

    def broken(path: str) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(maildir, "_fsync_dir", broken)
    with MaildirMailbox(root) as box:
        (ref,) = box.pending()
        with pytest.raises(MailboxError, match="cannot sync moved mail"), box.moving():
            box.move(ref, "Processed")


def test_a_folder_removed_after_its_first_move_is_made_again(root: Path) -> None:
    for n in range(2):
        deliver(root, mail(n), seen=True)
    with MaildirMailbox(root) as box:
        first, second = box.pending()
        box.move(first, "Processed")
        shutil.rmtree(root / ".Processed")  # staff deleted it in their mail client
        box.move(second, "Processed")
    assert files(root) == []
    (moved,) = files(root / ".Processed")
    assert moved.read_bytes() == mail(1)


def test_a_read_mail_renamed_by_a_client_after_the_listing_is_still_found(root: Path) -> None:
    key = deliver(root, mail(1), seen=True)
    with MaildirMailbox(root) as box:
        (ref,) = box.pending()
        (listed,) = files(root)
        listed.rename(root / "cur" / f"{key}:2,RS")  # the client flagged it answered
        box.move(ref, "Processed")
    (moved,) = files(root / ".Processed")
    assert moved.name == f"{key}:2,RS"


def test_mails_of_the_same_second_are_listed_in_delivery_order_not_text_order(root: Path) -> None:
    # The stdlib's and Dovecot's keys: <seconds>.M<microseconds>P<pid>Q<count>.<host>,
    # unpadded. As text, M100000 sorts before M99999 and Q10 before Q9.
    keys = ["1700000000.M99999P7Q9.host", "1700000000.M100000P7Q10.host",
            "1700000000.M100000P7Q11.host"]
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for n, key in reversed(list(enumerate(keys))):
        path = root / "new" / key
        path.write_bytes(mail(n))
        os.utime(path, (1_700_000_000, 1_700_000_000))
    with MaildirMailbox(root) as box:
        assert [r.uid for r in box.pending()] == keys


def _header_line_by_line(raw: bytes, limit: int) -> bytes:
    """The header section as a line-by-line read finds it (what ``_read_header`` reads
    a block at a time): lines end at LF, a blank line ends it, ``limit`` bytes at most."""
    out = b""
    for line in io.BytesIO(raw):
        if len(out) + len(line) >= limit:
            return out + line[:limit - len(out)]
        out += line
        if line in (b"\n", b"\r\n"):
            break
    return out


@pytest.mark.parametrize("raw", [
    b"", b"\n", b"\r\n", b"\r\nbody", b"\nbody", b"Subject: a\n\nbody", b"Subject: a\r\n\r\nbody",
    b"Subject: a\r\n\nbody", b"Subject: a\n\r\nbody", b"Subject: a\r\rstill header\r\n\r\n",
    b"no blank line at all", b"Subject: a\r\n", b"X: " + b"y" * 40_000 + b"\r\n\r\nbody",
    b"X: a\r\n" * 5000 + b"\r\nbody",  # a section longer than one block
])
@pytest.mark.parametrize("limit", [1, 2, 3, 12, 13, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1,
                                   256 * 1024])
def test_read_header_finds_the_blank_line_a_line_by_line_read_finds(raw: bytes, limit: int) -> None:
    assert _read_header(io.BytesIO(raw), limit) == _header_line_by_line(raw, limit)


def test_read_header_finds_a_blank_line_split_between_two_blocks() -> None:
    class Trickle(io.BytesIO):  # a read returns at most 1 byte, as a pipe might
        def read(self, size: int | None = -1) -> bytes:
            return super().read(1)

    for raw in (b"A: b\r\n\r\nbody", b"A: b\n\nbody", b"\r\nbody", b"A: b\n\r\nbody"):
        assert _read_header(Trickle(raw), 1000) == _header_line_by_line(raw, 1000)
