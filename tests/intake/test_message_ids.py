"""Which mails are one mail: Message-IDs that differ only in bytes no charset reads are
two, and so are different mails under one reused Message-ID; copies of a mail are one."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

import worker.intake.copies
from tests.intake.conftest import World, make_world
from tests.intake.test_pass import BODY, WHEN, form_mail, trainees, unit
from worker.db.models import Mail, OutboxMessage
from worker.samples import form_xlsx, mail


def _raw(sender: str, message_id: bytes) -> bytes:
    return (b"From: " + sender.encode() + b"\r\nTo: fapiao@example.cn\r\nSubject: test\r\n"
            b"Date: " + WHEN.strftime("%a, %d %b %Y %H:%M:%S +0800").encode() + b"\r\n"
            b"Message-ID: " + message_id + b"\r\nContent-Type: text/plain; charset=gbk\r\n\r\n"
            + "收件人：张三\r\n".encode("gbk"))


def test_ids_with_different_undecodable_bytes_are_two_mails(world: World) -> None:
    world.deliver(_raw("unit0@qq.com", b"<\xff\xff\xfe@qq.com>"),
                  _raw("unit1@qq.com", b"<\x80\x80\x80@qq.com>"))
    world.run()
    world.deliver(_raw("unit2@qq.com", b"<\x81\xff\x80@qq.com>"))  # a later pass, too
    world.run()
    with world.app.sessions() as s:
        senders = sorted(s.scalars(select(Mail.sender)))
    assert senders == ["unit0@qq.com", "unit1@qq.com", "unit2@qq.com"]


def _with_id(raw: bytes, message_id: bytes) -> bytes:
    return re.sub(rb"Message-ID: <[^>]*>", b"Message-ID: " + message_id, raw, count=1)


def test_a_mailer_reusing_a_message_id_loses_no_mail(world: World) -> None:
    """Different applications under one Message-ID (a broken mailer, an OA system's
    constant ID) are different mails: each stored, judged, issued and answered, in one
    chunk or in a later pass; the export and the replies' thread show the header's ID.
    Copies of any of them are still only moved."""
    groups = [trainees(prefix, 1) for prefix in "RST"]
    for group in groups:
        world.pay(group)
    first, second, third = (_with_id(form_mail(unit(g)), b"<same@oa.example>") for g in groups)
    world.deliver(first, second)  # one chunk
    assert world.run() == {"accepted": 2}
    world.deliver(third)  # a later pass
    assert world.run() == {"accepted": 1}
    world.deliver(first, second, third)  # copies of each, with new transport headers
    summary = world.app.run_once()
    assert summary.duplicates == 3 and summary.processed == 3
    apps = world.export()
    assert len(apps) == 3 and {a["message_id"] for a in apps} == {"<same@oa.example>"}
    assert len({i["number"] for a in apps for i in a["invoices"]}) == 3
    with world.app.sessions() as s:
        keys = s.scalars(select(Mail.message_id).order_by(Mail.id)).all()
        assert keys[0] == "<same@oa.example>" and len(set(keys)) == 3
        replies = [json.loads(r.fields) for r in s.scalars(select(OutboxMessage))]
    assert len(replies) == 3 and {r["in_reply_to"] for r in replies} == {"<same@oa.example>"}
    assert len({r["message_id"] for r in replies}) == 3  # three replies, three IDs


def _rewrapped(raw: bytes) -> bytes:
    """The same mail as a relay may pass it on: base64 lines of 60 characters, not 76,
    and LF line ends, not CRLF (stored as is, not through ``World.deliver``)."""
    lines, out = raw.replace(b"\r\n", b"\n").split(b"\n"), []
    for line in lines:
        if len(line) == 76 and re.fullmatch(rb"[A-Za-z0-9+/=]+", line):
            out += [line[:60], line[60:]]
        else:
            out.append(line)
    return b"\n".join(out)


def test_a_copy_that_travelled_otherwise_is_the_same_mail(world: World) -> None:
    """A Received line more, LF for CRLF, base64 wrapped at 60, a gateway's tag on the
    subject: still one mail."""
    people = trainees("U", 1)
    world.pay(people)
    raw = form_mail(unit(people))
    world.deliver(raw)
    assert world.run() == {"accepted": 1}
    world.deliver(b"Received: from relay2.example by mx.example; Mon, 3 Dec 2018 10:00:00 +0800\r\n"
                  + raw)
    copy = _rewrapped(raw)
    assert copy != raw.replace(b"\r\n", b"\n")  # the base64 was wrapped anew
    (world.maildir / "new" / "1543800000.M1P1Q1.relay").write_bytes(copy)
    tagged = re.sub(rb"\nSubject: ", b"\nSubject: [EXTERNAL] ", raw, count=1)
    assert tagged != raw
    world.deliver(tagged)
    summary = world.app.run_once()
    assert summary.duplicates == 3 and len(world.export()) == 1


_RELAYED = b"Received: from relay2.example by mx.example; Mon, 3 Dec 2018 10:00:00 +0800\r\n"


def test_a_copy_too_large_to_read_is_still_the_same_mail(db_url: str, tmp_path: Path) -> None:
    """A Received line more takes a copy over the size limit: not read, it is compared
    by sender, subject and Date, and is the mail already processed - not a second one,
    held and answered for its size. The other way round, a mail held unread and then a
    copy within the limit, the copy is judged: it is the first time it can be."""
    people, held = trainees("V", 1), trainees("W", 1)
    raw, big = form_mail(unit(people)), form_mail(unit(held))
    big += b"\r\n" * (len(raw) + 50 - len(big))
    world = make_world(db_url, tmp_path, mailbox={"max_mail_bytes": len(raw) + 50})
    try:
        world.pay(people + held)
        world.deliver(raw, _RELAYED + big)  # big: over the limit only with the Received line
        assert world.run() == {"accepted": 1, "held": 1}
        world.deliver(_RELAYED + raw, big)
        summary = world.app.run_once()
        assert summary.duplicates == 1 and summary.processed == 2
        apps = world.export()
        assert sorted((a["status"], [r["code"] for r in a["reasons"]]) for a in apps) == [
            ("accepted", []), ("accepted", []), ("held", ["FORM_UNREADABLE"])]
        world.deliver(_RELAYED + big, _RELAYED + _RELAYED + big)  # unread copies again
        summary = world.app.run_once()
        assert summary.duplicates == 2 and len(world.export()) == 3
        with world.app.sessions() as s:
            assert len(s.scalars(select(OutboxMessage)).all()) == 3
    finally:
        world.app.close()


def _oa_mail(people: str, subject: str, *, pad_to: int = 0, date: datetime = WHEN) -> bytes:
    """An OA system's mail: one constant Message-ID for all it sends."""
    raw = mail(sender="oa@wq.gov.cn", subject=subject, body=BODY, date=date,
               attachments=[("申请表.xlsx", form_xlsx(unit(trainees(people, 1))))])
    raw = _with_id(raw, b"<constant@oa.wq.gov.cn>")
    return raw + b"\r\n" * max(0, pad_to - len(raw))


def test_a_mail_reusing_the_id_of_one_too_large_to_read_is_not_lost(
        db_url: str, tmp_path: Path) -> None:
    """A mailer with one Message-ID for every mail sends one too large to read, then
    others: a readable one is judged, an unread one with another subject is held for
    its size too; only one with the same sender, subject and Date is taken for a copy."""
    small = _oa_mail("K", "发票申请")
    limit = len(small) + 100
    world = make_world(db_url, tmp_path, mailbox={"max_mail_bytes": limit})
    try:
        world.pay(trainees("K", 1))
        world.deliver(_oa_mail("J", "发票申请（照片）", pad_to=limit + 1))
        assert world.run() == {"held": 1}
        (first,) = world.export()
        assert "邮件过大" in first["reasons"][0]["detail"]
        world.deliver(small, _oa_mail("L", "发票申请（扫描件）", pad_to=limit + 1))
        summary = world.app.run_once()
        assert summary.duplicates == 0 and summary.processed == 2
        world.deliver(_oa_mail("M", "发票申请（照片）", pad_to=limit + 1))  # sender, subject, Date
        summary = world.app.run_once()
        assert summary.duplicates == 1
        apps = world.export()
        assert sorted(a["status"] for a in apps) == ["accepted", "held", "held"]
        assert {a["message_id"] for a in apps} == {"<constant@oa.wq.gov.cn>"}
    finally:
        world.app.close()


def test_another_workers_mail_under_the_same_id_is_kept_apart(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another worker commits a mail under the Message-ID between this chunk's lookup
    and its INSERT: the unique key refuses the row, and the retry compares contents - a
    copy is only moved, a different mail stored under its own key and answered."""
    first, second = trainees("X", 1), trainees("Y", 1)
    world.pay(first + second)
    a, b = (_with_id(form_mail(unit(g)), b"<race@oa.example>") for g in (first, second))
    world.deliver(a)
    assert world.run() == {"accepted": 1}
    monkeypatch.setattr(worker.intake.copies, "known", lambda sessions, ids: {})  # not yet seen
    world.deliver(b)
    summary = world.app.run_once()
    assert summary.duplicates == 0 and summary.processed == 1
    world.deliver(_RELAYED + a, _RELAYED + b)
    summary = world.app.run_once()
    assert summary.duplicates == 2 and summary.processed == 2
    apps = world.export()
    assert len(apps) == 2 and {a["message_id"] for a in apps} == {"<race@oa.example>"}
    assert len({i["number"] for a in apps for i in a["invoices"]}) == 2


def _without_id(raw: bytes) -> bytes:
    return re.sub(rb"Message-ID: <[^>]*>\r?\n", b"", raw, count=1)


def _relay_gave_id(raw: bytes, n: int) -> bytes:
    """The copy as a relay that adds a missing Message-ID (Exchange) passes it on."""
    return (_RELAYED + f"Message-ID: <{n}.relay@mx.wq.gov.cn>\r\n".encode()) + raw


def test_a_mail_without_id_that_a_relay_gave_one_is_still_one_mail(world: World) -> None:
    """Sent without Message-ID, one copy arrives as written, another through a relay
    that added one: one mail, one reply - in either order, in one chunk or across
    passes; so is a copy each of two relays gave an ID of its own (one Date). Two
    different mails without IDs stay two; so do two mails with IDs and Dates of their
    own and the same content (a unit sending twice gets its answer twice)."""
    groups = [trainees(p, 1) for p in "EFGHI"]
    for group in groups:
        world.pay(group)
    e, f, g, h = (_without_id(form_mail(unit(group))) for group in groups[:4])
    world.deliver(e, _relay_gave_id(f, 1))
    assert world.run() == {"accepted": 2}
    world.deliver(_relay_gave_id(e, 2), f, g, _relay_gave_id(g, 3))  # g: both in one chunk
    summary = world.app.run_once()
    assert summary.duplicates == 3 and summary.processed == 4
    assert len(world.export()) == 3
    world.deliver(_relay_gave_id(h, 4))
    world.run()
    world.deliver(_relay_gave_id(h, 5))  # another relay, another ID, the same Date
    assert world.app.run_once().duplicates == 1
    form = form_xlsx(unit(groups[4]))
    twice = [mail(sender="zhaoyue@163.com", subject="发票申请", body=BODY, date=when,
                  attachments=[("申请表.xlsx", form)]) for when in (WHEN, WHEN + timedelta(hours=2))]
    world.deliver(*twice)  # sent twice by the unit: IDs and Dates of their own
    summary = world.app.run_once()
    assert summary.duplicates == 0 and summary.processed == 2
    statuses = sorted(a["status"] for a in world.export())
    assert statuses == ["accepted"] * 5 + ["held"]  # the second of twice: ALREADY_INVOICED
    with world.app.sessions() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 6


def test_a_mail_that_met_a_bug_does_not_swallow_later_mails_under_its_id(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mail whose reading met a bug is stored failed; an OA system's next, different
    mail under the same constant Message-ID is still judged; the failed one, delivered
    again once the bug is gone, is judged too (it never had an outcome of its own)."""
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    world.pay(trainees("N", 1))
    first = _oa_mail("O", "发票申请（一）")
    monkeypatch.setattr(worker.intake, "analyse", broken)
    world.deliver(first)
    assert world.run() == {"failed": 1}
    monkeypatch.undo()
    world.deliver(first, _oa_mail("N", "发票申请（二）"))
    summary = world.app.run_once()
    assert summary.duplicates == 0 and summary.processed == 2
    assert summary.by_status == {"held": 1, "accepted": 1}  # O unpaid; N accepted


def _dated(raw: bytes, when: datetime | None) -> bytes:
    """The mail with another Date, or with none (``when`` None)."""
    field = b"" if when is None else b"Date: " + when.strftime(
        "%a, %d %b %Y %H:%M:%S +0800").encode() + b"\r\n"
    new = re.sub(rb"Date: [^\r\n]*\r?\n", field, raw, count=1)
    assert new != raw
    return new


def test_a_form_sent_again_after_paying_is_judged_again(world: World) -> None:
    """PAYMENT_NOT_FOUND's reply asks the unit to pay and send the form again. The same
    bytes sent again with a new Date are a new mail, judged and answered, from an OA
    system with one constant Message-ID and from a script that writes none - while a
    copy (the same Date) of either is still only moved."""
    late = trainees("P", 1)
    oa = _oa_mail("P", "发票申请")
    script = _without_id(form_mail(unit(trainees("Q", 1))))
    world.deliver(oa, script)
    assert world.run() == {"held": 2}  # neither has paid
    world.pay(late + trainees("Q", 1))
    later = WHEN + timedelta(hours=3)
    world.deliver(_dated(oa, later), _dated(script, later))
    summary = world.app.run_once()
    assert summary.duplicates == 0 and summary.by_status == {"accepted": 2}
    world.deliver(_RELAYED + _dated(oa, later), _RELAYED + _dated(script, later))
    assert world.app.run_once().duplicates == 2
    assert sorted(a["status"] for a in world.export()) == ["accepted", "accepted",
                                                             "held", "held"]
    with world.app.sessions() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 4


def test_a_copy_a_relay_stamped_a_date_on_is_the_same_mail(world: World) -> None:
    """Sent without a Date, one copy comes as written and one through a relay that
    added a Date (and a Received line): one mail."""
    people = trainees("Z", 1)
    world.pay(people)
    raw = _dated(form_mail(unit(people)), None)
    world.deliver(raw)
    assert world.run() == {"accepted": 1}
    world.deliver(_RELAYED + _dated(raw.replace(b"Subject:", b"Date: Mon, 3 Sep 2018 10:16:02 "
                                                            b"+0800\r\nSubject:", 1), None))
    assert world.app.run_once().duplicates == 1


def test_a_row_stored_before_digests_takes_only_its_copies(world: World) -> None:
    """A mail stored before migrations 0014/0015 has no digests, only its Date: under
    an OA system's constant Message-ID, a later mail with its own Date is judged; a
    copy of the stored mail (its Date) is moved as a duplicate."""
    world.pay(trainees("R", 1))
    first = _oa_mail("S", "发票申请")
    world.deliver(first)
    assert world.run() == {"held": 1}
    with world.app.sessions.begin() as s:
        s.execute(update(Mail).values(content_digest=None, envelope_digest=None))
    world.deliver(_RELAYED + first)
    assert world.app.run_once().duplicates == 1
    world.deliver(_oa_mail("R", "发票申请", date=WHEN + timedelta(days=1)))
    summary = world.app.run_once()
    assert summary.duplicates == 0 and summary.by_status == {"accepted": 1}


def test_one_form_sent_again_and_again_under_one_id_is_judged_each_time(world: World) -> None:
    """An OA system's constant Message-ID, one form sent four times with its own Date:
    across passes and within one chunk, each is a mail of its own (the second and later
    held ALREADY_INVOICED, answered); copies of any of them are only moved."""
    world.pay(trainees("T", 1))
    sends = [_oa_mail("T", "发票申请", date=WHEN + timedelta(hours=h)) for h in range(4)]
    world.deliver(sends[0])
    world.run()
    world.deliver(sends[1])
    world.run()
    world.deliver(sends[2], sends[3])  # one chunk
    summary = world.app.run_once()
    assert summary.duplicates == 0 and summary.processed == 2
    world.deliver(*(_RELAYED + raw for raw in sends))
    summary = world.app.run_once()
    assert summary.duplicates == 4 and summary.processed == 4
    assert sorted(a["status"] for a in world.export()) == ["accepted"] + ["held"] * 3
    with world.app.sessions() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 4


def _date_written(raw: bytes, text: str) -> bytes:
    new = re.sub(rb"Date: [^\r\n]*", b"Date: " + text.encode(), raw, count=1)
    assert new != raw
    return new


def _redirected(raw: bytes, when: datetime) -> bytes:
    """The mail as Foxmail's 重定向 or mutt's bounce sends it on: Message-ID and Date
    kept, Resent-* fields above them."""
    stamp = when.strftime("%a, %d %b %Y %H:%M:%S +0800").encode()
    return (b"Resent-From: zhaoyue@163.com\r\nResent-Date: " + stamp
            + b"\r\nResent-Message-ID: <r" + stamp[-14:-6].replace(b":", b"") + b"@163.com>\r\n"
            + raw)


@pytest.mark.parametrize("sent_again", [
    pytest.param(lambda raw, day: _date_written(raw, f"0{3 + day}/09/2018 10:15"),
                 id="day-month-date"),
    pytest.param(lambda raw, day: _without_id(_date_written(raw, f"9/{3 + day}/2018 10:15:00 AM")),
                 id="us-date-no-message-id"),
    pytest.param(lambda raw, day: _redirected(raw, WHEN + timedelta(days=day)) if day else raw,
                 id="redirected-keeping-id-and-date"),
])
def test_a_form_sent_again_with_an_unread_date_or_by_redirect_is_judged(
        world: World, sent_again: Callable[[bytes, int], bytes]) -> None:
    """The resend after paying is a mail of its own when its Date cannot be read (the Date
    as written tells the sendings apart) and when it is a redirect (its Resent-Date);
    a relay's copy of either is still only moved."""
    raw = _oa_mail("U", "发票申请")
    world.deliver(sent_again(raw, 0))
    assert world.run() == {"held": 1}
    world.pay(trainees("U", 1))
    world.deliver(sent_again(raw, 1))
    summary = world.app.run_once()
    assert summary.duplicates == 0 and summary.by_status == {"accepted": 1}
    world.deliver(_RELAYED + sent_again(raw, 1))
    assert world.app.run_once().duplicates == 1


@pytest.mark.parametrize("gateway", [
    pytest.param(lambda raw: re.sub(rb"\nSubject: ", b"\nSubject: [EXTERNAL] ", raw, count=1),
                 id="subject-tag"),
    pytest.param(lambda raw: re.sub(rb"\nSubject: ", "\nSubject: 【外部邮件】".encode(), raw, count=1),
                 id="chinese-subject-tag"),
    pytest.param(lambda raw: _date_written(raw, "Mon, 03 Sep 2018 02:15:00 +0000"),
                 id="date-in-utc"),
])
def test_a_gateways_copy_of_a_mail_too_large_or_relayed_is_the_same_mail(
        db_url: str, tmp_path: Path, gateway: Callable[[bytes], bytes]) -> None:
    """Compared by sender, subject and Date - a mail too large to read, a copy a relay
    gave a Message-ID of its own - a copy a gateway tagged or dated in UTC is still the
    mail already processed: not held and answered again."""
    raw = form_mail(unit(trainees("W", 1)))
    big = raw + b"\r\n" * 2000
    world = make_world(db_url, tmp_path, mailbox={"max_mail_bytes": len(raw) + 500})
    try:
        world.pay(trainees("W", 1) + trainees("X", 1))
        world.deliver(big)
        assert world.run() == {"held": 1}
        world.deliver(_RELAYED + gateway(big))
        assert world.app.run_once().duplicates == 1
        e = _without_id(form_mail(unit(trainees("X", 1))))
        world.deliver(_relay_gave_id(e, 1))
        assert world.run() == {"accepted": 1}
        world.deliver(_relay_gave_id(gateway(e), 2))
        assert world.app.run_once().duplicates == 1
        with world.app.sessions() as s:
            assert len(s.scalars(select(OutboxMessage)).all()) == 2
    finally:
        world.app.close()


def test_a_relayed_copy_of_the_second_sending_in_one_chunk_is_that_sending(world: World) -> None:
    """A script without Message-ID sends one form on two days; the second sending also
    arrives through a relay that gave it an ID, all three in one chunk (after a
    weekend): two mails, two replies."""
    world.pay(trainees("Y", 1))
    first = _without_id(form_mail(unit(trainees("Y", 1))))
    second = _dated(first, WHEN + timedelta(days=1))
    world.deliver(first, second, _relay_gave_id(second, 7))
    summary = world.app.run_once()
    assert summary.duplicates == 1 and summary.processed == 3
    with world.app.sessions() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 2
