"""The mailbox cannot be used to send mail to strangers (issue 10 item 4): who gets an
automatic reply, how often, what it repeats, and what staff see when none is sent.
Through the real pass, both databases, replies counted at a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.builders.form import build_form_xlsx, default_header, form_grid, make_lines
from tests.builders.formats import grid_to_html
from tests.builders.mail import build_mail
from tests.fixtures.smtp import SmtpServer
from tests.intake.conftest import make_world
from tests.intake.test_pass import BODY, trainees, unit
from tests.replies.conftest import ReplyWorld, body
from worker.replies.policy import NoReply
from worker.samples import form_xlsx


def with_form(sender: str, *, subject: str = "发票申请", **kw: object) -> bytes:
    """A mail carrying a (not yet paid, so held) form."""
    form = [("申请表.xlsx", build_form_xlsx(default_header(), make_lines(1)))]
    return build_mail(sender=sender, subject=subject, attachments=form, **kw)  # type: ignore[arg-type]


def reasons(rw: ReplyWorld) -> Counter[str]:
    return Counter(r.last_error.partition(":")[0] for r in rw.outbox() if r.status == "withheld")


@pytest.fixture
def strict_world(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> Iterator[ReplyWorld]:
    """Small limits, so a test reaches them with a few mails."""
    rw = ReplyWorld(make_world(db_url, tmp_path, smtp={"url": smtp_server.url},
                               reply_limits={"per_address_per_day": 2, "per_hour": 3}),
                    smtp_server)
    yield rw
    rw.app.close()


def test_200_spoofed_formless_mails_make_no_reply_and_a_unit_is_still_answered(
        reply_world: ReplyWorld) -> None:
    domains = ("qq.com", "163.com", "corp{}.example")
    victims = [f"victim{i}@" + domains[i % 3].format(i) for i in range(200)]
    reply_world.world.deliver(*(
        build_mail(sender=v, subject="免费领取发票 http://spam.example 加微信 x123" + "！" * 50,
                   reply_to=f"other{i}@elsewhere.example" if i % 2 else None)
        for i, v in enumerate(victims)))
    assert reply_world.world.run() == {"held": 200}
    assert reply_world.received() == []
    assert reasons(reply_world) == {NoReply.STRANGER: 200}   # each visible, none sendable

    people = trainees("U", 2)
    reply_world.world.pay(people)
    reply_world.world.deliver(build_mail(sender="武清区某某公司 <unit@163.com>", subject="发票申请",
                                         body=BODY, attachments=[("申请表.xlsx", form_xlsx(unit(people)))]))
    assert reply_world.world.run() == {"accepted": 1}
    (got,) = reply_world.received()
    assert got.rcpt_tos == ["unit@163.com"] and "申请已受理" in body(got.message())


def test_a_known_sender_or_a_known_private_domain_is_answered_without_a_form(
        reply_world: ReplyWorld) -> None:
    people = trainees("K", 1)
    reply_world.world.pay(people)
    accepted = [("申请表.xlsx", form_xlsx(unit(people)))]
    reply_world.world.deliver(
        build_mail(sender="caiwu@wuqing-hospital.example", body=BODY, attachments=accepted))
    reply_world.world.deliver(with_form("zhang@163.com"))
    reply_world.world.run()
    assert len(reply_world.received()) == 2
    reply_world.world.deliver(
        build_mail(sender="zhang@163.com", subject="忘了附件"),              # wrote before, with a form
        build_mail(sender="renshi@wuqing-hospital.example", subject="申请"),  # domain accepted before
        build_mail(sender="li@163.com", subject="申请"),                      # 163.com says nothing
    )
    reply_world.world.run()
    assert sorted(m.rcpt_tos[0] for m in reply_world.received()[2:]) == [
        "renshi@wuqing-hospital.example", "zhang@163.com"]
    assert reasons(reply_world) == {NoReply.STRANGER: 1}


def test_reply_to_in_another_domain_is_followed_only_for_a_form(reply_world: ReplyWorld) -> None:
    reply_world.world.deliver(with_form("zhang@163.com", reply_to="caiwu@qq.com"))
    reply_world.world.run()
    reply_world.world.deliver(build_mail(sender="zhang@163.com", subject="补充",
                                         reply_to="victim@elsewhere.example"))
    reply_world.world.run()
    assert [m.rcpt_tos for m in reply_world.received()] == [["caiwu@qq.com"], ["zhang@163.com"]]


def test_at_most_n_replies_per_address_and_m_per_hour(strict_world: ReplyWorld) -> None:
    strict_world.world.deliver(*(with_form("zhang@163.com", subject=f"第{i}次") for i in range(4)))
    strict_world.world.run()
    assert [m.rcpt_tos[0] for m in strict_world.received()] == ["zhang@163.com"] * 2
    assert reasons(strict_world) == {NoReply.ADDRESS_LIMIT: 2}

    strict_world.world.deliver(*(with_form(f"unit{i}@163.com") for i in range(3)))
    strict_world.world.run()
    assert len(strict_world.received()) == 3       # the hour's third reply, then no more
    assert reasons(strict_world) == {NoReply.ADDRESS_LIMIT: 2, NoReply.HOURLY_LIMIT: 2}


def test_replies_held_back_by_a_limit_are_sent_once_it_allows(strict_world: ReplyWorld) -> None:
    """A limit paces replies, it never drops one: in a deadline week the units past the
    hour's budget still hear what came of their forms, an hour (a day, for one
    address) later, and the limits still hold then."""
    from worker.db.types import utcnow
    from worker.replies.queue import release_withheld

    strict_world.world.deliver(*(with_form("zhang@163.com", subject=f"第{i}次") for i in range(3)),
                               *(with_form(f"unit{i}@163.com") for i in range(2)))
    strict_world.world.run()
    assert len(strict_world.received()) == 3
    assert reasons(strict_world) == {NoReply.ADDRESS_LIMIT: 1, NoReply.HOURLY_LIMIT: 1}
    config = strict_world.app.config

    def release(after: timedelta) -> int:
        with strict_world.app.sessions.begin() as session:
            return release_withheld(session, config, now=utcnow() + after)

    assert release(timedelta(minutes=30)) == 0                  # the hour is still full
    assert release(timedelta(hours=1, minutes=1)) == 1          # unit1's; zhang's day is full
    assert reasons(strict_world) == {NoReply.ADDRESS_LIMIT: 1}
    assert release(timedelta(days=1, hours=2)) == 1             # zhang's third, a day later
    assert reasons(strict_world) == {}
    strict_world.send(now=utcnow() + timedelta(days=1, hours=2))
    tos = [m.rcpt_tos[0] for m in strict_world.received()]
    assert sorted(tos) == ["unit0@163.com", "unit1@163.com"] + ["zhang@163.com"] * 3
    assert "第2次" in body(strict_world.replies()[-1])


def test_a_reply_repeats_only_a_short_clean_prefix_of_the_subject(reply_world: ReplyWorld) -> None:
    subject = "发票申请 详见 https://spam.example/a?b=c 或邮件 boss@spam.example " + "啊" * 200
    reply_world.world.deliver(with_form("zhang@163.com", subject=subject))
    reply_world.world.run()
    (msg,) = reply_world.replies()
    limit = reply_world.app.config.reply_limits.subject_chars
    assert msg["Subject"] == "Re: 发票申请 详见 或邮件 " + "啊" * (limit - 13) + "…"
    text = body(msg)
    assert "spam.example" not in msg["Subject"] + text and "啊" * limit not in text
    assert "《发票申请 详见 或邮件 啊" in text


@pytest.mark.parametrize(("subject", "shown"), [
    ("https://pan.baidu.com/s/1abc", "发来的邮件，"),       # all of it never repeated
    ('=HYPERLINK("http://evil.example/","x")', "发来的邮件，"),
    ("", "发来的邮件《（无主题）》"),
])
def test_the_reply_never_says_a_subject_was_empty_when_it_was_not(
        reply_world: ReplyWorld, subject: str, shown: str) -> None:
    reply_world.world.deliver(with_form("zhang@163.com", subject=subject))
    reply_world.world.run()
    text = body(reply_world.replies()[0])
    assert shown in text and "evil.example" not in text and "pan.baidu" not in text


def test_a_form_in_the_body_or_an_unreadable_one_is_a_units_mail(reply_world: ReplyWorld) -> None:
    """First-time senders: a form pasted into the body is answered like an attached one;
    a Word file meant as the form is answered too (the unit must hear to send Excel),
    but it may not steer the reply to a Reply-To in another domain."""
    markup = grid_to_html(form_grid(default_header(), make_lines(1), total=None, notes=False))
    reply_world.world.deliver(
        build_mail(sender="caiwu@jh-school.example", body=None, html=markup, charset="utf-8"),
        build_mail(sender="hr@bc-factory.example", reply_to="victim@elsewhere.example",
                   attachments=[("申请表.docx", b"PK\x03\x04 not really a form",
                                 "application/vnd.openxmlformats-officedocument"
                                 ".wordprocessingml.document")]),
    )
    reply_world.world.run()
    assert sorted(m.rcpt_tos[0] for m in reply_world.received()) == [
        "caiwu@jh-school.example", "hr@bc-factory.example"]
    assert reasons(reply_world) == {}


def test_a_mail_too_large_to_read_is_answered_like_a_form(db_url: str, tmp_path: Path,
                                                          smtp_server: SmtpServer) -> None:
    """A first-time unit whose mail is over the size limit (photos beside the form) is
    told so: it may well carry the form, as an unreadable attachment may."""
    world = make_world(db_url, tmp_path, smtp={"url": smtp_server.url},
                       mailbox={"max_mail_bytes": 1 << 20})
    rw = ReplyWorld(world, smtp_server)
    try:
        raw = with_form("caiwu@new-unit.example")
        world.deliver(raw + b"\n" * (2 << 20))  # stored with \n line ends: 2 MB of them
        assert world.run() == {"held": 1}
        assert reasons(rw) == {}
        (msg,) = rw.replies()
        assert msg["To"] == "caiwu@new-unit.example" and "邮件过大" in body(msg)
    finally:
        world.app.close()


def test_a_chunk_answers_each_mail_as_if_the_ones_after_it_were_not_there_yet(
        reply_world: ReplyWorld) -> None:
    """A chunk's mails are stored together, then answered in their order: a first,
    form-less mail is a stranger's even though the same address sends a form later in
    the same chunk (and a mail of its domain is accepted there), as it was when each
    mail was stored and answered in turn."""
    world = reply_world.world
    assert world.app.config.mailbox.chunk_mails >= 3
    people = trainees("L", 1)
    world.pay(people)
    first = datetime(2018, 12, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    world.deliver(build_mail(sender="caiwu@later-unit.example", subject="申请"), arrival=first)
    world.deliver(build_mail(sender="caiwu@later-unit.example", body=BODY,
                             attachments=[("申请表.xlsx", form_xlsx(unit(people)))]),
                  arrival=first + timedelta(minutes=1))
    world.deliver(build_mail(sender="renshi@later-unit.example", subject="申请"),
                  arrival=first + timedelta(minutes=2))
    assert world.run() == {"held": 2, "accepted": 1}
    assert reasons(reply_world) == {NoReply.STRANGER: 1}
    withheld = [r for r in reply_world.outbox() if r.status == "withheld"]
    assert [r.recipient for r in withheld] == ["caiwu@later-unit.example"]


def test_too_many_forms_from_a_first_time_sender_is_answered(reply_world: ReplyWorld) -> None:
    """21 forms in one mail (the limit is 20): none is read, and the unit must hear why
    (the 'stranger' rule took it for a mail without a form)."""
    forms = [(f"表{i}.xlsx", build_form_xlsx(default_header(unit=f"天津市武清区单位{i}"),
                                             make_lines(1))) for i in range(21)]
    reply_world.world.deliver(build_mail(sender="caiwu@wq-first.example", attachments=forms))
    reply_world.world.run()
    assert [m.rcpt_tos[0] for m in reply_world.received()] == ["caiwu@wq-first.example"]
    assert reasons(reply_world) == {}


def test_recent_replies_count_as_a_scan_of_every_reply_would() -> None:
    """``RecentReplies.over_limit`` (indexed by address and time) answers as counting
    all of the chunk's replies would, through adds and savepoint resets."""
    import random
    from datetime import UTC
    from types import SimpleNamespace

    from worker.replies.policy import RecentReplies

    def scanned(rows: list[tuple[str, datetime]], to: str, now: datetime,
                limits: SimpleNamespace) -> NoReply | None:
        day, hour = now - timedelta(days=1), now - timedelta(hours=1)
        if sum(r == to and c > day for r, c in rows) >= limits.per_address_per_day:
            return NoReply.ADDRESS_LIMIT
        if sum(c > hour for _, c in rows) >= limits.per_hour:
            return NoReply.HOURLY_LIMIT
        return None

    rnd = random.Random(7)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    addresses = [f"u{i}@x.cn" for i in range(5)]
    recent = RecentReplies.__new__(RecentReplies)
    recent.rows = []
    recent._by_address, recent._times = {}, []
    for address, minutes in [(rnd.choice(addresses), rnd.randrange(0, 2880)) for _ in range(40)]:
        recent.add(address, start + timedelta(minutes=minutes))  # out of order, as read
    config = SimpleNamespace(reply_limits=SimpleNamespace(per_address_per_day=12, per_hour=3))
    answers = set()
    for step in range(300):
        now = start + timedelta(minutes=2880 + step)
        to = rnd.choice(addresses)
        mark = recent.mark()
        answer = recent.over_limit(to, config, now)  # type: ignore[arg-type]
        assert answer == scanned(recent.rows, to, now, config.reply_limits)
        answers.add(answer)
        if answer is None:
            recent.add(to, now)
        if rnd.random() < 0.3:
            recent.reset(mark)  # the savepoint rolled back
        assert sorted(c for _, c in recent.rows) == recent._times
    assert answers == {None, NoReply.ADDRESS_LIMIT, NoReply.HOURLY_LIMIT}
