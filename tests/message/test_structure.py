"""Deep or degenerate MIME structure (issue 9, kind 8): the mail says it could not be
read in full (then FORM_UNREADABLE, not NO_FORM, which would tell the unit they forgot
the form)."""

from __future__ import annotations

import pytest

from tests.builders.form import build_form_xlsx
from tests.builders.mail import XLSX, attachment_part, build_mail, multipart, text_part
from worker.config import load_config
from worker.intake.analyse import analyse
from worker.message import parse_message
from worker.message.feed import parse_bytes
from worker.message.mime import MAX_FORWARD_DEPTH, MAX_PARTS, _payload

FORM = build_form_xlsx()
HEAD = b"From: unit@163.com\r\nSubject: deep\r\nMessage-ID: <deep@163.com>\r\nMIME-Version: 1.0\r\n"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory):
    return load_config(overrides={"output": {"dir": str(tmp_path_factory.mktemp("out"))}})


def codes_and_details(config, raw: bytes) -> list[tuple[str, str]]:
    (draft,) = analyse(parse_message(raw), config)
    return [(str(r.code), r.detail) for r in draft.reasons]


def forwarded(levels: int) -> bytes:
    raw = build_mail(attachments=[("申请表.xlsx", FORM)])
    for _ in range(levels):
        raw = build_mail(subject="转发：申请", body="请看转发", forwarded=[raw])
    return raw


def test_too_deep_multipart_nesting_is_unreadable_not_no_form(config) -> None:
    inner = attachment_part("申请表.xlsx", FORM, XLSX)
    for _ in range(3000):
        inner = multipart("mixed", [inner])
    mail = parse_message(HEAD + inner)
    assert mail.subject == "deep" and mail.unreadable and "嵌套过深" in mail.unreadable
    ((code, detail),) = codes_and_details(config, HEAD + inner)
    assert code == "FORM_UNREADABLE" and detail.startswith("邮件本身无法完整读取")


def test_forwards_nested_beyond_the_limit(config) -> None:
    raw = forwarded(MAX_FORWARD_DEPTH + 2)
    assert "转发嵌套过多" in parse_message(raw).unreadable
    assert [c for c, _ in codes_and_details(config, raw)] == ["FORM_UNREADABLE"]


def test_forwards_within_the_limit_still_give_the_form() -> None:
    mail = parse_message(forwarded(3))
    assert mail.unreadable is None and [a.filename for a in mail.attachments] == ["申请表.xlsx"]


def test_too_many_parts(config) -> None:
    parts = [text_part(f"第{i}段", "plain", "utf-8") for i in range(MAX_PARTS + 10)]
    raw = HEAD + multipart("mixed", parts)
    assert "部分过多" in parse_message(raw).unreadable
    assert [c for c, _ in codes_and_details(config, raw)] == ["FORM_UNREADABLE"]


def test_multipart_without_its_boundary(config) -> None:
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="nowhere"\r\n\r\n--elsewhere\r\nhello\r\n'
    assert "分隔线" in parse_message(raw).unreadable
    assert [c for c, _ in codes_and_details(config, raw)] == ["FORM_UNREADABLE"]


def test_a_missing_closing_boundary_is_harmless() -> None:
    raw = build_mail(attachments=[("申请表.xlsx", FORM)])
    raw = raw[: raw.rindex(b"--")]  # truncated after the last part, as some servers do
    mail = parse_message(raw)
    assert mail.unreadable is None and len(mail.attachments) == 1


def test_an_ordinary_mail_without_a_form_is_still_no_form(config) -> None:
    assert [c for c, _ in codes_and_details(config, build_mail())] == ["NO_FORM"]


NUL_LABEL = HEAD + b'Content-Type: text/plain; charset="utf-8\x00"\r\n\r\n\xe4\xb8\xad\r\n'


@pytest.mark.parametrize("raw", [
    build_mail(attachments=[("申请表.xlsx", FORM)], forwarded=[build_mail(body="转发")]),
    build_mail(body="收件人：张三", body_encoding="8bit", charset="gbk"),
    NUL_LABEL,
])
def test_the_walk_tells_parts_from_leaves_as_get_payload_does(raw: bytes) -> None:
    """``mime._payload`` gives a multipart's list as ``get_payload`` does, and for a leaf
    what the parser holds, not a list, without ``get_payload``'s work on it."""
    for part in parse_bytes(raw).walk():
        try:
            expected: object = part.get_payload()
        except ValueError:  # NUL_LABEL's 8-bit leaf: get_payload decodes it by its label
            assert isinstance(_payload(part), str)
            continue
        assert isinstance(_payload(part), list) == isinstance(expected, list)
        if isinstance(expected, list) or part.get_payload().isascii():
            assert _payload(part) == expected


def test_a_charset_label_with_a_nul_loses_no_mail() -> None:
    """An 8-bit body whose charset label holds a NUL: stdlib's get_payload raises
    ValueError for it, which made the whole mail INTERNAL_ERROR; its text is read."""
    mail = parse_message(NUL_LABEL)
    assert mail.unreadable is None
    assert mail.text == "中"
