"""Machine mail vs people (issue 9, kind 6): headers decide first; subject words alone
never ignore a mail that may carry a form or that a person wrote in answer."""

from __future__ import annotations

import pytest

from tests.builders.form import build_form_xlsx
from tests.builders.mail import (
    XLSX,
    build_auto_reply,
    build_mail,
    build_tnef,
    build_zip,
    multipart,
    text_part,
)
from worker.message import parse_headers_only, parse_message

FORM = build_form_xlsx()
OURS = "<reply-12.0123456789@163.com>"


def is_ours(message_id: str) -> bool:
    return message_id == OURS


def reason(raw: bytes) -> str | None:
    return parse_message(raw, own_message_id=is_ours).auto_reason


def test_rw28_person_answering_an_auto_reply_with_the_form() -> None:
    raw = build_mail(subject="回复：自动回复：线上缴费发票申请", in_reply_to="<autoreply.20181201@163.com>",
                     references=["<rw-first@wq-unit.cn>", "<autoreply.20181201@163.com>"],
                     attachments=[("线上缴费发票申请表.xlsx", FORM)])
    assert reason(raw) is None


@pytest.mark.parametrize("subject", ["回复：自动回复：发票", "Re: Automatic reply: 发票申请",
                                     "答复: 退信", "转发：自动回复：申请表", "RE：Out of Office: x"])
def test_a_persons_reply_prefix_is_a_person_even_without_a_form(subject: str) -> None:
    assert reason(build_mail(subject=subject)) is None


@pytest.mark.parametrize("attachment", [
    ("申请表.xlsx", FORM, XLSX), ("申请表.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600),
    ("申请表.zip", build_zip([("a.xlsx", FORM)])), ("winmail.dat", build_tnef([("a.xlsx", FORM)])),
    ("表", FORM, "application/octet-stream"), ("申请表.ods", b"PK\x03\x04"), ("申请表.csv", b"a,b"),
])
def test_auto_subject_with_something_that_may_hold_a_form_is_not_ignored(attachment: tuple) -> None:
    assert reason(build_mail(subject="自动回复：线上缴费发票申请", attachments=[attachment])) is None


def test_auto_subject_with_only_a_picture_is_ignored() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    assert reason(build_mail(subject="自动回复：发票", attachments=[("logo.png", png)])) is not None


def test_a_form_only_inside_a_quoted_original_does_not_make_a_person() -> None:
    original = build_mail(subject="线上缴费发票申请", attachments=[("a.xlsx", FORM)])
    raw = build_mail(subject="自动回复：线上缴费发票申请", forwarded=[original])
    assert reason(raw) is not None


def test_headers_decide_even_with_a_form() -> None:
    raw = build_auto_reply(attachments=[("申请表.xlsx", FORM)])
    assert "Auto-Submitted" in reason(raw)


@pytest.mark.parametrize("subject", ["[外部邮件] 自动回复：发票", "【系统】退信", "  Undeliverable: x"])
def test_auto_words_at_the_start_after_a_tag(subject: str) -> None:
    assert reason(build_mail(subject=subject)) is not None


@pytest.mark.parametrize("subject", ["关于退信的问题", "发票申请（已设自动回复）",
                                     "请问 out of office 怎么办"])
def test_auto_words_in_the_middle_are_a_person(subject: str) -> None:
    assert reason(build_mail(subject=subject)) is None


def test_read_receipt_is_machine_mail() -> None:
    receipt = multipart("report", [text_part("您的邮件已被阅读", "plain", "gb2312"),
                                   b"Content-Type: message/disposition-notification\r\n\r\n"
                                   b"Disposition: manual-action/MDN-sent-manually; displayed\r\n"],
                        extra=" report-type=disposition-notification;")
    raw = build_mail(subject="已读: 线上缴费发票申请").split(b"MIME-Version: 1.0\r\n")[0]
    raw += b"MIME-Version: 1.0\r\n" + receipt
    assert "multipart/report" in reason(raw)


def test_x_failed_recipients_is_a_bounce() -> None:
    raw = build_mail(subject="Mail failure", extra_headers=[("X-Failed-Recipients", "unit@163.com")])
    assert "X-Failed-Recipients" in reason(raw)


def test_our_own_message_id_coming_back_is_machine_mail() -> None:
    raw = build_mail(subject="线上缴费发票申请：已受理", message_id=OURS, sender="转发 <fw@unit.cn>")
    assert "本系统" in reason(raw)
    assert parse_message(raw).auto_reason is None  # without the test for our IDs


def test_headers_only_mail_is_not_ignored_on_its_subject() -> None:
    head = build_mail(subject="自动回复：发票").split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert parse_headers_only(head).auto_reason is None
    head = build_auto_reply().split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert parse_headers_only(head).auto_reason is not None


def test_reasons_are_chinese_for_staff() -> None:
    assert "主题" in reason(build_mail(subject="自动回复：发票"))
