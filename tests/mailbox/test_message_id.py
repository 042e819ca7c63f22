"""``message_id_from_header``: a plainly written header block is read without the
stdlib parser, and gives exactly what the parser gives; any other block goes to it."""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import compat32

import pytest

from worker.mailbox import base
from worker.mailbox.base import message_id_from_header
from worker.message.headers import message_id_key
from worker.message.model import blank_message_id


def by_the_parser(header: bytes) -> str | None:
    msg = BytesHeaderParser(policy=compat32).parsebytes(header)
    value = next((str(v) for k, v in msg.raw_items() if k.strip().lower() == "message-id"), None)
    if value is None:
        return None
    key = message_id_key(value)
    return None if blank_message_id(key) else key


PLAIN = {
    "one line": b"From: a@b.cn\r\nMessage-ID: <1@b.cn>\r\nSubject: x\r\n\r\nbody",
    "lower case, LF": b"message-id:<2@b.cn>\nfrom: a@b.cn\n\n",
    "folded": b"Subject: x\r\nMessage-Id:\r\n <3.long.id\r\n\t@b.cn>\r\nTo: c@d.cn\r\n\r\n",
    "folded at the end": b"Message-ID: <4\r\n @b.cn>",
    "CR only": b"To: c@d.cn\rMessage-ID: <5@b.cn>\r\r",
    "the first of two": b"Message-ID: <6@b.cn>\r\nMessage-ID: <7@b.cn>\r\n\r\n",
    "absent": b"From: a@b.cn\r\nSubject: =?UTF-8?B?5Y+R56Wo?=\r\n\r\nMessage-ID: <in@body>\r\n",
    "blank": b"Message-ID: <>\r\n\r\n",
    "empty value": b"Message-ID:\r\n\r\n",
    "spaces inside": b"Message-ID: < 8 @ b.cn >\r\n\r\n",
    "an odd line after it": b"Message-ID: <9@b.cn>\r\nnot a header line\r\nX: y\r\n\r\n",
    "no blank line": b"X-Mailer: Foxmail 7.2\r\nMessage-ID: <10@b.cn>\r\n",
    "empty block": b"",
}
ODD = {
    "8-bit bytes": "Subject: 发票\r\nMessage-ID: <11@b.cn>\r\n\r\n".encode(),
    "8-bit ID": "Message-ID: <编号12@b.cn>\r\n\r\n".encode("gb18030"),
    "unix From line": b"From a@b.cn Mon Sep  3 10:15:00 2018\r\nMessage-ID: <13@b.cn>\r\n\r\n",
    "folded first line": b" x\r\nMessage-ID: <14@b.cn>\r\n\r\n",
    "odd line before it": b"X: y\r\nnot a header line\r\nMessage-ID: <15@b.cn>\r\n\r\n",
    "space before the colon": b"Message-ID : <16@b.cn>\r\n\r\n",
    "empty name": b": x\r\nMessage-ID: <17@b.cn>\r\n\r\n",
}


@pytest.mark.parametrize("header", PLAIN.values(), ids=PLAIN.keys())
def test_a_plain_block_is_read_without_the_parser_as_the_parser_reads_it(header: bytes) -> None:
    assert base._plain_message_id(header) is not False
    assert message_id_from_header(header) == by_the_parser(header)


@pytest.mark.parametrize("header", ODD.values(), ids=ODD.keys())
def test_any_other_block_is_left_to_the_parser(header: bytes) -> None:
    assert base._plain_message_id(header) is False
    assert message_id_from_header(header) == by_the_parser(header)


def test_the_expected_keys() -> None:
    assert message_id_from_header(PLAIN["folded"]) == "<3.long.id@b.cn>"
    assert message_id_from_header(PLAIN["the first of two"]) == "<6@b.cn>"
    assert message_id_from_header(PLAIN["absent"]) is None
    assert message_id_from_header(PLAIN["blank"]) is None
    assert message_id_from_header(PLAIN["an odd line after it"]) == "<9@b.cn>"
    assert message_id_from_header(ODD["odd line before it"]) is None  # the header ended
    assert message_id_from_header(ODD["8-bit ID"]) == "<编号12@b.cn>"


def test_undecodable_bytes_keep_ids_apart() -> None:
    """Bytes neither UTF-8 nor GB18030 reads are kept as escapes, not as U+FFFD: two
    such IDs of one length were one key, and the second mail was taken as processed."""
    first = message_id_from_header(b"Message-ID: <\xff\xff\xfe@qq.com>\r\n\r\n")
    second = message_id_from_header(b"Message-ID: <\x80\x80\x80@qq.com>\r\n\r\n")
    assert first == "<\\xff\\xff\\xfe@qq.com>" and second == "<\\x80\\x80\\x80@qq.com>"
