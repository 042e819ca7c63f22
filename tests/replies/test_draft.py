"""Replies built when sent (issue 12): the message equals, byte for byte, the one the
queueing transaction used to build and store; an attached file gone by then fails
that row alone; rows stored as bytes before migration 0011 go out as they are."""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

import worker.replies.parcel
import worker.replies.queue
from tests.builders.mail import build_mail
from tests.fixtures.db import empty_engine
from tests.intake.test_pass import trainees, unit
from tests.replies.conftest import ReplyWorld
from worker.db import _alembic_config, init_db
from worker.db.models import Application, OutboxMessage
from worker.db.types import utcnow
from worker.mailer import Mailer
from worker.replies import queue_followup, send_due
from worker.replies.compose import POLICY, build_message
from worker.replies.draft import Draft, outbox_bytes
from worker.samples import form_xlsx
from worker.staff import actions
from worker.staff.accounts import Actor

TZ = ZoneInfo("Asia/Shanghai")
LONG = "关于" + "二〇二六年度政工师继续教育线上缴费发票的申请（第二批）" * 8
FILES = {"issued/1/a.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 40,
         "issued/1/a.ofd": b"PK\x03\x04" + b"\x00\xff" * 3000,
         "issued/1/a.xml": "<EInvoice><名称>天津市武清区雍阳科技有限公司</名称></EInvoice>".encode()}


def wire(msg: EmailMessage) -> bytes:
    """The bytes smtplib's ``send_message`` puts on the wire for ``msg``."""
    out = io.BytesIO()
    BytesGenerator(out).flatten(copy.copy(msg), linesep="\r\n")
    return out.getvalue()


def old_sent(stored: bytes) -> bytes:
    """What the sender sends for a message stored as bytes at queue time (before 0011):
    parsed and written again, which adds a space after ``From:`` when the display name
    is folded onto the next line (``refold_source="none"`` keeps the source's fold)."""
    msg = message_from_bytes(stored, policy=POLICY)
    assert isinstance(msg, EmailMessage)
    return wire(msg)


def meaning(raw: bytes) -> tuple[list[tuple[str, str]], list[bytes]]:
    """What a mail client reads: decoded headers, and each leaf's decoded content."""
    msg = message_from_bytes(raw, policy=policy.default)
    return ([(k, str(v)) for k, v in msg.items()],
            [p.get_payload(decode=True) for p in msg.walk() if not p.is_multipart()])


CASES: list[dict[str, Any]] = [
    {"sender_name": "天津市政工师进修学院", "to": "unit@163.com", "subject": "Re: 线上缴费发票申请",
     "in_reply_to": "<orig-1@163.com>", "references": ["<earlier@163.com>", "<orig-1@163.com>"],
     "body": "天津市武清区雍阳科技有限公司：\n\n您好！申请已受理，发票已开具。\n", "attachments": []},
    {"sender_name": "Training Centre", "to": "office@qq.com", "subject": "Re: " + LONG[:150],
     "in_reply_to": None, "references": [], "body": "短\n", "attachments": []},
    {"sender_name": "天津市政工师进修学院（财务室）", "to": "a.b-c@foxmail.com",
     "subject": "Re: 发票 =?utf-8?b?5L2g5aW9?= “引号” 𠀀 emoji 🧾",
     "in_reply_to": "<x@y>", "references": [f"<r{i}@163.com>" for i in range(19)] + ["<x@y>"],
     "body": "第1行\n" + "长行" * 500 + "\n\n—— 𠀀\n", "attachments": []},
    {"sender_name": "天津市政工师进修学院", "to": "unit@163.com", "subject": "Re: 数电票",
     "in_reply_to": "<orig-2@163.com>", "references": ["<orig-2@163.com>"],
     "body": "已受理，发票已由电子发票服务平台开具：\n",
     "attachments": [("数电票_26120000000000000001.pdf", "issued/1/a.pdf"),
                     ("数电票_26120000000000000001.ofd", "issued/1/a.ofd"),
                     ("数电票_26120000000000000001.xml", "issued/1/a.xml")]},
    {"sender_name": "学院", "to": "u@163.com", "subject": "Re: x", "in_reply_to": None,
     "references": [], "body": "x\n", "attachments": [("说明 文件（最终版）很长的名字" * 4 + ".dat",
                                                        "issued/1/a.pdf")]},
]


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    for rel, data in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=["plain", "long-subject", "odd-subject", "issued-files",
                                             "long-file-name"])
def test_built_when_sent_equals_built_when_queued(case: dict[str, Any], output_dir: Path) -> None:
    args = {**case, "sender": "xy23391756@163.com", "message_id": "<reply-7.0123456789@163.com>",
            "date": datetime(2026, 3, 5, 1, 2, 3, 456789, tzinfo=TZ)}
    files = [(name, (output_dir / rel).read_bytes()) for name, rel in args["attachments"]]
    queued = build_message(**{**args, "attachments": files})        # the old way, at queue time
    stored = queued.as_bytes()

    draft = Draft(**args)
    kept = Draft.from_stored(draft.fields_json(), draft.body)           # through the row's columns
    assert kept == draft
    built = kept.build(output_dir)
    assert built.as_bytes() == stored
    assert kept.build(output_dir).as_bytes() == stored   # again: a re-send is the same bytes
    assert wire(built) == stored                      # on the wire: exactly intake's bytes
    assert meaning(wire(built)) == meaning(old_sent(stored))   # what the old sender sent, read
    assert draft.header_subject() == str(queued["Subject"])


# -- through the database, intake, staff actions and a real SMTP server ------------------


class Recorder:
    """Replaces ``Draft`` where replies are queued: builds each message the old way
    too, in the queueing transaction, and keeps those bytes by Message-ID."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        self.stored: dict[str, bytes] = {}

    def __call__(self, **kw: Any) -> Draft:
        draft = Draft(**kw)
        files = [(name, (self.output_dir / rel).read_bytes()) for name, rel in draft.attachments]
        old = build_message(**{**asdict(draft), "attachments": files})
        self.stored[draft.message_id] = old.as_bytes()
        return draft


@pytest.fixture
def recorder(reply_world: ReplyWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    rec = Recorder(reply_world.app.config.output_dir)
    monkeypatch.setattr(worker.replies.queue, "Draft", rec)
    monkeypatch.setattr(worker.replies.parcel, "Draft", rec)
    yield rec


def app_id(rw: ReplyWorld, status: str) -> int:
    """The first application with ``status``."""
    with rw.app.sessions() as s:
        return s.scalars(select(Application.id).where(Application.status == status)
                         .order_by(Application.id)).first() or 0


def send(rw: ReplyWorld, now: datetime | None = None) -> Any:
    return send_due(rw.app.sessions, Mailer.from_config(rw.app.config), now=now,
                    retries=rw.app.config.replies, output_dir=rw.app.config.output_dir)


def place_files(rw: ReplyWorld) -> None:
    out = rw.app.config.output_dir
    for rel, data in FILES.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)


def test_replies_sent_are_the_bytes_intake_would_have_stored(
        reply_world: ReplyWorld, recorder: Recorder) -> None:
    world = reply_world.world
    paid = trainees("D", 2)
    world.pay(paid)
    world.deliver(
        build_mail(subject="线上缴费发票申请", sender="武清区某某公司 <unit@163.com>",
                   reply_to="财务室 <office@163.com>", message_id="<m1@163.com>",
                   references=["<m0@163.com>"], attachments=[("申请表.xlsx", form_xlsx(unit(paid)))]),
        build_mail(subject="回复：" + LONG, sender="unit2@qq.com", message_id="<m2@qq.com>",
                   attachments=[("申请表（第二批）.xlsx", form_xlsx(unit(trainees("E", 1))))]),
        build_mail(subject="发票", sender="unit3@126.com", charset="utf-8",
                   attachments=[("表.xlsx", form_xlsx(unit(trainees("F", 3))))]))
    reply_world.process()
    actions.reject(reply_world.app.sessions, reply_world.app.config, Actor(None, "王静"),
                   app_id(reply_world, "held"), "请使用单位全称重新申请，谢谢。")
    place_files(reply_world)
    with reply_world.app.sessions.begin() as s:   # an issued reply with files (platform mode's)
        app = s.get(Application, app_id(reply_world, "accepted"))
        assert app is not None
        queue_followup(s, app, reply_world.app.config, action="issued",
                       attachments=[("数电票_1.pdf", "issued/1/a.pdf"), ("数电票_1.xml", "issued/1/a.xml")])
    rows = [r for r in reply_world.outbox() if r.status == "pending"]
    assert len(rows) == len(recorder.stored) == 5
    assert all(r.message is None and r.fields for r in rows)

    report = send(reply_world)
    assert (report.sent, report.failed) == (5, 0)
    received = {m.message()["Message-ID"]: m.data for m in reply_world.received()}
    assert set(received) == set(recorder.stored)
    for message_id, stored in recorder.stored.items():
        assert received[message_id] == stored, message_id
    for row in rows:
        assert outbox_bytes(row, reply_world.app.config.output_dir) in recorder.stored.values()


def test_a_file_gone_at_send_time_fails_that_row_alone_then_it_is_given_up(
        reply_world: ReplyWorld) -> None:
    world = reply_world.world
    paid = trainees("G", 1)
    world.pay(paid)
    other = unit(trainees("H", 1))
    world.deliver(build_mail(sender="unit@163.com", attachments=[("表.xlsx", form_xlsx(unit(paid)))]),
                  build_mail(sender="other@163.com", attachments=[("表.xlsx", form_xlsx(other))]))
    reply_world.process()
    place_files(reply_world)
    with reply_world.app.sessions.begin() as s:
        app = s.get(Application, app_id(reply_world, "accepted"))
        assert app is not None
        row = queue_followup(s, app, reply_world.app.config, action="issued",
                             attachments=[("数电票_1.pdf", "issued/1/a.pdf")])
        assert row is not None
        key = row.key
    (reply_world.app.config.output_dir / "issued/1/a.pdf").unlink()   # output cleaned by hand

    now = max(r.created_at for r in reply_world.outbox()) + timedelta(seconds=1)
    report = send(reply_world, now)
    assert (report.sent, report.failed, report.given_up, report.stopped) == (2, 1, 0, None)
    (gone,) = [r for r in reply_world.outbox() if r.key == key]
    assert gone.status == "retry" and gone.last_error.startswith("message: ")
    assert "issued/1/a.pdf" in gone.last_error and "Traceback" not in gone.last_error
    retries = reply_world.app.config.replies
    while gone.status == "retry":
        now = gone.next_attempt_at
        send(reply_world, now)
        (gone,) = [r for r in reply_world.outbox() if r.key == key]
    assert (gone.status, gone.attempts) == ("failed", retries.max_attempts)
    assert len(reply_world.received()) == 2


# -- rows queued before the upgrade -------------------------------------------------------


class Recording(Mailer):
    def __init__(self) -> None:
        super().__init__("xy23391756@163.com", TZ)
        self.sent: list[bytes] = []

    def _deliver(self, msg: EmailMessage) -> str:
        self.sent.append(wire(msg))
        return "smtp"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_rows_queued_before_the_upgrade_are_sent_as_stored(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest, output_dir: Path) -> None:
    engine = empty_engine(backend, tmp_path, request)
    command.upgrade(_alembic_config(engine), "0010")
    args = {**CASES[0], "sender": "xy23391756@163.com", "message_id": "<reply-1.aa@163.com>",
            "date": datetime(2026, 3, 5, 9, 0, tzinfo=TZ)}
    stored = build_message(**args).as_bytes()
    created = utcnow() - timedelta(minutes=5)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO outbox (key, kind, recipient, subject, message, status, "
                          "attempts, next_attempt_at, created_at) VALUES ('reply:mail:1', 'reply', "
                          "'unit@163.com', 'Re: 线上缴费发票申请', :m, 'pending', 0, :t, :t)"),
                     {"m": stored, "t": created})
    init_db(engine)
    sessions = sessionmaker(engine)
    later = {**CASES[3], "sender": "xy23391756@163.com", "message_id": "<followup-2-1.bb@163.com>",
             "date": datetime(2026, 3, 6, 9, 0, tzinfo=TZ)}
    draft = Draft(**later)
    with sessions.begin() as s:
        s.add(OutboxMessage(key="followup:2:1", kind="followup", recipient="unit@163.com",
                            subject=draft.header_subject(), body=draft.body, fields=draft.fields_json(),
                            status="pending", attempts=0, next_attempt_at=created, created_at=created))
    mailer = Recording()
    report = send_due(sessions, mailer, output_dir=output_dir)
    assert (report.sent, report.failed) == (2, 0)
    files = [(name, (output_dir / rel).read_bytes()) for name, rel in later["attachments"]]
    assert sorted(mailer.sent) == sorted([old_sent(stored),   # as the old sender sent it
                                          build_message(**{**later, "attachments": files}).as_bytes()])
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_downgrade_builds_the_bytes_of_rows_still_to_send(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    engine = empty_engine(backend, tmp_path, request, "new.db")
    init_db(engine)
    args = {**CASES[1], "sender": "xy23391756@163.com", "message_id": "<reply-3.cc@163.com>",
            "date": datetime(2026, 3, 5, 9, 0, tzinfo=TZ)}
    draft = Draft(**args)
    now = utcnow()
    with sessionmaker(engine).begin() as s:
        for key, status in (("reply:mail:3", "retry"), ("reply:mail:4", "sent")):
            s.add(OutboxMessage(key=key, kind="reply", recipient=draft.to, subject=draft.header_subject(),
                                body=draft.body, fields=draft.fields_json(), status=status,
                                attempts=1, next_attempt_at=now, created_at=now))
    command.downgrade(_alembic_config(engine), "0010")
    with Session(engine) as s:
        got = dict(s.execute(text("SELECT key, message FROM outbox ORDER BY key")).all())
    assert got == {"reply:mail:3": build_message(**args).as_bytes(), "reply:mail:4": b""}
    init_db(engine)
    with Session(engine) as s:
        assert s.scalars(select(OutboxMessage.fields).order_by(OutboxMessage.key)).all() == [None, None]
    engine.dispose()
