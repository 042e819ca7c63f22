"""Transfer decoding as real encoders break it (issue 9, kind 2): the same bytes as clean
input, for base64 and quoted-printable bodies, attachments and encoded words."""

from __future__ import annotations

import base64
import binascii
import os

import pytest

from tests.builders.form import build_form_xlsx
from tests.builders.mail import XLSX, attachment_part, b64_chunked, build_mail
from worker.message import parse_message
from worker.message.transfer import b64decode, qp_decode

DATA = os.urandom(3000) + build_form_xlsx()
GBK_TEXT = "收件人：张堃喆\n地址：天津市武清区杨村街光明路17号"


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 57, 100, 171, 1000])
def test_base64_padded_after_every_chunk(chunk: int) -> None:
    assert b64decode(b64_chunked(DATA, chunk=chunk)) == DATA


def test_base64_without_padding() -> None:
    for size in (1, 2, 3, 4, 5):
        clean = base64.b64encode(DATA[:size]).rstrip(b"=")
        assert b64decode(clean) == DATA[:size]


@pytest.mark.parametrize("junk", [b" ", b"\t", b"\r\n", b"-", b"*", b"\xa0", b".", b"!"])
def test_base64_with_stray_characters(junk: bytes) -> None:
    encoded = base64.b64encode(DATA)
    broken = junk.join(encoded[i:i + 37] for i in range(0, len(encoded), 37))
    assert b64decode(broken) == DATA


def test_stray_equals_sign_between_whole_groups_is_skipped() -> None:
    encoded = base64.b64encode(DATA)
    assert b64decode(encoded[:400] + b"=" + encoded[400:]) == DATA


def test_lone_trailing_character_is_dropped() -> None:
    assert b64decode(base64.b64encode(b"abc") + b"Q") == b"abc"


def test_garbage_gives_bytes_not_an_error() -> None:
    assert isinstance(b64decode(b"===***\x00\xff==="), bytes)


def test_chunk_padded_attachment_through_parse_message() -> None:
    part = attachment_part("申请表.xlsx", DATA, XLSX, encoded=b64_chunked(DATA, chunk=300))
    (att,) = parse_message(build_mail(parts=[part])).attachments
    assert att.data == DATA


def test_chunk_padded_body_through_parse_message() -> None:
    data = GBK_TEXT.encode("gb18030")
    leaf = (b'Content-Type: text/plain; charset="gbk"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + b64_chunked(data, chunk=7))
    raw = b"From: a@b.cn\r\nSubject: x\r\nMIME-Version: 1.0\r\n" + leaf
    assert parse_message(raw).text == GBK_TEXT


def _qp_escaped(data: bytes) -> bytes:
    return b"".join(b"=%02X" % b for b in data)


def test_qp_soft_break_inside_a_gbk_character() -> None:
    data = GBK_TEXT.encode("gb18030")
    escaped = _qp_escaped(data)
    # break after the first byte of each two-byte character (every 6 characters of QP)
    broken = b"=\r\n".join(escaped[i:i + 3] for i in range(0, len(escaped), 3))
    assert qp_decode(broken) == data


@pytest.mark.parametrize("soft", [b"=\r\n", b"=\n", b"=\r", b"= \r\n", b"=\t \n"])
def test_qp_soft_breaks_of_every_shape(soft: bytes) -> None:
    data = GBK_TEXT.encode("gb18030")
    escaped = _qp_escaped(data)
    broken = soft.join(escaped[i:i + 12] for i in range(0, len(escaped), 12))
    assert qp_decode(broken) == data


def test_qp_soft_break_inside_an_escape() -> None:
    assert qp_decode(b"ab=B=\r\n0=A=\r\n1c") == b"ab\xb0\xa1c"


def test_qp_raw_8bit_gbk_with_soft_breaks() -> None:
    data = GBK_TEXT.encode("gb18030")
    assert qp_decode(data[:5] + b"=\r\n" + data[5:]) == data


def test_qp_clean_input_unchanged() -> None:
    data = GBK_TEXT.encode("gb18030") + b" = 3\r\nline two"
    assert qp_decode(binascii.b2a_qp(data)) == binascii.a2b_qp(binascii.b2a_qp(data))


def test_qp_gbk_body_with_soft_breaks_mid_character_through_parse_message() -> None:
    data = GBK_TEXT.replace("\n", "").encode("gb18030")
    escaped = _qp_escaped(data)
    body = b"=\r\n".join(escaped[i:i + 75] for i in range(0, len(escaped), 75))  # 75: mid-char
    leaf = (b'Content-Type: text/plain; charset="gb2312"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + body)
    raw = b"From: a@b.cn\r\nSubject: x\r\nMIME-Version: 1.0\r\n" + leaf
    assert parse_message(raw).text == GBK_TEXT.replace("\n", "")


def test_encoded_word_with_inner_padding() -> None:
    words = " ".join(f"=?gbk?B?{base64.b64encode(c.encode('gb18030')).decode()}?=" for c in "张三")
    raw = build_mail(subject="x", extra_headers=[("X-Test", "1")]).replace(
        b"Subject: x", b"Subject: " + words.encode())
    assert parse_message(raw).subject == "张三"
