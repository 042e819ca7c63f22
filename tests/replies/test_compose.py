"""The reply's headers: threading, marking, and no way for a unit's text to become a header."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest

from worker.config import load_config
from worker.db.models import Mail
from worker.errors import ConfigError
from worker.message.model import is_synthetic_message_id, synthetic_message_id
from worker.replies import reply_address
from worker.replies.compose import (
    build_message,
    echo_text,
    is_our_reply_id,
    make_message_id,
    plain_address,
    reply_subject,
    thread_ids,
)
from worker.replies.outbox import DEFAULT_RETRIES, backoff

TZ = ZoneInfo("Asia/Shanghai")
CONFIG = load_config()


@pytest.mark.parametrize(("original", "expected"), [
    ("发票申请", "Re: 发票申请"),
    ("Re: 发票申请", "Re: 发票申请"),
    ("RE:Re: 回复：答复: 发票申请", "Re: 发票申请"),
    ("Fw: 发票申请", "Re: Fw: 发票申请"),
    ("", "Re: 发票申请"),
    ("发票申请\r\nBcc: x@evil.example", "Re: 发票申请 Bcc:"),   # and no address is repeated
    ("a\nb\rc\u2028d\x00e\x1bf\u202eg", "Re: a b c d e f g"),
    ("  申请   表 ", "Re: 申请 表"),
    ("回复：自动回复：线上缴费发票申请", "Re: 线上缴费发票申请"),  # rw28: never reads as an auto-reply
    ("Re: Out of Office: 申请", "Re: 申请"),
    ("自动回复的问题", "Re: 自动回复的问题"),              # words, not a prefix, stay
])
def test_subject_is_one_line_and_re_once(original: str, expected: str) -> None:
    assert reply_subject(original) == expected


def test_subject_is_bounded() -> None:
    assert len(reply_subject("长" * 10_000)) < 200


@pytest.mark.parametrize(("value", "expected"), [
    ("unit@163.com", "unit@163.com"),
    ("张三 <Unit@163.COM>", "unit@163.com"),
    ("unit@163.com\r\nBcc: x@evil.example", None),
    ("a@b.com, c@d.com", None),
    ("用户@163.com", None),
    ("no-at-sign", None),
    ("", None),
    (None, None),
])
def test_only_plain_ascii_addresses_are_replied_to(value: str | None, expected: str | None) -> None:
    assert plain_address(value) == expected


def _mail(**kw: object) -> Mail:
    fields: dict[str, object] = {"id": 1, "message_id": "<m1@163.com>", "sender": "unit@163.com",
                                 "reply_to": None, "subject": "发票申请", "status": "held"}
    fields.update(kw)
    return Mail(**fields)


@pytest.mark.parametrize(("kw", "form", "expected"), [
    ({}, False, "unit@163.com"),
    ({"reply_to": "office@qq.com"}, True, "office@qq.com"),       # another domain: form only
    ({"reply_to": "office@qq.com"}, False, "unit@163.com"),       # else From is answered
    ({"reply_to": "caiwu@163.com"}, False, "caiwu@163.com"),      # same domain as From
    ({"status": "ignored"}, True, None),
    ({"sender": ""}, True, None),
    ({"sender": "MAILER-DAEMON@163.com"}, True, None),
    ({"sender": "postmaster@qq.com"}, True, None),
    ({"sender": "noreply@example.com"}, True, None),
    ({"sender": "xy23391756@163.com"}, True, None),              # our own mailbox
    ({"reply_to": "xy23391756@163.com"}, True, None),            # pointed back at us
    ({"reply_to": "mailer-daemon@qq.com"}, True, None),
    ({"status": "failed", "subject": "自动回复：发票申请"}, True, None),  # parser failed on an auto-reply
    ({"status": "failed"}, False, "unit@163.com"),
])
def test_who_is_answered(kw: dict[str, object], form: bool, expected: str | None) -> None:
    assert reply_address(_mail(**kw), CONFIG, form=form) == expected


def test_subject_and_name_are_repeated_only_as_a_short_clean_prefix() -> None:
    spam = "恭喜中奖 请访问 http://x.example/领奖 或 www.x.example 联系 lucky@x.example " + "长" * 100
    assert reply_subject(spam, 24) == "Re: 恭喜中奖 请访问 或 联系 " + "长" * 9 + "…"
    assert len(reply_subject(spam, 24)) == len("Re: ") + 24
    assert echo_text("http://x.example", 24) == "" and reply_subject("http://x.example", 24) == \
        "Re: 发票申请"
    assert echo_text("线上缴费发票申请-武清区某某公司", 24) == "线上缴费发票申请-武清区某某公司"
    assert echo_text("线上缴费发票申\ufffd", 24) == "线上缴费发票申"  # cut mid-character


def test_threading_ids_are_checked_and_bounded() -> None:
    refs = [f"<r{i}@x>" for i in range(40)] + ["<bad id@x>", "<a<b@x>", "noangle@x"]
    in_reply_to, references = thread_ids("<m1@163.com>", refs)
    assert in_reply_to == "<m1@163.com>"
    assert references[-1] == "<m1@163.com>" and len(references) == 20
    assert all(" " not in r and r.count("<") == 1 for r in references)
    assert thread_ids("<made up\r\nBcc: x@evil>", []) == (None, [])


def test_our_message_ids_are_stable_and_recognised() -> None:
    mid = make_message_id("reply", "7", "<m1@163.com>", CONFIG.smtp.sender)
    assert mid == make_message_id("reply", "7", "<m1@163.com>", CONFIG.smtp.sender)
    assert mid != make_message_id("reply", "7", "<m2@163.com>", CONFIG.smtp.sender)
    assert mid.startswith("<reply-7.") and mid.endswith("@163.com>")
    assert is_our_reply_id(mid, CONFIG.smtp.sender)
    assert is_our_reply_id(make_message_id("followup", "7-2", "<m@x>", CONFIG.smtp.sender),
                           CONFIG.smtp.sender)
    assert not is_our_reply_id("<reply-7.abc@qq.com>", CONFIG.smtp.sender)
    assert not is_our_reply_id("<m1@163.com>", CONFIG.smtp.sender)


def test_message_headers_are_seven_bit_and_marked() -> None:
    msg = build_message(sender="xy23391756@163.com", sender_name="天津市政工师进修学院",
                        to="unit@163.com", subject=reply_subject("发票申请\r\nBcc: x@evil.example"),
                        message_id="<reply-1.abc@163.com>", in_reply_to="<m1@163.com>",
                        references=["<m0@163.com>", "<m1@163.com>"],
                        date=datetime(2018, 11, 1, 10, 5, tzinfo=TZ), body="您好！\n发票号码 00000001\n")
    raw = msg.as_bytes()
    head, _, _ = raw.partition(b"\r\n\r\n")
    assert head.isascii()
    names = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n") if line[:1] not in b" \t"]
    assert b"bcc" not in names and names.count(b"to") == 1 and names.count(b"subject") == 1
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Re: 发票申请 Bcc:"
    assert parsed["From"] == "天津市政工师进修学院 <xy23391756@163.com>"
    assert parsed["In-Reply-To"] == "<m1@163.com>"
    assert parsed["References"] == "<m0@163.com> <m1@163.com>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["Precedence"] is None
    # canonical text/plain: CRLF line ends inside the base64
    assert parsed.get_body(("plain",)).get_content() == "您好！\r\n发票号码 00000001\r\n"


def test_header_objects_refuse_line_breaks_anyway() -> None:
    with pytest.raises(ValueError):
        build_message(sender="xy23391756@163.com", sender_name="x", to="unit@163.com",
                      subject="ok", message_id="<a@b>", in_reply_to="<m1@163.com>\r\nBcc: x@evil",
                      references=[], date=datetime(2018, 11, 1, tzinfo=TZ), body="x")


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, DEFAULT_RETRIES).total_seconds() / 60 for n in range(1, 12)] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360]
    assert backoff(10_000, DEFAULT_RETRIES).total_seconds() == 360 * 60


def test_replies_config_is_typed_and_checked() -> None:
    assert (CONFIG.replies.max_attempts, CONFIG.replies.backoff_first_minutes,
            CONFIG.replies.backoff_max_minutes) == (8, 1, 360)
    with pytest.raises(ConfigError, match="replies.max_attempts"):
        load_config(overrides={"replies": {"max_attempts": 0}})
    with pytest.raises(ConfigError, match="replies.backoff_max_minutes"):
        load_config(overrides={"replies": {"backoff_first_minutes": 10, "backoff_max_minutes": 5}})
    with pytest.raises(ConfigError, match="replies.backoff_first_minutes"):
        load_config(overrides={"replies": {"backoff_first_minutes": "soon"}})


def test_reply_limits_config_is_typed_and_checked() -> None:
    limits = CONFIG.reply_limits
    assert (limits.per_address_per_day, limits.per_hour, limits.subject_chars) == (5, 60, 24)
    assert {"163.com", "qq.com"} <= limits.public_mail_domains
    with pytest.raises(ConfigError, match="reply_limits.per_hour"):
        load_config(overrides={"reply_limits": {"per_hour": 0}})
    with pytest.raises(ConfigError, match="reply_limits.public_mail_domains"):
        load_config(overrides={"reply_limits": {"public_mail_domains": "163.com"}})


def test_a_huge_subject_is_echoed_short() -> None:
    """200,000 characters without a space (quadratic for the link pattern over the
    whole text): only a bounded head of it is ever looked at."""
    assert reply_subject("题" * 200_000, 24) == "Re: " + "题" * 23 + "…"
    assert echo_text("x" * 100_000 + " http://evil.example", 24) == "x" * 23 + "…"


OUTLOOK_ID = "<AM0PR07MB4321ABCDEF0123456789ABCDEF0123456789@AM0PR07MB4321.eurprd07.prod.outlook.com>"


def test_long_message_ids_thread_as_written_never_as_encoded_words() -> None:
    in_reply_to, references = thread_ids(OUTLOOK_ID, ["<m0@163.com>", "<x" + "1" * 120 + "@qq.com>"])
    msg = build_message(sender="xy23391756@163.com", sender_name="天津市政工师进修学院",
                        to="unit@163.com", subject="Re: 发票申请", message_id="<reply-1.abc@163.com>",
                        in_reply_to=in_reply_to, references=references,
                        date=datetime(2018, 11, 1, 10, 5, tzinfo=TZ), body="您好！\n")
    raw = msg.as_bytes()
    head, _, _ = raw.partition(b"\r\n\r\n")
    threading = head[head.index(b"\r\nIn-Reply-To:"):head.index(b"\r\nAuto-Submitted:")]
    assert b"=?" not in threading and threading.isascii()
    assert all(len(line) <= 998 for line in threading.split(b"\r\n"))  # RFC 5322 2.1.1
    for parser in (policy.default, policy.compat32):
        parsed = message_from_bytes(raw, policy=parser)
        assert "".join(str(parsed["In-Reply-To"]).split()) == OUTLOOK_ID
        assert str(parsed["References"]).split() == references
    assert references[-1] == OUTLOOK_ID


def test_a_made_up_message_id_is_no_thread() -> None:
    made_up = synthetic_message_id(b"From: a@b.cn\r\n\r\nno Message-ID\r\n")
    assert is_synthetic_message_id(made_up)
    assert thread_ids(made_up, ["<m0@163.com>"]) == (None, ["<m0@163.com>"])
